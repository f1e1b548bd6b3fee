//! Console sign-in for people of the staff registry: password hashes (argon2id PHC strings,
//! never passwords), TOTP secrets (sealed under a key-encryption key, with the last accepted
//! time step so a code is never accepted twice), failed-attempt counters with lockout, and
//! sessions (stored by the SHA-256 of their id, with the CSRF token bound to the session).
//! Also the rate-limit counters shared by every instance on one database ([`RateLimitStore`]).
//!
//! Hashing, sealing and checking happen outside the store; the store keeps what they produce.

use jiff::Timestamp;

use crate::StoreResult;
use crate::vault::WrappedDataKey;

/// A small secret sealed under a key-encryption key: a fresh data key wrapped for the
/// secret's owner, and the secret sealed by that data key (both bound to the owner, so a
/// sealed secret copied onto another person does not open).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub key: WrappedDataKey,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedSecret").field("kek_id", &self.key.kek_id).finish_non_exhaustive()
    }
}

/// A person's TOTP secret as stored.
#[derive(Clone, PartialEq, Eq)]
pub enum TotpSecret {
    /// Sealed under a key-encryption key (every secret enrolled since migration `0010`).
    Sealed(SealedSecret),
    /// The raw secret, as enrolled before migration `0010`; `tokutei serve` seals it when it
    /// starts, and sign-in refuses it until then.
    Clear(Vec<u8>),
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TotpSecret::Sealed(s) => s.fmt(f),
            TotpSecret::Clear(_) => f.write_str("Clear([redacted])"),
        }
    }
}

/// What a person signs in with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub principal: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret (RFC 6238), when a second factor is enrolled.
    pub totp: Option<TotpSecret>,
    /// The last TOTP time step accepted (RFC 6238 §5.2: a code of this step or an earlier one
    /// is refused).
    pub totp_last_step: Option<u64>,
    /// The password must be changed at the next sign-in (one-time passwords).
    pub must_change: bool,
    pub failed_attempts: u32,
    pub locked_until: Option<Timestamp>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("principal", &self.principal)
            .field("totp", &self.totp.is_some())
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

    /// Enrol (or replace) a sealed TOTP secret: any clear secret is removed and the last
    /// accepted step forgotten.
    fn set_totp(&self, principal: &str, secret: &SealedSecret) -> StoreResult<()>;

    fn credentials(&self, principal: &str) -> StoreResult<Option<Credentials>>;

    /// Accept TOTP time step `step` for `principal`: `true` (and remembered) only when it is
    /// later than every step accepted before, atomically, so two sign-ins with one code — on
    /// one instance or on two — cannot both succeed.
    fn accept_totp_step(&self, principal: &str, step: u64) -> StoreResult<bool>;

    /// The people whose TOTP secret is still stored in clear (enrolled before `0010`).
    fn clear_totp_principals(&self) -> StoreResult<Vec<String>>;

    /// The wrapped data key of every sealed TOTP secret, by person (for key rotation).
    fn totp_keys(&self) -> StoreResult<Vec<(String, WrappedDataKey)>>;

    /// Replace the wrapped data key of `principal`'s sealed TOTP secret (the same data key,
    /// wrapped by another KEK); the sealed secret itself is not touched.
    fn rewrap_totp_key(&self, principal: &str, key: &WrappedDataKey) -> StoreResult<()>;

    /// Count a failed sign-in at `now`; lock until `lock_until` when the count reaches
    /// `lock_after`. A lock that has expired by `now` starts the count afresh (this failure
    /// is the first of a new run). Returns the new count.
    fn record_failure(
        &self,
        principal: &str,
        lock_after: u32,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> StoreResult<u32>;

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

    /// End every session of `principal` except the one with id hash `keep` (after a password
    /// change). Returns how many ended.
    fn delete_other_sessions(&self, principal: &str, keep: &[u8; 32]) -> StoreResult<u64>;
}

/// Fixed-window counters (sign-in and API rate limits), kept in the database so that every
/// instance on one database — PostgreSQL, or SQLite used by several processes — counts
/// together. A bucket is an opaque 32-byte key (the web layer hashes what it counts by).
pub trait RateLimitStore {
    /// Count one hit on each of `buckets` in the window that starts at `window`; returns each
    /// bucket's hits in that window, this one included, in the order given. When a window's
    /// first hit is counted, windows that started before `forget_before` are deleted (of every
    /// bucket), so the counters hold only recent windows.
    fn hit(&self, buckets: &[[u8; 32]], window: Timestamp, forget_before: Timestamp) -> StoreResult<Vec<u64>>;

    /// The hits of `bucket` in the window that starts at `window` (0 when none).
    fn hits(&self, bucket: &[u8; 32], window: Timestamp) -> StoreResult<u64>;
}
