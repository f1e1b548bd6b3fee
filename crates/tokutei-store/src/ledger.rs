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

/// An entry with the copies of its fields that the store keeps beside it for queries
/// (`audit query`, the console's history): a verifier compares them with the entry's bytes,
/// since an edited copy re-attributes or hides entries without touching the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedEntry {
    pub entry: StoredEntry,
    /// Microseconds since the Unix epoch, as stored.
    pub time: i64,
    pub staff: Option<String>,
    pub purpose: Option<String>,
    /// As stored: [`decision_code`] of the decision.
    pub decision: Option<i64>,
    /// The subscriber index rows naming this entry, sorted.
    pub subscribers: Vec<String>,
}

impl IndexedEntry {
    /// What differs between the stored copies and `entry` (the decoded bytes), by column
    /// name; never the values themselves (subscriber ids stay out of reports).
    pub fn differences(&self, entry: &Entry) -> Vec<&'static str> {
        let mut expected: Vec<&str> = entry.subscribers().iter().map(String::as_str).collect();
        expected.sort_unstable();
        expected.dedup();
        let mut out = Vec::new();
        if self.time != entry.time.as_microsecond() {
            out.push("time");
        }
        if self.staff.as_deref() != entry.staff() {
            out.push("staff");
        }
        if self.purpose.as_deref() != entry.purpose() {
            out.push("purpose");
        }
        if self.decision != entry.decision().map(decision_code) {
            out.push("decision");
        }
        if !self.subscribers.iter().map(String::as_str).eq(expected) {
            out.push("subscribers");
        }
        out
    }
}

/// Called once per entry of an indexed scan; return `false` to stop early.
pub type VisitIndexed<'a> = &'a mut dyn FnMut(IndexedEntry) -> StoreResult<bool>;

/// How a decision is stored in the `decision` column (both backends).
pub const fn decision_code(d: Decision) -> i64 {
    match d {
        Decision::Allow => 1,
        Decision::Deny => 2,
    }
}

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

    /// Like [`LedgerStore::scan_entries`], with the stored index columns and subscriber rows
    /// of each entry (for verification).
    fn scan_indexed(&self, from: u64, visit: VisitIndexed<'_>) -> StoreResult<()>;

    /// How many subscriber index rows are stored in all (rows naming no stored entry are
    /// found by comparing this with the rows each entry has).
    fn subject_rows(&self) -> StoreResult<u64>;

    /// Entries matching `query`, in index order, using indexes.
    fn query_entries(&self, query: &LedgerQuery, visit: Visit<'_>) -> StoreResult<()>;

    /// Store a signed checkpoint note for tree size `size`. A size smaller than the latest
    /// stored checkpoint's is a conflict: checkpoints never go backwards.
    fn add_checkpoint(&self, size: u64, note: &str, created_at: Timestamp) -> StoreResult<StoredCheckpoint>;

    /// Every stored checkpoint, oldest first.
    fn checkpoints(&self) -> StoreResult<Vec<StoredCheckpoint>>;

    /// The newest checkpoint.
    fn latest_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>>;

    /// The newest `limit` checkpoints, newest first (the witnessed one is among the last few).
    fn recent_checkpoints(&self, limit: usize) -> StoreResult<Vec<StoredCheckpoint>>;

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

/// Entries read per page by [`verify_ledger`]; the stored nodes they complete are compared
/// after each page.
const VERIFY_PAGE: u64 = 4096;

/// Verify a whole ledger as stored: every leaf and the tree recomputed from the entries'
/// bytes; every stored checkpoint's signature and root; every stored interior node (what
/// proofs are made of) against the recomputed one; every index column and subscriber row
/// against the entry it copies; and, when given, that the ledger extends the `trusted`
/// checkpoint (signature-checked by the caller), so a truncation or fork that also rewrote
/// the stored checkpoints is named. `progress` sees each index as it is read.
///
/// The outer error is the store failing; the inner one is the first problem found.
pub fn verify_ledger(
    store: &dyn LedgerStore,
    key: &tokutei_ledger::CheckpointVerifier,
    origin: &str,
    trusted: Option<tokutei_ledger::Checkpoint>,
    progress: &mut dyn FnMut(u64),
) -> StoreResult<Result<tokutei_ledger::VerifySummary, tokutei_ledger::VerifyFailure>> {
    use tokutei_ledger::{StreamVerifier, VerifyFailure};

    let checkpoints = store.checkpoints()?;
    let mut verifier = match StreamVerifier::new(key, origin, checkpoints.iter().map(|c| (c.id, c.note.as_str()))) {
        Ok(v) => v,
        Err(failure) => return Ok(Err(failure)),
    };
    if let Some(trusted) = trusted
        && let Err(failure) = verifier.trust(origin, trusted)
    {
        return Ok(Err(failure));
    }
    // A stored checkpoint row whose size column disagrees with its signed body was edited.
    for c in &checkpoints {
        let signed_size = c.note.lines().nth(1).and_then(|l| l.parse::<u64>().ok());
        if signed_size != Some(c.size) {
            return Ok(Err(VerifyFailure::Checkpoint {
                id: c.id,
                size: c.size,
                problem: "its stored size differs from the signed one".into(),
            }));
        }
    }
    let mut subject_rows = 0u64;
    loop {
        let from = verifier.size();
        let mut failure = None;
        let mut read = 0u64;
        store.scan_indexed(from, &mut |row| {
            read += 1;
            let index = row.entry.index;
            if let Err(f) = verifier.push(index, &row.entry.encoded, Some(&row.entry.leaf_hash)) {
                failure = Some(f);
                return Ok(false);
            }
            let differs = match row.entry.decode() {
                Ok(entry) => row.differences(&entry),
                Err(_) => vec!["body"],
            };
            if !differs.is_empty() {
                failure = Some(VerifyFailure::Entry {
                    index,
                    problem: format!(
                        "its stored index columns ({}) differ from the entry: queries would misattribute or hide it",
                        differs.join(", ")
                    ),
                });
                return Ok(false);
            }
            subject_rows += row.subscribers.len() as u64;
            progress(index);
            Ok(read < VERIFY_PAGE)
        })?;
        if let Some(f) = failure {
            return Ok(Err(f));
        }
        if let Some(f) = check_nodes(store, verifier.take_nodes())? {
            return Ok(Err(f));
        }
        if read < VERIFY_PAGE {
            break;
        }
    }
    let summary = match verifier.finish() {
        Ok(s) => s,
        Err(f) => return Ok(Err(f)),
    };
    let stored_rows = store.subject_rows()?;
    if stored_rows != subject_rows {
        return Ok(Err(VerifyFailure::Entry {
            index: summary.head.size,
            problem: format!(
                "{} subscriber index rows are stored but the entries name {subject_rows}: rows naming no stored entry were added",
                stored_rows
            ),
        }));
    }
    // The stored tree head (from the frontier nodes) must be the recomputed one.
    let stored = store.tree_head_at(summary.head.size)?;
    if stored != summary.head {
        return Ok(Err(VerifyFailure::Entry {
            index: summary.head.size,
            problem: "the stored tree nodes do not match the entries (proofs would be wrong)".into(),
        }));
    }
    Ok(Ok(summary))
}

/// Compare recomputed interior nodes with the stored ones; the first that differs or is
/// missing, named.
fn check_nodes(
    store: &dyn LedgerStore,
    nodes: Vec<(NodeId, Hash)>,
) -> StoreResult<Option<tokutei_ledger::VerifyFailure>> {
    let failure = |id: NodeId, problem: &str| tokutei_ledger::VerifyFailure::Node {
        level: id.level,
        node: id.index,
        first: id.index << id.level,
        end: (id.index + 1) << id.level,
        problem: problem.to_owned(),
    };
    for chunk in nodes.chunks(512) {
        let ids: Vec<NodeId> = chunk.iter().map(|(id, _)| *id).collect();
        let stored = match store.ledger_nodes(&ids) {
            Ok(stored) => stored,
            Err(StoreError::Corrupt(_)) => {
                // One is missing: find which.
                for id in ids {
                    if let Err(StoreError::Corrupt(_)) = store.ledger_nodes(&[id]) {
                        return Ok(Some(failure(id, "missing (proofs over these entries cannot be made)")));
                    }
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        for ((id, expected), stored) in chunk.iter().zip(stored) {
            if *expected != stored {
                return Ok(Some(failure(
                    *id,
                    "stored hash differs from the one recomputed from the entries (proofs would fail)",
                )));
            }
        }
    }
    Ok(None)
}
