//! Who the client is, and the inquiry form's rate limit.
//!
//! Sign-in and the API are limited per client address and per principal in the database,
//! by `tokutei_app::auth` (the web hands it the client address found here). The public
//! inquiry form keeps its own hourly limit per address in memory ([`Limiter`]).
//!
//! The client address is the connection's peer, or — when the peer is one of the trusted
//! proxies given to `tokutei serve --trusted-proxy` — the rightmost address of
//! `X-Forwarded-For` that is not itself a trusted proxy.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use jiff::Timestamp;

use crate::AppState;

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
