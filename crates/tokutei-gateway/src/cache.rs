//! The decision cache: verdicts keyed by every input the compiled policies can observe.
//!
//! A key holds the principal's id and version, the purpose, action and category, the
//! subscriber's service, contract state, consent and stops for the purpose, the channel, zone,
//! export approval and the day (training validity), and, when deployment policies are loaded,
//! the subscriber's id. The generation counter closes the race between a slow evaluation and
//! an invalidation: a verdict computed before an invalidation is never stored after it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use tokutei_policy::Channel;

use crate::reason::Reason;
use crate::request::{Action, Contract};

/// Beyond this many entries the cache starts again empty (a bound, not an eviction policy).
const CAPACITY: usize = 200_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub principal: String,
    pub principal_version: u64,
    pub purpose: u32,
    pub action: Action,
    pub category: u32,
    pub service: String,
    pub contract: Contract,
    /// 0 none, 1 opted in, 2 opted out (for the declared purpose).
    pub consent: u8,
    /// Bit 0: the use for the purpose is stopped; bit 1: provision to third parties is.
    pub stopped: u8,
    pub channel: Option<Channel>,
    pub zone: Option<String>,
    pub zone_secrecy: Option<bool>,
    pub export_approval: Option<String>,
    /// `YYYYMMDD` in Asia/Tokyo.
    pub today: i64,
    /// Only when deployment policies (which may look at anything) are loaded.
    pub subscriber: Option<String>,
}

/// A decision without the subscriber and category it was made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub allowed: bool,
    pub reasons: Vec<Reason>,
    pub policies: Vec<String>,
    pub mask: Option<String>,
}

/// Counters of the decision cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub generation: u64,
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

#[derive(Debug, Default)]
pub(crate) struct DecisionCache {
    map: RwLock<HashMap<CacheKey, Arc<Verdict>>>,
    generation: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl DecisionCache {
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Verdict>> {
        let found = self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned();
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The generation to pass to [`DecisionCache::insert`], read before evaluating.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Store a verdict computed while the cache was at `generation`, unless an invalidation
    /// happened since.
    pub fn insert(&self, key: CacheKey, verdict: Arc<Verdict>, generation: u64) {
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Invalidations bump the generation while holding this lock, so this check and the
        // insert are atomic with respect to them.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, verdict);
    }

    pub fn invalidate_where(&self, stale: impl Fn(&CacheKey) -> bool) {
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.retain(|k, _| !stale(k));
    }

    pub fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            generation: self.generation(),
            entries: self.map.read().unwrap_or_else(std::sync::PoisonError::into_inner).len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}
