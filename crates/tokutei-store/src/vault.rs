//! The subscriber vault: subscribers with their contract state, and versioned, encrypted
//! values per information category, each with its provenance.
//!
//! The store only ever sees ciphertext, wrapped data keys (with the id of the key-encryption
//! key that wrapped them) and blind-index tokens; encryption happens before a value reaches
//! this trait (see `tokutei-crypto`). Values are never overwritten: a correction adds a new
//! version and closes the validity of the previous one. Erasure destroys the subscriber's
//! wrapped data key (crypto-shredding); retention purges destroy expired values and record
//! each purge.
//!
//! Bulk import goes through [`VaultStore::import_batch`]: one batch is one transaction,
//! keyed by a source key so that re-running the same input does nothing twice.
//!
//! Value versions are records: a backend refuses to change one (other than closing its
//! validity once, when a newer version is stored) and to delete one that no retention purge
//! recorded. Each version names the audit entry that wrote it (`audit_index`), and that entry
//! commits to the version's [`value_leaf`] — its key and the SHA-256 of its sealed bytes — so
//! `tokutei subscribers verify` finds a version deleted, reopened or replaced behind the
//! store's back even when the database's guards were removed.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokutei_policy::{AcquisitionMethod, Date};

use crate::StoreResult;

/// A subscriber's contract state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    Active,
    Suspended,
    Terminated,
}

impl ContractState {
    pub const ALL: [ContractState; 3] = [ContractState::Active, ContractState::Suspended, ContractState::Terminated];

    pub fn id(self) -> &'static str {
        match self {
            ContractState::Active => "active",
            ContractState::Suspended => "suspended",
            ContractState::Terminated => "terminated",
        }
    }

    pub fn from_id(id: &str) -> Option<ContractState> {
        ContractState::ALL.into_iter().find(|s| s.id() == id)
    }
}

/// The contract: its state and the dates that led there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub state: ContractState,
    pub started_on: Date,
    pub suspended_on: Option<Date>,
    /// Set when `state` is terminated: retention rules counting from the contract end start here.
    pub terminated_on: Option<Date>,
}

/// A subscriber's data key, encrypted under a key-encryption key.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    pub kek_id: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for WrappedDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrappedDataKey").field("kek_id", &self.kek_id).finish_non_exhaustive()
    }
}

/// A subscriber to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    pub id: String,
    /// The service id from the policy.
    pub service: String,
    pub contract: Contract,
    pub key: WrappedDataKey,
}

/// A stored subscriber.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscriber {
    pub id: String,
    pub service: String,
    pub contract: Contract,
    pub created_at: Timestamp,
    /// When the subscriber was erased (its data key destroyed), if it was.
    pub erased_at: Option<Timestamp>,
}

/// Where a value came from: the subscriber itself, or another party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// Acquired directly from the subscriber.
    Direct,
    /// Acquired from a provider (APPI 30条: the recipient confirms and records these).
    Indirect(IndirectSource),
}

/// The APPI 30条 / 規則22条 receipt confirmation for an indirectly acquired value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndirectSource {
    pub provider_name: String,
    pub provider_address: String,
    pub provider_representative: String,
    /// How the provider obtained the information.
    pub provider_obtained_by: String,
}

/// The provenance every value carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub method: AcquisitionMethod,
    pub source: Source,
    pub collected_at: Timestamp,
    /// Who collected it (staff id, system or channel name).
    pub collected_by: String,
    /// The policy version (its number) whose notice was in force at collection.
    pub notice_version: u32,
}

/// The sealed bytes of a value: inline, or a blob for binary categories.
#[derive(Clone, PartialEq, Eq)]
pub enum Sealed {
    Inline(Vec<u8>),
    /// A binary value (call recording, scan) stored once by the SHA-256 of its ciphertext.
    Blob {
        content_hash: [u8; 32],
        ciphertext: Vec<u8>,
    },
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sealed::Inline(c) => write!(f, "Inline({} bytes)", c.len()),
            Sealed::Blob { ciphertext, .. } => write!(f, "Blob({} bytes)", ciphertext.len()),
        }
    }
}

impl Sealed {
    pub fn ciphertext(&self) -> &[u8] {
        match self {
            Sealed::Inline(c) | Sealed::Blob { ciphertext: c, .. } => c,
        }
    }

    /// The SHA-256 of the sealed bytes: computed for an inline value, the content hash for a
    /// blob (which is the SHA-256 of its ciphertext, checked whenever the blob is opened).
    pub fn sealed_hash(&self) -> [u8; 32] {
        match self {
            Sealed::Inline(c) => Sha256::digest(c).into(),
            Sealed::Blob { content_hash, .. } => *content_hash,
        }
    }
}

/// The most bytes a text value may hold (UTF-8), before sealing.
pub const MAX_TEXT_VALUE_BYTES: usize = 16 * 1024;
/// The most bytes a binary value (recording, scan) may hold, before sealing.
pub const MAX_BINARY_VALUE_BYTES: usize = 8 * 1024 * 1024;

/// Why a plaintext value cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueProblem {
    #[error("{len} bytes is more than the {max} a {kind} value may hold")]
    TooLong { len: usize, max: usize, kind: &'static str },
    #[error("a text value holds no NUL or control character (found U+{code:04X})")]
    ControlCharacter { code: u32 },
    #[error("not valid UTF-8")]
    NotUtf8,
}

/// Check a plaintext value before it is sealed: its size against the category's limit
/// ([`MAX_TEXT_VALUE_BYTES`], [`MAX_BINARY_VALUE_BYTES`]), and — for a text category — valid
/// UTF-8 without NUL or other control characters (tab and line breaks are text).
pub fn check_plaintext(binary: bool, bytes: &[u8]) -> Result<(), ValueProblem> {
    let (max, kind) = if binary { (MAX_BINARY_VALUE_BYTES, "binary") } else { (MAX_TEXT_VALUE_BYTES, "text") };
    if bytes.len() > max {
        return Err(ValueProblem::TooLong { len: bytes.len(), max, kind });
    }
    if binary {
        return Ok(());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ValueProblem::NotUtf8)?;
    match text.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(ValueProblem::ControlCharacter { code: u32::from(c) }),
        None => Ok(()),
    }
}

/// What the audit ledger commits to for one value version: SHA-256 over a domain tag, the
/// version's key (subscriber, category, version) and the SHA-256 of its sealed bytes
/// ([`Sealed::sealed_hash`]). Ids and hashes only: nothing of the value itself.
pub fn value_leaf(value: &ValueRef, sealed_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tokutei.value.v1\0");
    for part in [value.subscriber.as_bytes(), value.category.as_bytes()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update(value.version.to_be_bytes());
    h.update(sealed_hash);
    h.finalize().into()
}

/// The digest an audit entry carries for the value versions it writes (an import batch, a
/// write): SHA-256 over a domain tag, the count and the leaves in key order. The order of
/// `leaves` does not matter.
pub fn values_digest<'a>(leaves: impl IntoIterator<Item = (&'a ValueRef, &'a [u8; 32])>) -> [u8; 32] {
    let mut sorted: Vec<(&ValueRef, &[u8; 32])> = leaves.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    h.update(b"tokutei.values.v1\0");
    h.update((sorted.len() as u64).to_be_bytes());
    for (_, leaf) in sorted {
        h.update(leaf);
    }
    h.finalize().into()
}

/// A value version to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewValue {
    pub subscriber: String,
    pub category: String,
    /// 1 for the first value of this subscriber and category, then +1 per new value.
    pub version: u32,
    pub sealed: Sealed,
    pub provenance: Provenance,
    pub valid_from: Timestamp,
    /// Whether this version replaces the current one (a correction), closing its validity
    /// at `valid_from`. Log entries (one value per event) do not supersede.
    pub supersedes: bool,
    /// The blind-index token of the normalised value, for searchable categories.
    pub blind_index: Option<[u8; 32]>,
}

/// A stored value version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredValue {
    pub subscriber: String,
    pub category: String,
    pub version: u32,
    pub sealed: Sealed,
    pub provenance: Provenance,
    pub valid_from: Timestamp,
    /// When a later version replaced it; `None` while current.
    pub valid_until: Option<Timestamp>,
    /// The audit entry that wrote it (`None` for values written before tokutei recorded it).
    pub audit_index: Option<u64>,
}

/// A value version as the integrity check sees it: key, validity, the audit entry that wrote
/// it and its [`value_leaf`]. No ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueVersion {
    pub value: ValueRef,
    pub valid_until: Option<Timestamp>,
    pub audit_index: Option<u64>,
    pub leaf: [u8; 32],
}

/// One batch of an import: applied whole or not at all.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// Identifies the input this batch came from (e.g. a digest of its rows); a batch whose
    /// key was already imported is skipped.
    pub source_key: String,
    pub subscribers: Vec<NewSubscriber>,
    pub values: Vec<NewValue>,
    /// Input rows the batch covers.
    pub rows: u64,
    pub imported_at: Timestamp,
    /// The durable audit entry of this batch (written before the batch); every value of the
    /// batch names it.
    pub audit_index: Option<u64>,
}

/// An import batch as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    pub source_key: String,
    pub rows: u64,
    pub subscribers: u64,
    pub values: u64,
    pub imported_at: Timestamp,
    pub audit_index: Option<u64>,
}

/// What happened to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    Applied,
    /// The source key was imported before; nothing was written.
    AlreadyImported,
}

/// A retention rule the vault applies, in domain terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PurgeRule {
    /// Values of `category` collected before `cutoff`.
    CollectedBefore { category: String, cutoff: Timestamp },
    /// Values of `category` of subscribers whose contract was terminated on or before `cutoff`.
    ContractEndedBy { category: String, cutoff: Date },
}

impl PurgeRule {
    pub fn category(&self) -> &str {
        match self {
            PurgeRule::CollectedBefore { category, .. } | PurgeRule::ContractEndedBy { category, .. } => category,
        }
    }
}

/// A value version, by its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ValueRef {
    pub subscriber: String,
    pub category: String,
    pub version: u32,
}

/// A record that a value was destroyed by retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurgeRecord {
    pub id: u64,
    pub value: ValueRef,
    /// Why: the rule as text (e.g. `collected before 2026-05-01T00:00:00Z`).
    pub reason: String,
    /// The policy version whose rule applied.
    pub policy_version: u32,
    pub purged_at: Timestamp,
    /// The audit entry of the purge (written before it).
    pub audit_index: Option<u64>,
    /// The audit entry that had written the destroyed version.
    pub written_by: Option<u64>,
    /// The destroyed version's [`value_leaf`], so the entry that wrote it still checks.
    #[serde(skip)]
    pub leaf: Option<[u8; 32]>,
}

/// The subscriber vault.
pub trait VaultStore {
    /// Apply one import batch in one transaction, unless its source key was imported before.
    /// A subscriber id that exists, or a value version that exists, is a conflict and nothing
    /// of the batch is written.
    fn import_batch(&self, batch: &ImportBatch) -> StoreResult<BatchOutcome>;

    /// Whether a batch with this source key was imported.
    fn batch_imported(&self, source_key: &str) -> StoreResult<bool>;

    /// The record of the batch imported with this source key.
    fn import_record(&self, source_key: &str) -> StoreResult<Option<ImportRecord>>;

    fn subscriber(&self, id: &str) -> StoreResult<Option<Subscriber>>;

    /// Subscribers in id order, after `after`, at most `limit`.
    fn subscribers(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<Subscriber>>;

    fn subscriber_count(&self) -> StoreResult<u64>;

    /// Change the contract state (suspension, termination, reactivation).
    fn set_contract(&self, id: &str, contract: &Contract) -> StoreResult<()>;

    /// The subscriber's wrapped data key; `None` once erased.
    fn data_key(&self, subscriber: &str) -> StoreResult<Option<WrappedDataKey>>;

    /// The latest version number per category of a subscriber.
    fn latest_versions(&self, subscriber: &str) -> StoreResult<Vec<(String, u32)>>;

    /// Add value versions to existing subscribers (corrections, new log entries), in one
    /// transaction; each names `audit_index`, the durable audit entry of the write.
    fn add_values(&self, values: &[NewValue], audit_index: Option<u64>) -> StoreResult<()>;

    /// A subscriber's values, oldest version first; only current ones unless `history`.
    fn values(&self, subscriber: &str, category: Option<&str>, history: bool) -> StoreResult<Vec<StoredValue>>;

    /// Every version of a subscriber's values, in key order, as the integrity check sees them.
    fn value_versions(&self, subscriber: &str) -> StoreResult<Vec<ValueVersion>>;

    /// The value versions written by the audit entry `audit_index`, in key order.
    fn values_written_by(&self, audit_index: u64) -> StoreResult<Vec<ValueVersion>>;

    /// Subscribers with a current value of `category` whose blind-index token is `token`.
    fn find_by_blind_index(&self, category: &str, token: &[u8; 32]) -> StoreResult<Vec<String>>;

    /// Wrapped data keys in subscriber order after `after`, at most `limit` (for rotation).
    fn wrapped_keys(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<(String, WrappedDataKey)>>;

    /// Replace wrapped data keys (same data keys, wrapped by another KEK), in one transaction.
    fn rewrap_keys(&self, keys: &[(String, WrappedDataKey)]) -> StoreResult<()>;

    /// How many data keys each KEK wraps.
    fn kek_usage(&self) -> StoreResult<Vec<(String, u64)>>;

    /// Crypto-shred a subscriber: destroy its data key and blind-index entries. The value
    /// ciphertexts may remain (and in backups) but can never be decrypted again.
    fn erase_subscriber(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    /// Values `rule` says have expired, in key order after `after`, at most `limit`.
    fn expired_values(&self, rule: &PurgeRule, after: Option<&ValueRef>, limit: usize) -> StoreResult<Vec<ValueRef>>;

    /// Record one purge per value (naming `audit_index`, the durable audit entry of the
    /// purge), then destroy the values, in one transaction. Returns how many were destroyed
    /// (values already gone are skipped).
    fn purge_values(
        &self,
        values: &[ValueRef],
        reason: &str,
        policy_version: u32,
        at: Timestamp,
        audit_index: Option<u64>,
    ) -> StoreResult<u64>;

    /// Purge records, newest first, at most `limit`.
    fn purges(&self, limit: usize) -> StoreResult<Vec<PurgeRecord>>;

    /// Purge records in id order after `after`, at most `limit`.
    fn purge_records(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<PurgeRecord>>;
}
