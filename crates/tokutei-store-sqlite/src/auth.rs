//! [`AuthStore`] on SQLite (`0005_auth.sql`).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_store::auth::{AuthStore, Credentials, Session};
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

    fn set_totp(&self, principal: &str, secret: &[u8]) -> StoreResult<()> {
        let conn = self.writer();
        let changed = conn
            .execute("UPDATE auth_credentials SET totp_secret = ?2 WHERE principal = ?1", params![principal, secret])
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("a password for `{principal}` (set one first)")));
        }
        Ok(())
    }

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>> {
        let conn = self.reader()?;
        conn.prepare_cached(
            "SELECT principal, password_hash, totp_secret, must_change, failed_attempts, locked_until
             FROM auth_credentials WHERE principal = ?1",
        )
        .map_err(backend)?
        .query_row([principal], |r| {
            let locked: Option<i64> = r.get(5)?;
            Ok(Credentials {
                principal: r.get(0)?,
                password_hash: r.get(1)?,
                totp_secret: r.get(2)?,
                must_change: r.get(3)?,
                failed_attempts: r.get(4)?,
                locked_until: locked.map(|us| ts(5, us)).transpose()?,
            })
        })
        .optional()
        .map_err(backend)
    }

    fn record_failure(&self, principal: &str, lock_after: u32, lock_until: Timestamp) -> StoreResult<u32> {
        let conn = self.writer();
        let count: Option<u32> = conn
            .query_row(
                "UPDATE auth_credentials SET failed_attempts = failed_attempts + 1,
                     locked_until = CASE WHEN failed_attempts + 1 >= ?2 THEN ?3 ELSE locked_until END
                 WHERE principal = ?1 RETURNING failed_attempts",
                params![principal, lock_after, lock_until.as_microsecond()],
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_auth() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::auth::run(&store);
    }
}
