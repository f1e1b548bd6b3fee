//! Keyed blind indexes: HMAC-SHA256 tokens of normalised search fields.
//!
//! Staff search by phone number, email or contract number as typed (全角 or 半角, with or
//! without hyphens and spaces, any case). Both the stored value and the query are normalised
//! the same way, then keyed with a key separate from every encryption key and scoped by the
//! category id, so equal values in different categories give different tokens and nobody
//! without the key can test a guess against the database.

use std::fmt;

use ring::hmac;
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::{CryptoResult, KEY_LEN, random_bytes};

/// How a field is normalised before it is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalisation {
    /// NFKC (全角→半角), hyphens, dashes and spaces removed, lowercase.
    Text,
    /// As `Text`, then digits only, with the international prefix `+81` turned into `0`.
    Phone,
}

impl Normalisation {
    /// The convention used by the vault: categories whose id names a phone or fax number are
    /// phone numbers, the rest text.
    pub fn for_category(category_id: &str) -> Normalisation {
        let id = category_id.to_ascii_lowercase();
        if ["phone", "tel", "fax", "msisdn"].iter().any(|w| id.contains(w)) {
            Normalisation::Phone
        } else {
            Normalisation::Text
        }
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' | '\u{FF70}' | '\u{00AD}')
}

/// The normal form of `value` under `kind`.
pub fn normalise(kind: Normalisation, value: &str) -> String {
    let once: String = value.nfkc().filter(|c| !is_separator(*c)).flat_map(char::to_lowercase).collect();
    // Removing a separator or lowercasing can leave a sequence NFKC composes further
    // (`a` + `￣` → `ā`), so normalise again: the result is then a fixed point.
    let text: String = once.nfkc().filter(|c| !is_separator(*c)).flat_map(char::to_lowercase).collect();
    match kind {
        Normalisation::Text => text,
        Normalisation::Phone => {
            let (international, rest) = match text.strip_prefix("+81") {
                Some(rest) => (true, rest),
                None => (false, text.as_str()),
            };
            // `+81 (0)90…` carries the trunk 0 in brackets; drop brackets, keep digits.
            let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
            if international && !digits.starts_with('0') { format!("0{digits}") } else { digits }
        }
    }
}

/// A blind index token: HMAC-SHA256 over the scope and the normalised value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlindToken(pub [u8; 32]);

impl fmt::Debug for BlindToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindToken({})", hex::encode(&self.0[..6]))
    }
}

/// The blind-index key. Separate from data keys and KEKs.
pub struct BlindIndexKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
    key: hmac::Key,
}

impl fmt::Debug for BlindIndexKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexKey([redacted])")
    }
}

impl BlindIndexKey {
    pub fn generate() -> CryptoResult<BlindIndexKey> {
        let bytes = Zeroizing::new(random_bytes::<KEY_LEN>()?);
        BlindIndexKey::from_bytes(bytes.as_ref())
    }

    pub fn from_bytes(raw: &[u8]) -> CryptoResult<BlindIndexKey> {
        if raw.len() != KEY_LEN {
            return Err(crate::CryptoError::KeyLength(raw.len()));
        }
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        bytes.copy_from_slice(raw);
        let key = hmac::Key::new(hmac::HMAC_SHA256, raw);
        Ok(BlindIndexKey { bytes, key })
    }

    /// The secret bytes, to write the key file.
    pub fn secret_bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }

    /// The token of `value` in category `category`, normalised as the category's convention
    /// says ([`Normalisation::for_category`]). `None` when nothing is left to index.
    pub fn token(&self, category: &str, value: &str) -> Option<BlindToken> {
        let normal = Zeroizing::new(normalise(Normalisation::for_category(category), value));
        if normal.is_empty() {
            return None;
        }
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(b"tokutei.blind.v1");
        ctx.update(&(category.len() as u64).to_be_bytes());
        ctx.update(category.as_bytes());
        ctx.update(normal.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        Some(BlindToken(out))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check(kind: Normalisation, input: &str, expected: &str) {
        assert_eq!(normalise(kind, input), expected, "normalise({kind:?}, {input:?})");
    }

    #[test]
    fn phone_numbers_normalise_to_domestic_digits() {
        use Normalisation::Phone;
        check(Phone, "090-1234-5678", "09012345678");
        check(Phone, "０９０－１２３４－５６７８", "09012345678");
        check(Phone, "090 1234 5678", "09012345678");
        check(Phone, "+81 90-1234-5678", "09012345678");
        check(Phone, "+81 (0)90 1234 5678", "09012345678");
        check(Phone, "＋８１９０１２３４５６７８", "09012345678");
        check(Phone, "(03) 1234‐5678", "0312345678");
        check(Phone, "03−1234−5678", "0312345678");
    }

    #[test]
    fn text_normalises_width_hyphens_spaces_and_case() {
        use Normalisation::Text;
        check(Text, "Taro.Yamada@Example.JP", "taro.yamada@example.jp");
        check(Text, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp");
        check(Text, "HK-0012 3456", "hk00123456");
        check(Text, "ＨＫ－００１２３４５６", "hk00123456");
        // The katakana long vowel mark is a letter, not a hyphen.
        check(Text, "ヤマダ　タロー", "ヤマダタロー");
        check(Text, "ﾔﾏﾀﾞ", "ヤマダ");
    }

    #[test]
    fn category_conventions() {
        assert_eq!(Normalisation::for_category("contract.phone"), Normalisation::Phone);
        assert_eq!(Normalisation::for_category("contract.email"), Normalisation::Text);
        assert_eq!(Normalisation::for_category("contract.number"), Normalisation::Text);
    }

    #[test]
    fn tokens_match_across_spellings_and_are_scoped_and_keyed() {
        let key = BlindIndexKey::from_bytes(&[3; KEY_LEN]).unwrap();
        let a = key.token("contract.phone", "090-1234-5678").unwrap();
        assert_eq!(key.token("contract.phone", "＋８１ ９０ １２３４ ５６７８"), Some(a));
        assert_ne!(key.token("contract.phone", "090-1234-5679"), Some(a));
        assert_ne!(key.token("contract.fax", "090-1234-5678"), Some(a), "scoped by category");
        let other = BlindIndexKey::from_bytes(&[4; KEY_LEN]).unwrap();
        assert_ne!(other.token("contract.phone", "090-1234-5678"), Some(a), "keyed");
        assert_eq!(key.token("contract.phone", " - "), None);
        assert!(!format!("{key:?}").contains('3'));
    }

    proptest! {
        #[test]
        fn normalising_is_idempotent(s in "\\PC{0,40}") {
            for kind in [Normalisation::Text, Normalisation::Phone] {
                let once = normalise(kind, &s);
                prop_assert_eq!(normalise(kind, &once), once.clone());
            }
        }

        #[test]
        fn full_width_and_hyphens_do_not_change_a_phone_token(digits in "0[0-9]{9,10}", cut in 1usize..9) {
            let key = BlindIndexKey::from_bytes(&[9; KEY_LEN]).unwrap();
            let hyphenated = format!("{}-{}", &digits[..cut], &digits[cut..]);
            let wide: String = hyphenated.chars().map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap(),
                '-' => '－',
                other => other,
            }).collect();
            prop_assert_eq!(key.token("contract.phone", &wide), key.token("contract.phone", &digits));
        }
    }
}
