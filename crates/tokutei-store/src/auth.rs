//! Console sign-in for people of the staff registry: password hashes (argon2id PHC strings,
//! never passwords), TOTP secrets, failed-attempt counters with lockout, and sessions (stored
//! by the SHA-256 of their id, with the CSRF token bound to the session).
//!
//! Hashing and checking happen outside the store; the store keeps what they produce.

use jiff::Timestamp;

use crate::StoreResult;

/// What a person signs in with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub principal: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret (RFC 6238), when a second factor is enrolled.
    pub totp_secret: Option<Vec<u8>>,
    /// The password must be changed at the next sign-in (one-time passwords).
    pub must_change: bool,
    pub failed_attempts: u32,
    pub locked_until: Option<Timestamp>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal)
            .field("totp", &self.totp_secret.is_some())
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

/// A signed-in session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session id (the cookie holds the id).
    pub id_hash: [u8; 32],
    pub principal: String,
    /// The token every form of this session must carry.
    pub csrf_token: String,
    pub created_at: Timestamp,
    /// Idle expiry, moved forward on use.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("principal", &self.principal).finish_non_exhaustive()
    }
}

/// Sign-in state.
pub trait AuthStore {
    /// Set (or replace) a person's password hash; clears failures and the lockout.
    fn set_password(&self, principal: &str, password_hash: &str, must_change: bool) -> StoreResult<()>;

    /// Enrol (or replace) a TOTP secret.
    fn set_totp(&self, principal: &str, secret: &[u8]) -> StoreResult<()>;

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>>;

    /// Count a failed sign-in; lock until `lock_until` when the count reaches `lock_after`.
    /// Returns the new count.
    fn record_failure(&self, principal: &str, lock_after: u32, lock_until: Timestamp) -> StoreResult<u32>;

    /// A successful sign-in: failures back to zero.
    fn clear_failures(&self, principal: &str) -> StoreResult<()>;

    fn create_session(&self, session: &Session) -> StoreResult<()>;

    /// The session with this id hash, if it exists and has not expired at `now`.
    fn session(&self, id_hash: &[u8; 32], now: Timestamp) -> StoreResult<Option<Session>>;

    /// Move a session's idle expiry.
    fn touch_session(&self, id_hash: &[u8; 32], expires_at: Timestamp) -> StoreResult<()>;

    fn delete_session(&self, id_hash: &[u8; 32]) -> StoreResult<()>;

    /// Sign a person out everywhere. Returns how many sessions ended.
    fn delete_sessions_of(&self, principal: &str) -> StoreResult<u64>;
}
