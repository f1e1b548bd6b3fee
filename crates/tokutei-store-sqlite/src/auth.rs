//! [`AuthStore`] and [`RateLimitStore`] on SQLite (`0005_auth.sql`, `0010_auth_hardening.sql`).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_store::auth::{AuthStore, Credentials, RateLimitStore, SealedSecret, Session, TotpSecret};
use tokutei_store::vault::WrappedDataKey;
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;

fn ts(column: usize, us: i64) -> rusqlite::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Integer, e.to_string().into())
    })
}

fn person_exists(conn: &rusqlite::Connection, principal: &str) -> StoreResult<()> {
    let kind: Option<String> = conn
        .query_row("SELECT kind FROM staff_principals WHERE id = ?1", [principal], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    match kind.as_deref() {
        Some("person") => Ok(()),
        Some(_) => Err(StoreError::Conflict(format!("principal `{principal}` is a system; systems use API tokens"))),
        None => Err(StoreError::NotFound(format!("principal `{principal}`"))),
    }
}

impl AuthStore for SqliteStore {
    fn set_password(&self, principal: &str, password_hash: &str, must_change: bool) -> StoreResult<()> {
        let conn = self.writer();
        person_exists(&conn, principal)?;
        conn.execute(
            "INSERT INTO auth_credentials (principal, password_hash, must_change, failed_attempts, locked_until)
             VALUES (?1, ?2, ?3, 0, NULL)
             ON CONFLICT (principal) DO UPDATE SET password_hash = ?2, must_change = ?3, failed_attempts = 0,
                 locked_until = NULL",
            params![principal, password_hash, must_change],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn set_totp(&self, principal: &str, secret: &SealedSecret) -> StoreResult<()> {
        let conn = self.writer();
        let changed = conn
            .execute(
                "UPDATE auth_credentials SET totp_secret = NULL, totp_kek_id = ?2, totp_wrapped_key = ?3,
                     totp_sealed = ?4, totp_last_step = NULL
                 WHERE principal = ?1",
                params![principal, secret.key.kek_id, secret.key.bytes, secret.ciphertext],
            )
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("a password for `{principal}` (set one first)")));
        }
        Ok(())
    }

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>> {
        let conn = self.reader()?;
        conn.prepare_cached(
            "SELECT principal, password_hash, totp_secret, must_change, failed_attempts, locked_until,
                    totp_kek_id, totp_wrapped_key, totp_sealed, totp_last_step
             FROM auth_credentials WHERE principal = ?1",
        )
        .map_err(backend)?
        .query_row([principal], |r| {
            let locked: Option<i64> = r.get(5)?;
            let clear: Option<Vec<u8>> = r.get(2)?;
            let sealed: (Option<String>, Option<Vec<u8>>, Option<Vec<u8>>) = (r.get(6)?, r.get(7)?, r.get(8)?);
            let totp = match (sealed, clear) {
                ((Some(kek_id), Some(bytes), Some(ciphertext)), _) => {
                    Some(TotpSecret::Sealed(SealedSecret { key: WrappedDataKey { kek_id, bytes }, ciphertext }))
                }
                (_, Some(raw)) => Some(TotpSecret::Clear(raw)),
                _ => None,
            };
            let last: Option<i64> = r.get(9)?;
            Ok(Credentials {
                principal: r.get(0)?,
                password_hash: r.get(1)?,
                totp,
                totp_last_step: last.map(|n| n.max(0) as u64),
                must_change: r.get(3)?,
                failed_attempts: r.get(4)?,
                locked_until: locked.map(|us| ts(5, us)).transpose()?,
            })
        })
        .optional()
        .map_err(backend)
    }

    fn accept_totp_step(&self, principal: &str, step: u64) -> StoreResult<bool> {
        let step =
            i64::try_from(step).map_err(|_| StoreError::Conflict(format!("time step {step} is out of range")))?;
        let conn = self.writer();
        let changed = conn
            .execute(
                "UPDATE auth_credentials SET totp_last_step = ?2
                 WHERE principal = ?1 AND (totp_last_step IS NULL OR totp_last_step < ?2)",
                params![principal, step],
            )
            .map_err(backend)?;
        Ok(changed == 1)
    }

    fn clear_totp_principals(&self) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached("SELECT principal FROM auth_credentials WHERE totp_secret IS NOT NULL ORDER BY principal")
            .map_err(backend)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn totp_keys(&self) -> StoreResult<Vec<(String, WrappedDataKey)>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT principal, totp_kek_id, totp_wrapped_key FROM auth_credentials
                 WHERE totp_sealed IS NOT NULL ORDER BY principal",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, WrappedDataKey { kek_id: r.get(1)?, bytes: r.get(2)? })))
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    fn rewrap_totp_key(&self, principal: &str, key: &WrappedDataKey) -> StoreResult<()> {
        let conn = self.writer();
        let changed = conn
            .execute(
                "UPDATE auth_credentials SET totp_kek_id = ?2, totp_wrapped_key = ?3
                 WHERE principal = ?1 AND totp_sealed IS NOT NULL",
                params![principal, key.kek_id, key.bytes],
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
        let conn = self.writer();
        // A lock that has run out ends its run of failures: this one is the first of a new run.
        let count: Option<u32> = conn
            .query_row(
                "UPDATE auth_credentials SET
                     failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= ?4 THEN 1
                                            ELSE failed_attempts + 1 END,
                     locked_until = CASE
                         WHEN locked_until IS NOT NULL AND locked_until <= ?4 THEN CASE WHEN 1 >= ?2 THEN ?3 END
                         WHEN locked_until IS NULL AND failed_attempts + 1 >= ?2 THEN ?3
                         ELSE locked_until END
                 WHERE principal = ?1 RETURNING failed_attempts",
                params![principal, lock_after, lock_until.as_microsecond(), now.as_microsecond()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        count.ok_or_else(|| StoreError::NotFound(format!("credentials of `{principal}`")))
    }

    fn clear_failures(&self, principal: &str) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute(
            "UPDATE auth_credentials SET failed_attempts = 0, locked_until = NULL WHERE principal = ?1",
            [principal],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn create_session(&self, s: &Session) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute(
            "INSERT INTO auth_sessions (id_hash, principal, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                &s.id_hash[..],
                s.principal,
                s.csrf_token,
                s.created_at.as_microsecond(),
                s.expires_at.as_microsecond()
            ],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn session(&self, id_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<Session>> {
        let conn = self.reader()?;
        conn.prepare_cached(
            "SELECT principal, csrf_token, created_at, expires_at FROM auth_sessions
             WHERE id_hash = ?1 AND expires_at > ?2",
        )
        .map_err(backend)?
        .query_row(params![&id_hash[..], now.as_microsecond()], |r| {
            Ok(Session {
                id_hash: *id_hash,
                principal: r.get(0)?,
                csrf_token: r.get(1)?,
                created_at: ts(2, r.get(2)?)?,
                expires_at: ts(3, r.get(3)?)?,
            })
        })
        .optional()
        .map_err(backend)
    }

    fn touch_session(&self, id_hash: &[u8; 32], expires_at: Timestamp) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute(
            "UPDATE auth_sessions SET expires_at = ?2 WHERE id_hash = ?1",
            params![&id_hash[..], expires_at.as_microsecond()],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn delete_session(&self, id_hash: &[u8; 32]) -> StoreResult<()> {
        let conn = self.writer();
        conn.execute("DELETE FROM auth_sessions WHERE id_hash = ?1", [&id_hash[..]]).map_err(backend)?;
        Ok(())
    }

    fn delete_sessions_of(&self, principal: &str) -> StoreResult<u64> {
        let conn = self.writer();
        let n = conn.execute("DELETE FROM auth_sessions WHERE principal = ?1", [principal]).map_err(backend)?;
        Ok(n as u64)
    }

    fn delete_other_sessions(&self, principal: &str, keep: &[u8; 32]) -> StoreResult<u64> {
        let conn = self.writer();
        let n = conn
            .execute("DELETE FROM auth_sessions WHERE principal = ?1 AND id_hash <> ?2", params![principal, &keep[..]])
            .map_err(backend)?;
        Ok(n as u64)
    }
}

/// The writer with `PRAGMA synchronous = OFF` for the counters' transaction; `FULL` again when
/// dropped, also when the transaction fails.
struct Unsynced<'a>(&'a mut rusqlite::Connection);

impl Drop for Unsynced<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("PRAGMA synchronous = FULL");
    }
}

impl RateLimitStore for SqliteStore {
    fn hit(&self, buckets: &[[u8; 32]], window: Timestamp, forget_before: Timestamp) -> StoreResult<Vec<u64>> {
        let mut conn = self.writer();
        // Counters need no durability: a crash may forget the last hits, never more. Without
        // a sync per request, a rate limit costs the API no disk flush. (Later commits with
        // `FULL` sync the write-ahead log, these frames included.)
        conn.execute_batch("PRAGMA synchronous = OFF").map_err(backend)?;
        let unsynced = Unsynced(&mut conn);
        let tx = crate::db::write_tx(unsynced.0)?;
        let mut counts = Vec::with_capacity(buckets.len());
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO auth_rate_limits (bucket, window_start, hits) VALUES (?1, ?2, 1)
                     ON CONFLICT (bucket, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits",
                )
                .map_err(backend)?;
            for bucket in buckets {
                let n: i64 =
                    upsert.query_row(params![&bucket[..], window.as_microsecond()], |r| r.get(0)).map_err(backend)?;
                counts.push(n.max(0) as u64);
            }
        }
        if counts.contains(&1) {
            tx.execute("DELETE FROM auth_rate_limits WHERE window_start < ?1", [forget_before.as_microsecond()])
                .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(counts)
    }

    fn hits(&self, bucket: &[u8; 32], window: Timestamp) -> StoreResult<u64> {
        let conn = self.reader()?;
        let n: Option<i64> = conn
            .prepare_cached("SELECT hits FROM auth_rate_limits WHERE bucket = ?1 AND window_start = ?2")
            .map_err(backend)?
            .query_row(params![&bucket[..], window.as_microsecond()], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_auth() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::auth::run(&store);
    }

    #[test]
    fn conformance_rate_limits_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        // Two opens of one file: what two `tokutei serve` processes on one data directory see.
        let (one, two) = (crate::SqliteStore::open(&path).unwrap(), crate::SqliteStore::open(&path).unwrap());
        tokutei_store::conformance::auth::run_rate_limits(&one, &two);
    }
}
