//! The store conformance suite against a local PostgreSQL, each suite in a fresh database
//! created for it and dropped afterwards (also when the suite fails), plus the migration
//! checks: connecting twice migrates once, and a newer schema is refused.
//!
//! The server is `host=127.0.0.1 port=5432 user=postgres dbname=test`, or the URL in
//! `TOKUTEI_TEST_DATABASE_URL`.

mod common;

use common::{TestDb, admin_url};
use postgres::{Client, NoTls};
use tokutei_store::StoreError;
use tokutei_store::conformance;
use tokutei_store_postgres::{MIGRATIONS, PgStore, SCHEMA_VERSION};

#[test]
fn conformance_policy_versions() {
    let db = TestDb::new();
    conformance::policy_versions::run(&db.store());
}

#[test]
fn conformance_vault() {
    let db = TestDb::new();
    conformance::vault::run(&db.store());
}

#[test]
fn conformance_staff() {
    let db = TestDb::new();
    conformance::staff::run(&db.store());
}

#[test]
fn conformance_consent_and_provision() {
    let db = TestDb::new();
    conformance::staff::run_consent_and_provision(&db.store());
}

/// Edits the database directly, beside the store.
struct SqlTamper(std::cell::RefCell<Client>);

impl conformance::records::Tamper for SqlTamper {
    fn tamper(&self, edit: &conformance::records::Edit) -> Result<(), String> {
        use conformance::records::Edit;
        use postgres::types::ToSql;
        const VALUE: &str = "WHERE subscriber = $1 AND category = $2 AND version = $3";
        let mut client = self.0.borrow_mut();
        let run = |client: &mut Client, sql: &str, params: &[&(dyn ToSql + Sync)]| {
            client.execute(sql, params).map(drop).map_err(|e| match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })
        };
        let value = |client: &mut Client, sql: &str, v: &tokutei_store::vault::ValueRef| {
            run(client, &format!("{sql} {VALUE}"), &[&v.subscriber, &v.category, &i64::from(v.version)])
        };
        let id = |n: &u64| *n as i64;
        let c = &mut *client;
        match edit {
            Edit::DeleteConsent(n) => run(c, "DELETE FROM consent_records WHERE id = $1", &[&id(n)]),
            Edit::ChangeConsent(n) => run(
                c,
                "UPDATE consent_records SET choice = CASE choice WHEN 'opted_in' THEN 'opted_out'
                 ELSE 'opted_in' END WHERE id = $1",
                &[&id(n)],
            ),
            Edit::DeleteAllConsents => run(c, "TRUNCATE consent_records", &[]),
            Edit::DeleteValue(v) => value(c, "DELETE FROM vault_values", v),
            Edit::DeleteAllValues => run(c, "TRUNCATE vault_values", &[]),
            Edit::ReopenValue(v) => value(c, "UPDATE vault_values SET valid_until = NULL", v),
            Edit::CloseValue(v) => value(c, "UPDATE vault_values SET valid_until = 1", v),
            Edit::ChangeCiphertext(v) => value(c, "UPDATE vault_values SET ciphertext = '\\x00'", v),
            Edit::ChangeProvenance(v) => value(c, "UPDATE vault_values SET collected_by = 'someone-else'", v),
            Edit::DeleteImportRecord(k) => run(c, "DELETE FROM vault_import_batches WHERE source_key = $1", &[k]),
            Edit::DeleteAllImportRecords => run(c, "TRUNCATE vault_import_batches", &[]),
            Edit::DeleteDataKey(s) => run(c, "DELETE FROM vault_data_keys WHERE subscriber = $1", &[s]),
            Edit::DeleteSubscriber(s) => run(c, "DELETE FROM vault_subscribers WHERE id = $1", &[s]),
            Edit::UneraseSubscriber(s) => run(c, "UPDATE vault_subscribers SET erased_at = NULL WHERE id = $1", &[s]),
            Edit::DeleteAllPurges => run(c, "TRUNCATE vault_purges", &[]),
            Edit::ChangeProvision(n) => {
                run(c, "UPDATE provision_records SET recipient = 'elsewhere' WHERE id = $1", &[&id(n)])
            }
            Edit::DeleteProvision(n) => run(c, "DELETE FROM provision_records WHERE id = $1", &[&id(n)]),
            Edit::DeleteAllProvisions => run(c, "TRUNCATE provision_records", &[]),
        }
    }
}

#[test]
fn conformance_records() {
    let db = TestDb::new();
    let tamper = SqlTamper(std::cell::RefCell::new(Client::connect(&db.url, NoTls).unwrap()));
    conformance::records::run(&db.store(), &tamper);
}

#[test]
fn conformance_exports() {
    let db = TestDb::new();
    conformance::staff::run_exports(&db.store());
}

#[test]
fn conformance_auth() {
    let db = TestDb::new();
    conformance::auth::run(&db.store());
}

#[test]
fn conformance_rate_limits_across_instances() {
    let db = TestDb::new();
    // Two stores on one database: what two `tokutei serve` instances see.
    conformance::auth::run_rate_limits(&db.store(), &db.store());
}

#[test]
fn conformance_inquiry() {
    let db = TestDb::new();
    conformance::inquiry::run(&db.store());
}

#[test]
fn conformance_incident() {
    let db = TestDb::new();
    conformance::incident::run(&db.store());
}

/// The register's guards hold against raw SQL: records are never edited, deleted or truncated,
/// a withdrawal is refused while a publication's window lasts (by the database's own date),
/// and a publication whose window has ended may go.
#[test]
fn the_database_refuses_to_hide_a_published_incident_inside_its_window() {
    let db = TestDb::new();
    drop(db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    client
        .batch_execute(
            "INSERT INTO incidents VALUES ('INC-1', 1), ('INC-2', 1);
             INSERT INTO incident_versions VALUES ('INC-1', 1, '{}', 'opened', 'cpo', 1, 0);
             INSERT INTO incident_obligations VALUES ('INC-1', 'secrecy', 'first', '2026-06-02', 'r', false),
                                                     ('INC-1', 'secrecy', 'detailed', '2026-07-01', 'r', false);
             INSERT INTO incident_submissions VALUES
                 ('INC-1', 'secrecy', 'first', 1, 'r', NULL, '\\x0000000000000000000000000000000000000000000000000000000000000000', 'cpo', 1);
             INSERT INTO incident_publications VALUES
                 ('INC-1', 1, '2024-01-18', '概要', NULL, 1, '2024-02-01', '9999-12-31', 'cpo', 2),
                 ('INC-2', 1, '2010-01-18', '概要', NULL, 1, '2010-02-01', '2020-01-17', 'cpo', 3);",
        )
        .unwrap();
    let refused = [
        ("UPDATE incident_versions SET fields = '{\"x\":1}'", "incident records are append-only"),
        ("DELETE FROM incident_versions", "incident records are append-only"),
        ("TRUNCATE incident_versions CASCADE", "incident records are append-only"),
        ("DELETE FROM incidents", "incident records are append-only"),
        (
            "INSERT INTO incident_versions VALUES ('INC-1', 3, '{}', 'updated', 'cpo', 1, 4)",
            "incident versions follow one another",
        ),
        ("UPDATE incident_obligations SET due = '2030-01-01'", "an obligation is replaced, never edited"),
        (
            "DELETE FROM incident_obligations WHERE report = 'first'",
            "an obligation is replaced only while nothing was submitted for it",
        ),
        ("UPDATE incident_submissions SET reference = 'x'", "incident records are append-only"),
        ("UPDATE incident_publications SET summary_ja = '改ざん'", "incident records are append-only"),
        (
            "DELETE FROM incident_publications WHERE incident = 'INC-1'",
            "a publication cannot be deleted inside its publication window",
        ),
        ("TRUNCATE incident_publications", "a publication cannot be deleted inside its publication window"),
        (
            "INSERT INTO incident_withdrawals VALUES ('INC-1', 1, '2024-03-01', 'r', 'cpo', 5)",
            "a published incident cannot be withdrawn inside its publication window",
        ),
    ];
    for (sql, message) in refused {
        let err = client.batch_execute(sql).expect_err(sql);
        let db_error = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db_error.message(), message, "{sql}");
    }
    // An obligation nothing was submitted for can be replaced.
    assert_eq!(client.execute("DELETE FROM incident_obligations WHERE report = 'detailed'", &[]).unwrap(), 1);
    // Outside its window, an entry may be withdrawn (the database's date is past 2020-01-17)…
    client.batch_execute("INSERT INTO incident_withdrawals VALUES ('INC-2', 1, '2024-03-01', 'r', 'cpo', 6)").unwrap();
    // …but not by a withdrawal that says it happens inside it.
    client
        .batch_execute(
            "INSERT INTO incidents VALUES ('INC-3', 1);
             INSERT INTO incident_publications VALUES
                 ('INC-3', 1, '2010-01-18', '概要', NULL, 1, '2010-02-01', '2020-01-17', 'cpo', 7);",
        )
        .unwrap();
    let err = client
        .batch_execute("INSERT INTO incident_withdrawals VALUES ('INC-3', 1, '2020-01-17', 'r', 'cpo', 8)")
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "a published incident cannot be withdrawn inside its publication window"
    );
    // A withdrawn entry is not published again, and a withdrawal stays.
    let err = client
        .batch_execute(
            "INSERT INTO incident_publications VALUES
             ('INC-2', 2, '2010-01-18', '訂正', NULL, 1, '2024-03-02', '2020-01-17', 'cpo', 9)",
        )
        .unwrap_err();
    assert_eq!(err.as_db_error().unwrap().message(), "a withdrawn incident is not published again");
    let err = client.batch_execute("DELETE FROM incident_withdrawals").unwrap_err();
    assert_eq!(err.as_db_error().unwrap().message(), "incident records are append-only");
}

#[test]
fn conformance_outbox() {
    let db = TestDb::new();
    conformance::outbox::run(&db.store());
}

#[test]
fn conformance_outbox_claims_across_instances() {
    let db = TestDb::new();
    // Two stores on one database: what two `tokutei serve` instances see.
    conformance::outbox::run_claims_across_instances(&db.store(), &db.store());
}

#[test]
fn the_delivery_log_and_delivered_alerts_refuse_changes() {
    use tokutei_store::outbox::{AlertState, AlertStore};
    let db = TestDb::new();
    let store = db.store();
    conformance::outbox::run(&store);
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    let refused = [
        ("DELETE FROM alerts WHERE id = 'A3'", "alerts are never deleted"),
        ("TRUNCATE alerts CASCADE", "alerts are never deleted"),
        ("UPDATE alerts SET payload = '{}' WHERE id = 'A3'", "an alert's identity and payload never change"),
        (
            "UPDATE alerts SET recipient = 'http://elsewhere/' WHERE id = 'A3'",
            "an alert's identity and payload never change",
        ),
        ("UPDATE alerts SET state = 'pending' WHERE id = 'A1'", "a delivered alert is final"),
        ("UPDATE alert_deliveries SET status = 200", "the delivery log is append-only"),
        ("DELETE FROM alert_deliveries", "the delivery log is append-only"),
        ("TRUNCATE alert_deliveries", "the delivery log is append-only"),
    ];
    for (sql, message) in refused {
        let err = client.batch_execute(sql).expect_err(sql);
        let db_error = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db_error.message(), message, "{sql}");
    }
    assert_eq!(store.alert("A1").unwrap().unwrap().state, AlertState::Delivered);
    assert_eq!(store.alert_deliveries("A1").unwrap().len(), 3);
}

#[test]
fn conformance_oversight() {
    let db = TestDb::new();
    conformance::oversight::run(&db.store());
}

#[test]
fn conformance_violations() {
    let db = TestDb::new();
    conformance::oversight::run_violations(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for sql in [
        "UPDATE violation_reports SET text = 'x'",
        "DELETE FROM violation_events",
        "TRUNCATE violation_reports CASCADE",
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(
            err.to_string().contains("violation records are append-only")
                || format!("{err:?}").contains("violation records are append-only"),
            "{sql}: {err:?}"
        );
    }
}

/// One assessment per business year: a second is refused (by the store and by the
/// database itself, whoever writes), nothing is added after the completion, and no record is
/// edited, deleted or truncated.
#[test]
fn conformance_assessments() {
    let db = TestDb::new();
    conformance::assessment::run(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for (sql, refusal) in [
        ("INSERT INTO assessments VALUES (2026, 'x', 1, 1)", "assessments_pkey"),
        (
            "INSERT INTO assessment_events (fiscal_year, kind, body, by_principal, at, audit_index) VALUES (2026, 'finding', '{}', 'x', 1, 1)",
            "the assessment is completed",
        ),
        ("UPDATE assessments SET opened_by = 'x'", "assessment records are append-only"),
        ("DELETE FROM assessment_events", "assessment records are append-only"),
        ("TRUNCATE assessments CASCADE", "assessment records are append-only"),
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains(refusal), "{sql}: {err:?}");
    }
}

/// Handling zones are replaced whole; the entry/exit log is append-only.
#[test]
fn conformance_zones() {
    let db = TestDb::new();
    conformance::zones::run(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for sql in ["UPDATE presence_events SET kind = 'exit'", "DELETE FROM presence_events", "TRUNCATE presence_events"] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains("append-only"), "{sql}: {err:?}");
    }
}

/// A portal link is redeemed once and never changed otherwise; links are kept.
#[test]
fn conformance_portal() {
    let db = TestDb::new();
    conformance::portal::run(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for (sql, refusal) in [
        ("UPDATE portal_links SET used_at = 1 WHERE token_hash = 'a1'", "used once"),
        ("UPDATE portal_links SET subscriber = 'S-9' WHERE token_hash = 'c3'", "used once"),
        ("DELETE FROM portal_links", "portal links are kept"),
        ("TRUNCATE portal_links CASCADE", "portal links are kept"),
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains(refusal), "{sql}: {err:?}");
    }
}

/// An artefact is downloaded once — by exactly one of several concurrent downloads, from
/// separate connections — and a media exception revoked once; neither is deleted.
#[test]
fn conformance_artefacts_and_media() {
    let db = TestDb::new();
    let store = db.store();
    conformance::exports::run(&store);
    conformance::exports::run_concurrent_claims(&store);
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for (sql, refusal) in [
        ("UPDATE export_artefacts SET ciphertext = '\\x00' WHERE export = 'EXP-1'", "downloaded once"),
        ("UPDATE export_artefacts SET sha256 = 'x' WHERE export = 'EXP-1'", "downloaded once"),
        ("DELETE FROM export_artefacts", "export artefacts are kept"),
        ("TRUNCATE export_artefacts", "export artefacts are kept"),
        ("UPDATE media_exceptions SET revoked_at = NULL WHERE id = 'MX-1'", "revoked once"),
        ("UPDATE media_exceptions SET valid_until = '2027-12-31' WHERE id = 'MX-2'", "revoked once"),
        ("DELETE FROM media_exceptions", "media exceptions are kept"),
        ("TRUNCATE media_exceptions", "media exceptions are kept"),
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains(refusal), "{sql}: {err:?}");
    }
}

/// Data-subject requests and their events are append-only, with one outcome each, whoever writes.
#[test]
fn conformance_requests() {
    let db = TestDb::new();
    conformance::requests::run(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for (sql, refusal) in [
        (
            "INSERT INTO subject_request_events (request, kind, body, by_principal, at, audit_index) VALUES ('DR-1', 'outcome', '{}', 'x', 1, 1)",
            "subject_request_one_outcome",
        ),
        ("UPDATE subject_requests SET kind = 'x'", "request records are append-only"),
        ("DELETE FROM subject_request_events", "request records are append-only"),
        ("TRUNCATE subject_requests CASCADE", "request records are append-only"),
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains(refusal), "{sql}: {err:?}");
    }
}

/// Self-inspection reports, their findings and closures are append-only, whoever writes.
#[test]
fn conformance_inspections() {
    let db = TestDb::new();
    conformance::inspection::run(&db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    for sql in [
        "UPDATE inspections SET document = '{}'",
        "DELETE FROM inspections",
        "TRUNCATE inspections CASCADE",
        "UPDATE inspection_findings SET text = 'x'",
        "DELETE FROM inspection_findings",
        "TRUNCATE inspection_findings CASCADE",
        "UPDATE inspection_finding_closures SET text = 'x'",
        "DELETE FROM inspection_finding_closures",
        "TRUNCATE inspection_finding_closures",
    ] {
        let err = client.batch_execute(sql).expect_err(sql);
        assert!(format!("{err:?}").contains("inspection records are append-only"), "{sql}: {err:?}");
    }
}

/// A second active chief manager is refused by the database itself, whoever writes: a second
/// open appointment, an overlapping one, reopening an ended one; and no oversight record is
/// edited, deleted or truncated.
#[test]
fn a_second_active_chief_manager_is_refused_by_the_database() {
    use tokutei_store::oversight::OversightStore;
    let db = TestDb::new();
    let store = db.store();
    conformance::oversight::run(&store);
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    let refused = [
        (
            "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2030-01-01', NULL, NULL, 'x', 1, 1)",
            "chief manager appointments never overlap",
        ),
        (
            "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2027-01-10', '2027-01-20', NULL, 'x', 1, 1)",
            "chief manager appointments never overlap",
        ),
        (
            "UPDATE chief_manager_appointments SET to_date = NULL WHERE id = 'CM-1'",
            "an appointment is only ever ended, once",
        ),
        (
            "UPDATE chief_manager_appointments SET principal = 'intruder' WHERE id = 'CM-3'",
            "an appointment is only ever ended, once",
        ),
        ("DELETE FROM chief_manager_appointments WHERE id = 'CM-3'", "oversight records are append-only"),
        ("TRUNCATE chief_manager_appointments CASCADE", "oversight records are append-only"),
        ("UPDATE oversight_designations SET notified_on = '2027-06-01'", "oversight records are append-only"),
        ("DELETE FROM oversight_designations", "oversight records are append-only"),
        ("TRUNCATE oversight_designations", "oversight records are append-only"),
        ("UPDATE oversight_filings SET reference = 'x'", "oversight records are append-only"),
        ("DELETE FROM oversight_filings", "oversight records are append-only"),
        ("UPDATE internal_rules SET source = 'x'", "oversight records are append-only"),
        ("DELETE FROM internal_rules", "oversight records are append-only"),
        (
            "INSERT INTO internal_rules VALUES (9, 'x', 'sha256:09', '2027-01-01', 'x', 1, 1)",
            "a rules version is the next number",
        ),
        ("TRUNCATE oversight_filings", "oversight records are append-only"),
        ("UPDATE chief_manager_opinions SET text = 'x'", "oversight records are append-only"),
        ("DELETE FROM chief_manager_opinion_responses", "oversight records are append-only"),
        ("TRUNCATE chief_manager_opinion_responses", "oversight records are append-only"),
    ];
    for (sql, message) in refused {
        let err = client.batch_execute(sql).expect_err(sql);
        let db_error = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db_error.message(), message, "{sql}");
    }
    // Without the trigger (two instances inserting at once, say), the index alone still refuses
    // a second open appointment.
    let mut tx = client.transaction().unwrap();
    tx.batch_execute("ALTER TABLE chief_manager_appointments DISABLE TRIGGER chief_manager_appointments_guard")
        .unwrap();
    let err = tx
        .batch_execute(
            "INSERT INTO chief_manager_appointments VALUES ('X', 'intruder', '2030-01-01', NULL, NULL, 'x', 1, 1)",
        )
        .unwrap_err();
    drop(tx);
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "duplicate key value violates unique constraint \"chief_manager_one_open\""
    );
    let open: Vec<_> = store.appointments().unwrap().into_iter().filter(|a| a.to.is_none()).collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].appointment.id, "CM-3");
}

#[test]
fn migrations_are_idempotent() {
    let db = TestDb::new();
    drop(db.store());
    let store = db.store();
    drop(store);
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    let rows = client.query("SELECT version, name FROM schema_migrations ORDER BY version", &[]).unwrap();
    let applied: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let expected: Vec<(i64, String)> =
        MIGRATIONS.iter().enumerate().map(|(i, (name, _))| (i as i64 + 1, name.to_string())).collect();
    assert_eq!(applied, expected);
    assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    assert_eq!(MIGRATIONS.last().map(|m| m.0), Some("0023_exports_media"));
}

#[test]
fn concurrent_instances_migrate_once() {
    let db = TestDb::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| PgStore::connect(&db.url).map(drop))).collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    let count: i64 = client.query_one("SELECT COUNT(*) FROM schema_migrations", &[]).unwrap().get(0);
    assert_eq!(count, i64::from(SCHEMA_VERSION));
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TestDb::new();
    drop(db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    let newer = i64::from(SCHEMA_VERSION) + 1;
    client
        .execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from_the_future', 'later')",
            &[&newer],
        )
        .unwrap();
    match PgStore::connect(&db.url) {
        Err(StoreError::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
fn instances_importing_the_same_batch_apply_it_once() {
    use tokutei_store::vault::{
        BatchOutcome, Contract, ContractState, ImportBatch, NewSubscriber, VaultStore, WrappedDataKey,
    };
    let db = TestDb::new();
    let stores: Vec<PgStore> = (0..4).map(|_| db.store()).collect();
    let batch = ImportBatch {
        source_key: "file:1".into(),
        subscribers: (0..50)
            .map(|n| NewSubscriber {
                id: format!("S{n:03}"),
                service: "fiber".into(),
                contract: Contract {
                    state: ContractState::Active,
                    started_on: "2024-04-01".parse().unwrap(),
                    suspended_on: None,
                    terminated_on: None,
                },
                key: WrappedDataKey { kek_id: "kek-1".into(), bytes: vec![1] },
            })
            .collect(),
        values: vec![],
        rows: 50,
        imported_at: jiff::Timestamp::from_second(1_700_000_000).unwrap(),
        audit_index: None,
    };
    let outcomes: Vec<BatchOutcome> = std::thread::scope(|s| {
        let handles: Vec<_> = stores.iter().map(|store| s.spawn(|| store.import_batch(&batch).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| **o == BatchOutcome::Applied).count(), 1, "{outcomes:?}");
    assert_eq!(stores[0].subscriber_count().unwrap(), 50);
}

#[test]
fn append_only_tables_refuse_changes() {
    let db = TestDb::new();
    drop(db.store());
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    client
        .batch_execute(
            "INSERT INTO policy_versions VALUES (1, 'sha256:aa', 'x', '2024-04-01', 'staff-1', 'now');
             SELECT tokutei_ledger_partition(1); -- the ledger's month partition, as the ledger makes it
             INSERT INTO ledger_entries (idx, time, body, leaf) VALUES (0, 1, '\\x00', '\\x01');
             INSERT INTO ledger_nodes VALUES (1, 0, '\\x02');
             INSERT INTO ledger_checkpoints (size, note, created_at) VALUES (1, 'note', 'now');
             INSERT INTO vault_purges (subscriber, category, version, reason, policy_version, purged_at)
                 VALUES ('S1', 'c', 1, 'r', 1, 1);
             INSERT INTO vault_subscribers (id, service, state, started_on, created_at)
                 VALUES ('S1', 'fiber', 'active', '2024-04-01', 1);
             INSERT INTO consent_records (subscriber, purpose, choice, channel, notice_version, recorded_at,
                     recorded_by)
                 VALUES ('S1', 'marketing', 'opted_in', 'web', 1, 1, 'site');
             INSERT INTO provision_records (provided_at, recipient, subscriber, categories, purpose, basis,
                     record_type, keep_until)
                 VALUES (1, 'r', 'S1', '[]', 'p', 'consent', '{\"type\":\"each\"}', '9999-12-31'),
                        (1, 'r', 'S1', '[]', 'p', 'consent', '{\"type\":\"each\"}', '2000-01-01');",
        )
        .unwrap();
    let refused = [
        ("UPDATE policy_versions SET source = 'y'", "policy versions are immutable"),
        ("DELETE FROM policy_versions", "policy versions are immutable"),
        ("TRUNCATE policy_versions", "policy versions are immutable"),
        ("UPDATE ledger_entries SET time = 2", "the audit ledger is append-only"),
        ("DELETE FROM ledger_entries", "the audit ledger is append-only"),
        ("TRUNCATE ledger_entries", "the audit ledger is append-only"),
        ("UPDATE ledger_nodes SET hash = '\\x03'", "the audit ledger is append-only"),
        ("DELETE FROM ledger_nodes", "the audit ledger is append-only"),
        ("UPDATE ledger_checkpoints SET note = 'forged'", "the audit ledger is append-only"),
        ("DELETE FROM ledger_checkpoints", "the audit ledger is append-only"),
        ("UPDATE vault_purges SET reason = 'x'", "purge records are append-only"),
        ("DELETE FROM vault_purges", "purge records are append-only"),
        ("UPDATE consent_records SET choice = 'opted_out'", "consent records are append-only"),
        ("UPDATE provision_records SET recipient = 'x'", "provision records cannot be changed"),
        (
            "DELETE FROM provision_records WHERE keep_until = '9999-12-31'",
            "a provision record cannot be deleted before its retention ends",
        ),
        ("TRUNCATE provision_records", "a provision record cannot be deleted before its retention ends"),
    ];
    for (sql, message) in refused {
        let err = client.batch_execute(sql).expect_err(sql);
        let db_error = err.as_db_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(db_error.message(), message, "{sql}");
    }
    // Once its retention has passed, a provision record may go.
    assert_eq!(client.execute("DELETE FROM provision_records WHERE keep_until = '2000-01-01'", &[]).unwrap(), 1);
}

#[test]
fn connections_closed_by_the_server_are_reopened() {
    use tokutei_store::vault::VaultStore;
    use tokutei_store::{FreshnessStore, PolicyStore};
    let db = TestDb::new();
    let store = db.store();
    assert_eq!(store.subscriber_count().unwrap(), 0);
    // Every idle connection of the pool dies (a server restart, an idle timeout).
    let mut admin = Client::connect(&admin_url(), NoTls).unwrap();
    let killed: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
            &[&db.name],
        )
        .unwrap()
        .get(0);
    assert!(killed >= 1);
    assert_eq!(store.subscriber_count().unwrap(), 0);
    assert_eq!(store.freshness("2026-01-01".parse().unwrap()).unwrap().staff_generation, 0);
    assert!(store.policy_versions().unwrap().is_empty());
}

#[test]
fn batch_conflicts_name_the_row_and_leave_nothing() {
    use tokutei_policy::AcquisitionMethod;
    use tokutei_store::vault::{
        BatchOutcome, Contract, ContractState, ImportBatch, NewSubscriber, NewValue, Provenance, Sealed, Source,
        VaultStore, WrappedDataKey,
    };
    let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
    let subscriber = |id: &str| NewSubscriber {
        id: id.into(),
        service: "fiber".into(),
        contract: Contract {
            state: ContractState::Active,
            started_on: "2024-04-01".parse().unwrap(),
            suspended_on: None,
            terminated_on: None,
        },
        key: WrappedDataKey { kek_id: "kek-1".into(), bytes: vec![1] },
    };
    let value = |subscriber: &str, version: u32| NewValue {
        subscriber: subscriber.into(),
        category: "contract.name".into(),
        version,
        sealed: Sealed::Inline(vec![1]),
        provenance: Provenance {
            method: AcquisitionMethod::Written,
            source: Source::Direct,
            collected_at: at,
            collected_by: "import".into(),
            notice_version: 1,
        },
        valid_from: at,
        supersedes: false,
        blind_index: Some([5; 32]),
    };
    let batch = |key: &str, subscribers: Vec<NewSubscriber>, values: Vec<NewValue>| ImportBatch {
        source_key: key.into(),
        rows: subscribers.len() as u64,
        subscribers,
        values,
        imported_at: at,
        audit_index: Some(7),
    };
    let conflict = |result: Result<BatchOutcome, StoreError>| match result {
        Err(StoreError::Conflict(message)) => message,
        other => panic!("expected a conflict, got {other:?}"),
    };
    let db = TestDb::new();
    let store = db.store();
    store.import_batch(&batch("a", vec![subscriber("S1")], vec![value("S1", 1)])).unwrap();

    let message = conflict(store.import_batch(&batch("b", vec![subscriber("S2"), subscriber("S1")], vec![])));
    assert_eq!(message, "subscriber `S1` already exists");
    let message = conflict(store.import_batch(&batch("c", vec![subscriber("S3"), subscriber("S3")], vec![])));
    assert_eq!(message, "subscriber `S3` already exists");
    let message =
        conflict(store.import_batch(&batch("d", vec![subscriber("S4")], vec![value("S4", 1), value("S1", 1)])));
    assert_eq!(message, "value `contract.name` version 1 of subscriber `S1` already exists or the subscriber does not");
    let message =
        conflict(store.import_batch(&batch("e", vec![subscriber("S5")], vec![value("S5", 1), value("ZZ", 1)])));
    assert!(message.contains("`ZZ`"), "{message}");
    let message =
        conflict(store.import_batch(&batch("f", vec![subscriber("S6")], vec![value("S6", 1), value("S6", 1)])));
    assert!(message.contains("`S6`"), "{message}");

    assert_eq!(store.subscriber_count().unwrap(), 1, "a failed batch writes nothing");
    for key in ["b", "c", "d", "e", "f"] {
        assert!(!store.batch_imported(key).unwrap());
    }
    assert_eq!(store.find_by_blind_index("contract.name", &[5; 32]).unwrap(), ["S1"]);
    assert_eq!(store.values("S1", None, true).unwrap().len(), 1);
}

#[test]
fn backend_errors_leave_out_the_failing_row() {
    use tokutei_store::vault::{Contract, ContractState, VaultStore};
    let db = TestDb::new();
    let store = db.store();
    let mut client = Client::connect(&db.url, NoTls).unwrap();
    // A row only an outside edit could write makes the store's next update fail its checks.
    client
        .batch_execute(
            "ALTER TABLE vault_subscribers ADD CONSTRAINT no_suspension CHECK (suspended_on IS NULL);
             INSERT INTO vault_subscribers (id, service, state, started_on, created_at)
                 VALUES ('S1', 'secret-service-name', 'active', '2024-04-01', 1);",
        )
        .unwrap();
    let contract = Contract {
        state: ContractState::Suspended,
        started_on: "2024-04-01".parse().unwrap(),
        suspended_on: Some("2024-05-01".parse().unwrap()),
        terminated_on: None,
    };
    let err = store.set_contract("S1", &contract).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Backend(_)), "{message}");
    assert!(message.contains("23514"), "{message}");
    assert!(!message.contains("secret-service-name"), "{message}");
    // The driver's own error, kept as the source, does quote the row.
    let mut full = String::new();
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        full.push_str(&format!("{e:?}"));
        source = e.source();
    }
    assert!(full.contains("secret-service-name"), "{full}");
}
