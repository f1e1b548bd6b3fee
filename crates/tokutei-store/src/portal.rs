//! The subscriber's own page (`/my/`): the one-time links the carrier's systems hand to a
//! subscriber, and the short sessions they open. tokutei keeps no password for subscribers:
//! a link is a random token, stored only as its SHA-256, that works once and only until it
//! expires; redeeming it opens a session (also stored as a hash) for that subscriber alone.
//!
//! Redemption is one atomic step on every backend: the link is marked used only when it was
//! unused and unexpired, and the session is created in the same transaction, so two
//! presentations of one link never both succeed.

use jiff::Timestamp;

use crate::StoreResult;

/// A link as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortalLink {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    pub subscriber: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Who issued it (a principal id).
    pub issued_by: String,
    pub audit_index: u64,
}

/// A link as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalLink {
    pub subscriber: String,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// A session opened by a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    /// SHA-256 of the session's cookie value, hex.
    pub session_hash: String,
    pub subscriber: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

pub trait PortalStore: Send + Sync {
    /// Store a new link. A token hash already stored is a conflict.
    fn add_portal_link(&self, link: &NewPortalLink) -> StoreResult<()>;

    /// The link of `token_hash`, used or not.
    fn portal_link(&self, token_hash: &str) -> StoreResult<Option<PortalLink>>;

    /// Mark the link used at `session.created_at` and open `session` — only when the link is
    /// unused and expires after that time; `false` (and nothing written) otherwise.
    fn redeem_portal_link(&self, token_hash: &str, session: &PortalSession) -> StoreResult<bool>;

    /// The session of `session_hash` while it has not expired at `now` nor been ended.
    fn portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<Option<PortalSession>>;

    /// End a session (signing out) at `now`.
    fn end_portal_session(&self, session_hash: &str, now: Timestamp) -> StoreResult<()>;
}
