//! The vault codec: how a value is sealed for the vault and opened from it, once for every
//! path (the gateway's writes, the bulk import, the demo's generated subscribers, `subscribers
//! verify` and `find`).
//!
//! A value is sealed with its subscriber's data key (AES-256-GCM) with the associated data
//! `(subscriber, category, version)`, so a ciphertext moved to another subscriber, category
//! or version does not open. A binary category's ciphertext is stored as a blob named by its
//! SHA-256 (checked before opening); everything else inline.

use tokutei_crypto::{CryptoError, DataKey, ValueAad};
use tokutei_store::vault::Sealed;
use zeroize::Zeroizing;

/// Which value a ciphertext belongs to (its associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueSlot<'a> {
    pub subscriber: &'a str,
    pub category: &'a str,
    pub version: u32,
}

impl<'a> ValueSlot<'a> {
    fn aad(self) -> ValueAad<'a> {
        ValueAad { subscriber: self.subscriber, category: self.category, version: self.version }
    }
}

/// Why a stored value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The blob's bytes are not the ones its name commits to.
    #[error("blob content hash does not match")]
    BlobHash,
    /// Wrong key, wrong slot, or altered bytes.
    #[error("{0}")]
    Crypto(String),
}

/// Seal `plaintext` for `slot`; `binary` stores it as a content-addressed blob.
pub fn seal(key: &DataKey, slot: ValueSlot<'_>, binary: bool, plaintext: &[u8]) -> Result<Sealed, CryptoError> {
    let ciphertext = key.seal(&slot.aad(), plaintext)?;
    Ok(if binary {
        Sealed::Blob { content_hash: tokutei_crypto::content_hash(&ciphertext), ciphertext }
    } else {
        Sealed::Inline(ciphertext)
    })
}

/// Open a stored value of `slot`, checking a blob's content hash first.
pub fn open(key: &DataKey, slot: ValueSlot<'_>, sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    if let Sealed::Blob { content_hash, ciphertext } = sealed
        && tokutei_crypto::content_hash(ciphertext) != *content_hash
    {
        return Err(OpenError::BlobHash);
    }
    key.open(&slot.aad(), sealed.ciphertext()).map_err(|e| OpenError::Crypto(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(version: u32) -> ValueSlot<'static> {
        ValueSlot { subscriber: "HS1", category: "contract.name", version }
    }

    #[test]
    fn a_value_opens_only_in_its_own_slot() {
        let key = DataKey::generate().unwrap();
        for binary in [false, true] {
            let sealed = seal(&key, slot(1), binary, b"yamada").unwrap();
            assert_eq!(matches!(sealed, Sealed::Blob { .. }), binary);
            assert_eq!(open(&key, slot(1), &sealed).unwrap().as_slice(), b"yamada");
            assert!(matches!(open(&key, slot(2), &sealed), Err(OpenError::Crypto(_))));
            let other = ValueSlot { subscriber: "HS2", ..slot(1) };
            assert!(matches!(open(&key, other, &sealed), Err(OpenError::Crypto(_))));
        }
    }

    #[test]
    fn a_blob_whose_bytes_changed_is_refused_before_opening() {
        let key = DataKey::generate().unwrap();
        let Sealed::Blob { content_hash, mut ciphertext } = seal(&key, slot(1), true, b"scan").unwrap() else {
            panic!("binary values are blobs");
        };
        ciphertext[0] ^= 1;
        assert_eq!(open(&key, slot(1), &Sealed::Blob { content_hash, ciphertext }), Err(OpenError::BlobHash));
    }
}
