//! [`AlertStore`] on SQLite (`0013_alerts.sql`). Claims are one `UPDATE … RETURNING` on the
//! writer connection, so SQLite's writer lock makes them atomic across processes on one file.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_store::outbox::{
    AlertChannel, AlertState, AlertStore, AttemptResult, DeliveryAttempt, NewAlert, StoredAlert,
};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

const COLUMNS: &str = "id, kind, subject, dedupe_key, channel, recipient, payload, created_at, audit_index, state, \
                       attempts, next_attempt_at, claimed_until, updated_at";

fn conversion(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn ts(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| conversion(column, e.to_string()))
}

fn unsigned<T: TryFrom<i64>>(column: usize, n: i64) -> rusqlite::Result<T> {
    T::try_from(n).map_err(|_| conversion(column, format!("{n} is out of range")))
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAlert> {
    let channel: String = r.get(4)?;
    let state: String = r.get(9)?;
    let claimed: Option<i64> = r.get(12)?;
    Ok(StoredAlert {
        alert: NewAlert {
            id: r.get(0)?,
            kind: r.get(1)?,
            subject: r.get(2)?,
            dedupe_key: r.get(3)?,
            channel: AlertChannel::from_code(&channel)
                .ok_or_else(|| conversion(4, format!("unknown alert channel `{channel}`")))?,
            recipient: r.get(5)?,
            payload: r.get(6)?,
            created_at: ts(7, r.get(7)?)?,
            audit_index: unsigned(8, r.get(8)?)?,
        },
        state: AlertState::from_code(&state).ok_or_else(|| conversion(9, format!("unknown alert state `{state}`")))?,
        attempts: unsigned(10, r.get(10)?)?,
        next_attempt_at: ts(11, r.get(11)?)?,
        claimed_until: claimed.map(|us| ts(12, us)).transpose()?,
        updated_at: ts(13, r.get(13)?)?,
    })
}

fn attempt_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeliveryAttempt> {
    let result: String = r.get(5)?;
    let next: Option<i64> = r.get(6)?;
    let status: Option<i64> = r.get(3)?;
    Ok(DeliveryAttempt {
        alert: r.get(0)?,
        attempted_at: ts(1, r.get(1)?)?,
        duration_ms: unsigned(2, r.get(2)?)?,
        status: status.map(|s| unsigned(3, s)).transpose()?,
        error: r.get(4)?,
        result: match (result.as_str(), next) {
            ("delivered", _) => AttemptResult::Delivered,
            ("failed", _) => AttemptResult::Failed,
            ("retry", Some(us)) => AttemptResult::Retry(ts(6, us)?),
            _ => return Err(conversion(5, format!("unknown attempt result `{result}`"))),
        },
        audit_index: unsigned(7, r.get(7)?)?,
    })
}

fn big(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Conflict(format!("{n} is out of range")))
}

impl AlertStore for SqliteStore {
    fn add_alert(&self, a: &NewAlert) -> StoreResult<bool> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM alerts WHERE dedupe_key = ?1)", [&a.dedupe_key], |r| r.get(0))
            .map_err(backend)?;
        if known {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO alerts (id, kind, subject, dedupe_key, channel, recipient, payload, created_at, audit_index,
                 state, attempts, next_attempt_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?8, ?8)",
            params![
                a.id,
                a.kind,
                a.subject,
                a.dedupe_key,
                a.channel.code(),
                a.recipient,
                a.payload,
                a.created_at.as_microsecond(),
                big(a.audit_index)?
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::Conflict(format!("alert id `{}` is already used", a.id))
            }
            other => backend(other),
        })?;
        tx.commit().map_err(backend)?;
        Ok(true)
    }

    fn alert(&self, id: &str) -> StoreResult<Option<StoredAlert>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE id = ?1"))
            .map_err(backend)?
            .query_row([id], from_row)
            .optional()
            .map_err(backend)
    }

    fn alert_by_key(&self, dedupe_key: &str) -> StoreResult<Option<StoredAlert>> {
        let conn = self.reader()?;
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM alerts WHERE dedupe_key = ?1"))
            .map_err(backend)?
            .query_row([dedupe_key], from_row)
            .optional()
            .map_err(backend)
    }

    fn alerts(&self, state: Option<AlertState>, limit: usize) -> StoreResult<Vec<StoredAlert>> {
        let conn = self.reader()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM alerts WHERE ?1 IS NULL OR state = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = statement.query_map(params![state.map(AlertState::code), limit], from_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn claim_alerts(&self, now: Timestamp, until: Timestamp, limit: usize) -> StoreResult<Vec<StoredAlert>> {
        let conn = self.writer();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = conn
            .prepare_cached(&format!(
                "UPDATE alerts SET claimed_until = ?2 WHERE id IN (
                     SELECT id FROM alerts
                     WHERE state = 'pending' AND next_attempt_at <= ?1
                       AND (claimed_until IS NULL OR claimed_until <= ?1)
                     ORDER BY next_attempt_at, id LIMIT ?3)
                 RETURNING {COLUMNS}"
            ))
            .map_err(backend)?;
        let rows = statement
            .query_map(params![now.as_microsecond(), until.as_microsecond(), limit], from_row)
            .map_err(backend)?;
        let mut claimed = rows.collect::<Result<Vec<_>, _>>().map_err(backend)?;
        claimed.sort_by(|a, b| (a.next_attempt_at, &a.alert.id).cmp(&(b.next_attempt_at, &b.alert.id)));
        Ok(claimed)
    }

    fn record_delivery(&self, d: &DeliveryAttempt) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let known: bool = tx
            .query_row("SELECT EXISTS (SELECT 1 FROM alerts WHERE id = ?1)", [&d.alert], |r| r.get(0))
            .map_err(backend)?;
        if !known {
            return Err(StoreError::NotFound(format!("alert `{}`", d.alert)));
        }
        let next = match d.result {
            AttemptResult::Retry(at) => Some(at.as_microsecond()),
            _ => None,
        };
        tx.execute(
            "INSERT INTO alert_deliveries (alert, attempted_at, duration_ms, status, error, result, next_attempt_at,
                 audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                d.alert,
                d.attempted_at.as_microsecond(),
                big(d.duration_ms)?,
                d.status,
                d.error,
                d.result.code(),
                next,
                big(d.audit_index)?
            ],
        )
        .map_err(backend)?;
        let state = match d.result {
            AttemptResult::Delivered => AlertState::Delivered,
            AttemptResult::Retry(_) => AlertState::Pending,
            AttemptResult::Failed => AlertState::Failed,
        };
        tx.execute(
            "UPDATE alerts SET state = ?2, attempts = attempts + 1, next_attempt_at = COALESCE(?3, next_attempt_at),
                 claimed_until = NULL, updated_at = ?4
             WHERE id = ?1 AND state = 'pending'",
            params![d.alert, state.code(), next, d.attempted_at.as_microsecond()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn alert_deliveries(&self, id: &str) -> StoreResult<Vec<DeliveryAttempt>> {
        let conn = self.reader()?;
        let mut statement = conn
            .prepare_cached(
                "SELECT alert, attempted_at, duration_ms, status, error, result, next_attempt_at, audit_index
                 FROM alert_deliveries WHERE alert = ?1 ORDER BY id",
            )
            .map_err(backend)?;
        let rows = statement.query_map([id], attempt_from_row).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn requeue_alert(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let state: Option<String> =
            tx.query_row("SELECT state FROM alerts WHERE id = ?1", [id], |r| r.get(0)).optional().map_err(backend)?;
        match state.as_deref() {
            None => return Err(StoreError::NotFound(format!("alert `{id}`"))),
            Some("failed") => {}
            Some(other) => return Err(StoreError::Conflict(format!("alert `{id}` is {other}, not failed"))),
        }
        tx.execute(
            "UPDATE alerts SET state = 'pending', attempts = 0, next_attempt_at = ?2, claimed_until = NULL,
                 updated_at = ?2
             WHERE id = ?1 AND state = 'failed'",
            params![id, at.as_microsecond()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::outbox::run(&store);
    }

    #[test]
    fn conformance_outbox_claims_across_processes() {
        // Two stores on one file: what two processes on one data directory see.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let a = crate::SqliteStore::open(&path).unwrap();
        let b = crate::SqliteStore::open(&path).unwrap();
        tokutei_store::conformance::outbox::run_claims_across_instances(&a, &b);
    }

    #[test]
    fn the_delivery_log_and_delivered_alerts_refuse_changes() {
        use tokutei_store::outbox::AlertStore;
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::outbox::run(&store);
        let conn = store.writer();
        let refused = [
            ("DELETE FROM alerts WHERE id = 'A3'", "alerts are never deleted"),
            ("UPDATE alerts SET payload = '{}' WHERE id = 'A3'", "an alert's identity and payload never change"),
            (
                "UPDATE alerts SET recipient = 'http://elsewhere/' WHERE id = 'A3'",
                "an alert's identity and payload never change",
            ),
            ("UPDATE alerts SET state = 'pending' WHERE id = 'A1'", "a delivered alert is final"),
            ("UPDATE alert_deliveries SET status = 200", "the delivery log is append-only"),
            ("DELETE FROM alert_deliveries", "the delivery log is append-only"),
        ];
        for (sql, message) in refused {
            let err = conn.execute(sql, []).expect_err(sql);
            assert!(err.to_string().contains(message), "{sql}: {err}");
        }
        drop(conn);
        assert_eq!(store.alert("A1").unwrap().unwrap().state, tokutei_store::outbox::AlertState::Delivered);
    }
}
