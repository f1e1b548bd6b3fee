//! Witness cosignatures: C2SP `tlog-cosignature` v1 with Ed25519 (signature type 0x04).
//!
//! - key ID: the first 4 bytes of `SHA-256(name || "\n" || 0x04 || public key)`;
//! - signed message: `cosignature/v1\ntime <POSIX seconds>\n` followed by the checkpoint's
//!   whole note text (extension lines included);
//! - signature line: `— <name> <base64(key ID || u64 big-endian timestamp || signature)>`;
//! - verifier key: `<name>+<hex key ID>+<base64(0x04 || public key)>`;
//! - signer key (kept 0600 by the witness): `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>`.
//!
//! A cosignature says that, at its time, the checkpoint was the largest consistent tree head
//! the witness had seen for that origin: a quorum of witnesses makes it impossible for a log
//! to show different histories to different people without one of them noticing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::checkpoint::{
    CheckpointError, SIG_PREFIX, check_name, key_id_of, malformed, public_key_parts, secret_key_parts, signature_lines,
    split_note,
};

/// The signed-note algorithm byte of an Ed25519 `cosignature/v1`.
const COSIGNATURE_V1: u8 = 0x04;
/// The largest timestamp a cosignature may carry (2^63 − 1).
const MAX_TIME: u64 = i64::MAX as u64;

fn message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// A witness's cosigning key.
pub struct WitnessSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl std::fmt::Debug for WitnessSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessSigner").field("name", &self.name).field("id", &hex::encode(self.id)).finish()
    }
}

impl WitnessSigner {
    /// A signer from 32 random bytes (the caller draws them from the OS).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<WitnessSigner, CheckpointError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id_of(name, COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(WitnessSigner { name: name.to_owned(), key, id })
    }

    /// Parse `PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || seed)>`.
    pub fn parse(text: &str) -> Result<WitnessSigner, CheckpointError> {
        let (name, id_hex, seed) = secret_key_parts(text, COSIGNATURE_V1, "witness key")?;
        let signer = WitnessSigner::from_seed(name, seed)?;
        if hex::encode(signer.id) != id_hex {
            return Err(CheckpointError::BadKey("witness key id does not match the key".into()));
        }
        Ok(signer)
    }

    /// The secret key string; write it only to a 0600 file.
    pub fn secret_string(&self) -> String {
        let mut bytes = vec![COSIGNATURE_V1];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{}+{}", self.name, hex::encode(self.id), BASE64.encode(bytes))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> WitnessVerifier {
        WitnessVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }

    /// The cosignature line (ending with a newline) of the note text `text` (a checkpoint's
    /// body, ending with a newline) at `time` (POSIX seconds).
    pub fn cosign(&self, text: &str, time: u64) -> String {
        let time = time.min(MAX_TIME);
        let signature = self.key.sign(&message(text, time));
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&time.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(blob))
    }
}

/// A witness's public key: what a log's readers trust to have checked its consistency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl WitnessVerifier {
    /// Parse `<name>+<hex id>+<base64(0x04 || public key)>`.
    pub fn parse(text: &str) -> Result<WitnessVerifier, CheckpointError> {
        let (name, key, id) = public_key_parts(text, COSIGNATURE_V1, "witness key")?;
        Ok(WitnessVerifier { name: name.to_owned(), key, id })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The time (POSIX seconds) of this witness's valid cosignature in `note` (a checkpoint
    /// with its signatures, or its text followed by a witness's response lines). Lines of
    /// other keys are ignored; a line of this key that does not verify is not a cosignature.
    pub fn cosigned_at(&self, note: &str) -> Result<u64, CheckpointError> {
        let (text, sigs) = split_note(note)?;
        for (name, blob) in signature_lines(sigs)? {
            if name != self.name {
                continue;
            }
            let Ok(blob) = BASE64.decode(blob) else { continue };
            if blob.len() != 4 + 8 + 64 || blob[..4] != self.id {
                continue;
            }
            let time = u64::from_be_bytes(blob[4..12].try_into().map_err(|_| malformed("bad cosignature"))?);
            if time > MAX_TIME {
                continue;
            }
            let signature =
                ed25519_dalek::Signature::from_slice(&blob[12..]).map_err(|_| malformed("bad cosignature"))?;
            if self.key.verify_strict(&message(text, time), &signature).is_ok() {
                return Ok(time);
            }
        }
        Err(CheckpointError::NoValidSignature(self.name.clone()))
    }
}

impl std::fmt::Display for WitnessVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![COSIGNATURE_V1];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(self.id), BASE64.encode(bytes))
    }
}

/// How many of `witnesses` cosigned `note`, and which (name and time), in the given order.
pub fn cosigners(note: &str, witnesses: &[WitnessVerifier]) -> Vec<(String, u64)> {
    witnesses.iter().filter_map(|w| w.cosigned_at(note).ok().map(|t| (w.name().to_string(), t))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, CheckpointSigner};

    // The example of C2SP tlog-cosignature: the checkpoint `example.com/behind-the-sofa`
    // 20852163 and a cosignature by `witness.example.com/w1` whose message's time line is
    // `time 1679315147` (the spec gives no public key, so its layout is what can be checked).
    const SPEC_COSIGNATURE: &str =
        "jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";

    #[test]
    fn the_spec_example_has_the_cosignature_layout() {
        let blob = BASE64.decode(SPEC_COSIGNATURE).unwrap();
        assert_eq!(blob.len(), 4 + 8 + 64, "key ID, timestamp, Ed25519 signature");
        assert_eq!(u64::from_be_bytes(blob[4..12].try_into().unwrap()), 1_679_315_147);
    }

    #[test]
    fn cosignatures_verify_and_bind_key_time_and_body() {
        let witness = WitnessSigner::from_seed("witness.example/w1", [7; 32]).unwrap();
        let parsed = WitnessSigner::parse(&witness.secret_string()).unwrap();
        assert_eq!(parsed.secret_string(), witness.secret_string());
        let verifier = WitnessVerifier::parse(&witness.verifier().to_string()).unwrap();
        assert_eq!(verifier, witness.verifier());
        let log = CheckpointSigner::from_seed("example.com/log", [3; 32]).unwrap();
        let cp = Checkpoint { origin: "example.com/log".into(), size: 10, root: [5; 32], time: None };
        let note = log.sign(&cp);
        let cosigned = format!("{note}{}", witness.cosign(&cp.body(), 1_679_315_147));
        assert_eq!(verifier.cosigned_at(&cosigned), Ok(1_679_315_147));
        // The log's own key still opens the note; the witness's line is ignored by it.
        assert_eq!(log.verifier().verify(&cosigned).unwrap(), cp);
        // A cosignature is not a note signature: the witness key does not open the note.
        assert!(verifier.cosigned_at(&note).is_err());
        // Another body, another time or another key: no cosignature.
        let other = Checkpoint { size: 11, ..cp.clone() };
        assert!(verifier.cosigned_at(&format!("{}{}", log.sign(&other), witness.cosign(&cp.body(), 1))).is_err());
        let line = witness.cosign(&cp.body(), 5);
        let mut blob = BASE64.decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
        blob[11] ^= 1;
        let forged = format!("{note}{SIG_PREFIX}witness.example/w1 {}\n", BASE64.encode(&blob));
        assert!(verifier.cosigned_at(&forged).is_err());
        let stranger = WitnessSigner::from_seed("witness.example/w1", [8; 32]).unwrap();
        assert!(verifier.cosigned_at(&format!("{note}{}", stranger.cosign(&cp.body(), 5))).is_err());
        assert_eq!(
            cosigners(&cosigned, &[stranger.verifier(), verifier.clone()]),
            vec![("witness.example/w1".to_string(), 1_679_315_147)]
        );
    }

    #[test]
    fn keys_of_another_type_are_refused() {
        let log = CheckpointSigner::from_seed("example.com/log", [3; 32]).unwrap();
        assert!(WitnessVerifier::parse(&log.verifier().to_string()).is_err(), "a note key (0x01) is not a witness key");
        assert!(WitnessSigner::parse(&log.secret_string()).is_err());
        let witness = WitnessSigner::from_seed("w", [1; 32]).unwrap();
        assert!(crate::CheckpointVerifier::parse(&witness.verifier().to_string()).is_err());
    }
}
