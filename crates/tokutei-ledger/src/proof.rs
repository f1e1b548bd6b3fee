//! The portable form of inclusion and consistency proofs (JSON): what an auditor downloads
//! and checks against a signed checkpoint without access to the database.

use serde::{Deserialize, Serialize};

use crate::Hash;
use crate::tree::hex_hash;

/// A proof as `tokutei audit prove` / `consistency` print it, the console offers it for
/// download, and `tokutei audit check-proof` reads it (no database needed).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Proof {
    Inclusion {
        origin: String,
        index: u64,
        tree_size: u64,
        #[serde(with = "hex_hash")]
        leaf_hash: Hash,
        /// The entry's canonical bytes (base64), so the auditor recomputes the leaf hash.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entry: Option<String>,
        #[serde(with = "hex_hashes")]
        hashes: Vec<Hash>,
        #[serde(with = "hex_hash")]
        root: Hash,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<String>,
    },
    Consistency {
        origin: String,
        old_size: u64,
        new_size: u64,
        #[serde(with = "hex_hash")]
        old_root: Hash,
        #[serde(with = "hex_hash")]
        new_root: Hash,
        #[serde(with = "hex_hashes")]
        hashes: Vec<Hash>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checkpoint: Option<String>,
    },
}

pub mod hex_hashes {
    use crate::Hash;
    use crate::tree::hex_hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(hashes.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|h| hex_hash::parse(h).map_err(serde::de::Error::custom)).collect()
    }
}
