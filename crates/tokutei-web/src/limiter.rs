//! A fixed-window rate limit per client address (the public inquiry form): at most `limit`
//! submissions per address per hour. In memory, per process; the window restarts on the hour.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use jiff::Timestamp;

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
    #[test]
    fn each_address_gets_its_limit_per_hour() {
        let limiter = super::Limiter::default();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let at = |s: i64| jiff::Timestamp::from_second(1_780_000_000 + s).unwrap();
        let got: Vec<bool> = (0..3).map(|_| limiter.allow(a, 2, at(0))).collect();
        assert_eq!(got, [true, true, false]);
        assert!(limiter.allow(b, 2, at(1)), "another address has its own count");
        assert!(limiter.allow(a, 2, at(3600)), "a new hour starts afresh");
    }
}
