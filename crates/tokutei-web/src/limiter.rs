//! Rate limits, and who the client is.
//!
//! Sign-in and the API are limited per client address and per principal (staff id typed, or
//! the API token's principal), in fixed one-minute windows counted in the database
//! ([`RateLimitStore`]), so every instance on one PostgreSQL — or every process on one SQLite
//! file — counts together; the limits are settings (`signin_rate_*`, `api_rate_*`). Buckets are
//! SHA-256 hashes of what they count by: the counters hold no address and no id.
//!
//! The public inquiry form keeps its own hourly limit per address in memory ([`Limiter`]).
//!
//! The client address is the connection's peer, or — when the peer is one of the trusted
//! proxies given to `tokutei serve --trusted-proxy` — the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use tokutei_store::auth::RateLimitStore;
use tokutei_store::{StoreError, StoreResult};

use crate::AppState;

/// The length of a rate-limit window.
pub(crate) const WINDOW: SignedDuration = SignedDuration::from_secs(60);

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
pub(crate) fn window_of(now: Timestamp) -> Timestamp {
    let secs = WINDOW.as_secs();
    Timestamp::from_second(now.as_second().div_euclid(secs) * secs).unwrap_or(now)
}

/// Seconds from `now` until its window ends (for `Retry-After`).
pub(crate) fn retry_after(now: Timestamp) -> u64 {
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

/// The trusted proxies: whose `X-Forwarded-For` names the client.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proxies(pub Vec<IpAddr>);

impl Proxies {
    /// The client of a connection from `peer` with these `X-Forwarded-For` values.
    pub(crate) fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.0.contains(&peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.0.contains(&ip) => continue,
                Ok(ip) => return ip,
                // Something we cannot read: the proxy itself is the best we know.
                Err(_) => return peer,
            }
        }
        peer
    }
}

/// The client's address (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub(crate) fn of(parts: &Parts, proxies: &Proxies) -> ClientAddr {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded: Vec<&str> =
            parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        ClientAddr(proxies.client(peer, &forwarded))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ClientAddr, Self::Rejection> {
        Ok(ClientAddr::of(parts, &state.proxies))
    }
}

/// Submissions counted per address in the current window.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    window: Mutex<(i64, HashMap<IpAddr, u32>)>,
}

impl Limiter {
    /// Count one submission from `client` at `now`; `false` when it is over `limit`.
    pub(crate) fn allow(&self, client: IpAddr, limit: u32, now: Timestamp) -> bool {
        let hour = now.as_second().div_euclid(3600);
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if window.0 != hour {
            *window = (hour, HashMap::new());
        }
        let count = window.1.entry(client).or_default();
        if *count >= limit {
            return false;
        }
        *count += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_gets_its_limit_per_hour() {
        let limiter = Limiter::default();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let at = |s: i64| Timestamp::from_second(1_780_000_000 + s).unwrap();
        let got: Vec<bool> = (0..3).map(|_| limiter.allow(a, 2, at(0))).collect();
        assert_eq!(got, [true, true, false]);
        assert!(limiter.allow(b, 2, at(1)), "another address has its own count");
        assert!(limiter.allow(a, 2, at(3600)), "a new hour starts afresh");
    }

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

    #[test]
    fn only_trusted_proxies_name_the_client() {
        let (proxy, client, other): (IpAddr, IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "198.51.100.7".parse().unwrap(), "203.0.113.9".parse().unwrap());
        let none = Proxies::default();
        assert_eq!(none.client(proxy, &["198.51.100.7"]), proxy, "no proxy trusted: the peer");
        let trusted = Proxies(vec![proxy]);
        assert_eq!(trusted.client(other, &["198.51.100.7"]), other, "an untrusted peer cannot name a client");
        assert_eq!(trusted.client(proxy, &["198.51.100.7"]), client);
        // A client's own forged hops stay to the left of what the proxy appended.
        assert_eq!(trusted.client(proxy, &["192.0.2.66, 198.51.100.7"]), client);
        assert_eq!(trusted.client(proxy, &["198.51.100.7", "10.0.0.1"]), client, "proxies are skipped");
        assert_eq!(trusted.client(proxy, &["not an address"]), proxy);
        assert_eq!(trusted.client(proxy, &[]), proxy);
    }
}
