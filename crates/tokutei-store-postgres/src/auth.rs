//! [`AuthStore`] and [`RateLimitStore`] on PostgreSQL (`0005_auth.sql`,
//! `0010_auth_hardening.sql`).

use jiff::Timestamp;
use postgres::Row;
use tokutei_store::auth::{AuthStore, Credentials, RateLimitStore, SealedSecret, Session, TotpSecret};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, corrupt, get, micros, timestamp, timestamp_opt, u32_col, u64_col, u64_opt};
use crate::db::{Conn, backend};

fn person_exists(conn: &mut Conn, principal: &str) -> StoreResult<()> {
    let row = conn.query_opt("SELECT kind FROM staff_principals WHERE id = $1", &[&principal]).map_err(backend)?;
    let kind: Option<&str> = row.as_ref().map(|r| get(r, 0)).transpose()?;
    match kind {
        Some("person") => Ok(()),
        Some(_) => Err(StoreError::Conflict(format!("principal `{principal}` is a system; systems use API tokens"))),
        None => Err(StoreError::NotFound(format!("principal `{principal}`"))),
    }
}

const CREDENTIALS: &str = "SELECT principal, password_hash, totp_secret, must_change, failed_attempts, locked_until,
        totp_kek_id, totp_wrapped_key, totp_sealed, totp_last_step
     FROM auth_credentials WHERE principal = $1";

fn credentials_row(row: &Row) -> StoreResult<Credentials> {
    let must_change: i64 = get(row, 3)?;
    let clear: Option<Vec<u8>> = get(row, 2)?;
    let sealed: (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) = (get(row, 6)?, get(row, 7)?, get(row, 8)?);
    let totp = match (sealed, clear) {
        ((Some(kek_id), Some(bytes), Some(ciphertext)), _) => {
            Some(TotpSecret::Sealed(SealedSecret { key: WrappedDataKey { kek_id, bytes }, ciphertext }))
        }
        (_, Some(raw)) => Some(TotpSecret::Clear(raw)),
        _ => None,
    };
    Ok(Credentials {
        principal: get(row, 0)?,
        password_hash: get(row, 1)?,
        totp,
        totp_last_step: u64_opt(row, 9)?,
        must_change: match must_change {
            0 => false,
            1 => true,
            n => return Err(corrupt(row, 3, format!("{n} is not 0 or 1"))),
        },
        failed_attempts: u32_col(row, 4)?,
        locked_until: timestamp_opt(row, 5)?,
    })
}

impl AuthStore for PgStore {
    fn set_password(&self, principal: &str, password_hash: &str, must_change: bool) -> StoreResult<()> {
        let mut conn = self.conn()?;
        person_exists(&mut conn, principal)?;
        // Idempotent: the same statement run twice leaves the same row.
        conn.execute(
            "INSERT INTO auth_credentials (principal, password_hash, must_change, failed_attempts, locked_until)
             VALUES ($1, $2, $3, 0, NULL)
             ON CONFLICT (principal) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                 must_change = EXCLUDED.must_change, failed_attempts = 0, locked_until = NULL",
            &[&principal, &password_hash, &i64::from(must_change)],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn set_totp(&self, principal: &str, secret: &SealedSecret) -> StoreResult<()> {
        let mut conn = self.conn()?;
        // Idempotent: the same statement run twice leaves the same row.
        let changed = conn
            .execute(
                "UPDATE auth_credentials SET totp_secret = NULL, totp_kek_id = $2, totp_wrapped_key = $3,
                     totp_sealed = $4, totp_last_step = NULL
                 WHERE principal = $1",
                &[&principal, &secret.key.kek_id, &secret.key.bytes, &secret.ciphertext],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("a password for `{principal}` (set one first)")));
        }
        Ok(())
    }

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>> {
        let mut conn = self.conn()?;
        let row = conn.query_opt(CREDENTIALS, &[&principal]).map_err(backend)?;
        row.as_ref().map(credentials_row).transpose()
    }

    fn accept_totp_step(&self, principal: &str, step: u64) -> StoreResult<bool> {
        let step = bigint(step)?;
        let mut conn = self.conn()?;
        // In a transaction: a retry after a lost connection must not accept the step twice
        // (the second would report a replay of a code that was accepted).
        let mut tx = conn.transaction()?;
        let changed = tx
            .execute(
                "UPDATE auth_credentials SET totp_last_step = $2
                 WHERE principal = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
                &[&principal, &step],
            )
            .map_err(backend)?;
        tx.commit()?;
        Ok(changed == 1)
    }

    fn clear_totp_principals(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query("SELECT principal FROM auth_credentials WHERE totp_secret IS NOT NULL ORDER BY principal", &[])
            .map_err(backend)?;
        rows.iter().map(|r| get(r, 0)).collect()
    }

    fn totp_keys(&self) -> StoreResult<Vec<(String, WrappedDataKey)>> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT principal, totp_kek_id, totp_wrapped_key FROM auth_credentials
                 WHERE totp_sealed IS NOT NULL ORDER BY principal",
                &[],
            )
            .map_err(backend)?;
        rows.iter().map(|r| Ok((get(r, 0)?, WrappedDataKey { kek_id: get(r, 1)?, bytes: get(r, 2)? }))).collect()
    }

    fn rewrap_totp_key(&self, principal: &str, key: &WrappedDataKey) -> StoreResult<()> {
        let mut conn = self.conn()?;
        // Idempotent: the same statement run twice leaves the same row.
        let changed = conn
            .execute(
                "UPDATE auth_credentials SET totp_kek_id = $2, totp_wrapped_key = $3
                 WHERE principal = $1 AND totp_sealed IS NOT NULL",
                &[&principal, &key.kek_id, &key.bytes],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("a sealed TOTP secret of `{principal}`")));
        }
        Ok(())
    }

    fn record_failure(
        &self,
        principal: &str,
        lock_after: u32,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> StoreResult<u32> {
        let mut conn = self.conn()?;
        // Not idempotent: run in a transaction so that a lost connection never counts twice.
        let mut tx = conn.transaction()?;
        // A lock that has run out ends its run of failures: this one is the first of a new run.
        let row = tx
            .query_opt(
                "UPDATE auth_credentials SET
                     failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= $4::BIGINT THEN 1
                                            ELSE failed_attempts + 1 END,
                     locked_until = CASE
                         WHEN locked_until IS NOT NULL AND locked_until <= $4::BIGINT
                             THEN CASE WHEN 1 >= $2::BIGINT THEN $3::BIGINT END
                         WHEN locked_until IS NULL AND failed_attempts + 1 >= $2::BIGINT THEN $3::BIGINT
                         ELSE locked_until END
                 WHERE principal = $1 RETURNING failed_attempts",
                &[&principal, &i64::from(lock_after), &micros(lock_until), &micros(now)],
            )
            .map_err(backend)?;
        let count = row.as_ref().map(|r| u32_col(r, 0)).transpose()?;
        tx.commit()?;
        count.ok_or_else(|| StoreError::NotFound(format!("credentials of `{principal}`")))
    }

    fn clear_failures(&self, principal: &str) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE auth_credentials SET failed_attempts = 0, locked_until = NULL WHERE principal = $1",
            &[&principal],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn create_session(&self, s: &Session) -> StoreResult<()> {
        let mut conn = self.conn()?;
        // In a transaction: a retried insert after a lost connection would be a duplicate.
        let mut tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO auth_sessions (id_hash, principal, csrf_token, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&&s.id_hash[..], &s.principal, &s.csrf_token, &micros(s.created_at), &micros(s.expires_at)],
        )
        .map_err(backend)?;
        tx.commit()
    }

    fn session(&self, id_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT principal, csrf_token, created_at, expires_at FROM auth_sessions
                 WHERE id_hash = $1 AND expires_at > $2",
                &[&&id_hash[..], &micros(now)],
            )
            .map_err(backend)?;
        row.map(|r| {
            Ok(Session {
                id_hash: *id_hash,
                principal: get(&r, 0)?,
                csrf_token: get(&r, 1)?,
                created_at: timestamp(&r, 2)?,
                expires_at: timestamp(&r, 3)?,
            })
        })
        .transpose()
    }

    fn touch_session(&self, id_hash: &[u8; 32], expires_at: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE auth_sessions SET expires_at = $2 WHERE id_hash = $1",
            &[&&id_hash[..], &micros(expires_at)],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute("DELETE FROM auth_sessions WHERE id_hash = $1", &[&&id_hash[..]]).map_err(backend)?;
        Ok(())
    }

    fn delete_sessions_of(&self, principal: &str) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        // In a transaction, so the count is that of this call (a retry would count zero).
        let mut tx = conn.transaction()?;
        let n = tx.execute("DELETE FROM auth_sessions WHERE principal = $1", &[&principal]).map_err(backend)?;
        tx.commit()?;
        Ok(n)
    }

    fn delete_other_sessions(&self, principal: &str, keep: &[u8; 32]) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        // In a transaction, so the count is that of this call (a retry would count zero).
        let mut tx = conn.transaction()?;
        let n = tx
            .execute("DELETE FROM auth_sessions WHERE principal = $1 AND id_hash <> $2", &[&principal, &&keep[..]])
            .map_err(backend)?;
        tx.commit()?;
        Ok(n)
    }
}

impl RateLimitStore for PgStore {
    fn hit(&self, buckets: &[[u8; 32]], window: Timestamp, forget_before: Timestamp) -> StoreResult<Vec<u64>> {
        let mut conn = self.conn()?;
        // Not idempotent (a retried commit would count twice), so one transaction; counters need
        // no durability, so it does not wait for the WAL flush.
        let mut tx = conn.transaction()?;
        tx.batch_execute("SET LOCAL synchronous_commit = off").map_err(backend)?;
        let mut counts = Vec::with_capacity(buckets.len());
        for bucket in buckets {
            let row = tx
                .query_one(
                    "INSERT INTO auth_rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1)
                     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = auth_rate_limits.hits + 1
                     RETURNING hits",
                    &[&&bucket[..], &micros(window)],
                )
                .map_err(backend)?;
            counts.push(u64_col(&row, 0)?);
        }
        if counts.contains(&1) {
            tx.execute("DELETE FROM auth_rate_limits WHERE window_start < $1", &[&micros(forget_before)])
                .map_err(backend)?;
        }
        tx.commit()?;
        Ok(counts)
    }

    fn hits(&self, bucket: &[u8; 32], window: Timestamp) -> StoreResult<u64> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT hits FROM auth_rate_limits WHERE bucket = $1 AND window_start = $2",
                &[&&bucket[..], &micros(window)],
            )
            .map_err(backend)?;
        row.map_or(Ok(0), |r| u64_col(&r, 0))
    }
}
