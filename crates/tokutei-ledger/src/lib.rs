//! The tamper-evident audit ledger, as pure functions and values (no IO):
//!
//! - [`entry`]: what an audit entry says (an access decision or an administrative event) and
//!   its canonical, versioned binary encoding — ids and hashes only, never personal data;
//! - [`hash`] and [`tree`]: the RFC 9162 Merkle tree over encoded entries: leaf and node
//!   hashing with domain separation, tree heads, inclusion and consistency proofs and their
//!   verification, computed over a [`tree::NodeSource`] so storage keeps interior nodes and a
//!   proof costs O(log n) node reads;
//! - [`checkpoint`]: C2SP `tlog-checkpoint` bodies signed as C2SP signed notes with Ed25519;
//! - [`cosignature`] and [`witness`]: C2SP `tlog-cosignature` v1 (Ed25519) and the
//!   `tlog-witness` protocol's `add-checkpoint` — what a witness checks before it cosigns;
//! - [`verify`]: the streaming verifier that recomputes every leaf and the tree from stored
//!   entries, checks every stored checkpoint, and names the first bad index.
//!
//! Storage of entries and nodes is the store crates' business; this crate only says what the
//! bytes must be.

pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod hash;
pub mod proof;
pub mod tree;
pub mod verify;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, CheckpointSigner, CheckpointVerifier};
pub use cosignature::{WitnessSigner, WitnessVerifier};
pub use entry::{AccessEvent, Action, Actor, AdminAction, AdminEvent, Decision, Entry, EntryError, Event, RequestMeta};
pub use hash::{Hash, leaf_hash, node_hash};
pub use proof::Proof;
pub use tree::{CompactRange, NodeId, NodeSource, ProofError, TreeHead};
pub use verify::{StreamVerifier, VerifyFailure, VerifySummary};
