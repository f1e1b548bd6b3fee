//! [`PortalStore`] on SQLite (`0021_portal.sql`): a redemption is one `IMMEDIATE` transaction
//! that marks the link used only while unused and unexpired and opens the session with it.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use tokutei_store::portal::{NewPortalLink, PortalLink, PortalSession, PortalStore};
use tokutei_store::{StoreError, StoreResult};

use crate::SqliteStore;
use crate::db::backend;
use crate::oversight::{bigint, is_constraint, ts};

impl PortalStore for SqliteStore {
    fn add_portal_link(&self, link: &NewPortalLink) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "INSERT INTO portal_links (token_hash, subscriber, created_at, expires_at, issued_by, audit_index)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                link.token_hash,
                link.subscriber,
                link.created_at.as_microsecond(),
                link.expires_at.as_microsecond(),
                link.issued_by,
                bigint(link.audit_index)?
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) { StoreError::Conflict("the link is already stored".into()) } else { backend(e) }
        })?;
        tx.commit().map_err(backend)
    }

    fn portal_link(&self, token_hash: &str) -> StoreResult<Option<PortalLink>> {
        let conn = self.reader()?;
        conn.query_row(
            "SELECT subscriber, expires_at, used_at FROM portal_links WHERE token_hash = ?1",
            [token_hash],
            |r| {
                Ok(PortalLink {
                    subscriber: r.get(0)?,
                    expires_at: ts(1, r.get(1)?)?,
                    used_at: r.get::<_, Option<i64>>(2)?.map(|us| ts(2, us)).transpose()?,
                })
            },
        )
        .optional()
        .map_err(backend)
    }

    fn redeem_portal_link(&self, token_hash: &str, session: &PortalSession) -> StoreResult<bool> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        let at = session.created_at.as_microsecond();
        let marked = tx
            .execute(
                "UPDATE portal_links SET used_at = ?2
                 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND subscriber = ?3",
                params![token_hash, at, session.subscriber],
            )
            .map_err(backend)?;
        if marked == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO portal_sessions (session_hash, token_hash, subscriber, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![session.session_hash, token_hash, session.subscriber, at, session.expires_at.as_microsecond()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(true)
    }

    fn portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Option<PortalSession>> {
        let conn = self.reader()?;
        conn.query_row(
            "SELECT session_hash, subscriber, created_at, expires_at FROM portal_sessions
             WHERE session_hash = ?1 AND ended_at IS NULL AND expires_at > ?2",
            params![session_hash, now.as_microsecond()],
            |r| {
                Ok(PortalSession {
                    session_hash: r.get(0)?,
                    subscriber: r.get(1)?,
                    created_at: ts(2, r.get(2)?)?,
                    expires_at: ts(3, r.get(3)?)?,
                })
            },
        )
        .optional()
        .map_err(backend)
    }

    fn end_portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = crate::db::write_tx(&mut conn)?;
        tx.execute(
            "UPDATE portal_sessions SET ended_at = ?2 WHERE session_hash = ?1 AND ended_at IS NULL",
            params![session_hash, now.as_microsecond()],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conformance_and_the_database_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("t.sqlite3")).unwrap();
        tokutei_store::conformance::portal::run(&store);
        let conn = store.writer();
        for (sql, refusal) in [
            ("UPDATE portal_links SET used_at = 1 WHERE token_hash = 'a1'", "used once"),
            ("UPDATE portal_links SET subscriber = 'S-9' WHERE token_hash = 'c3'", "used once"),
            ("DELETE FROM portal_links", "portal links are kept"),
        ] {
            let err = conn.execute_batch(sql).expect_err(sql);
            assert!(err.to_string().contains(refusal), "{sql}: {err}");
        }
    }
}
