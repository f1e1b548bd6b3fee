//! [`PortalStore`] on PostgreSQL (`0021_portal.sql`): a redemption is one transaction whose
//! conditional update marks the link used only while unused and unexpired (the row lock makes
//! instances take turns) and opens the session with it.

use jiff::Timestamp;
use tokutei_store::portal::{NewPortalLink, PortalLink, PortalSession, PortalStore};
use tokutei_store::{StoreError, StoreResult};

use crate::PgStore;
use crate::columns::{bigint, get, micros, timestamp, timestamp_opt};
use crate::db::{backend, is_constraint};

impl PortalStore for PgStore {
    fn add_portal_link(&self, link: &NewPortalLink) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "INSERT INTO portal_links (token_hash, subscriber, created_at, expires_at, issued_by, audit_index)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &link.token_hash,
                &link.subscriber,
                &micros(link.created_at),
                &micros(link.expires_at),
                &link.issued_by,
                &bigint(link.audit_index)?,
            ],
        )
        .map_err(|e| {
            if is_constraint(&e) { StoreError::Conflict("the link is already stored".into()) } else { backend(e) }
        })?;
        Ok(())
    }

    fn portal_link(&self, token_hash: &str) -> StoreResult<Option<PortalLink>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt("SELECT subscriber, expires_at, used_at FROM portal_links WHERE token_hash = $1", &[&token_hash])
            .map_err(backend)?;
        row.map(|r| {
            Ok(PortalLink { subscriber: get(&r, 0)?, expires_at: timestamp(&r, 1)?, used_at: timestamp_opt(&r, 2)? })
        })
        .transpose()
    }

    fn redeem_portal_link(&self, token_hash: &str, session: &PortalSession) -> StoreResult<bool> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        let at = micros(session.created_at);
        let marked = tx
            .execute(
                "UPDATE portal_links SET used_at = $2
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND subscriber = $3",
                &[&token_hash, &at, &session.subscriber],
            )
            .map_err(backend)?;
        if marked == 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO portal_sessions (session_hash, token_hash, subscriber, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[&session.session_hash, &token_hash, &session.subscriber, &at, &micros(session.expires_at)],
        )
        .map_err(backend)?;
        tx.commit()?;
        Ok(true)
    }

    fn portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Option<PortalSession>> {
        let mut conn = self.conn()?;
        let row = conn
            .query_opt(
                "SELECT session_hash, subscriber, created_at, expires_at FROM portal_sessions
                 WHERE session_hash = $1 AND ended_at IS NULL AND expires_at > $2",
                &[&session_hash, &micros(now)],
            )
            .map_err(backend)?;
        row.map(|r| {
            Ok(PortalSession {
                session_hash: get(&r, 0)?,
                subscriber: get(&r, 1)?,
                created_at: timestamp(&r, 2)?,
                expires_at: timestamp(&r, 3)?,
            })
        })
        .transpose()
    }

    fn end_portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<()> {
        let mut conn = self.conn()?;
        conn.execute(
            "UPDATE portal_sessions SET ended_at = $2 WHERE session_hash = $1 AND ended_at IS NULL",
            &[&session_hash, &micros(now)],
        )
        .map_err(backend)?;
        Ok(())
    }
}
