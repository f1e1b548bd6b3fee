//! The audit ledger capability: durable, contiguous appends of audit entries (sequence and
//! integrate), the stored perfect-subtree hashes that make proofs cost O(log n) reads,
//! signed checkpoints (publish), and streaming reads for verification and for queries by
//! staff, subscriber, purpose, decision and time.
//!
//! The bytes, hashes and proofs are defined by `tokutei-ledger`; a backend only stores them.

use jiff::Timestamp;
use tokutei_ledger::tree::{self, TreeHead};
pub use tokutei_ledger::{Decision, Entry, Hash, NodeId};

use crate::{StoreError, StoreResult};

/// Where an appended entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub index: u64,
    pub leaf_hash: Hash,
}

/// An entry as stored: its index, canonical bytes and leaf hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    pub encoded: Vec<u8>,
    pub leaf_hash: Hash,
}

impl StoredEntry {
    /// Decode the stored bytes.
    pub fn decode(&self) -> StoreResult<Entry> {
        let (_, entry) = Entry::decode(&self.encoded)
            .map_err(|e| StoreError::Corrupt(format!("audit entry {}: {e}", self.index)))?;
        Ok(entry)
    }
}

/// A stored checkpoint: the signed note as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// 1, 2, 3… in the order written.
    pub id: u64,
    pub size: u64,
    pub note: String,
    pub created_at: Timestamp,
}

/// Filters of an audit query; all given filters must match. Results come in index order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerQuery {
    pub staff: Option<String>,
    pub subscriber: Option<String>,
    pub purpose: Option<String>,
    pub decision: Option<Decision>,
    /// Inclusive.
    pub since: Option<Timestamp>,
    /// Exclusive.
    pub until: Option<Timestamp>,
    /// Only entries at or after this index (for paging).
    pub from_index: Option<u64>,
    pub limit: Option<u64>,
}

/// Called once per entry of a scan; return `false` to stop early.
pub type Visit<'a> = &'a mut dyn FnMut(StoredEntry) -> StoreResult<bool>;

/// Audit ledger storage.
pub trait LedgerStore: Send + Sync {
    /// Append one entry; returns once it is durable (committed and synced).
    fn append(&self, entry: &Entry) -> StoreResult<Appended> {
        let mut out = self.append_batch(std::slice::from_ref(entry))?;
        out.pop().ok_or_else(|| StoreError::Corrupt("append returned no index".into()))
    }

    /// Append entries at contiguous indexes, all or nothing; returns once durable.
    fn append_batch(&self, entries: &[Entry]) -> StoreResult<Vec<Appended>>;

    /// The number of entries sequenced and integrated into the tree.
    fn tree_size(&self) -> StoreResult<u64>;

    /// Stored perfect-subtree hashes, in the order asked. Every id must lie inside the tree.
    fn ledger_nodes(&self, ids: &[NodeId]) -> StoreResult<Vec<Hash>>;

    /// One stored entry.
    fn ledger_entry(&self, index: u64) -> StoreResult<Option<StoredEntry>>;

    /// Stored entries with index ≥ `from`, in index order, exactly as stored (a verifier
    /// must see gaps and damage, so nothing is checked here).
    fn scan_entries(&self, from: u64, visit: Visit<'_>) -> StoreResult<()>;

    /// Entries matching `query`, in index order, using indexes.
    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()>;

    /// Store a signed checkpoint note for tree size `size`. A size smaller than the latest
    /// stored checkpoint's is a conflict: checkpoints never go backwards.
    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint>;

    /// Every stored checkpoint, oldest first.
    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>>;

    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>>;

    /// The tree head at `size` (≤ the tree size), from O(log n) stored nodes.
    fn tree_head_at(&self, size: u64) -> StoreResult<TreeHead> {
        let current = self.tree_size()?;
        if size > current {
            return Err(StoreError::NotFound(format!("tree size {size} (the ledger has {current} entries)")));
        }
        let plan = tree::root_plan(size);
        let hashes = self.ledger_nodes(&plan.node_ids())?;
        let root = plan.assemble(&hashes).first().copied().unwrap_or_else(tokutei_ledger::hash::empty_root);
        Ok(TreeHead { size, root })
    }

    /// Inclusion proof of entry `index` in the tree of `size`.
    fn prove_inclusion(&self, index: u64, size: u64) -> StoreResult<Vec<Hash>> {
        check_size(self, size)?;
        let plan = tree::inclusion_plan(index, size).map_err(|e| StoreError::NotFound(e.to_string()))?;
        let hashes = self.ledger_nodes(&plan.node_ids())?;
        Ok(plan.assemble(&hashes))
    }

    /// Consistency proof from tree size `old` to `new`.
    fn prove_consistency(&self, old: u64, new: u64) -> StoreResult<Vec<Hash>> {
        check_size(self, new)?;
        let plan = tree::consistency_plan(old, new).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let hashes = self.ledger_nodes(&plan.node_ids())?;
        Ok(plan.assemble(&hashes))
    }
}

fn check_size<S: LedgerStore + ?Sized>(store: &S, size: u64) -> StoreResult<()> {
    let current = store.tree_size()?;
    if size > current {
        return Err(StoreError::NotFound(format!("tree size {size} (the ledger has {current} entries)")));
    }
    Ok(())
}
