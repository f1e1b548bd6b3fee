//! Staff passwords: argon2id (RFC 9106) PHC strings with a random salt, verified in constant
//! time by the `argon2` crate; and one-time passwords generated for first sign-in.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{CryptoError, CryptoResult};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 12;

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hash a password for storage.
pub fn hash(password: &str) -> CryptoResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| CryptoError::Random)
}

/// Whether `password` matches the stored PHC string (a malformed string never matches).
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a new password is refused, if it is (length and a few obvious choices).
pub fn weakness(password: &str) -> Option<&'static str> {
    if password.chars().count() < MIN_LENGTH {
        return Some("a password needs at least 12 characters");
    }
    let distinct: std::collections::BTreeSet<char> = password.chars().collect();
    if distinct.len() < 5 {
        return Some("a password needs more different characters");
    }
    None
}

/// A random one-time password: 20 characters from an alphabet without look-alikes.
pub fn one_time() -> CryptoResult<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes = crate::random_bytes::<20>()?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a phc string"));
        assert_ne!(hash("correct horse battery").unwrap(), stored, "salted");
    }

    #[test]
    fn weak_passwords_are_named() {
        assert!(weakness("short").is_some());
        assert!(weakness("aaaaaaaaaaaaaaa").is_some());
        assert!(weakness("いろはにほへとちりぬるを").is_none());
        let otp = one_time().unwrap();
        assert_eq!(otp.len(), 20);
        assert!(weakness(&otp).is_none());
    }
}
