//! Envelope encryption: per-subscriber AES-256-GCM data keys, wrapped by key-encryption keys.
//!
//! Value ciphertext format v1: `0x01 ‖ nonce (12) ‖ AES-256-GCM(ciphertext ‖ tag (16))`,
//! associated data `"tokutei.value.v1" ‖ len‖subscriber ‖ len‖category ‖ version (u32 BE)`.
//!
//! Wrapped data key format v1: `0x01 ‖ nonce (12) ‖ AES-256-GCM(data key (32) ‖ tag (16))`,
//! associated data `"tokutei.datakey.v1" ‖ len‖subscriber ‖ len‖kek id`. Binding the
//! subscriber means a wrapped key copied onto another subscriber does not unwrap.
//!
//! Nonces are 96 random bits from the system generator for every seal.

use std::fmt;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

use crate::{CryptoError, CryptoResult, KEY_LEN, random_bytes};

const FORMAT_V1: u8 = 1;
const TAG_LEN: usize = 16;
const VALUE_AAD_LABEL: &[u8] = b"tokutei.value.v1";
const KEY_AAD_LABEL: &[u8] = b"tokutei.datakey.v1";

/// What a value ciphertext is bound to: decrypting it under any other triple fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueAad<'a> {
    pub subscriber: &'a str,
    pub category: &'a str,
    pub version: u32,
}

impl ValueAad<'_> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VALUE_AAD_LABEL.len() + 16 + self.subscriber.len() + self.category.len());
        out.extend_from_slice(VALUE_AAD_LABEL);
        push_field(&mut out, self.subscriber.as_bytes());
        push_field(&mut out, self.category.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// Length-prefixed so that no two distinct field lists encode to the same bytes.
fn push_field(out: &mut Vec<u8>, field: &[u8]) {
    out.extend_from_slice(&(field.len() as u64).to_be_bytes());
    out.extend_from_slice(field);
}

fn aes_key(bytes: &[u8]) -> CryptoResult<LessSafeKey> {
    if bytes.len() != KEY_LEN {
        return Err(CryptoError::KeyLength(bytes.len()));
    }
    let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| CryptoError::KeyLength(bytes.len()))?;
    Ok(LessSafeKey::new(unbound))
}

fn seal(key: &LessSafeKey, aad: &[u8], plaintext: &[u8]) -> CryptoResult<Vec<u8>> {
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes()?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad),
            &mut out[1 + NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Authentication)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

fn open(key: &LessSafeKey, aad: &[u8], ciphertext: &[u8]) -> CryptoResult<Zeroizing<Vec<u8>>> {
    let (&format, rest) = ciphertext.split_first().ok_or(CryptoError::Truncated)?;
    if format != FORMAT_V1 {
        return Err(CryptoError::UnknownFormat(format));
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated);
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Truncated)?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = key.open_in_place(nonce, Aad::from(aad), &mut buf).map_err(|_| CryptoError::Authentication)?.len();
    buf.truncate(len);
    Ok(buf)
}

/// A subscriber's data key. Seals and opens that subscriber's values.
pub struct DataKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    key: LessSafeKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> CryptoResult<DataKey> {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>()?);
        let key = aes_key(bytes.as_ref())?;
        Ok(DataKey { bytes, key })
    }

    fn from_bytes(raw: &[u8]) -> CryptoResult<DataKey> {
        let key = aes_key(raw)?;
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(raw);
        Ok(DataKey { bytes, key })
    }

    /// Encrypt one value for the row `aad` names.
    pub fn seal(&self, aad: &ValueAad<'_>, plaintext: &[u8]) -> CryptoResult<Vec<u8>> {
        seal(&self.key, &aad.encode(), plaintext)
    }

    /// Decrypt one value; fails unless it was sealed by this key for exactly `aad`.
    pub fn open(&self, aad: &ValueAad<'_>, ciphertext: &[u8]) -> CryptoResult<Zeroizing<Vec<u8>>> {
        open(&self.key, &aad.encode(), ciphertext)
    }
}

/// A data key encrypted under a KEK, as stored in the database.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// The id of the KEK that wrapped it.
    pub kek_id: String,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey").field("kek_id", &self.kek_id).field("len", &self.bytes.len()).finish()
    }
}

/// A key-encryption key with its id. Lives in a key file, never in the database.
pub struct Kek {
    id: String,
    bytes: Zeroizing<[u8; KEY_LEN]>,
    key: LessSafeKey,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Kek {
    /// A fresh random KEK named `id`.
    pub fn generate(id: impl Into<String>) -> CryptoResult<Kek> {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>()?);
        Kek::from_bytes(id, bytes.as_ref())
    }

    /// A KEK from its stored bytes.
    pub fn from_bytes(id: impl Into<String>, raw: &[u8]) -> CryptoResult<Kek> {
        let key = aes_key(raw)?;
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(raw);
        Ok(Kek { id: id.into(), bytes, key })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The secret bytes, to write the key file. Handle with care.
    pub fn secret_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    fn aad(&self, subscriber: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(KEY_AAD_LABEL.len() + 16 + subscriber.len() + self.id.len());
        out.extend_from_slice(KEY_AAD_LABEL);
        push_field(&mut out, subscriber.as_bytes());
        push_field(&mut out, self.id.as_bytes());
        out
    }

    /// Wrap `key` for `subscriber`.
    pub fn wrap(&self, subscriber: &str, key: &DataKey) -> CryptoResult<WrappedKey> {
        let bytes = seal(&self.key, &self.aad(subscriber), key.bytes.as_ref())?;
        Ok(WrappedKey { kek_id: self.id.clone(), bytes })
    }

    /// Unwrap `subscriber`'s data key; fails if it was wrapped by another KEK or for another
    /// subscriber, or altered.
    pub fn unwrap(&self, subscriber: &str, wrapped: &WrappedKey) -> CryptoResult<DataKey> {
        if wrapped.kek_id != self.id {
            return Err(CryptoError::WrongKek { wrapped_by: wrapped.kek_id.clone(), given: self.id.clone() });
        }
        let raw = open(&self.key, &self.aad(subscriber), &wrapped.bytes)?;
        DataKey::from_bytes(&raw)
    }
}

/// SHA-256 of `bytes`: the content hash of a stored blob (computed over its ciphertext, so
/// it reveals nothing about the plaintext).
pub fn content_hash(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn aad<'a>(subscriber: &'a str, category: &'a str, version: u32) -> ValueAad<'a> {
        ValueAad { subscriber, category, version }
    }

    #[test]
    fn a_value_opens_only_for_its_own_row() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(&aad("S1", "contract.phone", 1), "090-1234-5678".as_bytes()).unwrap();
        assert_eq!(&key.open(&aad("S1", "contract.phone", 1), &sealed).unwrap()[..], "090-1234-5678".as_bytes());
        for other in [aad("S2", "contract.phone", 1), aad("S1", "contract.email", 1), aad("S1", "contract.phone", 2)] {
            assert_eq!(key.open(&other, &sealed), Err(CryptoError::Authentication), "{other:?}");
        }
        let stranger = DataKey::generate().unwrap();
        assert_eq!(stranger.open(&aad("S1", "contract.phone", 1), &sealed), Err(CryptoError::Authentication));
    }

    #[test]
    fn field_boundaries_are_part_of_the_binding() {
        // Without length prefixes ("S1c", "x") and ("S1", "cx") would collide.
        let key = DataKey::generate().unwrap();
        let sealed = key.seal(&aad("S1c", "x", 1), b"v").unwrap();
        assert_eq!(key.open(&aad("S1", "cx", 1), &sealed), Err(CryptoError::Authentication));
    }

    #[test]
    fn malformed_ciphertexts_are_refused_by_kind() {
        let key = DataKey::generate().unwrap();
        let a = aad("S1", "c", 1);
        assert_eq!(key.open(&a, &[]), Err(CryptoError::Truncated));
        assert_eq!(key.open(&a, &[1, 2, 3]), Err(CryptoError::Truncated));
        let mut sealed = key.seal(&a, b"value").unwrap();
        sealed[0] = 9;
        assert_eq!(key.open(&a, &sealed), Err(CryptoError::UnknownFormat(9)));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let key = DataKey::generate().unwrap();
        let a = aad("S1", "c", 1);
        let one = key.seal(&a, b"same").unwrap();
        let two = key.seal(&a, b"same").unwrap();
        assert_ne!(one, two);
        assert_eq!(one.len(), 1 + NONCE_LEN + 4 + TAG_LEN);
    }

    #[test]
    fn wrapping_binds_the_subscriber_and_the_kek() {
        let kek = Kek::generate("kek-1").unwrap();
        let dk = DataKey::generate().unwrap();
        let wrapped = kek.wrap("S1", &dk).unwrap();
        assert_eq!(wrapped.kek_id, "kek-1");
        let sealed = dk.seal(&aad("S1", "c", 1), b"hello").unwrap();
        let back = kek.unwrap("S1", &wrapped).unwrap();
        assert_eq!(&back.open(&aad("S1", "c", 1), &sealed).unwrap()[..], b"hello");

        assert_eq!(kek.unwrap("S2", &wrapped).unwrap_err(), CryptoError::Authentication);
        let other = Kek::generate("kek-2").unwrap();
        assert!(matches!(other.unwrap("S1", &wrapped), Err(CryptoError::WrongKek { .. })));
        // Same bytes under a forged id still fail: the id is bound too.
        let forged = WrappedKey { kek_id: "kek-2".into(), bytes: wrapped.bytes.clone() };
        assert_eq!(other.unwrap("S1", &forged).unwrap_err(), CryptoError::Authentication);
    }

    #[test]
    fn rewrapping_under_a_new_kek_keeps_values_readable() {
        let old = Kek::generate("kek-1").unwrap();
        let new = Kek::from_bytes("kek-2", &[7u8; KEY_LEN]).unwrap();
        let dk = DataKey::generate().unwrap();
        let sealed = dk.seal(&aad("S9", "c", 3), b"value").unwrap();
        let rewrapped = new.wrap("S9", &old.unwrap("S9", &old.wrap("S9", &dk).unwrap()).unwrap()).unwrap();
        let back = new.unwrap("S9", &rewrapped).unwrap();
        assert_eq!(&back.open(&aad("S9", "c", 3), &sealed).unwrap()[..], b"value");
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let kek = Kek::from_bytes("kek-1", &[0xAB; KEY_LEN]).unwrap();
        let text = format!("{kek:?} {:?}", DataKey::from_bytes(&[0xAB; KEY_LEN]).unwrap());
        assert!(!text.to_lowercase().contains("ab, ") && !text.contains("171"), "{text}");
        assert!(text.contains("kek-1"));
        assert_eq!(Kek::from_bytes("k", &[1; 16]).unwrap_err(), CryptoError::KeyLength(16));
    }

    #[test]
    fn content_hash_is_sha256() {
        assert_eq!(
            hex::encode(content_hash(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    proptest! {
        #[test]
        fn seal_open_round_trips(plaintext in proptest::collection::vec(any::<u8>(), 0..512),
                                 subscriber in "[A-Z0-9]{1,12}", version in 1u32..1000) {
            let key = DataKey::generate().unwrap();
            let a = aad(&subscriber, "contract.name", version);
            let sealed = key.seal(&a, &plaintext).unwrap();
            prop_assert_eq!(&key.open(&a, &sealed).unwrap()[..], &plaintext[..]);
        }

        #[test]
        fn any_single_bit_flip_is_detected(plaintext in proptest::collection::vec(any::<u8>(), 1..64),
                                           bit in any::<prop::sample::Index>()) {
            let key = DataKey::generate().unwrap();
            let a = aad("S1", "c", 1);
            let mut sealed = key.seal(&a, &plaintext).unwrap();
            let i = bit.index(sealed.len() * 8);
            sealed[i / 8] ^= 1 << (i % 8);
            prop_assert!(key.open(&a, &sealed).is_err());
        }
    }
}
