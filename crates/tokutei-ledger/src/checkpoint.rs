//! Signed checkpoints: a C2SP `tlog-checkpoint` body (origin, tree size, base64 root hash,
//! then extension lines — ours is `time <RFC 3339>`), signed as a C2SP `signed-note` with
//! Ed25519.
//!
//! - key ID: the first 4 bytes of `SHA-256(name || "\n" || 0x01 || public key)`;
//! - signature line: `— <name> <base64(key ID || signature)>`;
//! - verifier key: `<name>+<hex key ID>+<base64(0x01 || public key)>`;
//! - signer key (kept 0600 in the data directory): `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
//!
//! Notes are compatible with Go's `golang.org/x/mod/sumdb/note` and with C2SP witnesses,
//! which ignore extension lines and signatures from keys they do not know.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::tree::TreeHead;

/// The signed-note algorithm byte of Ed25519.
const ED25519: u8 = 0x01;
/// The signature line prefix: EM DASH, space.
pub(crate) const SIG_PREFIX: &str = "\u{2014} ";

/// A checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (e.g. `tokutei.local/3f9c…`).
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// When the checkpoint was made (our extension line; absent in foreign checkpoints).
    pub time: Option<Timestamp>,
}

/// What is wrong with a checkpoint, note or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("checkpoint is malformed: {0}")]
    Malformed(String),
    #[error("key is malformed: {0}")]
    BadKey(String),
    #[error("note has no valid signature by `{0}`")]
    NoValidSignature(String),
    #[error("checkpoint origin `{found}` is not `{expected}`")]
    WrongOrigin { found: String, expected: String },
}

pub(crate) fn malformed(what: &str) -> CheckpointError {
    CheckpointError::Malformed(what.to_owned())
}

impl Checkpoint {
    pub fn new(origin: impl Into<String>, head: TreeHead, time: Option<Timestamp>) -> Checkpoint {
        Checkpoint { origin: origin.into(), size: head.size, root: head.root, time }
    }

    pub fn head(&self) -> TreeHead {
        TreeHead { size: self.size, root: self.root }
    }

    /// The note text (every line ends with a newline).
    pub fn body(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root));
        if let Some(t) = self.time {
            out.push_str(&format!("time {t}\n"));
        }
        out
    }

    /// Parse a checkpoint body (the note text, without signatures).
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let text = text.strip_suffix('\n').ok_or_else(|| malformed("text does not end with a newline"))?;
        let mut lines = text.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty()).ok_or_else(|| malformed("no origin line"))?;
        let size_line = lines.next().ok_or_else(|| malformed("no tree size line"))?;
        if size_line.is_empty() || (size_line.len() > 1 && size_line.starts_with('0')) {
            return Err(malformed("tree size is not a decimal number"));
        }
        let size: u64 = size_line.parse().map_err(|_| malformed("tree size is not a decimal number"))?;
        let root_line = lines.next().ok_or_else(|| malformed("no root hash line"))?;
        let root: Hash = BASE64
            .decode(root_line)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("root hash is not 32 bytes of base64"))?;
        let mut time = None;
        for line in lines {
            if line.is_empty() {
                return Err(malformed("empty extension line"));
            }
            if let Some(t) = line.strip_prefix("time ") {
                time = Some(t.parse().map_err(|_| malformed("time extension is not an RFC 3339 time"))?);
            }
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root, time })
    }
}

/// The signed-note key ID of `name` and `public` under the algorithm byte `alg`.
pub(crate) fn key_id_of(name: &str, alg: u8, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public);
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    key_id_of(name, ED25519, public)
}

pub(crate) fn check_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty() || name.contains(['+', ' ', '\n', '\t']) {
        return Err(CheckpointError::BadKey(format!("key name `{name}` is empty or contains `+` or spaces")));
    }
    Ok(())
}

/// The checkpoint signing key.
pub struct CheckpointSigner {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointSigner").field("name", &self.name).field("id", &hex::encode(self.id)).finish()
    }
}

impl CheckpointSigner {
    /// A signer from 32 random bytes (the caller draws them from the OS).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<CheckpointSigner, CheckpointError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(CheckpointSigner { name: name.to_owned(), key, id })
    }

    /// Parse `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<CheckpointSigner, CheckpointError> {
        let (name, id_hex, seed) = secret_key_parts(text, ED25519, "signer key")?;
        let signer = CheckpointSigner::from_seed(name, seed)?;
        if hex::encode(signer.id) != id_hex {
            return Err(CheckpointError::BadKey("signer key id does not match the key".into()));
        }
        Ok(signer)
    }

    /// The secret key string; write it only to a 0600 file.
    pub fn secret_string(&self) -> String {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{}+{}", self.name, hex::encode(self.id), BASE64.encode(bytes))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifier(&self) -> CheckpointVerifier {
        CheckpointVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }

    /// Sign any note text (ending with a newline).
    pub fn sign_note(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{text}\n{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(blob))
    }

    /// The signed note of a checkpoint.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_note(&checkpoint.body())
    }
}

pub(crate) fn split_key(text: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = text.split_once('+')?;
    let (id, key) = rest.split_once('+')?;
    (id.len() == 8).then_some((name, id, key))
}

/// The parts of a key string `<name>+<hex id>+<base64(alg || 32 bytes)>`: the name, the id as
/// written and the 32 bytes, once the name and the type byte `alg` check.
fn key_parts<'a>(text: &'a str, alg: u8, what: &str) -> Result<(&'a str, &'a str, [u8; 32]), CheckpointError> {
    let bad = |m: &str| CheckpointError::BadKey(format!("{what} {m}"));
    let (name, id_hex, key) = split_key(text).ok_or_else(|| bad("is not `name+id+key`"))?;
    check_name(name)?;
    let bytes = BASE64.decode(key).map_err(|_| bad("is not base64"))?;
    let (first, rest) = bytes.split_first().ok_or_else(|| bad("is empty"))?;
    if *first != alg {
        return Err(bad(&format!("is not of type 0x{alg:02x}")));
    }
    let key: [u8; 32] = rest.try_into().map_err(|_| bad("is not 32 bytes"))?;
    Ok((name, id_hex, key))
}

/// The name, the id as written and the seed of `PRIVATE+KEY+<name>+<hex id>+<base64(alg || seed)>`.
pub(crate) fn secret_key_parts<'a>(
    text: &'a str,
    alg: u8,
    what: &str,
) -> Result<(&'a str, &'a str, [u8; 32]), CheckpointError> {
    let rest = text
        .trim_end()
        .strip_prefix("PRIVATE+KEY+")
        .ok_or_else(|| CheckpointError::BadKey(format!("{what} lacks `PRIVATE+KEY+`")))?;
    key_parts(rest, alg, what)
}

/// The name, the public key and its checked id of `<name>+<hex id>+<base64(alg || public key)>`.
pub(crate) fn public_key_parts<'a>(
    text: &'a str,
    alg: u8,
    what: &str,
) -> Result<(&'a str, VerifyingKey, [u8; 4]), CheckpointError> {
    let (name, id_hex, public) = key_parts(text.trim(), alg, what)?;
    let key = VerifyingKey::from_bytes(&public)
        .map_err(|_| CheckpointError::BadKey(format!("{what} is not a valid Ed25519 point")))?;
    let id = key_id_of(name, alg, &public);
    if hex::encode(id) != id_hex {
        return Err(CheckpointError::BadKey(format!("{what} id does not match the key")));
    }
    Ok((name, key, id))
}

/// A signed note's text (ending with its newline) and its signature block.
pub fn split_note(note: &str) -> Result<(&str, &str), CheckpointError> {
    let split = note.find("\n\n").ok_or_else(|| malformed("note has no blank line before its signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if !sigs.ends_with('\n') {
        return Err(malformed("signature block does not end with a newline"));
    }
    Ok((text, sigs))
}

/// The `(key name, base64 signature)` of each line of a signature block.
pub(crate) fn signature_lines(sigs: &str) -> Result<Vec<(&str, &str)>, CheckpointError> {
    sigs.split_terminator('\n')
        .map(|line| {
            let line =
                line.strip_prefix(SIG_PREFIX).ok_or_else(|| malformed("signature line does not start with `— `"))?;
            line.split_once(' ').ok_or_else(|| malformed("signature line has no signature"))
        })
        .collect()
}

/// A checkpoint public key: what auditors and witnesses trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointVerifier {
    name: String,
    key: VerifyingKey,
    id: [u8; 4],
}

impl CheckpointVerifier {
    /// Parse `<name>+<hex id>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<CheckpointVerifier, CheckpointError> {
        let (name, key, id) = public_key_parts(text, ED25519, "verifier key")?;
        Ok(CheckpointVerifier { name: name.to_owned(), key, id })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Open a signed note: returns its text when at least one signature line is a valid
    /// signature by this key. Other signatures (witness cosignatures) are ignored.
    pub fn open_note<'a>(&self, note: &'a str) -> Result<&'a str, CheckpointError> {
        let (text, sigs) = split_note(note)?;
        for (name, blob) in signature_lines(sigs)? {
            if name != self.name {
                continue;
            }
            let Ok(blob) = BASE64.decode(blob) else { continue };
            if blob.len() != 68 || blob[..4] != self.id {
                continue;
            }
            let signature = ed25519_dalek::Signature::from_slice(&blob[4..]).map_err(|_| malformed("bad signature"))?;
            if self.key.verify_strict(text.as_bytes(), &signature).is_ok() {
                return Ok(text);
            }
        }
        Err(CheckpointError::NoValidSignature(self.name.clone()))
    }

    /// Open a signed checkpoint note and parse its body.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::parse_body(self.open_note(note)?)
    }
}

impl std::fmt::Display for CheckpointVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![ED25519];
        bytes.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex::encode(self.id), BASE64.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of golang.org/x/mod/sumdb/note (also used by C2SP signed-note implementations).
    const PETER_SIGNER: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_TEXT: &str =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_NOTE_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    // The example of the C2SP signed-note spec.
    const FOO_VERIFIER: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const FOO_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn published_signed_note_vectors() {
        let signer = CheckpointSigner::parse(PETER_SIGNER).unwrap();
        assert_eq!(signer.secret_string(), PETER_SIGNER);
        assert_eq!(signer.verifier().to_string(), PETER_VERIFIER);
        let note = signer.sign_note(PETER_TEXT);
        assert_eq!(note, format!("{PETER_TEXT}\n{PETER_NOTE_SIG}"), "Ed25519 is deterministic");
        let verifier = CheckpointVerifier::parse(PETER_VERIFIER).unwrap();
        assert_eq!(verifier.open_note(&note).unwrap(), PETER_TEXT);
        let foo = CheckpointVerifier::parse(FOO_VERIFIER).unwrap();
        assert_eq!(foo.open_note(FOO_NOTE).unwrap(), "This is an example message.\n");
        assert_eq!(foo.open_note(&note), Err(CheckpointError::NoValidSignature("example.com/foo".into())));
    }

    #[test]
    fn checkpoints_round_trip_and_tampering_is_caught() {
        let signer = CheckpointSigner::from_seed("tokutei.local/test", [9; 32]).unwrap();
        let verifier = CheckpointVerifier::parse(&signer.verifier().to_string()).unwrap();
        let cp = Checkpoint {
            origin: "tokutei.local/test".into(),
            size: 42,
            root: [3; 32],
            time: Some(Timestamp::from_second(1_800_000_000).unwrap()),
        };
        let note = signer.sign(&cp);
        assert!(note.starts_with("tokutei.local/test\n42\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\ntime 2027-01-15T08:00:00Z\n\n\u{2014} tokutei.local/test "));
        assert_eq!(verifier.verify(&note).unwrap(), cp);
        // A witness cosignature by another key is ignored.
        let witness = CheckpointSigner::from_seed("witness.example", [1; 32]).unwrap();
        let cosigned = format!("{note}{}", witness.sign_note(&cp.body()).split("\n\n").nth(1).unwrap());
        assert_eq!(verifier.verify(&cosigned).unwrap(), cp);
        // Any edit of the body breaks the signature.
        let edited = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(verifier.verify(&edited), Err(CheckpointError::NoValidSignature("tokutei.local/test".into())));
        // A note signed by another key with our name is refused.
        let impostor = CheckpointSigner::from_seed("tokutei.local/test", [2; 32]).unwrap();
        assert!(verifier.verify(&impostor.sign(&cp)).is_err());
    }

    #[test]
    fn malformed_bodies_and_keys_are_refused() {
        let check = |text: &str| assert!(Checkpoint::parse_body(text).is_err(), "{text:?}");
        check("origin\n42\n");
        check("origin\n042\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=\n");
        check("origin\n42\nAwMD\n");
        check("origin\n42\nAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=");
        assert!(
            CheckpointVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
        );
        assert!(CheckpointVerifier::parse("PeterNeumann+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err());
        assert!(CheckpointSigner::from_seed("bad name", [0; 32]).is_err());
    }
}
