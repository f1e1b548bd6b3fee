//! [`StaffStore`], [`ExportStore`], [`ConsentStore`] and [`ProvisionStore`] on SQLite (`0004_staff_consent.sql`).
//!
//! Every change of a principal or token bumps `staff_generation` in the same transaction.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use tokutei_policy::{Date, Role};
use tokutei_store::consent::{AccessFacts, Choice, ConsentRecord, ConsentStore, NewConsent};
use tokutei_store::provision::{LegalBasis, NewProvision, ProvisionRecord, ProvisionStore, RecordType};
use tokutei_store::staff::{
    ExportRequest, ExportStore, Grants, NewExportRequest, NewPrincipal, NewToken, PrincipalKind, StaffStore,
    StoredPrincipal, StoredToken, Training,
};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{Freshness, FreshnessStore};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

fn corrupt(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn from_micros(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| corrupt(column, e.to_string()))
}

fn date(column: usize, text: &str) -> rusqlite::Result<Date> {
    text.parse::<Date>().map_err(|e| corrupt(column, e))
}

fn role_id(role: Role) -> String {
    serde_json::to_value(role).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

const PRINCIPAL_COLUMNS: &str = "id, display_name, kind, role, system_name, grants, version, created_at, disabled_at";

fn principal_row(row: &Row<'_>) -> rusqlite::Result<StoredPrincipal> {
    let kind: String = row.get(2)?;
    let kind = match kind.as_str() {
        "person" => {
            let role: String = row.get(3)?;
            let role = serde_json::from_value(serde_json::Value::String(role.clone()))
                .map_err(|_| corrupt(3, format!("unknown role `{role}`")))?;
            PrincipalKind::Person { role }
        }
        "system" => PrincipalKind::System { name: row.get(4)? },
        other => return Err(corrupt(2, format!("unknown principal kind `{other}`"))),
    };
    let grants: String = row.get(5)?;
    let disabled: Option<i64> = row.get(8)?;
    Ok(StoredPrincipal {
        id: row.get(0)?,
        display_name: row.get(1)?,
        kind,
        grants: serde_json::from_str(&grants).map_err(|e| corrupt(5, e.to_string()))?,
        training: Vec::new(),
        version: row.get::<_, i64>(6)? as u64,
        created_at: from_micros(7, row.get(7)?)?,
        disabled_at: disabled.map(|us| from_micros(8, us)).transpose()?,
    })
}

fn training_of(conn: &rusqlite::Connection, principal: &str) -> StoreResult<Vec<Training>> {
    let mut stmt = conn
        .prepare_cached("SELECT course, completed, valid_until FROM staff_training WHERE principal = ?1 ORDER BY seq")
        .map_err(backend)?;
    let rows = stmt
        .query_map([principal], |r| {
            Ok(Training {
                course: r.get(0)?,
                completed: date(1, &r.get::<_, String>(1)?)?,
                valid_until: date(2, &r.get::<_, String>(2)?)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

fn bump(tx: &Transaction<'_>, id: &str) -> StoreResult<u64> {
    let version: Option<i64> = tx
        .query_row("UPDATE staff_principals SET version = version + 1 WHERE id = ?1 RETURNING version", [id], |r| {
            r.get(0)
        })
        .optional()
        .map_err(backend)?;
    let version = version.ok_or_else(|| StoreError::NotFound(format!("principal `{id}`")))?;
    bump_generation(tx)?;
    Ok(version as u64)
}

fn bump_generation(tx: &Transaction<'_>) -> StoreResult<()> {
    tx.execute("UPDATE staff_generation SET generation = generation + 1", []).map_err(backend)?;
    Ok(())
}

const TOKEN_COLUMNS: &str = "id, principal, hash, created_at, expires_at, revoked_at";

fn token_row(row: &Row<'_>) -> rusqlite::Result<StoredToken> {
    let hash: Vec<u8> = row.get(2)?;
    let revoked: Option<i64> = row.get(5)?;
    Ok(StoredToken {
        id: row.get(0)?,
        principal: row.get(1)?,
        hash: hash.try_into().map_err(|_| corrupt(2, "token hash is not 32 bytes".into()))?,
        created_at: from_micros(3, row.get(3)?)?,
        expires_at: from_micros(4, row.get(4)?)?,
        revoked_at: revoked.map(|us| from_micros(5, us)).transpose()?,
    })
}

impl StaffStore for SqliteStore {
    fn create_principal(&self, p: &NewPrincipal) -> StoreResult<StoredPrincipal> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let (kind, role, system) = match &p.kind {
            PrincipalKind::Person { role } => ("person", Some(role_id(*role)), None),
            PrincipalKind::System { name } => ("system", None, Some(name.as_str())),
        };
        let grants = serde_json::to_string(&p.grants).map_err(json_err)?;
        let inserted = tx
            .execute(
                "INSERT INTO staff_principals (id, display_name, kind, role, system_name, grants, version, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) ON CONFLICT (id) DO NOTHING",
                params![p.id, p.display_name, kind, role, system, grants, p.created_at.as_microsecond()],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("principal `{}` already exists", p.id)));
        }
        bump_generation(&tx)?;
        tx.commit().map_err(backend)?;
        Ok(StoredPrincipal {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            kind: p.kind.clone(),
            grants: p.grants.clone(),
            training: Vec::new(),
            version: 1,
            created_at: p.created_at,
            disabled_at: None,
        })
    }

    fn principal(&self, id: &str) -> StoreResult<Option<StoredPrincipal>> {
        let conn = self.reader()?;
        let found = conn
            .prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM staff_principals WHERE id = ?1"))
            .map_err(backend)?
            .query_row([id], principal_row)
            .optional()
            .map_err(backend)?;
        let Some(mut principal) = found else { return Ok(None) };
        principal.training = training_of(&conn, id)?;
        Ok(Some(principal))
    }

    fn principals(&self) -> StoreResult<Vec<StoredPrincipal>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM staff_principals ORDER BY id"))
            .map_err(backend)?;
        let mut all: Vec<StoredPrincipal> =
            stmt.query_map([], principal_row).map_err(backend)?.collect::<Result<_, _>>().map_err(backend)?;
        for p in &mut all {
            p.training = training_of(&conn, &p.id)?;
        }
        Ok(all)
    }

    fn set_grants(&self, id: &str, grants: &Grants) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let json = serde_json::to_string(grants).map_err(json_err)?;
        tx.execute("UPDATE staff_principals SET grants = ?2 WHERE id = ?1", params![id, json]).map_err(backend)?;
        let version = bump(&tx, id)?;
        tx.commit().map_err(backend)?;
        Ok(version)
    }

    fn add_training(&self, id: &str, training: &Training) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let version = bump(&tx, id)?;
        tx.execute(
            "INSERT INTO staff_training (principal, course, completed, valid_until, seq)
             VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM staff_training WHERE principal = ?1))",
            params![id, training.course, training.completed.to_string(), training.valid_until.to_string()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(version)
    }

    fn disable_principal(&self, id: &str, at: Timestamp) -> StoreResult<u64> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "UPDATE staff_principals SET disabled_at = COALESCE(disabled_at, ?2) WHERE id = ?1",
            params![id, at.as_microsecond()],
        )
        .map_err(backend)?;
        let version = bump(&tx, id)?;
        tx.commit().map_err(backend)?;
        Ok(version)
    }

    fn add_token(&self, token: &NewToken) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let enabled: Option<Option<i64>> = tx
            .query_row("SELECT disabled_at FROM staff_principals WHERE id = ?1", [&token.principal], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        match enabled {
            None => return Err(StoreError::NotFound(format!("principal `{}`", token.principal))),
            Some(Some(_)) => {
                return Err(StoreError::Conflict(format!("principal `{}` is disabled", token.principal)));
            }
            Some(None) => {}
        }
        let inserted = tx
            .execute(
                "INSERT INTO staff_tokens (id, principal, hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    token.id,
                    token.principal,
                    &token.hash[..],
                    token.created_at.as_microsecond(),
                    token.expires_at.as_microsecond()
                ],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("token `{}` already exists", token.id)));
        }
        bump_generation(&tx)?;
        tx.commit().map_err(backend)
    }

    fn token(&self, id: &str) -> StoreResult<Option<StoredToken>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE id = ?1"))
            .map_err(backend)?
            .query_row([id], token_row)
            .optional()
            .map_err(backend)
    }

    fn tokens(&self, principal: &str) -> StoreResult<Vec<StoredToken>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM staff_tokens WHERE principal = ?1 ORDER BY created_at DESC, id"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([principal], token_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn revoke_token(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let changed = tx
            .execute(
                "UPDATE staff_tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, at.as_microsecond()],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("token `{id}`")));
        }
        bump_generation(&tx)?;
        tx.commit().map_err(backend)
    }

    fn staff_generation(&self) -> StoreResult<u64> {
        let conn = self.reader()?;
        conn.prepare_cached("SELECT generation FROM staff_generation")
            .map_err(backend)?
            .query_row([], |r| r.get::<_, i64>(0))
            .map(|g| g as u64)
            .map_err(backend)
    }
}

const CONSENT_COLUMNS: &str =
    "id, subscriber, purpose, choice, channel, notice_version, recorded_at, recorded_by, evidence, audit_index";

fn consent_row(row: &Row<'_>) -> rusqlite::Result<ConsentRecord> {
    consent_row_at(row, 0)
}

/// A consent record read from the columns starting at `at` (in [`CONSENT_COLUMNS`] order).
fn consent_row_at(row: &Row<'_>, at: usize) -> rusqlite::Result<ConsentRecord> {
    let choice: String = row.get(at + 3)?;
    Ok(ConsentRecord {
        id: row.get::<_, i64>(at)? as u64,
        record: NewConsent {
            subscriber: row.get(at + 1)?,
            purpose: row.get(at + 2)?,
            choice: Choice::from_id(&choice).ok_or_else(|| corrupt(at + 3, format!("unknown choice `{choice}`")))?,
            channel: row.get(at + 4)?,
            notice_version: row.get(at + 5)?,
            recorded_at: from_micros(at + 6, row.get(at + 6)?)?,
            recorded_by: row.get(at + 7)?,
            evidence: row.get(at + 8)?,
        },
        audit_index: row.get(at + 9)?,
    })
}

impl ConsentStore for SqliteStore {
    fn access_facts(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<AccessFacts>> {
        // Whether the latest stop of `{kind}` for the purpose (`?2`) or every purpose is in force.
        const STOPPED_SQL: &str = "EXISTS (SELECT 1 FROM use_stops u
                 WHERE u.subscriber = s.id AND u.kind = '{kind}' AND u.purpose IN (?2, '*') AND u.stopped = 1
                   AND u.number = (SELECT MAX(l.number) FROM use_stops l
                                   WHERE l.subscriber = u.subscriber AND l.kind = u.kind AND l.purpose = u.purpose))";
        let conn = self.reader()?;
        let columns =
            crate::vault::SUBSCRIBER_COLUMNS.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", ");
        let consent = CONSENT_COLUMNS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
        let stops_at = 10 + CONSENT_COLUMNS.split(", ").count();
        let use_stopped = STOPPED_SQL.replace("{kind}", "use");
        let provision_stopped = STOPPED_SQL.replace("{kind}", "provision");
        conn.prepare_cached(&format!(
            "SELECT {columns}, k.kek_id, k.wrapped, {consent}, {use_stopped}, {provision_stopped}
             FROM vault_subscribers s
             LEFT JOIN vault_data_keys k ON k.subscriber = s.id
             LEFT JOIN consent_records c
                 ON c.id = (SELECT MAX(id) FROM consent_records WHERE subscriber = s.id AND purpose = ?2)
             WHERE s.id = ?1"
        ))
        .map_err(backend)?
        .query_row([subscriber, purpose], |row| {
            let kek: Option<String> = row.get(8)?;
            let consent_id: Option<i64> = row.get(10)?;
            Ok(AccessFacts {
                subscriber: crate::vault::subscriber_row(row)?,
                key: match kek {
                    Some(kek_id) => Some(WrappedDataKey { kek_id, bytes: row.get(9)? }),
                    None => None,
                },
                consent: consent_id.map(|_| consent_row_at(row, 10)).transpose()?,
                use_stopped: row.get(stops_at)?,
                provision_stopped: row.get(stops_at + 1)?,
            })
        })
        .optional()
        .map_err(backend)
    }

    fn record_consent(&self, c: &NewConsent, audit_index: Option<u64>) -> StoreResult<ConsentRecord> {
        let conn = self.writer();
        let exists: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM vault_subscribers WHERE id = ?1)", [&c.subscriber], |r| r.get(0))
            .map_err(backend)?;
        if !exists {
            return Err(StoreError::NotFound(format!("subscriber `{}`", c.subscriber)));
        }
        let id: i64 = conn
            .query_row(
                "INSERT INTO consent_records
                     (subscriber, purpose, choice, channel, notice_version, recorded_at, recorded_by, evidence,
                      audit_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
                params![
                    c.subscriber,
                    c.purpose,
                    c.choice.id(),
                    c.channel,
                    c.notice_version,
                    c.recorded_at.as_microsecond(),
                    c.recorded_by,
                    c.evidence,
                    audit_index
                ],
                |r| r.get(0),
            )
            .map_err(backend)?;
        Ok(ConsentRecord { id: id as u64, record: c.clone(), audit_index })
    }

    fn current_consents(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE id IN (
                     SELECT MAX(id) FROM consent_records WHERE subscriber = ?1 GROUP BY purpose)
                 ORDER BY purpose"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([subscriber], consent_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn current_consent(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<ConsentRecord>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!(
            "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE subscriber = ?1 AND purpose = ?2
             ORDER BY id DESC LIMIT 1"
        ))
        .map_err(backend)?
        .query_row([subscriber, purpose], consent_row)
        .optional()
        .map_err(backend)
    }

    fn consent_history(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {CONSENT_COLUMNS} FROM consent_records WHERE subscriber = ?1 ORDER BY id"))
            .map_err(backend)?;
        let rows = stmt.query_map([subscriber], consent_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn consent_records(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<ConsentRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {CONSENT_COLUMNS} FROM consent_records WHERE ?1 IS NULL OR id > ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![after, limit as i64], consent_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

impl FreshnessStore for SqliteStore {
    fn freshness(&self, today: Date) -> StoreResult<Freshness> {
        let conn = self.reader()?;
        conn.prepare_cached(
            "SELECT (SELECT number FROM policy_versions WHERE effective <= ?1 ORDER BY number DESC LIMIT 1),
                    (SELECT generation FROM staff_generation)",
        )
        .map_err(backend)?
        .query_row([today.to_string()], |r| {
            Ok(Freshness { active_policy: r.get(0)?, staff_generation: r.get::<_, i64>(1)? as u64 })
        })
        .map_err(backend)
    }
}

const PROVISION_COLUMNS: &str = "id, provided_at, recipient, subscriber, categories, purpose, basis, consent_proof, \
     record_type, audit_index, keep_until";

fn provision_row(row: &Row<'_>) -> rusqlite::Result<ProvisionRecord> {
    let categories: String = row.get(4)?;
    let basis: String = row.get(6)?;
    let record_type: String = row.get(8)?;
    let basis = match basis.as_str() {
        "consent" => LegalBasis::Consent,
        "opt_out" => LegalBasis::OptOut,
        other => return Err(corrupt(6, format!("unknown legal basis `{other}`"))),
    };
    let proof: Option<i64> = row.get(7)?;
    let audit: Option<i64> = row.get(9)?;
    Ok(ProvisionRecord {
        id: row.get::<_, i64>(0)? as u64,
        record: NewProvision {
            provided_at: from_micros(1, row.get(1)?)?,
            recipient: row.get(2)?,
            subscriber: row.get(3)?,
            categories: serde_json::from_str(&categories).map_err(|e| corrupt(4, e.to_string()))?,
            purpose: row.get(5)?,
            basis,
            consent_proof: proof.map(|p| p as u64),
            record_type: serde_json::from_str::<RecordType>(&record_type).map_err(|e| corrupt(8, e.to_string()))?,
            audit_index: audit.map(|a| a as u64),
            keep_until: date(10, &row.get::<_, String>(10)?)?,
        },
    })
}

impl ProvisionStore for SqliteStore {
    fn add_provisions(&self, records: &[NewProvision]) -> StoreResult<Vec<u64>> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let mut ids = Vec::with_capacity(records.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO provision_records (provided_at, recipient, subscriber, categories, purpose, basis,
                         consent_proof, record_type, audit_index, keep_until)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                )
                .map_err(backend)?;
            for r in records {
                let id: i64 = insert
                    .query_row(
                        params![
                            r.provided_at.as_microsecond(),
                            r.recipient,
                            r.subscriber,
                            serde_json::to_string(&r.categories).map_err(json_err)?,
                            r.purpose,
                            r.basis.id(),
                            r.consent_proof.map(|p| p as i64),
                            serde_json::to_string(&r.record_type).map_err(json_err)?,
                            r.audit_index.map(|a| a as i64),
                            r.keep_until.to_string()
                        ],
                        |row| row.get(0),
                    )
                    .map_err(backend)?;
                ids.push(id as u64);
            }
        }
        tx.commit().map_err(backend)?;
        Ok(ids)
    }

    fn provisions_of(&self, subscriber: &str) -> StoreResult<Vec<ProvisionRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PROVISION_COLUMNS} FROM provision_records WHERE subscriber = ?1 ORDER BY id"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map([subscriber], provision_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn provisions(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<ProvisionRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {PROVISION_COLUMNS} FROM provision_records WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt.query_map(params![after.unwrap_or(0) as i64, limit as i64], provision_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

const EXPORT_COLUMNS: &str = "id, requested_by, purpose, categories, subscribers, reason, recipient, requested_at, \
     valid_until, approved_by, approved_at";

fn export_row(row: &Row<'_>) -> rusqlite::Result<ExportRequest> {
    let categories: String = row.get(3)?;
    let subscribers: Option<String> = row.get(4)?;
    let approved_at: Option<i64> = row.get(10)?;
    Ok(ExportRequest {
        request: NewExportRequest {
            id: row.get(0)?,
            requested_by: row.get(1)?,
            purpose: row.get(2)?,
            categories: serde_json::from_str(&categories).map_err(|e| corrupt(3, e.to_string()))?,
            subscribers: subscribers
                .map(|s| serde_json::from_str(&s).map_err(|e| corrupt(4, e.to_string())))
                .transpose()?,
            reason: row.get(5)?,
            recipient: row.get(6)?,
            requested_at: from_micros(7, row.get(7)?)?,
            valid_until: from_micros(8, row.get(8)?)?,
        },
        approved_by: row.get(9)?,
        approved_at: approved_at.map(|us| from_micros(10, us)).transpose()?,
    })
}

impl ExportStore for SqliteStore {
    fn create_export_request(&self, r: &NewExportRequest) -> StoreResult<()> {
        let conn = self.writer();
        let known: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM staff_principals WHERE id = ?1)", [&r.requested_by], |row| {
                row.get(0)
            })
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("principal `{}`", r.requested_by)));
        }
        let subscribers = r.subscribers.as_ref().map(serde_json::to_string).transpose().map_err(json_err)?;
        let inserted = conn
            .execute(
                "INSERT INTO export_requests (id, requested_by, purpose, categories, subscribers, reason, recipient,
                     requested_at, valid_until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
                params![
                    r.id,
                    r.requested_by,
                    r.purpose,
                    serde_json::to_string(&r.categories).map_err(json_err)?,
                    subscribers,
                    r.reason,
                    r.recipient,
                    r.requested_at.as_microsecond(),
                    r.valid_until.as_microsecond()
                ],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!("export request `{}` already exists", r.id)));
        }
        Ok(())
    }

    fn approve_export(&self, id: &str, approver: &str, at: Timestamp) -> StoreResult<ExportRequest> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let found = tx
            .query_row(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests WHERE id = ?1"), [id], export_row)
            .optional()
            .map_err(backend)?;
        let mut request = found.ok_or_else(|| StoreError::NotFound(format!("export request `{id}`")))?;
        if request.approved_by.is_some() {
            return Err(StoreError::Conflict(format!("export request `{id}` is already approved")));
        }
        if request.request.requested_by == approver {
            return Err(StoreError::Conflict(format!("export request `{id}` cannot be approved by its requester")));
        }
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM staff_principals WHERE id = ?1)", [approver], |row| row.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("principal `{approver}`")));
        }
        tx.execute(
            "UPDATE export_requests SET approved_by = ?2, approved_at = ?3 WHERE id = ?1",
            params![id, approver, at.as_microsecond()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        request.approved_by = Some(approver.to_string());
        request.approved_at = Some(at);
        Ok(request)
    }

    fn export_request(&self, id: &str) -> StoreResult<Option<ExportRequest>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests WHERE id = ?1"))
            .map_err(backend)?
            .query_row([id], export_row)
            .optional()
            .map_err(backend)
    }

    fn export_requests(&self) -> StoreResult<Vec<ExportRequest>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {EXPORT_COLUMNS} FROM export_requests ORDER BY requested_at DESC, id"))
            .map_err(backend)?;
        let rows = stmt.query_map([], export_row).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        (dir, store)
    }

    #[test]
    fn conformance_staff() {
        let (_dir, store) = store();
        tokutei_store::conformance::staff::run(&store);
    }

    #[test]
    fn conformance_consent_and_provision() {
        let (_dir, store) = store();
        tokutei_store::conformance::staff::run_consent_and_provision(&store);
    }

    #[test]
    fn conformance_exports() {
        let (_dir, store) = store();
        tokutei_store::conformance::staff::run_exports(&store);
    }
}
