//! Rate limits of sign-in and the API, and the API's admission of a token.
//!
//! Sign-in and the API are limited per client address and per principal (the staff id typed,
//! or the API token's principal), in fixed one-minute windows counted in the database
//! ([`RateLimitStore`]), so every instance on one PostgreSQL — or every process on one SQLite
//! file — counts together; the limits are settings (`signin_rate_*`, `api_rate_*`). Buckets are
//! SHA-256 hashes of what they count by: the counters hold no address and no id.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tokutei_policy::Role;
use tokutei_store::auth::RateLimitStore;
use tokutei_store::staff::PrincipalKind;
use tokutei_store::{StoreError, StoreResult};

use super::Auth;
use crate::error::ActionResult;
use crate::ids::PrincipalId;

/// The length of a rate-limit window.
pub const WINDOW: SignedDuration = SignedDuration::from_secs(60);

/// What a rate limit counts by.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Key<'a> {
    /// Sign-in attempts from one client address.
    SigninClient(IpAddr),
    /// Sign-in attempts naming one staff id (known or not).
    SigninId(&'a str),
    /// API requests from one client address.
    ApiClient(IpAddr),
    /// API requests of one principal (all its tokens).
    ApiPrincipal(&'a str),
    /// Refused sign-ins that name no known person (unknown ids, rate-limited attempts): only
    /// the first of each window is written to the audit ledger.
    SigninUnattributed,
}

impl Key<'_> {
    /// The bucket: a hash, so the counters hold no address and no id.
    pub(crate) fn bucket(self) -> [u8; 32] {
        let (kind, key) = match self {
            Key::SigninClient(ip) => ("signin-client", ip.to_string()),
            Key::SigninId(id) => ("signin-id", id.to_string()),
            Key::ApiClient(ip) => ("api-client", ip.to_string()),
            Key::ApiPrincipal(p) => ("api-principal", p.to_string()),
            Key::SigninUnattributed => ("signin-unattributed", String::new()),
        };
        let mut h = Sha256::new();
        h.update(b"tokutei.rate.v1\0");
        h.update(kind.as_bytes());
        h.update(b"\0");
        h.update(key.as_bytes());
        h.finalize().into()
    }
}

/// The start of the window `now` falls in.
pub fn window_of(now: Timestamp) -> Timestamp {
    let secs = WINDOW.as_secs();
    Timestamp::from_second(now.as_second().div_euclid(secs) * secs).unwrap_or(now)
}

/// Seconds from `now` until its window ends (for `Retry-After`).
pub fn retry_after(now: Timestamp) -> u64 {
    let end = window_of(now) + WINDOW;
    end.duration_since(now).as_secs().max(1) as u64
}

/// Count one hit on each `(bucket, limit)` at `now`; `Some(retry after, in seconds)` when any
/// of them is over its limit (the hit is counted all the same). The previous window is kept,
/// for the audit's tally of refusals; older ones are forgotten.
pub(crate) fn check(
    store: &dyn RateLimitStore,
    limits: &[([u8; 32], u32)],
    now: Timestamp,
) -> StoreResult<Option<u64>> {
    let window = window_of(now);
    let buckets: Vec<[u8; 32]> = limits.iter().map(|(b, _)| *b).collect();
    let counts = store.hit(&buckets, window, window - WINDOW)?;
    if counts.len() != limits.len() {
        return Err(StoreError::Corrupt(format!("{} counters for {} buckets", counts.len(), limits.len())));
    }
    let over = limits.iter().zip(&counts).any(|((_, limit), n)| *n > u64::from(*limit));
    Ok(over.then(|| retry_after(now)))
}

/// The principal behind a valid API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCaller {
    pub principal: PrincipalId,
    /// The token's public id (for the audit's `api:<token id>`).
    pub token: String,
    /// The person's role; `None` for a system.
    pub role: Option<Role>,
}

/// What an API request is let in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAdmission {
    /// A valid token of a principal that is not disabled, within the limits.
    Admitted(ApiCaller),
    /// No valid token (missing, malformed, unknown, expired, revoked, or its principal gone
    /// or disabled), within the client's limit.
    Unauthorized,
    /// Over a limit: try again after this many seconds.
    Limited { retry_after: u64 },
}

impl Auth {
    /// Admit an API request presenting `token` (the bearer text, empty when none) from
    /// `client` at `now`: the token's principal within the limits per client and per
    /// principal (settings `api_rate_per_client`, `api_rate_per_principal`). A request
    /// without a valid token counts against its client address only.
    pub fn admit_api(&self, token: &str, client: IpAddr, now: Timestamp) -> ActionResult<ApiAdmission> {
        let settings = self.settings()?;
        let client_limit = (Key::ApiClient(client).bucket(), settings.api_rate_per_client);
        let (limits, admitted) = match self.api_caller(token, now)? {
            Some(caller) => {
                let principal_limit =
                    (Key::ApiPrincipal(caller.principal.as_str()).bucket(), settings.api_rate_per_principal);
                (vec![client_limit, principal_limit], ApiAdmission::Admitted(caller))
            }
            None => (vec![client_limit], ApiAdmission::Unauthorized),
        };
        Ok(match check(self.stores.as_ref(), &limits, now)? {
            Some(retry_after) => ApiAdmission::Limited { retry_after },
            None => admitted,
        })
    }

    /// The principal of a valid token, `None` when the token is not one.
    fn api_caller(&self, text: &str, now: Timestamp) -> ActionResult<Option<ApiCaller>> {
        let Some(id) = crate::tokens::id_of(text) else { return Ok(None) };
        let registry = self.app.stores();
        let stored = registry.token(id)?;
        if crate::tokens::check(text, stored.as_ref(), now).is_err() {
            return Ok(None);
        }
        let Some(token) = stored else { return Ok(None) };
        let Some(principal) = registry.principal(&token.principal)? else { return Ok(None) };
        if principal.disabled_at.is_some() {
            return Ok(None);
        }
        let role = match principal.kind {
            PrincipalKind::Person { role } => Some(role),
            PrincipalKind::System { .. } => None,
        };
        Ok(Some(ApiCaller { principal: PrincipalId::known(principal.id), token: token.id, role }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_minutes() {
        let t = Timestamp::from_second(1_780_000_000 + 17).unwrap();
        assert_eq!(window_of(t).as_second() % 60, 0);
        assert!(window_of(t) <= t && t < window_of(t) + WINDOW);
        assert_eq!(retry_after(window_of(t)), 60);
        assert_eq!(retry_after(window_of(t) + SignedDuration::from_millis(59_500)), 1);
    }

    #[test]
    fn buckets_differ_by_kind_and_key() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let all = [
            Key::SigninClient(ip).bucket(),
            Key::ApiClient(ip).bucket(),
            Key::SigninId("192.0.2.1").bucket(),
            Key::ApiPrincipal("192.0.2.1").bucket(),
            Key::SigninId("cpo").bucket(),
            Key::SigninUnattributed.bucket(),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
