//! [`AlertStore`] on PostgreSQL (`0013_alerts.sql`). Several `serve` instances claim from one
//! database: the due rows are locked with `FOR UPDATE SKIP LOCKED` and given a lease in the
//! same statement, so two instances never claim one alert while its lease lasts.

use jiff::Timestamp;
use postgres::Row;
use tokutei_store::outbox::{
    AlertChannel, AlertState, AlertStore, AttemptResult, DeliveryAttempt, NewAlert, StoredAlert,
};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, limit, micros, timestamp, timestamp_opt, u32_col, u64_col};
use crate::db::{backend, is_unique};

const COLUMNS: &str = "id, kind, subject, dedupe_key, channel, recipient, payload, created_at, audit_index, state, \
                       attempts, next_attempt_at, claimed_until, updated_at";

fn from_row(row: &Row) -> StoreResult<StoredAlert> {
    let channel: &str = get(row, 4)?;
    let state: &str = get(row, 9)?;
    Ok(StoredAlert {
        alert: NewAlert {
            id: get(row, 0)?,
            kind: get(row, 1)?,
            subject: get(row, 2)?,
            dedupe_key: get(row, 3)?,
            channel: AlertChannel::from_code(channel)
                .ok_or_else(|| corrupt(row, 4, format!("unknown alert channel `{channel}`")))?,
            recipient: get(row, 5)?,
            payload: get(row, 6)?,
            created_at: timestamp(row, 7)?,
            audit_index: u64_col(row, 8)?,
        },
        state: AlertState::from_code(state).ok_or_else(|| corrupt(row, 9, format!("unknown alert state `{state}`")))?,
        attempts: u32_col(row, 10)?,
        next_attempt_at: timestamp(row, 11)?,
        claimed_until: timestamp_opt(row, 12)?,
        updated_at: timestamp(row, 13)?,
    })
}

fn attempt_from_row(row: &Row) -> StoreResult<DeliveryAttempt> {
    let result: &str = get(row, 5)?;
    let status: Option<i64> = get(row, 3)?;
    Ok(DeliveryAttempt {
        alert: get(row, 0)?,
        attempted_at: timestamp(row, 1)?,
        duration_ms: u64_col(row, 2)?,
        status: status
            .map(|s| u16::try_from(s).map_err(|_| corrupt(row, 3, format!("{s} is out of range"))))
            .transpose()?,
        error: get(row, 4)?,
        result: match (result, timestamp_opt(row, 6)?) {
            ("delivered", _) => AttemptResult::Delivered,
            ("failed", _) => AttemptResult::Failed,
            ("retry", Some(at)) => AttemptResult::Retry(at),
            _ => return Err(corrupt(row, 5, format!("unknown attempt result `{result}`"))),
        },
        audit_index: u64_col(row, 7)?,
    })
}

impl AlertStore for PgStore {
    fn add_alert(&self, a: &NewAlert) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // A key already enqueued (also by another instance at this moment) inserts nothing.
        let inserted = tx
            .execute(
                "INSERT INTO alerts (id, kind, subject, dedupe_key, channel, recipient, payload, created_at,
                     audit_index, state, attempts, next_attempt_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $8, $8)
                 ON CONFLICT (dedupe_key) DO NOTHING",
                &[
                    &a.id,
                    &a.kind,
                    &a.subject,
                    &a.dedupe_key,
                    &a.channel.code(),
                    &a.recipient,
                    &a.payload,
                    &micros(a.created_at),
                    &bigint(a.audit_index)?,
                ],
            )
            .map_err(|e| {
                if is_unique(&e) {
                    StoreError::Conflict(format!("alert id `{}` is already used", a.id))
                } else {
                    backend(e)
                }
            })?;
        tx.commit()?;
        Ok(inserted == 1)
    }

    fn alert(&self, id: &str) -> StoreResult<Option<StoredAlert>> {
        let mut conn = self.conn()?;
        let row = conn.query_opt(&format!("SELECT {COLUMNS} FROM alerts WHERE id = $1"), &[&id]).map_err(backend)?;
        row.as_ref().map(from_row).transpose()
    }

    fn alert_by_key(&self, dedupe_key: &str) -> StoreResult<Option<StoredAlert>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(&format!("SELECT {COLUMNS} FROM alerts WHERE dedupe_key = $1"), &[&dedupe_key])
            .map_err(backend)?;
        row.as_ref().map(from_row).transpose()
    }

    fn alerts(&self, state: Option<AlertState>, n: usize) -> StoreResult<Vec<StoredAlert>> {
        let mut conn = self.conn()?;
        let rows = match state {
            Some(s) => conn.query(
                &format!("SELECT {COLUMNS} FROM alerts WHERE state = $1 ORDER BY created_at DESC, id DESC LIMIT $2"),
                &[&s.code(), &limit(n)],
            ),
            None => conn.query(
                &format!("SELECT {COLUMNS} FROM alerts ORDER BY created_at DESC, id DESC LIMIT $1"),
                &[&limit(n)],
            ),
        }
        .map_err(backend)?;
        rows.iter().map(from_row).collect()
    }

    fn claim_alerts(&self, now: Timestamp, until: Timestamp, n: usize) -> StoreResult<Vec<StoredAlert>> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let rows = tx
            .query(
                &format!(
                    "WITH due AS (
                         SELECT id FROM alerts
                         WHERE state = 'pending' AND next_attempt_at <= $1
                           AND (claimed_until IS NULL OR claimed_until <= $1)
                         ORDER BY next_attempt_at, id LIMIT $3
                         FOR UPDATE SKIP LOCKED)
                     UPDATE alerts SET claimed_until = $2 FROM due WHERE alerts.id = due.id
                     RETURNING {}",
                    COLUMNS.split(", ").map(|c| format!("alerts.{c}")).collect::<Vec<_>>().join(", ")
                ),
                &[&micros(now), &micros(until), &limit(n)],
            )
            .map_err(backend)?;
        let mut claimed = rows.iter().map(from_row).collect::<StoreResult<Vec<_>>>()?;
        tx.commit()?;
        claimed.sort_by(|a, b| (a.next_attempt_at, &a.alert.id).cmp(&(b.next_attempt_at, &b.alert.id)));
        Ok(claimed)
    }

    fn record_delivery(&self, d: &DeliveryAttempt) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let known = tx.query_opt("SELECT 1 FROM alerts WHERE id = $1", &[&d.alert]).map_err(backend)?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("alert `{}`", d.alert)));
        }
        let next = match d.result {
            AttemptResult::Retry(at) => Some(micros(at)),
            _ => None,
        };
        tx.execute(
            "INSERT INTO alert_deliveries (alert, attempted_at, duration_ms, status, error, result, next_attempt_at,
                 audit_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &d.alert,
                &micros(d.attempted_at),
                &bigint(d.duration_ms)?,
                &d.status.map(i64::from),
                &d.error,
                &d.result.code(),
                &next,
                &bigint(d.audit_index)?,
            ],
        )
        .map_err(backend)?;
        let state = match d.result {
            AttemptResult::Delivered => AlertState::Delivered,
            AttemptResult::Retry(_) => AlertState::Pending,
            AttemptResult::Failed => AlertState::Failed,
        };
        tx.execute(
            "UPDATE alerts SET state = $2, attempts = attempts + 1, next_attempt_at = COALESCE($3, next_attempt_at),
                 claimed_until = NULL, updated_at = $4
             WHERE id = $1 AND state = 'pending'",
            &[&d.alert, &state.code(), &next, &micros(d.attempted_at)],
        )
        .map_err(backend)?;
        tx.commit()
    }

    fn alert_deliveries(&self, id: &str) -> StoreResult<Vec<DeliveryAttempt>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT alert, attempted_at, duration_ms, status, error, result, next_attempt_at, audit_index
                 FROM alert_deliveries WHERE alert = $1 ORDER BY id",
                &[&id],
            )
            .map_err(backend)?;
        rows.iter().map(attempt_from_row).collect()
    }

    fn requeue_alert(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let row = tx.query_opt("SELECT state FROM alerts WHERE id = $1 FOR UPDATE", &[&id]).map_err(backend)?;
        let Some(row) = row else {
            return Err(StoreError::NotFound(format!("alert `{id}`")));
        };
        let state: &str = get(&row, 0)?;
        if state != "failed" {
            return Err(StoreError::Conflict(format!("alert `{id}` is {state}, not failed")));
        }
        tx.execute(
            "UPDATE alerts SET state = 'pending', attempts = 0, next_attempt_at = $2, claimed_until = NULL,
                 updated_at = $2
             WHERE id = $1",
            &[&id, &micros(at)],
        )
        .map_err(backend)?;
        tx.commit()
    }
}
