//! [`IncidentStore`] on PostgreSQL (`0012_incidents.sql`): the register's records, append-only
//! by triggers (TRUNCATE refused too); a refusal by a trigger or a constraint (a withdrawal
//! inside the publication window, a version out of order, a duplicate) is a conflict carrying
//! the server's message.

use postgres::Row;
use postgres::error::SqlState;
use tokutei_policy::Text;
use tokutei_store::incident::{
    AlternativeMeasure, Impact, ImpactItem, IncidentStore, IncidentVersion, NewObligation, NoticeSent, Obligation,
    Publication, Regime, Report, StoredIncident, Submission, Withdrawal,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, date, get, limit, micros, timestamp, timestamp_opt, u32_col, u64_col};
use crate::db::{Conn, Tx, backend, is_constraint};

/// A refusal by a constraint or a trigger is a conflict with the server's message (never its
/// detail, which may quote the row); anything else is the backend's failure.
fn refused(err: postgres::Error) -> StoreError {
    if is_constraint(&err) || err.code() == Some(&SqlState::RAISE_EXCEPTION) {
        let message = err
            .as_db_error()
            .map_or_else(|| "the incident register refused the change".into(), |d| d.message().to_string());
        return StoreError::Conflict(message);
    }
    backend(err)
}

/// A value as JSON text.
macro_rules! json {
    ($value:expr) => {
        serde_json::to_string($value).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
}

/// A JSON text column, decoded into the type the context asks for.
macro_rules! json_col {
    ($row:expr, $idx:expr) => {{
        let text: &str = get($row, $idx)?;
        serde_json::from_str(text).map_err(|e| corrupt($row, $idx, e))
    }};
}

const VERSION_COLUMNS: &str = "incident, version, fields, change, changed_by, changed_at, audit_index";

fn version_row(row: &Row) -> StoreResult<IncidentVersion> {
    Ok(IncidentVersion {
        incident: get(row, 0)?,
        version: u32_col(row, 1)?,
        fields: json_col!(row, 2)?,
        change: get(row, 3)?,
        changed_by: get(row, 4)?,
        changed_at: timestamp(row, 5)?,
        audit_index: u64_col(row, 6)?,
    })
}

const OBLIGATION_SELECT: &str = "SELECT o.incident, o.regime, o.report, o.due, o.recipient, o.unconfirmed,
        s.submitted_at, s.recipient, s.reference, s.digest, s.submitted_by, s.audit_index
    FROM incident_obligations o LEFT JOIN incident_submissions s
        ON s.incident = o.incident AND s.regime = o.regime AND s.report = o.report";

fn obligation_row(row: &Row) -> StoreResult<(String, Obligation)> {
    let regime: &str = get(row, 1)?;
    let report: &str = get(row, 2)?;
    let submission = match timestamp_opt(row, 6)? {
        Some(submitted_at) => {
            let digest: Vec<u8> = get(row, 9)?;
            Some(Submission {
                submitted_at,
                recipient: get(row, 7)?,
                reference: get(row, 8)?,
                digest: digest.try_into().map_err(|_| corrupt(row, 9, "a digest is 32 bytes"))?,
                submitted_by: get(row, 10)?,
                audit_index: u64_col(row, 11)?,
            })
        }
        None => None,
    };
    Ok((
        get(row, 0)?,
        Obligation {
            obligation: NewObligation {
                regime: Regime::from_code(regime)
                    .ok_or_else(|| corrupt(row, 1, format!("unknown regime `{regime}`")))?,
                report: Report::from_code(report)
                    .ok_or_else(|| corrupt(row, 2, format!("unknown report `{report}`")))?,
                due: date(row, 3)?,
                recipient: get(row, 4)?,
                unconfirmed: get(row, 5)?,
            },
            submission,
        },
    ))
}

fn stored(conn: &mut Conn, id: &str, created_at: &Row) -> StoreResult<StoredIncident> {
    let current = conn
        .query_one(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM incident_versions WHERE incident = $1 ORDER BY version DESC LIMIT 1"
            ),
            &[&id],
        )
        .map_err(backend)?;
    let rows = conn.query(&format!("{OBLIGATION_SELECT} WHERE o.incident = $1"), &[&id]).map_err(backend)?;
    let mut obligations = rows.iter().map(|r| obligation_row(r).map(|(_, o)| o)).collect::<StoreResult<Vec<_>>>()?;
    obligations.sort_by_key(|o| (o.obligation.regime, o.obligation.report));
    Ok(StoredIncident {
        id: id.to_string(),
        created_at: timestamp(created_at, 1)?,
        current: version_row(&current)?,
        obligations,
    })
}

fn insert_version(tx: &mut Tx<'_>, v: &IncidentVersion) -> StoreResult<()> {
    tx.execute(
        &format!("INSERT INTO incident_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &[
            &v.incident,
            &i64::from(v.version),
            &json!(&v.fields)?,
            &v.change,
            &v.changed_by,
            &micros(v.changed_at),
            &bigint(v.audit_index)?,
        ],
    )
    .map_err(refused)?;
    Ok(())
}

fn insert_obligations(tx: &mut Tx<'_>, incident: &str, obligations: &[NewObligation]) -> StoreResult<()> {
    for o in obligations {
        tx.execute(
            "INSERT INTO incident_obligations (incident, regime, report, due, recipient, unconfirmed)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&incident, &o.regime.code(), &o.report.code(), &o.due.to_string(), &o.recipient, &o.unconfirmed],
        )
        .map_err(refused)?;
    }
    Ok(())
}

const PUBLICATION_COLUMNS: &str = "incident, version, occurred, summary_ja, summary_en, published_at, published_on,
    listed_until, published_by, audit_index";

fn publication_row(row: &Row) -> StoreResult<Publication> {
    Ok(Publication {
        incident: get(row, 0)?,
        version: u32_col(row, 1)?,
        occurred: date(row, 2)?,
        summary: Text { ja: get(row, 3)?, en: get(row, 4)? },
        published_at: timestamp(row, 5)?,
        published_on: date(row, 6)?,
        listed_until: date(row, 7)?,
        published_by: get(row, 8)?,
        audit_index: u64_col(row, 9)?,
    })
}

impl IncidentStore for PgStore {
    fn create_incident(&self, first: &IncidentVersion, obligations: &[NewObligation]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incidents (id, created_at) VALUES ($1, $2)",
            &[&first.incident, &micros(first.changed_at)],
        )
        .map_err(|e| {
            if crate::db::is_unique(&e) {
                StoreError::Conflict(format!("incident `{}` already exists", first.incident))
            } else {
                refused(e)
            }
        })?;
        insert_version(&mut tx, first)?;
        insert_obligations(&mut tx, &first.incident, obligations)?;
        tx.commit()
    }

    fn add_incident_version(
        &self,
        version: &IncidentVersion,
        obligations: Option<&[NewObligation]>,
    ) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // Two changes made at once both read the same latest version: the second insert is a
        // duplicate key, a conflict.
        let exists = tx.query_opt("SELECT id FROM incidents WHERE id = $1", &[&version.incident]).map_err(backend)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("incident `{}`", version.incident)));
        }
        let latest: Option<i64> = tx
            .query_one("SELECT MAX(version) FROM incident_versions WHERE incident = $1", &[&version.incident])
            .map_err(backend)?
            .get(0);
        let latest = latest.unwrap_or(0);
        if i64::from(version.version) != latest + 1 {
            return Err(StoreError::Conflict(format!(
                "incident `{}` changed meanwhile (version {latest} is stored)",
                version.incident
            )));
        }
        insert_version(&mut tx, version).map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("incident `{}` changed meanwhile", version.incident))
            }
            other => other,
        })?;
        if let Some(obligations) = obligations {
            tx.execute(
                "DELETE FROM incident_obligations o WHERE o.incident = $1 AND NOT EXISTS (
                     SELECT 1 FROM incident_submissions s WHERE s.incident = o.incident
                     AND s.regime = o.regime AND s.report = o.report)",
                &[&version.incident],
            )
            .map_err(refused)?;
            insert_obligations(&mut tx, &version.incident, obligations)?;
        }
        tx.commit()
    }

    fn incident(&self, id: &str) -> StoreResult<Option<StoredIncident>> {
        let mut conn = self.conn()?;
        let row = conn.query_opt("SELECT id, created_at FROM incidents WHERE id = $1", &[&id]).map_err(backend)?;
        match row {
            Some(row) => Ok(Some(stored(&mut conn, id, &row)?)),
            None => Ok(None),
        }
    }

    fn incidents(&self, n: usize) -> StoreResult<Vec<StoredIncident>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query("SELECT id, created_at FROM incidents ORDER BY created_at DESC, id DESC LIMIT $1", &[&limit(n)])
            .map_err(backend)?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, 0)?;
                stored(&mut conn, &id, row)
            })
            .collect()
    }

    fn incident_versions(&self, id: &str) -> StoreResult<Vec<IncidentVersion>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("SELECT {VERSION_COLUMNS} FROM incident_versions WHERE incident = $1 ORDER BY version"),
                &[&id],
            )
            .map_err(backend)?;
        rows.iter().map(version_row).collect()
    }

    fn record_submission(&self, incident: &str, regime: Regime, report: Report, s: &Submission) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let owed = tx
            .query_opt(
                "SELECT 1 FROM incident_obligations WHERE incident = $1 AND regime = $2 AND report = $3",
                &[&incident, &regime.code(), &report.code()],
            )
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &incident,
                &regime.code(),
                &report.code(),
                &micros(s.submitted_at),
                &s.recipient,
                &s.reference,
                &s.digest.to_vec(),
                &s.submitted_by,
                &bigint(s.audit_index)?,
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
        tx.commit()
    }

    fn open_obligations(&self) -> StoreResult<Vec<(String, NewObligation)>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!("{OBLIGATION_SELECT} WHERE s.incident IS NULL ORDER BY o.due, o.incident, o.regime, o.report"),
                &[],
            )
            .map_err(backend)?;
        rows.iter().map(|r| obligation_row(r).map(|(id, o)| (id, o.obligation))).collect()
    }

    fn add_impact(&self, impact: &Impact) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incident_impacts (incident, number, scope, tree_size, computed_by, computed_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &impact.incident,
                &i64::from(impact.number),
                &json!(&impact.scope)?,
                &bigint(impact.tree_size)?,
                &impact.computed_by,
                &micros(impact.computed_at),
                &bigint(impact.audit_index)?,
            ],
        )
        .map_err(refused)?;
        for item in &impact.items {
            tx.execute(
                "INSERT INTO incident_impact_items (incident, number, subscriber, category, reads, indexes)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &impact.incident,
                    &i64::from(impact.number),
                    &item.subscriber,
                    &item.category,
                    &bigint(item.indexes.len() as u64)?,
                    &json!(&item.indexes)?,
                ],
            )
            .map_err(refused)?;
        }
        tx.commit()
    }

    fn impacts(&self, incident: &str) -> StoreResult<Vec<Impact>> {
        let mut conn = self.conn()?;
        let heads = conn
            .query(
                "SELECT incident, number, scope, tree_size, computed_by, computed_at, audit_index
                 FROM incident_impacts WHERE incident = $1 ORDER BY number",
                &[&incident],
            )
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in &heads {
            let number = u32_col(row, 1)?;
            let items = conn
                .query(
                    "SELECT subscriber, category, indexes FROM incident_impact_items
                     WHERE incident = $1 AND number = $2 ORDER BY subscriber, category",
                    &[&incident, &i64::from(number)],
                )
                .map_err(backend)?;
            out.push(Impact {
                incident: get(row, 0)?,
                number,
                scope: json_col!(row, 2)?,
                tree_size: u64_col(row, 3)?,
                computed_by: get(row, 4)?,
                computed_at: timestamp(row, 5)?,
                audit_index: u64_col(row, 6)?,
                items: items
                    .iter()
                    .map(|r| Ok(ImpactItem { subscriber: get(r, 0)?, category: get(r, 1)?, indexes: json_col!(r, 2)? }))
                    .collect::<StoreResult<Vec<_>>>()?,
            });
        }
        Ok(out)
    }

    fn record_notices(&self, notices: &[NoticeSent]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        for n in notices {
            tx.execute(
                "INSERT INTO incident_notices (incident, subscriber, method, sent_at, recorded_by, audit_index)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&n.incident, &n.subscriber, &n.method, &micros(n.sent_at), &n.recorded_by, &bigint(n.audit_index)?],
            )
            .map_err(refused)?;
        }
        tx.commit()
    }

    fn notices(&self, incident: &str) -> StoreResult<Vec<NoticeSent>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT incident, subscriber, method, sent_at, recorded_by, audit_index FROM incident_notices
                 WHERE incident = $1 ORDER BY id",
                &[&incident],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(NoticeSent {
                    incident: get(r, 0)?,
                    subscriber: get(r, 1)?,
                    method: get(r, 2)?,
                    sent_at: timestamp(r, 3)?,
                    recorded_by: get(r, 4)?,
                    audit_index: u64_col(r, 5)?,
                })
            })
            .collect()
    }

    fn record_alternative(&self, m: &AlternativeMeasure) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incident_alternatives (incident, measure, reason, recorded_by, recorded_at, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[&m.incident, &m.measure, &m.reason, &m.recorded_by, &micros(m.recorded_at), &bigint(m.audit_index)?],
        )
        .map_err(refused)?;
        tx.commit()
    }

    fn alternatives(&self, incident: &str) -> StoreResult<Vec<AlternativeMeasure>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT incident, measure, reason, recorded_by, recorded_at, audit_index FROM incident_alternatives
                 WHERE incident = $1 ORDER BY id",
                &[&incident],
            )
            .map_err(backend)?;
        rows.iter()
            .map(|r| {
                Ok(AlternativeMeasure {
                    incident: get(r, 0)?,
                    measure: get(r, 1)?,
                    reason: get(r, 2)?,
                    recorded_by: get(r, 3)?,
                    recorded_at: timestamp(r, 4)?,
                    audit_index: u64_col(r, 5)?,
                })
            })
            .collect()
    }

    fn publish_incident(&self, p: &Publication) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO incident_publications ({PUBLICATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &p.incident,
                &i64::from(p.version),
                &p.occurred.to_string(),
                &p.summary.ja,
                &p.summary.en,
                &micros(p.published_at),
                &p.published_on.to_string(),
                &p.listed_until.to_string(),
                &p.published_by,
                &bigint(p.audit_index)?,
            ],
        )
        .map_err(refused)?;
        tx.commit()
    }

    fn publications(&self, incident: &str) -> StoreResult<Vec<Publication>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {PUBLICATION_COLUMNS} FROM incident_publications WHERE incident = $1 ORDER BY version"
                ),
                &[&incident],
            )
            .map_err(backend)?;
        rows.iter().map(publication_row).collect()
    }

    fn published_incidents(&self) -> StoreResult<Vec<Publication>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {PUBLICATION_COLUMNS} FROM incident_publications p
                     WHERE NOT EXISTS (SELECT 1 FROM incident_withdrawals w WHERE w.incident = p.incident)
                     ORDER BY incident, version"
                ),
                &[],
            )
            .map_err(backend)?;
        rows.iter().map(publication_row).collect()
    }

    fn withdraw_incident(&self, w: &Withdrawal) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO incident_withdrawals (incident, withdrawn_at, withdrawn_on, reason, withdrawn_by, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &w.incident,
                &micros(w.withdrawn_at),
                &w.withdrawn_on.to_string(),
                &w.reason,
                &w.withdrawn_by,
                &bigint(w.audit_index)?,
            ],
        )
        .map_err(refused)?;
        tx.commit()
    }

    fn withdrawal(&self, incident: &str) -> StoreResult<Option<Withdrawal>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT incident, withdrawn_at, withdrawn_on, reason, withdrawn_by, audit_index
                 FROM incident_withdrawals WHERE incident = $1",
                &[&incident],
            )
            .map_err(backend)?;
        row.map(|r| {
            Ok(Withdrawal {
                incident: get(&r, 0)?,
                withdrawn_at: timestamp(&r, 1)?,
                withdrawn_on: date(&r, 2)?,
                reason: get(&r, 3)?,
                withdrawn_by: get(&r, 4)?,
                audit_index: u64_col(&r, 5)?,
            })
        })
        .transpose()
    }
}
