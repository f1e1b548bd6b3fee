//! The RFC 9162 Merkle tree over the ledger: tree heads, inclusion and consistency proofs
//! (§2.1.3, §2.1.4) and their verification, plus the [`CompactRange`] the integrator keeps to
//! extend the tree one leaf at a time.
//!
//! Proofs are computed from *perfect subtrees* ([`NodeId`]): the storage keeps the hash of
//! every complete, aligned subtree, so any tree head or proof is a fold over O(log n) stored
//! hashes fetched in one batch through [`NodeSource`], never a rebuild.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, empty_root, node_hash};

/// A perfect, aligned subtree: the `2^level` leaves starting at `index << level`.
/// Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }
}

/// Where stored node hashes come from (the store, or memory in tests).
pub trait NodeSource {
    type Error: From<ProofError>;
    /// The hashes of `ids`, in the same order. Every id is a complete subtree of the tree.
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, Self::Error>;
}

/// A tree size and its root hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    pub size: u64,
    #[serde(with = "hex_hash")]
    pub root: Hash,
}

/// Why a proof cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {old} is larger than tree size {new}")]
    OldLarger { old: u64, new: u64 },
    #[error("tree size {requested} is larger than the ledger ({size} entries)")]
    SizeTooLarge { requested: u64, size: u64 },
    #[error("proof has {got} hashes where {expected} are needed")]
    WrongLength { got: usize, expected: usize },
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

/// Which stored subtrees a proof or tree head needs, and how to fold them.
///
/// A plan is a list of leaf ranges `[start, end)`; each is decomposed into perfect subtrees
/// (at most one node per set bit of its width) and folded right to left into its RFC 9162
/// subtree hash `MTH(D[start:end])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofPlan {
    ranges: Vec<(u64, u64)>,
}

impl ProofPlan {
    /// The perfect subtrees to fetch, range by range.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids = Vec::new();
        for &(start, end) in &self.ranges {
            perfect_subtrees(start, end, &mut ids);
        }
        ids
    }

    /// The proof hashes (one per range), from the hashes of [`ProofPlan::node_ids`].
    pub fn assemble(&self, hashes: &[Hash]) -> Vec<Hash> {
        let mut out = Vec::with_capacity(self.ranges.len());
        let mut at = 0;
        let mut ids = Vec::new();
        for &(start, end) in &self.ranges {
            ids.clear();
            perfect_subtrees(start, end, &mut ids);
            out.push(fold_right(&hashes[at..at + ids.len()]));
            at += ids.len();
        }
        out
    }

    /// Fetch the nodes from `source` (one batch) and assemble.
    pub fn run<S: NodeSource>(&self, source: &S) -> Result<Vec<Hash>, S::Error> {
        let ids = self.node_ids();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let hashes = source.nodes(&ids)?;
        if hashes.len() != ids.len() {
            return Err(ProofError::WrongLength { got: hashes.len(), expected: ids.len() }.into());
        }
        Ok(self.assemble(&hashes))
    }

    /// The leaf ranges, in proof order.
    pub fn ranges(&self) -> &[(u64, u64)] {
        &self.ranges
    }
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Decompose `[start, end)` the way RFC 9162 MTH splits it: perfect left parts, left to right.
fn perfect_subtrees(start: u64, end: u64, out: &mut Vec<NodeId>) {
    let mut start = start;
    while start < end {
        let n = end - start;
        let width = if n.is_power_of_two() { n } else { split_point(n) };
        let level = width.trailing_zeros() as u8;
        debug_assert_eq!(start % width, 0, "subtree ranges are aligned");
        out.push(NodeId::new(level, start >> level));
        start += width;
    }
}

/// `h0 ⊕ (h1 ⊕ (… ⊕ hn))` with ⊕ the node hash.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(mut acc) = iter.next().copied() else {
        return empty_root();
    };
    for h in iter {
        acc = node_hash(h, &acc);
    }
    acc
}

/// The plan for the root of the tree of `size` leaves (empty for the empty tree).
pub fn root_plan(size: u64) -> ProofPlan {
    ProofPlan { ranges: if size == 0 { Vec::new() } else { vec![(0, size)] } }
}

/// The tree head at `size`.
pub fn tree_head<S: NodeSource>(source: &S, size: u64) -> Result<TreeHead, S::Error> {
    let root = root_plan(size).run(source)?.first().copied().unwrap_or_else(empty_root);
    Ok(TreeHead { size, root })
}

/// The plan for the inclusion proof of leaf `index` in the tree of `size` (RFC 9162 §2.1.3.1).
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut ranges = Vec::new();
    path(index, 0, size, &mut ranges);
    Ok(ProofPlan { ranges })
}

fn path(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < lo + k {
        path(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        path(m, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

/// The plan for the consistency proof from `old` to `new` (RFC 9162 §2.1.4.1). Empty when
/// `old` is 0 or equals `new`.
pub fn consistency_plan(old: u64, new: u64) -> Result<ProofPlan, ProofError> {
    if old > new {
        return Err(ProofError::OldLarger { old, new });
    }
    let mut ranges = Vec::new();
    if old > 0 && old < new {
        subproof(old, 0, new, true, &mut ranges);
    }
    Ok(ProofPlan { ranges })
}

fn subproof(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        subproof(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// Inclusion proof of leaf `index` in the tree of `size`.
pub fn prove_inclusion<S: NodeSource>(source: &S, index: u64, size: u64) -> Result<Vec<Hash>, S::Error> {
    inclusion_plan(index, size)?.run(source)
}

/// Consistency proof from tree size `old` to `new`.
pub fn prove_consistency<S: NodeSource>(source: &S, old: u64, new: u64) -> Result<Vec<Hash>, S::Error> {
    consistency_plan(old, new)?.run(source)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2, steps 1–6).
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_plan(index, size)?.ranges.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { got: proof.len(), expected });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::RootMismatch);
    }
    Ok(r)
}

/// Check that `leaf` is at `index` in the tree with head `head`.
pub fn verify_inclusion(index: u64, leaf: &Hash, proof: &[Hash], head: &TreeHead) -> Result<(), ProofError> {
    let root = root_from_inclusion(index, head.size, leaf, proof)?;
    if root == head.root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// Check that the tree `new` extends the tree `old` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(old: &TreeHead, new: &TreeHead, proof: &[Hash]) -> Result<(), ProofError> {
    if old.size > new.size {
        return Err(ProofError::OldLarger { old: old.size, new: new.size });
    }
    let expected = consistency_plan(old.size, new.size)?.ranges.len();
    if proof.len() != expected {
        return Err(ProofError::WrongLength { got: proof.len(), expected });
    }
    if old.size == 0 {
        return Ok(());
    }
    if old.size == new.size {
        return if old.root == new.root { Ok(()) } else { Err(ProofError::RootMismatch) };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.size.is_power_of_two() {
        path.push(old.root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old.size - 1, new.size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if fr == old.root && sr == new.root && sn == 0 { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// The right edge of a tree: one perfect subtree hash per set bit of its size, largest
/// first. Appending a leaf completes `trailing_ones(size)` new interior nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    pub fn new() -> CompactRange {
        CompactRange::default()
    }

    /// The perfect subtrees whose hashes make up the compact range of a tree of `size`.
    pub fn frontier_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::new();
        perfect_subtrees(0, size, &mut ids);
        ids
    }

    /// Rebuild from the hashes of [`CompactRange::frontier_ids`].
    pub fn from_frontier(size: u64, hashes: Vec<Hash>) -> Result<CompactRange, ProofError> {
        let expected = size.count_ones() as usize;
        if hashes.len() != expected {
            return Err(ProofError::WrongLength { got: hashes.len(), expected });
        }
        Ok(CompactRange { size, hashes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf; `completed` sees the leaf (level 0) and every interior node it
    /// completes, bottom up.
    pub fn push(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let mut index = self.size;
        let mut level = 0u8;
        let mut h = leaf;
        completed(NodeId::new(0, index), &h);
        while index & 1 == 1 {
            // INVARIANT: a set low bit of the size means a left sibling on the frontier.
            let left = self.hashes.pop().expect("frontier has a node per set bit of the size");
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            completed(NodeId::new(level, index), &h);
        }
        self.hashes.push(h);
        self.size += 1;
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes)
    }

    pub fn head(&self) -> TreeHead {
        TreeHead { size: self.size, root: self.root() }
    }
}

/// Hashes as lowercase hex in JSON.
pub mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::hash::Hash;

    pub fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    /// Parse 64 hex digits.
    pub fn parse(text: &str) -> Result<Hash, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).map_err(|_| format!("`{text}` is not a 32-byte hex hash"))?;
        Ok(out)
    }
}

/// A tree kept entirely in memory: every perfect subtree's hash. For tests and for
/// verifying small ranges.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl MemoryTree {
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.range.push(leaf, |id, h| {
            if levels.len() <= id.level as usize {
                levels.push(Vec::new());
            }
            levels[id.level as usize].push(*h);
        });
    }

    pub fn size(&self) -> u64 {
        self.range.size()
    }

    pub fn head(&self) -> TreeHead {
        self.range.head()
    }
}

impl NodeSource for MemoryTree {
    type Error = ProofError;
    fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, ProofError> {
        ids.iter()
            .map(|id| {
                self.levels
                    .get(id.level as usize)
                    .and_then(|l| l.get(id.index as usize))
                    .copied()
                    .ok_or(ProofError::SizeTooLarge { requested: (id.index + 1) << id.level, size: self.size() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
