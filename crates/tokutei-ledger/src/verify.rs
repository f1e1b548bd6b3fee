//! The streaming verifier: fed the stored entries in index order and the stored checkpoints,
//! it recomputes every leaf and the tree, checks each checkpoint's signature and that its root
//! is the recomputed root at its size (which makes every checkpoint consistent with the next),
//! and stops at the first problem, naming the first bad index or the bad checkpoint.
//!
//! It keeps only a [`CompactRange`] (O(log n) hashes), so a billion entries verify in
//! constant memory. The interior nodes it recomputes are handed out
//! ([`StreamVerifier::take_nodes`]) so the caller can compare them with the stored ones that
//! proofs are made of.
//!
//! A *trusted* checkpoint (one kept outside the database: an operator's copy, a witness's
//! cosignature) is what stops an attacker who rewrites the database and its checkpoints
//! alike: the recomputed root at its size must be its root (else the ledger was forked), and
//! the ledger must reach its size (else the tail was truncated).

use serde::Serialize;

use crate::checkpoint::{Checkpoint, CheckpointVerifier};
use crate::entry::ENCODING_VERSION;
use crate::hash::{Hash, leaf_hash};
use crate::tree::{CompactRange, NodeId, TreeHead};

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyFailure {
    /// Something is wrong at `index`: every entry before it is intact.
    #[error("entry {index}: {problem}")]
    Entry { index: u64, problem: String },
    /// A stored checkpoint is forged, foreign, or does not match the entries.
    #[error("checkpoint {id} (tree size {size}): {problem}")]
    Checkpoint { id: u64, size: u64, problem: String },
    /// The stored ledger is not an extension of the trusted checkpoint: its first `size`
    /// entries are not the ones that checkpoint signed (a fork, or history rewritten).
    #[error("trusted checkpoint (tree size {size}): {problem}")]
    Trusted { size: u64, problem: String },
    /// A stored interior node (what proofs are made of) differs from the one recomputed from
    /// the entries.
    #[error("tree node at level {level}, index {node} (entries {first}..{end}): {problem}")]
    Node { level: u8, node: u64, first: u64, end: u64, problem: String },
}

impl VerifyFailure {
    /// The first bad index, when the failure names one.
    pub fn index(&self) -> Option<u64> {
        match self {
            VerifyFailure::Entry { index, .. } => Some(*index),
            VerifyFailure::Node { first, .. } => Some(*first),
            VerifyFailure::Checkpoint { .. } | VerifyFailure::Trusted { .. } => None,
        }
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifySummary {
    pub entries: u64,
    pub bytes: u64,
    pub checkpoints: u64,
    pub head: TreeHead,
    /// The size of the trusted checkpoint the ledger was shown to extend.
    pub trusted: Option<u64>,
}

#[derive(Debug)]
struct Pending {
    id: u64,
    checkpoint: Checkpoint,
}

/// Feed it entries with [`StreamVerifier::push`], then [`StreamVerifier::finish`].
#[derive(Debug)]
pub struct StreamVerifier {
    range: CompactRange,
    pending: Vec<Pending>,
    next: usize,
    last_good_size: u64,
    bytes: u64,
    trusted: Option<Checkpoint>,
    trusted_reached: bool,
    /// Interior nodes (level ≥ 1) completed since the last [`StreamVerifier::take_nodes`].
    nodes: Vec<(NodeId, Hash)>,
}

impl StreamVerifier {
    /// Check every checkpoint's signature and origin up front; `checkpoints` are `(id, note)`
    /// in storage order.
    pub fn new<'a>(
        verifier: &CheckpointVerifier,
        origin: &str,
        checkpoints: impl IntoIterator<Item = (u64, &'a str)>,
    ) -> Result<StreamVerifier, VerifyFailure> {
        let mut pending = Vec::new();
        for (id, note) in checkpoints {
            let size_hint = note.lines().nth(1).and_then(|l| l.parse().ok()).unwrap_or(0);
            let checkpoint = verifier.verify(note).map_err(|e| VerifyFailure::Checkpoint {
                id,
                size: size_hint,
                problem: e.to_string(),
            })?;
            if checkpoint.origin != origin {
                return Err(VerifyFailure::Checkpoint {
                    id,
                    size: checkpoint.size,
                    problem: format!("origin `{}` is not this ledger's `{origin}`", checkpoint.origin),
                });
            }
            if let Some(prev) = pending.last().map(|p: &Pending| &p.checkpoint)
                && checkpoint.size < prev.size
            {
                return Err(VerifyFailure::Checkpoint {
                    id,
                    size: checkpoint.size,
                    problem: format!("tree size goes back from {} to {}", prev.size, checkpoint.size),
                });
            }
            pending.push(Pending { id, checkpoint });
        }
        let mut v = StreamVerifier {
            range: CompactRange::new(),
            pending,
            next: 0,
            last_good_size: 0,
            bytes: 0,
            trusted: None,
            trusted_reached: false,
            nodes: Vec::new(),
        };
        v.check_due()?;
        Ok(v)
    }

    /// Also require the ledger to extend `trusted` (already signature-checked by the caller,
    /// see [`CheckpointVerifier::verify`]). Call before the first [`StreamVerifier::push`].
    pub fn trust(&mut self, origin: &str, trusted: Checkpoint) -> Result<(), VerifyFailure> {
        if trusted.origin != origin {
            return Err(VerifyFailure::Trusted {
                size: trusted.size,
                problem: format!("origin `{}` is not this ledger's `{origin}`", trusted.origin),
            });
        }
        self.trusted = Some(trusted);
        self.trusted_reached = false;
        self.check_due()
    }

    /// The interior nodes recomputed since the last call, bottom up in the order completed.
    pub fn take_nodes(&mut self) -> Vec<(NodeId, Hash)> {
        std::mem::take(&mut self.nodes)
    }

    /// The next index expected.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The next stored entry: its index, its encoded bytes, and the leaf hash the store kept
    /// for it (if any).
    pub fn push(&mut self, index: u64, encoded: &[u8], stored_leaf: Option<&Hash>) -> Result<(), VerifyFailure> {
        let expected = self.range.size();
        if index != expected {
            return Err(VerifyFailure::Entry {
                index: expected,
                problem: if index > expected {
                    format!("missing (the next stored entry is {index})")
                } else {
                    format!("stored twice or out of order (got {index} after {})", expected.wrapping_sub(1))
                },
            });
        }
        let bad = |problem: String| VerifyFailure::Entry { index, problem };
        if encoded.len() < 10 || encoded[0] != ENCODING_VERSION {
            return Err(bad("not a valid encoded entry".into()));
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&encoded[2..10]);
        let seq = u64::from_be_bytes(seq);
        if seq != index {
            return Err(bad(format!("records sequence number {seq}: entries were moved or inserted")));
        }
        let leaf = leaf_hash(encoded);
        if stored_leaf.is_some_and(|stored| *stored != leaf) {
            return Err(bad("content does not match its leaf hash: the entry was edited".into()));
        }
        let nodes = &mut self.nodes;
        self.range.push(leaf, |id, hash| {
            if id.level > 0 {
                nodes.push((id, *hash));
            }
        });
        self.bytes += encoded.len() as u64;
        self.check_due()
    }

    fn check_due(&mut self) -> Result<(), VerifyFailure> {
        while let Some(p) = self.pending.get(self.next) {
            if p.checkpoint.size != self.range.size() {
                break;
            }
            if p.checkpoint.root != self.range.root() {
                return Err(VerifyFailure::Checkpoint {
                    id: p.id,
                    size: p.checkpoint.size,
                    problem: format!(
                        "signed root does not match the stored entries: an entry in {}..{} was changed",
                        self.last_good_size, p.checkpoint.size
                    ),
                });
            }
            self.last_good_size = p.checkpoint.size;
            self.next += 1;
        }
        // After the stored checkpoints: one of them names a narrower range when both fail.
        if let Some(t) = &self.trusted
            && !self.trusted_reached
            && t.size == self.range.size()
        {
            if t.root != self.range.root() {
                return Err(VerifyFailure::Trusted {
                    size: t.size,
                    problem: format!(
                        "the stored entries 0..{} do not give its root (the ledger was forked or rewritten): \
                         stored root {}, trusted root {}",
                        t.size,
                        hex::encode(self.range.root()),
                        hex::encode(t.root)
                    ),
                });
            }
            self.trusted_reached = true;
        }
        Ok(())
    }

    /// All entries pushed: every checkpoint must have been reached.
    pub fn finish(self) -> Result<VerifySummary, VerifyFailure> {
        if let Some(t) = &self.trusted
            && !self.trusted_reached
        {
            return Err(VerifyFailure::Entry {
                index: self.range.size(),
                problem: format!(
                    "missing: the trusted checkpoint signed {} entries but only {} are stored (the tail was truncated)",
                    t.size,
                    self.range.size()
                ),
            });
        }
        if let Some(p) = self.pending.get(self.next) {
            return Err(VerifyFailure::Entry {
                index: self.range.size(),
                problem: format!(
                    "missing: checkpoint {} signed {} entries but only {} are stored (the tail was truncated)",
                    p.id,
                    p.checkpoint.size,
                    self.range.size()
                ),
            });
        }
        Ok(VerifySummary {
            entries: self.range.size(),
            bytes: self.bytes,
            checkpoints: self.pending.len() as u64,
            head: self.range.head(),
            trusted: self.trusted.as_ref().map(|t| t.size),
        })
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::entry::{Actor, AdminAction, AdminEvent, Entry};

    const ORIGIN: &str = "tokutei.local/t";

    fn entries(n: u64) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                Entry::admin(
                    Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
                    Actor::System("test".into()),
                    AdminEvent {
                        action: AdminAction::ImportBatch,
                        subject: format!("b{i}"),
                        digest: None,
                        details: vec![],
                    },
                )
                .encode(i)
                .unwrap()
            })
            .collect()
    }

    fn notes(signer: &CheckpointSigner, stored: &[Vec<u8>], sizes: &[u64]) -> Vec<(u64, String)> {
        sizes
            .iter()
            .enumerate()
            .map(|(id, &size)| {
                let mut range = CompactRange::new();
                for e in &stored[..size as usize] {
                    range.push(leaf_hash(e), |_, _| {});
                }
                (id as u64 + 1, signer.sign(&Checkpoint::new(ORIGIN, range.head(), None)))
            })
            .collect()
    }

    /// Run the verifier over `(index, bytes)` rows; the failure or the entry count.
    fn run(rows: &[(u64, Vec<u8>)], cps: &[(u64, String)], signer: &CheckpointSigner) -> Result<u64, VerifyFailure> {
        let mut v = StreamVerifier::new(&signer.verifier(), ORIGIN, cps.iter().map(|(i, n)| (*i, n.as_str())))?;
        for (i, e) in rows {
            v.push(*i, e, None)?;
        }
        Ok(v.finish()?.entries)
    }

    fn check(rows: Vec<(u64, Vec<u8>)>, expected: Result<u64, Option<u64>>) {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(10);
        let cps = notes(&signer, &good, &[0, 4, 10]);
        let got = run(&rows, &cps, &signer).map_err(|f| f.index());
        assert_eq!(got, expected);
    }

    fn rows(list: Vec<Vec<u8>>) -> Vec<(u64, Vec<u8>)> {
        list.into_iter().enumerate().map(|(i, e)| (i as u64, e)).collect()
    }

    #[test]
    fn intact_ledger_verifies() {
        check(rows(entries(10)), Ok(10));
        check(rows(entries(12)), Ok(12));
    }

    #[test]
    fn tampering_names_the_first_bad_index() {
        let good = entries(10);
        // deletion
        let mut r = rows(good.clone());
        r.remove(6);
        check(r, Err(Some(6)));
        // swap
        let mut r = rows(good.clone());
        r.swap(2, 7);
        r[2].0 = 2;
        r[7].0 = 7;
        check(r, Err(Some(2)));
        // insertion (renumbered after it)
        let mut list = good.clone();
        list.insert(5, good[3].clone());
        check(rows(list), Err(Some(5)));
        // truncation
        check(rows(good[..8].to_vec()), Err(Some(8)));
        // an edit that keeps the sequence number: caught by the checkpoint covering it
        let mut list = good.clone();
        let last = list[5].len() - 1;
        list[5][last] ^= 1;
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let cps = notes(&signer, &good, &[0, 4, 10]);
        let err = run(&rows(list), &cps, &signer).unwrap_err();
        assert!(matches!(err, VerifyFailure::Checkpoint { id: 3, size: 10, .. }), "{err}");
        assert!(err.to_string().contains("4..10"), "{err}");
    }

    #[test]
    fn stored_leaf_hashes_pinpoint_edits() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(6);
        let mut v = StreamVerifier::new(&signer.verifier(), ORIGIN, []).unwrap();
        for (i, e) in good.iter().enumerate() {
            let mut e = e.clone();
            let leaf = leaf_hash(&e);
            if i == 4 {
                e[12] ^= 0x40;
            }
            let r = v.push(i as u64, &e, Some(&leaf));
            if i == 4 {
                assert_eq!(r.unwrap_err().index(), Some(4));
                return;
            }
            r.unwrap();
        }
        panic!("edit not detected");
    }

    #[test]
    fn forged_or_foreign_checkpoints_are_named() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(10);
        let mut cps = notes(&signer, &good, &[4, 10]);
        cps[1].1 = cps[1].1.replacen("\n10\n", "\n9\n", 1);
        let err = run(&rows(good.clone()), &cps, &signer).unwrap_err();
        assert!(matches!(err, VerifyFailure::Checkpoint { id: 2, .. }), "{err}");

        let other = CheckpointSigner::from_seed("elsewhere", [5; 32]).unwrap();
        let foreign = vec![(1, other.sign(&Checkpoint::new("elsewhere", TreeHead { size: 0, root: [0; 32] }, None)))];
        let err = run(&rows(good), &foreign, &signer).unwrap_err();
        assert!(matches!(err, VerifyFailure::Checkpoint { id: 1, .. }), "{err}");
    }

    /// A trusted checkpoint of `size` over `stored`.
    fn trusted(signer: &CheckpointSigner, stored: &[Vec<u8>], size: u64) -> Checkpoint {
        let (_, note) = notes(signer, stored, &[size]).remove(0);
        signer.verifier().verify(&note).unwrap()
    }

    fn run_trusted(rows: &[Vec<u8>], trusted: Checkpoint) -> Result<VerifySummary, VerifyFailure> {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let mut v = StreamVerifier::new(&signer.verifier(), ORIGIN, [])?;
        v.trust(ORIGIN, trusted)?;
        for (i, e) in rows.iter().enumerate() {
            v.push(i as u64, e, None)?;
        }
        v.finish()
    }

    #[test]
    fn a_ledger_extending_the_trusted_checkpoint_verifies() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(10);
        for size in [0, 1, 7, 10] {
            let summary = run_trusted(&good, trusted(&signer, &good, size)).unwrap();
            assert_eq!((summary.entries, summary.trusted), (10, Some(size)));
        }
    }

    #[test]
    fn truncation_without_any_stored_checkpoint_is_named_against_the_trusted_one() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(10);
        let err = run_trusted(&good[..6], trusted(&signer, &good, 9)).unwrap_err();
        assert_eq!(err.index(), Some(6), "{err}");
        assert!(err.to_string().contains("signed 9 entries but only 6"), "{err}");
    }

    #[test]
    fn a_fork_is_named_against_the_trusted_checkpoint() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(10);
        // Another history of the same length, every sequence number in place.
        let mut forked = good.clone();
        let last = forked[3].len() - 1;
        forked[3][last] ^= 1;
        let err = run_trusted(&forked, trusted(&signer, &good, 8)).unwrap_err();
        assert!(matches!(err, VerifyFailure::Trusted { size: 8, .. }), "{err}");
        assert!(err.to_string().contains("forked"), "{err}");
        // A checkpoint of another ledger is refused before anything is read.
        let other = CheckpointSigner::from_seed("elsewhere", [5; 32]).unwrap();
        let foreign = other
            .verifier()
            .verify(&other.sign(&Checkpoint::new("elsewhere", TreeHead { size: 0, root: [0; 32] }, None)))
            .unwrap();
        assert!(matches!(run_trusted(&good, foreign), Err(VerifyFailure::Trusted { .. })));
    }

    #[test]
    fn recomputed_interior_nodes_are_handed_out() {
        let signer = CheckpointSigner::from_seed(ORIGIN, [5; 32]).unwrap();
        let good = entries(8);
        let mut v = StreamVerifier::new(&signer.verifier(), ORIGIN, []).unwrap();
        let mut memory = crate::tree::MemoryTree::new();
        for (i, e) in good.iter().enumerate() {
            v.push(i as u64, e, None).unwrap();
            memory.push(leaf_hash(e));
        }
        let nodes = v.take_nodes();
        // 4 + 2 + 1 interior nodes of a tree of 8, each the stored tree's.
        assert_eq!(nodes.len(), 7);
        use crate::tree::NodeSource;
        let ids: Vec<_> = nodes.iter().map(|(id, _)| *id).collect();
        let hashes: Vec<_> = nodes.iter().map(|(_, h)| *h).collect();
        assert_eq!(memory.nodes(&ids).unwrap(), hashes);
        assert!(v.take_nodes().is_empty());
    }
}
