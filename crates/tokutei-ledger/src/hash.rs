//! RFC 9162 §2.1.1 hashing with domain separation: a leaf is `SHA-256(0x00 || entry)`, an
//! interior node `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`.

use sha2::{Digest, Sha256};

/// A SHA-256 output: leaf hash, node hash or tree root.
pub type Hash = [u8; 32];

/// The prefix of leaf hashes (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// The prefix of interior node hashes (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The hash of one encoded entry as a leaf.
pub fn leaf_hash(encoded_entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(encoded_entry);
    h.finalize().into()
}

/// The hash of an interior node from its two children.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: the hash of the empty string.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}
