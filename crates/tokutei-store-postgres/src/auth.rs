//! [`AuthStore`] on PostgreSQL (`0005_auth.sql`).

use jiff::Timestamp;
use postgres::Row;
use tokutei_store::auth::{AuthStore, Credentials, Session};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{corrupt, get, micros, timestamp, timestamp_opt, u32_col};
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

fn credentials_row(row: &Row) -> StoreResult<Credentials> {
    let must_change: i64 = get(row, 3)?;
    Ok(Credentials {
        principal: get(row, 0)?,
        password_hash: get(row, 1)?,
        totp_secret: get(row, 2)?,
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

    fn set_totp(&self, principal: &str, secret: &[u8]) -> StoreResult<()> {
        let mut conn = self.conn()?;
        let changed = conn
            .execute("UPDATE auth_credentials SET totp_secret = $2 WHERE principal = $1", &[&principal, &secret])
            .map_err(backend)?;
        if changed == 0 {
            return Err(StoreError::NotFound(format!("a password for `{principal}` (set one first)")));
        }
        Ok(())
    }

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT principal, password_hash, totp_secret, must_change, failed_attempts, locked_until
                 FROM auth_credentials WHERE principal = $1",
                &[&principal],
            )
            .map_err(backend)?;
        row.as_ref().map(credentials_row).transpose()
    }

    fn record_failure(&self, principal: &str, lock_after: u32, lock_until: Timestamp) -> StoreResult<u32> {
        let mut conn = self.conn()?;
        // Not idempotent: run in a transaction so that a lost connection never counts twice.
        let mut tx = conn.transaction()?;
        let row = tx
            .query_opt(
                "UPDATE auth_credentials SET failed_attempts = failed_attempts + 1,
                     locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN $3 ELSE locked_until END
                 WHERE principal = $1 RETURNING failed_attempts",
                &[&principal, &i64::from(lock_after), &micros(lock_until)],
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
}
