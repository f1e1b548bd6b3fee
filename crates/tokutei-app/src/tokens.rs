//! API tokens: `tkt_<id>_<secret>`, where `<id>` (16 hex digits) is public and names the
//! stored row, and `<secret>` is 32 random bytes (base64url). Only the SHA-256 of the whole
//! token is stored; a token is shown once, when issued.

use base64::Engine;
use jiff::Timestamp;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokutei_store::staff::{NewToken, StoredToken};

const PREFIX: &str = "tkt_";

/// A freshly issued token: the secret text (show it once) and the row to store.
pub struct Issued {
    pub text: zeroize::Zeroizing<String>,
    pub token: NewToken,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("text", &"[redacted]").field("token", &self.token.id).finish()
    }
}

/// Issue a token for `principal`, valid until `expires_at`.
pub fn issue(principal: &str, now: Timestamp, expires_at: Timestamp) -> Issued {
    let mut id = [0u8; 8];
    OsRng.fill_bytes(&mut id);
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(secret.as_mut());
    let id = hex::encode(id);
    let text = zeroize::Zeroizing::new(format!(
        "{PREFIX}{id}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret.as_ref())
    ));
    let token = NewToken { id, principal: principal.to_string(), hash: hash(&text), created_at: now, expires_at };
    Issued { text, token }
}

/// The stored hash of a token text.
pub fn hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The public id inside a token text, if it has the token's shape.
pub fn id_of(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty()).then_some(id)
}

/// Why a presented token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Unknown,
    Expired,
    Revoked,
}

/// Check a presented token against its stored row (found by [`id_of`]). The hash comparison
/// does not stop at the first differing byte.
pub fn check(text: &str, stored: Option<&StoredToken>, now: Timestamp) -> Result<(), Refusal> {
    let stored = stored.ok_or(Refusal::Unknown)?;
    let presented = hash(text);
    let same = presented.iter().zip(stored.hash.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(Refusal::Unknown);
    }
    if stored.revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    if now > stored.expires_at {
        return Err(Refusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(issued: &Issued) -> StoredToken {
        StoredToken {
            id: issued.token.id.clone(),
            principal: issued.token.principal.clone(),
            hash: issued.token.hash,
            created_at: issued.token.created_at,
            expires_at: issued.token.expires_at,
            revoked_at: None,
        }
    }

    #[test]
    fn issued_tokens_check_until_expiry_or_revocation() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let later = Timestamp::from_second(1_800_086_400).unwrap();
        let issued = issue("billing", now, later);
        assert_eq!(id_of(&issued.text), Some(issued.token.id.as_str()));
        let row = stored(&issued);
        assert_eq!(check(&issued.text, Some(&row), now), Ok(()));
        assert_eq!(
            check(&issued.text, Some(&row), Timestamp::from_second(1_800_086_401).unwrap()),
            Err(Refusal::Expired)
        );
        assert_eq!(check(&issued.text, None, now), Err(Refusal::Unknown));
        let mut tampered = issued.text.to_string();
        tampered.push('x');
        assert_eq!(check(&tampered, Some(&row), now), Err(Refusal::Unknown));
        let revoked = StoredToken { revoked_at: Some(now), ..row };
        assert_eq!(check(&issued.text, Some(&revoked), now), Err(Refusal::Revoked));
        assert!(!issued.text.contains(&hex::encode(issued.token.hash)), "the text is not its hash");
    }

    #[test]
    fn malformed_tokens_have_no_id() {
        for text in ["", "tkt_", "tkt_abc_def", "Bearer x", "tkt_0123456789abcdef_", "xyz_0123456789abcdef_s"] {
            assert_eq!(id_of(text), None, "{text:?}");
        }
    }
}
