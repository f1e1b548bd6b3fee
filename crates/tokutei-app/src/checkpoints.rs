//! The audit ledger's signed checkpoints and the rules that anchor the ledger to them:
//!
//! - [`Checkpoints::latest`]: the latest checkpoint, signing (and storing) a fresh one first
//!   when entries were added since. Several instances on one database may race here: the
//!   store takes their checkpoints one at a time and refuses one that would go back, and then
//!   the newer one another instance stored is the answer.
//! - [`Checkpoints::trusted`]: a checkpoint kept outside the database (the data directory's
//!   remembered one, an operator's copy, a witness's) counts only when this ledger's key signed
//!   it for this ledger's origin.
//! - [`Checkpoints::check_extends`]: a ledger that does not extend such a checkpoint — fewer
//!   entries, or another root at its size — was cut or rewritten (`serve` refuses it).
//! - [`check_proof`]: an inclusion or consistency proof checked against a signed checkpoint
//!   and a public key, with no database (the auditor's tool).
//!
//! The front end keeps the files (the signing key, the origin, the remembered checkpoint);
//! this module never touches a file.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use serde::Serialize;
use tokutei_ledger::tree::{self, TreeHead};
use tokutei_ledger::{Checkpoint, CheckpointSigner, CheckpointVerifier, Entry, Proof, WitnessVerifier, leaf_hash};
use tokutei_store::StoreError;
use tokutei_store::ledger::{LedgerStore, StoredCheckpoint};

/// Why a checkpoint could not be signed, trusted or extended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The note is not signed by this ledger's key.
    #[error("not a checkpoint signed by this ledger's key `{origin}`: {problem}")]
    NotSigned { origin: String, problem: String },
    /// The note is signed for another log.
    #[error("a checkpoint of `{theirs}`, not of this ledger `{ours}`")]
    OtherLog { theirs: String, ours: String },
    /// The ledger is shorter than the checkpoint: entries `size..signed` are gone.
    #[error("the audit ledger holds {size} entries but the checkpoint signed {signed}")]
    Truncated { size: u64, signed: u64 },
    /// The ledger's first `size` entries are not the ones the checkpoint signed.
    #[error("the audit ledger's first {size} entries are not the ones the checkpoint signed")]
    Forked { size: u64 },
    /// A proof was asked for an entry outside the tree.
    #[error("entry {index} is not in the tree of size {size}")]
    NotInTree { index: u64, size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("tree size {old} is larger than {new}")]
    OldLarger { old: u64, new: u64 },
}

pub type CheckpointResult<T> = Result<T, CheckpointError>;

/// The checkpoints of one ledger, signed with its key.
pub struct Checkpoints {
    ledger: Arc<dyn LedgerStore>,
    signer: CheckpointSigner,
}

impl std::fmt::Debug for Checkpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoints").field("origin", &self.origin()).finish_non_exhaustive()
    }
}

impl Checkpoints {
    pub fn new(ledger: Arc<dyn LedgerStore>, signer: CheckpointSigner) -> Checkpoints {
        Checkpoints { ledger, signer }
    }

    pub fn ledger(&self) -> &Arc<dyn LedgerStore> {
        &self.ledger
    }

    /// The origin line of checkpoints (also the key name).
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The public key auditors and witnesses trust.
    pub fn verifier(&self) -> CheckpointVerifier {
        self.signer.verifier()
    }

    /// The latest checkpoint, signing and storing a fresh one at `now` first when entries
    /// were added since (or when there is none yet).
    pub fn latest(&self, now: Timestamp) -> CheckpointResult<StoredCheckpoint> {
        let size = self.ledger.tree_size()?;
        match self.ledger.latest_checkpoint()? {
            Some(latest) if latest.size == size => Ok(latest),
            _ => match self.sign(size, now) {
                Err(StoreError::Conflict(why)) => match self.ledger.latest_checkpoint()? {
                    Some(latest) if latest.size >= size => Ok(latest),
                    _ => Err(StoreError::Conflict(why).into()),
                },
                other => Ok(other?),
            },
        }
    }

    /// Sign and store a checkpoint of the tree at `size`.
    fn sign(&self, size: u64, now: Timestamp) -> Result<StoredCheckpoint, StoreError> {
        let head = self.ledger.tree_head_at(size)?;
        let note = self.signer.sign(&Checkpoint::new(self.origin(), head, Some(now)));
        self.ledger.add_checkpoint(size, &note, now)
    }

    /// `note` (kept outside the database) as a checkpoint of this ledger: signed by its key,
    /// for its origin.
    pub fn trusted(&self, note: &str) -> CheckpointResult<Checkpoint> {
        let checkpoint = self
            .verifier()
            .verify(note)
            .map_err(|e| CheckpointError::NotSigned { origin: self.origin().to_string(), problem: e.to_string() })?;
        if checkpoint.origin != self.origin() {
            return Err(CheckpointError::OtherLog { theirs: checkpoint.origin, ours: self.origin().to_string() });
        }
        Ok(checkpoint)
    }

    /// Whether the ledger extends `checkpoint`: its size reaches the checkpoint's and its
    /// stored tree gives the same root there.
    pub fn check_extends(&self, checkpoint: &Checkpoint) -> CheckpointResult<()> {
        let size = self.ledger.tree_size()?;
        if size < checkpoint.size {
            return Err(CheckpointError::Truncated { size, signed: checkpoint.size });
        }
        if self.ledger.tree_head_at(checkpoint.size)?.root != checkpoint.root {
            return Err(CheckpointError::Forked { size: checkpoint.size });
        }
        Ok(())
    }
}

/// The inclusion proof of entry `index` in the tree of `size` entries of `ledger` (the log
/// `origin`), carrying the entry's bytes so an auditor recomputes its leaf hash, and the
/// signed `checkpoint` note of that size when there is one — what `audit prove` prints and
/// the console offers for download.
pub fn inclusion_proof(
    ledger: &dyn LedgerStore,
    origin: &str,
    index: u64,
    size: u64,
    checkpoint: Option<String>,
) -> CheckpointResult<Proof> {
    if index >= size {
        return Err(CheckpointError::NotInTree { index, size });
    }
    let stored = ledger.ledger_entry(index)?.ok_or(CheckpointError::NotInTree { index, size })?;
    Ok(Proof::Inclusion {
        origin: origin.to_string(),
        index,
        tree_size: size,
        leaf_hash: stored.leaf_hash,
        entry: Some(BASE64.encode(&stored.encoded)),
        hashes: ledger.prove_inclusion(index, size)?,
        root: ledger.tree_head_at(size)?.root,
        checkpoint,
    })
}

/// The consistency proof from the tree of `old` entries to the tree of `new`, with the
/// signed `checkpoint` note of size `new` when there is one.
pub fn consistency_proof(
    ledger: &dyn LedgerStore,
    origin: &str,
    old: u64,
    new: u64,
    checkpoint: Option<String>,
) -> CheckpointResult<Proof> {
    if old > new {
        return Err(CheckpointError::OldLarger { old, new });
    }
    Ok(Proof::Consistency {
        origin: origin.to_string(),
        old_size: old,
        new_size: new,
        old_root: ledger.tree_head_at(old)?.root,
        new_root: ledger.tree_head_at(new)?.root,
        hashes: ledger.prove_consistency(old, new)?,
        checkpoint,
    })
}

/// What checking a proof found.
#[derive(Debug, Clone, Serialize)]
pub struct ProofCheck {
    pub ok: bool,
    /// `inclusion`, `consistency`, or `checkpoint` when the checkpoint itself does not check.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub checkpoint_size: u64,
    pub message: String,
    /// The entry an inclusion proof carries, decoded once it checks against its leaf hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<Entry>,
    /// The witnesses whose cosignature on the checkpoint verifies (when witnesses were given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cosigned_by: Vec<String>,
}

impl ProofCheck {
    fn failed(kind: &'static str, checkpoint_size: u64, message: String) -> ProofCheck {
        ProofCheck { ok: false, kind, checkpoint_size, message, entry: None, cosigned_by: Vec::new() }
    }

    /// This check, also requiring `quorum` of `witnesses` to have cosigned the checkpoint
    /// `note` (C2SP tlog-cosignature): a proof against a checkpoint no quorum witnessed may
    /// come from a history shown to this reader alone.
    pub fn witnessed(mut self, note: &str, witnesses: &[WitnessVerifier], quorum: usize) -> ProofCheck {
        if !self.ok || witnesses.is_empty() {
            return self;
        }
        let cosigned = tokutei_ledger::cosignature::cosigners(note, witnesses);
        self.cosigned_by = cosigned.iter().map(|(name, _)| name.clone()).collect();
        if cosigned.len() < quorum {
            self.ok = false;
            self.kind = "witnesses";
            self.message = format!(
                "the checkpoint is cosigned by {} of the {} witnesses given ({}), fewer than the quorum {quorum}",
                cosigned.len(),
                witnesses.len(),
                if self.cosigned_by.is_empty() { "none".to_string() } else { self.cosigned_by.join(", ") }
            );
        } else {
            self.message = format!(
                "{}; cosigned by {} ({} of {}, quorum {quorum})",
                self.message,
                self.cosigned_by.join(", "),
                cosigned.len(),
                witnesses.len()
            );
        }
        self
    }
}

/// Check `proof` against the checkpoint `note` signed by `key`: the note's signature, then an
/// inclusion proof (its entry hashing to its leaf, the entry's own index, the path to the
/// signed root) or a consistency proof (the checkpoint at one of its ends, the path between).
pub fn check_proof(proof: &Proof, note: &str, key: &CheckpointVerifier) -> ProofCheck {
    let cp = match key.verify(note) {
        Ok(cp) => cp,
        Err(e) => return ProofCheck::failed("checkpoint", 0, format!("checkpoint: {e}")),
    };
    let signed = cp.head();
    match proof {
        Proof::Inclusion { index, tree_size, leaf_hash: claimed, entry, hashes, .. } => {
            let fail = |message: String| ProofCheck::failed("inclusion", cp.size, message);
            if *tree_size != cp.size {
                return fail(format!("the proof is for tree size {tree_size}, the checkpoint signs size {}", cp.size));
            }
            let mut decoded = None;
            if let Some(b64) = entry {
                let Ok(bytes) = BASE64.decode(b64.trim()) else {
                    return fail("the proof's entry is not base64".into());
                };
                if leaf_hash(&bytes) != *claimed {
                    return fail("the entry does not hash to the proof's leaf hash".into());
                }
                match Entry::decode(&bytes) {
                    Ok((seq, e)) if seq == *index => decoded = Some(e),
                    Ok((seq, _)) => return fail(format!("the entry says it is entry {seq}, not {index}")),
                    Err(e) => return fail(format!("the entry does not decode: {e}")),
                }
            }
            match tree::verify_inclusion(*index, claimed, hashes, &signed) {
                Ok(()) => ProofCheck {
                    ok: true,
                    kind: "inclusion",
                    checkpoint_size: cp.size,
                    message: format!(
                        "entry {index} is included in the tree of size {} signed by `{}`",
                        cp.size,
                        key.name()
                    ),
                    entry: decoded,
                    cosigned_by: Vec::new(),
                },
                Err(e) => fail(format!("inclusion proof: {e}")),
            }
        }
        Proof::Consistency { old_size, new_size, old_root, new_root, hashes, .. } => {
            let fail = |message: String| ProofCheck::failed("consistency", cp.size, message);
            let old = TreeHead { size: *old_size, root: *old_root };
            let new = TreeHead { size: *new_size, root: *new_root };
            if signed != new && signed != old {
                return fail(format!("the checkpoint (size {}) is neither end of the proof", cp.size));
            }
            match tree::verify_consistency(&old, &new, hashes) {
                Ok(()) => ProofCheck {
                    ok: true,
                    kind: "consistency",
                    checkpoint_size: cp.size,
                    message: format!(
                        "the tree of size {new_size} extends the tree of size {old_size}; the checkpoint signed by `{}` matches size {}",
                        key.name(),
                        cp.size
                    ),
                    entry: None,
                    cosigned_by: Vec::new(),
                },
                Err(e) => fail(format!("consistency proof: {e}")),
            }
        }
    }
}

/// What identifies a ledger's state: size, root hash and the latest signed checkpoint — the
/// same before and after a copy (`migrate-store`, `backup`, `restore`) when nothing was lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerHead {
    pub size: u64,
    /// Hex.
    pub root: String,
    /// The latest checkpoint's id, size and signed note.
    pub checkpoint: Option<(u64, u64, String)>,
}

impl LedgerHead {
    pub fn of(ledger: &dyn LedgerStore) -> Result<LedgerHead, StoreError> {
        let size = ledger.tree_size()?;
        let head = ledger.tree_head_at(size)?;
        let checkpoint = ledger.latest_checkpoint()?.map(|c| (c.id, c.size, c.note));
        Ok(LedgerHead { size, root: hex::encode(head.root), checkpoint })
    }
}

/// The outcome of a full verification of a ledger (a copy, a backup, a restored database):
/// every entry, tree node, index row and checkpoint signature, with the deployment's key.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub ok: bool,
    /// False when there was no key to check signatures with (nothing was verified).
    pub checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl Verified {
    /// Verify `ledger` in full with `key` (its origin is the key's name); without a key,
    /// nothing is checked and that is said.
    pub fn run(ledger: &dyn LedgerStore, key: Option<&CheckpointVerifier>) -> Result<Verified, StoreError> {
        let Some(key) = key else {
            return Ok(Verified { ok: true, checked: false, failure: None });
        };
        Ok(match tokutei_store::ledger::verify_ledger(ledger, key, key.name(), None, &mut |_| {})? {
            Ok(_) => Verified { ok: true, checked: true, failure: None },
            Err(f) => Verified { ok: false, checked: true, failure: Some(f.to_string()) },
        })
    }
}
