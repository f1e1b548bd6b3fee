//! The second factor: TOTP (RFC 6238; SHA-1, 6 digits, 30-second steps — what authenticator
//! apps expect), via the `totp-rs` crate. One step of clock drift is accepted either way.

use totp_rs::{Algorithm, Secret, TOTP};

use crate::{CryptoError, CryptoResult};

fn totp(secret: &[u8], account: &str, issuer: &str) -> CryptoResult<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret.to_vec(), Some(issuer.to_string()), account.to_string())
        .map_err(|_| CryptoError::KeyLength(secret.len()))
}

/// A new random secret (20 bytes).
pub fn new_secret() -> CryptoResult<Vec<u8>> {
    Ok(crate::random_bytes::<20>()?.to_vec())
}

/// The `otpauth://` URI an authenticator app enrols from, and the secret in base32.
pub fn enrolment(secret: &[u8], account: &str, issuer: &str) -> CryptoResult<(String, String)> {
    let t = totp(secret, account, issuer)?;
    Ok((t.get_url(), Secret::Raw(secret.to_vec()).to_encoded().to_string()))
}

/// Whether `code` is valid for `secret` at `unix_seconds` (±1 step).
pub fn check(secret: &[u8], code: &str, unix_seconds: u64) -> bool {
    let code = code.trim();
    code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && totp(secret, "x", "tokutei").is_ok_and(|t| t.check(code, unix_seconds))
}

/// The code for `secret` at `unix_seconds` (tests and enrolment checks).
pub fn code_at(secret: &[u8], unix_seconds: u64) -> CryptoResult<String> {
    Ok(totp(secret, "x", "tokutei")?.generate(unix_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → last 6 digits 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert!(check(secret, "287082", 59));
        assert!(check(secret, "287082", 59 + 30), "one step late is accepted");
        assert!(!check(secret, "287082", 59 + 90));
        assert!(!check(secret, "28708", 59));
        assert!(!check(secret, "abcdef", 59));
    }

    #[test]
    fn enrolment_names_the_account() {
        let secret = new_secret().unwrap();
        let (uri, base32) = enrolment(&secret, "cpo", "tokutei").unwrap();
        assert!(uri.starts_with("otpauth://totp/tokutei:cpo?"), "{uri}");
        assert!(uri.contains(&base32));
    }
}
