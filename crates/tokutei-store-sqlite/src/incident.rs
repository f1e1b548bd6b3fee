//! [`IncidentStore`] on SQLite (`0012_incidents.sql`): the register's records, append-only by
//! triggers; a refusal by a trigger (a withdrawal inside the publication window, a version out
//! of order) is a conflict carrying the trigger's message.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};
use tokutei_policy::{Date, Text};
use tokutei_store::incident::{
    AlternativeMeasure, Impact, ImpactItem, IncidentStore, IncidentVersion, NewObligation, NoticeSent, Obligation,
    Publication, Regime, Report, StoredIncident, Submission, Withdrawal,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn ts(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| conversion(column, e.to_string()))
}

fn date(column: usize, text: &str) -> rusqlite::Result<Date> {
    text.parse::<Date>().map_err(|e| conversion(column, e))
}

fn index(column: usize, n: i64) -> rusqlite::Result<u64> {
    u64::try_from(n).map_err(|_| conversion(column, format!("{n} is out of range")))
}

fn number(column: usize, n: i64) -> rusqlite::Result<u32> {
    u32::try_from(n).map_err(|_| conversion(column, format!("{n} is out of range")))
}

fn bigint(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{n} is out of range")))
}

/// A refusal by a constraint or a trigger is a conflict with its message; anything else is
/// the backend's failure.
fn refused(err: rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(f, message) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(message.unwrap_or_else(|| "the incident register refused the change".into()))
        }
        other => backend(other),
    }
}

const VERSION_COLUMNS: &str = "incident, version, fields, change, changed_by, changed_at, audit_index";

fn version_row(r: &Row<'_>) -> rusqlite::Result<IncidentVersion> {
    let fields: String = r.get(2)?;
    Ok(IncidentVersion {
        incident: r.get(0)?,
        version: number(1, r.get(1)?)?,
        fields: serde_json::from_str(&fields).map_err(|e| conversion(2, e.to_string()))?,
        change: r.get(3)?,
        changed_by: r.get(4)?,
        changed_at: ts(5, r.get(5)?)?,
        audit_index: index(6, r.get(6)?)?,
    })
}

fn obligation_row(r: &Row<'_>) -> rusqlite::Result<(String, Obligation)> {
    let regime: String = r.get(1)?;
    let report: String = r.get(2)?;
    let due: String = r.get(3)?;
    let submitted_at: Option<i64> = r.get(6)?;
    let submission = match submitted_at {
        Some(at) => {
            let digest: Vec<u8> = r.get(9)?;
            Some(Submission {
                submitted_at: ts(6, at)?,
                recipient: r.get(7)?,
                reference: r.get(8)?,
                digest: digest.try_into().map_err(|_| conversion(9, "a digest is 32 bytes".into()))?,
                submitted_by: r.get(10)?,
                audit_index: index(11, r.get(11)?)?,
            })
        }
        None => None,
    };
    Ok((
        r.get(0)?,
        Obligation {
            obligation: NewObligation {
                regime: Regime::from_code(&regime)
                    .ok_or_else(|| conversion(1, format!("unknown regime `{regime}`")))?,
                report: Report::from_code(&report)
                    .ok_or_else(|| conversion(2, format!("unknown report `{report}`")))?,
                due: date(3, &due)?,
                recipient: r.get(4)?,
                unconfirmed: r.get(5)?,
            },
            submission,
        },
    ))
}

const OBLIGATION_SELECT: &str = "SELECT o.incident, o.regime, o.report, o.due, o.recipient, o.unconfirmed,
        s.submitted_at, s.recipient, s.reference, s.digest, s.submitted_by, s.audit_index
    FROM incident_obligations o LEFT JOIN incident_submissions s
        ON s.incident = o.incident AND s.regime = o.regime AND s.report = o.report";

fn sort_obligations(list: &mut [Obligation]) {
    list.sort_by_key(|o| (o.obligation.regime, o.obligation.report));
}

fn stored(conn: &Connection, id: &str, created_at: i64) -> StoreResult<StoredIncident> {
    let current = conn
        .prepare_cached(&format!(
            "SELECT {VERSION_COLUMNS} FROM incident_versions WHERE incident = ?1 ORDER BY version DESC LIMIT 1"
        ))
        .map_err(backend)?
        .query_row([id], version_row)
        .map_err(backend)?;
    let mut statement = conn.prepare_cached(&format!("{OBLIGATION_SELECT} WHERE o.incident = ?1")).map_err(backend)?;
    let mut obligations = statement
        .query_map([id], obligation_row)
        .map_err(backend)?
        .map(|r| r.map(|(_, o)| o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    sort_obligations(&mut obligations);
    Ok(StoredIncident { id: id.to_string(), created_at: ts(1, created_at).map_err(backend)?, current, obligations })
}

fn insert_version(tx: &Connection, v: &IncidentVersion) -> StoreResult<()> {
    let fields = serde_json::to_string(&v.fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        &format!("INSERT INTO incident_versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            v.incident,
            v.version,
            fields,
            v.change,
            v.changed_by,
            v.changed_at.as_microsecond(),
            bigint(v.audit_index)?
        ],
    )
    .map_err(refused)?;
    Ok(())
}

fn insert_obligations(tx: &Connection, incident: &str, obligations: &[NewObligation]) -> StoreResult<()> {
    for o in obligations {
        tx.execute(
            "INSERT INTO incident_obligations (incident, regime, report, due, recipient, unconfirmed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![incident, o.regime.code(), o.report.code(), o.due.to_string(), o.recipient, o.unconfirmed],
        )
        .map_err(refused)?;
    }
    Ok(())
}

fn publication_row(r: &Row<'_>) -> rusqlite::Result<Publication> {
    Ok(Publication {
        incident: r.get(0)?,
        version: number(1, r.get(1)?)?,
        occurred: date(2, &r.get::<_, String>(2)?)?,
        summary: Text { ja: r.get(3)?, en: r.get(4)? },
        published_at: ts(5, r.get(5)?)?,
        published_on: date(6, &r.get::<_, String>(6)?)?,
        listed_until: date(7, &r.get::<_, String>(7)?)?,
        published_by: r.get(8)?,
        audit_index: index(9, r.get(9)?)?,
    })
}

const PUBLICATION_COLUMNS: &str = "incident, version, occurred, summary_ja, summary_en, published_at, published_on,
    listed_until, published_by, audit_index";

impl IncidentStore for SqliteStore {
    fn create_incident(&self, first: &IncidentVersion, obligations: &[NewObligation]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM incidents WHERE id = ?1", [&first.incident], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("incident `{}` already exists", first.incident)));
        }
        tx.execute(
            "INSERT INTO incidents (id, created_at) VALUES (?1, ?2)",
            params![first.incident, first.changed_at.as_microsecond()],
        )
        .map_err(refused)?;
        insert_version(&tx, first)?;
        insert_obligations(&tx, &first.incident, obligations)?;
        tx.commit().map_err(backend)
    }

    fn add_incident_version(
        &self,
        version: &IncidentVersion,
        obligations: Option<&[NewObligation]>,
    ) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let latest: Option<i64> = tx
            .query_row("SELECT MAX(version) FROM incident_versions WHERE incident = ?1", [&version.incident], |r| {
                r.get(0)
            })
            .map_err(backend)?;
        let Some(latest) = latest else {
            return Err(StoreError::NotFound(format!("incident `{}`", version.incident)));
        };
        if i64::from(version.version) != latest + 1 {
            return Err(StoreError::Conflict(format!(
                "incident `{}` changed meanwhile (version {latest} is stored)",
                version.incident
            )));
        }
        insert_version(&tx, version)?;
        if let Some(obligations) = obligations {
            tx.execute(
                "DELETE FROM incident_obligations WHERE incident = ?1 AND NOT EXISTS (
                     SELECT 1 FROM incident_submissions s WHERE s.incident = incident_obligations.incident
                     AND s.regime = incident_obligations.regime AND s.report = incident_obligations.report)",
                [&version.incident],
            )
            .map_err(refused)?;
            insert_obligations(&tx, &version.incident, obligations)?;
        }
        tx.commit().map_err(backend)
    }

    fn incident(&self, id: &str) -> StoreResult<Option<StoredIncident>> {
        let conn = self.reader()?;
        let created: Option<i64> = conn
            .prepare_cached("SELECT created_at FROM incidents WHERE id = ?1")
            .map_err(backend)?
            .query_row([id], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        created.map(|at| stored(&conn, id, at)).transpose()
    }

    fn incidents(&self, limit: usize) -> StoreResult<Vec<StoredIncident>> {
        let conn = self.reader()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<(String, i64)> = conn
            .prepare_cached("SELECT id, created_at FROM incidents ORDER BY created_at DESC, id DESC LIMIT ?1")
            .map_err(backend)?
            .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        ids.iter().map(|(id, at)| stored(&conn, id, *at)).collect()
    }

    fn incident_versions(&self, id: &str) -> StoreResult<Vec<IncidentVersion>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM incident_versions WHERE incident = ?1 ORDER BY version"
            ))
            .map_err(backend)?;
        let rows = statement.query_map([id], version_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn record_submission(&self, incident: &str, regime: Regime, report: Report, s: &Submission) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let owed: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM incident_obligations WHERE incident = ?1 AND regime = ?2 AND report = ?3",
                params![incident, regime.code(), report.code()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        if owed.is_none() {
            return Err(StoreError::NotFound(format!(
                "{} report of the {} regime for incident `{incident}`",
                report.code(),
                regime.code()
            )));
        }
        tx.execute(
            "INSERT INTO incident_submissions (incident, regime, report, submitted_at, recipient, reference, digest,
                 submitted_by, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                incident,
                regime.code(),
                report.code(),
                s.submitted_at.as_microsecond(),
                s.recipient,
                s.reference,
                s.digest.to_vec(),
                s.submitted_by,
                bigint(s.audit_index)?
            ],
        )
        .map_err(|e| match refused(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "the {} report of the {} regime for incident `{incident}` was submitted already",
                report.code(),
                regime.code()
            )),
            other => other,
        })?;
        tx.commit().map_err(backend)
    }

    fn open_obligations(&self) -> StoreResult<Vec<(String, NewObligation)>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(&format!(
                "{OBLIGATION_SELECT} WHERE s.incident IS NULL ORDER BY o.due, o.incident, o.regime, o.report"
            ))
            .map_err(backend)?;
        let rows = statement.query_map([], obligation_row).map_err(backend)?;
        rows.map(|r| r.map(|(id, o)| (id, o.obligation))).collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn add_impact(&self, impact: &Impact) -> StoreResult<()> {
        let scope = serde_json::to_string(&impact.scope).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO incident_impacts (incident, number, scope, tree_size, computed_by, computed_at, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                impact.incident,
                impact.number,
                scope,
                bigint(impact.tree_size)?,
                impact.computed_by,
                impact.computed_at.as_microsecond(),
                bigint(impact.audit_index)?
            ],
        )
        .map_err(refused)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO incident_impact_items (incident, number, subscriber, category, reads, indexes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend)?;
            for item in &impact.items {
                let indexes = serde_json::to_string(&item.indexes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                insert
                    .execute(params![
                        impact.incident,
                        impact.number,
                        item.subscriber,
                        item.category,
                        bigint(item.indexes.len() as u64)?,
                        indexes
                    ])
                    .map_err(refused)?;
            }
        }
        tx.commit().map_err(backend)
    }

    fn impacts(&self, incident: &str) -> StoreResult<Vec<Impact>> {
        let conn = self.reader()?;
        let mut heads = conn
            .prepare_cached(
                "SELECT incident, number, scope, tree_size, computed_by, computed_at, audit_index
                 FROM incident_impacts WHERE incident = ?1 ORDER BY number",
            )
            .map_err(backend)?;
        let mut impacts = heads
            .query_map([incident], |r| {
                let scope: String = r.get(2)?;
                Ok(Impact {
                    incident: r.get(0)?,
                    number: number(1, r.get(1)?)?,
                    scope: serde_json::from_str(&scope).map_err(|e| conversion(2, e.to_string()))?,
                    tree_size: index(3, r.get(3)?)?,
                    computed_by: r.get(4)?,
                    computed_at: ts(5, r.get(5)?)?,
                    audit_index: index(6, r.get(6)?)?,
                    items: Vec::new(),
                })
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        let mut items = conn
            .prepare_cached(
                "SELECT subscriber, category, indexes FROM incident_impact_items
                 WHERE incident = ?1 AND number = ?2 ORDER BY subscriber, category",
            )
            .map_err(backend)?;
        for impact in &mut impacts {
            impact.items = items
                .query_map(params![incident, impact.number], |r| {
                    let indexes: String = r.get(2)?;
                    Ok(ImpactItem {
                        subscriber: r.get(0)?,
                        category: r.get(1)?,
                        indexes: serde_json::from_str(&indexes).map_err(|e| conversion(2, e.to_string()))?,
                    })
                })
                .map_err(backend)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(backend)?;
        }
        Ok(impacts)
    }

    fn record_notices(&self, notices: &[NoticeSent]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        for n in notices {
            tx.execute(
                "INSERT INTO incident_notices (incident, subscriber, method, sent_at, recorded_by, audit_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    n.incident,
                    n.subscriber,
                    n.method,
                    n.sent_at.as_microsecond(),
                    n.recorded_by,
                    bigint(n.audit_index)?
                ],
            )
            .map_err(refused)?;
        }
        tx.commit().map_err(backend)
    }

    fn notices(&self, incident: &str) -> StoreResult<Vec<NoticeSent>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT incident, subscriber, method, sent_at, recorded_by, audit_index FROM incident_notices
                 WHERE incident = ?1 ORDER BY id",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([incident], |r| {
                Ok(NoticeSent {
                    incident: r.get(0)?,
                    subscriber: r.get(1)?,
                    method: r.get(2)?,
                    sent_at: ts(3, r.get(3)?)?,
                    recorded_by: r.get(4)?,
                    audit_index: index(5, r.get(5)?)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn record_alternative(&self, m: &AlternativeMeasure) -> StoreResult<()> {
        self.writer()
            .execute(
                "INSERT INTO incident_alternatives (incident, measure, reason, recorded_by, recorded_at, audit_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    m.incident,
                    m.measure,
                    m.reason,
                    m.recorded_by,
                    m.recorded_at.as_microsecond(),
                    bigint(m.audit_index)?
                ],
            )
            .map_err(refused)?;
        Ok(())
    }

    fn alternatives(&self, incident: &str) -> StoreResult<Vec<AlternativeMeasure>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT incident, measure, reason, recorded_by, recorded_at, audit_index FROM incident_alternatives
                 WHERE incident = ?1 ORDER BY id",
            )
            .map_err(backend)?;
        let rows = statement
            .query_map([incident], |r| {
                Ok(AlternativeMeasure {
                    incident: r.get(0)?,
                    measure: r.get(1)?,
                    reason: r.get(2)?,
                    recorded_by: r.get(3)?,
                    recorded_at: ts(4, r.get(4)?)?,
                    audit_index: index(5, r.get(5)?)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn publish_incident(&self, p: &Publication) -> StoreResult<()> {
        self.writer()
            .execute(
                &format!("INSERT INTO incident_publications ({PUBLICATION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![
                    p.incident,
                    p.version,
                    p.occurred.to_string(),
                    p.summary.ja,
                    p.summary.en,
                    p.published_at.as_microsecond(),
                    p.published_on.to_string(),
                    p.listed_until.to_string(),
                    p.published_by,
                    bigint(p.audit_index)?
                ],
            )
            .map_err(refused)?;
        Ok(())
    }

    fn publications(&self, incident: &str) -> StoreResult<Vec<Publication>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {PUBLICATION_COLUMNS} FROM incident_publications WHERE incident = ?1 ORDER BY version"
            ))
            .map_err(backend)?;
        let rows = statement.query_map([incident], publication_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn published_incidents(&self) -> StoreResult<Vec<Publication>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {PUBLICATION_COLUMNS} FROM incident_publications p
                 WHERE NOT EXISTS (SELECT 1 FROM incident_withdrawals w WHERE w.incident = p.incident)
                 ORDER BY incident, version"
            ))
            .map_err(backend)?;
        let rows = statement.query_map([], publication_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn withdraw_incident(&self, w: &Withdrawal) -> StoreResult<()> {
        self.writer()
            .execute(
                "INSERT INTO incident_withdrawals (incident, withdrawn_at, withdrawn_on, reason, withdrawn_by, audit_index)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    w.incident,
                    w.withdrawn_at.as_microsecond(),
                    w.withdrawn_on.to_string(),
                    w.reason,
                    w.withdrawn_by,
                    bigint(w.audit_index)?
                ],
            )
            .map_err(refused)?;
        Ok(())
    }

    fn withdrawal(&self, incident: &str) -> StoreResult<Option<Withdrawal>> {
        let conn = self.reader()?;
        conn.prepare_cached(
            "SELECT incident, withdrawn_at, withdrawn_on, reason, withdrawn_by, audit_index
             FROM incident_withdrawals WHERE incident = ?1",
        )
        .map_err(backend)?
        .query_row([incident], |r| {
            Ok(Withdrawal {
                incident: r.get(0)?,
                withdrawn_at: ts(1, r.get(1)?)?,
                withdrawn_on: date(2, &r.get::<_, String>(2)?)?,
                reason: r.get(3)?,
                withdrawn_by: r.get(4)?,
                audit_index: index(5, r.get(5)?)?,
            })
        })
        .optional()
        .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    fn store(dir: &tempfile::TempDir) -> crate::SqliteStore {
        crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap()
    }

    #[test]
    fn conformance_incident() {
        let dir = tempfile::tempdir().unwrap();
        tokutei_store::conformance::incident::run(&store(&dir));
    }

    /// The register's guards hold against raw SQL: records are never edited or deleted, a
    /// withdrawal is refused while a publication's window lasts (by the database's own date),
    /// and a publication whose window has ended may go.
    #[test]
    fn the_database_refuses_to_hide_a_published_incident_inside_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        drop(store(&dir));
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO incidents VALUES ('INC-1', 1), ('INC-2', 1);
             INSERT INTO incident_versions VALUES ('INC-1', 1, '{}', 'opened', 'cpo', 1, 0);
             INSERT INTO incident_obligations VALUES ('INC-1', 'secrecy', 'first', '2026-06-02', 'r', 0),
                                                     ('INC-1', 'secrecy', 'detailed', '2026-07-01', 'r', 0);
             INSERT INTO incident_submissions VALUES ('INC-1', 'secrecy', 'first', 1, 'r', NULL, zeroblob(32), 'cpo', 1);
             INSERT INTO incident_publications VALUES
                 ('INC-1', 1, '2024-01-18', '概要', NULL, 1, '2024-02-01', '9999-12-31', 'cpo', 2),
                 ('INC-2', 1, '2010-01-18', '概要', NULL, 1, '2010-02-01', '2020-01-17', 'cpo', 3);",
        )
        .unwrap();
        let refused = [
            ("UPDATE incident_versions SET fields = '{\"x\":1}'", "incident records are append-only"),
            ("DELETE FROM incident_versions", "incident records are append-only"),
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
            (
                "INSERT INTO incident_withdrawals VALUES ('INC-1', 1, '2024-03-01', 'r', 'cpo', 5)",
                "a published incident cannot be withdrawn inside its publication window",
            ),
        ];
        for (sql, message) in refused {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains(message), "{sql}: {err}");
        }
        // An obligation nothing was submitted for can be replaced.
        assert_eq!(conn.execute("DELETE FROM incident_obligations WHERE report = 'detailed'", []).unwrap(), 1);
        // Outside its window, an entry may be withdrawn (the database's date is past 2020-01-17)…
        conn.execute_batch("INSERT INTO incident_withdrawals VALUES ('INC-2', 1, '2024-03-01', 'r', 'cpo', 6)")
            .unwrap();
        // …but not by a withdrawal that says it happens inside it.
        conn.execute_batch(
            "INSERT INTO incidents VALUES ('INC-3', 1);
             INSERT INTO incident_publications VALUES
                 ('INC-3', 1, '2010-01-18', '概要', NULL, 1, '2010-02-01', '2020-01-17', 'cpo', 7);",
        )
        .unwrap();
        let err = conn
            .execute_batch("INSERT INTO incident_withdrawals VALUES ('INC-3', 1, '2020-01-17', 'r', 'cpo', 8)")
            .unwrap_err();
        assert!(err.to_string().contains("inside its publication window"), "{err}");
        // A withdrawn entry is not published again, and a withdrawal stays.
        let err = conn
            .execute_batch(
                "INSERT INTO incident_publications VALUES
                 ('INC-2', 2, '2010-01-18', '訂正', NULL, 1, '2024-03-02', '2020-01-17', 'cpo', 9)",
            )
            .unwrap_err();
        assert!(err.to_string().contains("a withdrawn incident is not published again"), "{err}");
        let err = conn.execute_batch("DELETE FROM incident_withdrawals").unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
