//! Published policy versions: immutable, numbered, named by their content digest, with one
//! active version (the latest published whose effective date has come).

use jiff::Timestamp;
use tokutei_policy::{Date, PolicyDigest};

use crate::StoreResult;

/// A version to publish. The caller has already parsed and checked `source`.
#[derive(Debug, Clone)]
pub struct NewPolicyVersion {
    pub digest: PolicyDigest,
    /// The policy file as written (TOML), kept byte for byte.
    pub source: String,
    pub effective: Date,
    /// Who published it (staff id, or `system` for `tokutei init`).
    pub published_by: String,
    pub published_at: Timestamp,
}

/// A stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    /// 1, 2, 3… in publication order.
    pub number: u32,
    pub digest: PolicyDigest,
    pub source: String,
    pub effective: Date,
    pub published_by: String,
    pub published_at: Timestamp,
}

/// Policy version storage.
pub trait PolicyStore {
    /// Store a new version. Publishing a digest that is already the latest version is a
    /// conflict (nothing changed); an older digest may be republished as a new version.
    fn publish_policy(&self, version: NewPolicyVersion) -> StoreResult<PolicyVersion>;

    /// All versions, oldest first.
    fn policy_versions(&self) -> StoreResult<Vec<PolicyVersion>>;

    /// One version by number.
    fn policy_version(&self, number: u32) -> StoreResult<Option<PolicyVersion>>;

    /// The version in force on `today`: the latest published whose effective date is not
    /// after `today`. `None` before any version takes effect.
    fn active_policy(&self, today: Date) -> StoreResult<Option<PolicyVersion>>;

    /// The number of the version in force on `today`, without its text (the gateway asks on
    /// every request whether its compiled version is still the active one).
    fn active_policy_number(&self, today: Date) -> StoreResult<Option<u32>> {
        Ok(self.active_policy(today)?.map(|v| v.number))
    }
}

/// What a server caching the compiled policy and the principals checks on every request, in
/// one read: the active policy version number and the staff registry's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    pub active_policy: Option<u32>,
    pub staff_generation: u64,
}

/// The one-read freshness check.
pub trait FreshnessStore {
    fn freshness(&self, today: Date) -> StoreResult<Freshness>;
}
