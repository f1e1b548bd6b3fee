//! Field-level encryption for the subscriber vault: envelope encryption and blind indexes.
//!
//! - [`DataKey`]: one AES-256-GCM key per subscriber; it seals every value of that
//!   subscriber. The associated data ([`ValueAad`]) binds each ciphertext to its subscriber,
//!   category and value version, so a ciphertext moved to another row does not open.
//! - [`Kek`]: a key-encryption key, kept outside the database and named by an id. It wraps
//!   data keys ([`WrappedKey`]); rotating the KEK re-wraps data keys without touching values.
//!   Destroying a subscriber's wrapped key makes its values unrecoverable (crypto-shredding).
//! - [`BlindIndexKey`]: a separate HMAC-SHA256 key giving [`BlindToken`]s of normalised
//!   search fields (phone, email, contract number), so staff can find a subscriber without
//!   any plaintext in the database.
//!
//! - [`password`]: staff passwords as argon2id PHC strings; [`totp`]: the second factor.
//!
//! Formats are versioned by their first byte. Secrets are zeroized on drop and never printed
//! by `Debug`.
//!
//! Architecture Invariant: no IO here except the operating system's random generator (via
//! `ring`). Key files, the database and the CLI are the binary's and the store's business.

mod blind;
mod envelope;
pub mod password;
pub mod totp;

pub use blind::{BlindIndexKey, BlindToken, Normalisation, normalise};
pub use envelope::{DataKey, Kek, ValueAad, WrappedKey, content_hash};

/// The length of every secret key here (AES-256 and the HMAC key), in bytes.
pub const KEY_LEN: usize = 32;

/// What can go wrong. Messages never contain key bytes or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A key of the wrong length was given.
    #[error("a key must be {KEY_LEN} bytes, got {0}")]
    KeyLength(usize),
    /// The operating system's random generator failed.
    #[error("the system random generator failed")]
    Random,
    /// A ciphertext or wrapped key does not start with a known format byte.
    #[error("unknown ciphertext format {0}")]
    UnknownFormat(u8),
    /// Too short to be a ciphertext of any format.
    #[error("ciphertext is truncated")]
    Truncated,
    /// Authentication failed: wrong key, or the ciphertext was altered or moved to another
    /// row (subscriber, category or version differ from the ones it was sealed for).
    #[error("ciphertext does not authenticate: wrong key, or altered or moved to another row")]
    Authentication,
    /// A wrapped key names another KEK than the one given to unwrap it.
    #[error("data key is wrapped by key-encryption key `{wrapped_by}`, not `{given}`")]
    WrongKek { wrapped_by: String, given: String },
}

pub type CryptoResult<T> = Result<T, CryptoError>;

pub(crate) fn random_bytes<const N: usize>() -> CryptoResult<[u8; N]> {
    use ring::rand::SecureRandom;
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut out).map_err(|_| CryptoError::Random)?;
    Ok(out)
}
