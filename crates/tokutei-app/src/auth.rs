//! The console's sign-in, its sessions and the rate limits of sign-in and the API: the rules,
//! one function each of [`Auth`], validated → audited (durable) → changed, so the web only
//! parses the form or the cookie, calls, and sets cookies or renders.
//!
//! - [`Auth::sign_in`] ([`signin`]): rate limits per client and per id typed first, before any
//!   password hash; then the person (a person of the registry, with credentials, not disabled,
//!   not locked), the argon2id password and — for the chief manager, responsible persons and
//!   auditors — a TOTP code whose time step is accepted once. Every success, failure and
//!   lockout of a known person is an entry (`login_succeeded`, `login_failed`, `locked_out`);
//!   refusals that name no known person are counted per minute and only the first of each
//!   minute is written (`login_failed` on `console/login`, with the previous minute's count),
//!   never with the id typed. A success is audited before the failures are cleared and the
//!   session is created; a failure before it is counted.
//! - [`Auth::session`], [`Auth::sign_out`], [`Auth::change_password`] ([`session`]): the
//!   session behind a cookie with its idle and absolute expiry (settings), signing out
//!   (`logged_out`) and a password change (`password_changed`; the person's other sessions
//!   end), each audited before the change.
//! - [`Auth::admit_api`] ([`ratelimit`]): an API token's principal within the API's rate
//!   limits per client and per principal.
//!
//! Two writes come before their audit entry, by their nature: the rate-limit counters (they
//! are how an attempt is counted at all, and hold only hashes) and the acceptance of a TOTP
//! time step (an atomic compare-and-set, the check itself: two sign-ins with one code, on one
//! instance or on two, cannot both pass). Neither signs anyone in.
//!
//! [`Auth`] holds the [`App`] (staff registry, keys, the one way to audit) and the stores of
//! sign-in state, which the access service's [`crate::Stores`] does not carry.

mod ratelimit;
mod session;
mod signin;

use std::sync::Arc;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokutei_policy::Role;
use tokutei_store::auth::{AuthStore, RateLimitStore};
use tokutei_store::inquiry::SettingsStore;

use crate::App;
use crate::settings::Settings;

pub use ratelimit::{ApiAdmission, ApiCaller, WINDOW, retry_after, window_of};
pub use session::{PasswordChange, PasswordRefusal, SessionView};
pub use signin::{NewSession, Refusal, SignIn, SignInOutcome};

/// The stores of sign-in state: credentials and sessions, the rate-limit counters, and the
/// settings that bound them.
pub trait AuthStores: AuthStore + RateLimitStore + SettingsStore + Send + Sync + 'static {}
impl<T: AuthStore + RateLimitStore + SettingsStore + Send + Sync + 'static> AuthStores for T {}

/// Sign-in, sessions and rate limits of one deployment (see the module documentation).
/// Cheap to build: two `Arc`s.
#[derive(Clone)]
pub struct Auth {
    app: Arc<App>,
    stores: Arc<dyn AuthStores>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

impl Auth {
    /// Sign-in over `app` (the staff registry, the keys that open TOTP secrets, the ledger)
    /// and `stores` (credentials, sessions, counters and settings of the same deployment).
    pub fn new(app: Arc<App>, stores: Arc<dyn AuthStores>) -> Auth {
        Auth { app, stores }
    }

    fn settings(&self) -> tokutei_store::StoreResult<Settings> {
        Settings::load(self.stores.as_ref())
    }
}

/// Roles that must present a second factor: the chief manager, responsible persons, auditors.
pub fn needs_totp(role: Role) -> bool {
    matches!(role, Role::ChiefManager | Role::ResponsiblePerson | Role::Auditor)
}

/// A fresh random token (session ids, CSRF tokens): 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    hex::encode(bytes.as_ref())
}

/// The stored name of a session: the SHA-256 of its id (the cookie holds the id).
pub fn hash_id(session_id: &str) -> [u8; 32] {
    Sha256::digest(session_id.as_bytes()).into()
}

/// Equal, without stopping at the first difference (tokens, codes).
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_hex_and_compared_whole() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(hash_id(&a), hash_id(&a));
        assert_ne!(hash_id(&a), hash_id(&b));
        for (x, y, equal) in [("abc", "abc", true), ("abc", "abd", false), ("abc", "ab", false), ("", "", true)] {
            assert_eq!(same(x, y), equal, "{x:?} {y:?}");
        }
    }

    #[test]
    fn managers_and_auditors_need_a_second_factor() {
        let cases = [
            (Role::ChiefManager, true),
            (Role::ResponsiblePerson, true),
            (Role::Auditor, true),
            (Role::Handler, false),
        ];
        for (role, needs) in cases {
            assert_eq!(needs_totp(role), needs, "{role:?}");
        }
    }
}
