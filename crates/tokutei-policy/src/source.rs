//! Turning policy text into a [`Policy`] and back, with positions for diagnostics, and the
//! content digest that names a policy version.

use sha2::{Digest as _, Sha256};

use crate::model::{FORMAT_VERSION, Policy};

/// A 1-based line and column in a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Position { line: u32::try_from(line).unwrap_or(u32::MAX), column: u32::try_from(column).unwrap_or(u32::MAX) }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The policy file could not be read as a policy: TOML syntax, a missing section, a wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Lowercase, no final period.
    pub message: String,
    /// Where, when known.
    pub position: Option<Position>,
    /// The byte range, when known (for miette).
    pub span: Option<std::ops::Range<usize>>,
}

/// Parse a policy file. Semantic rules are not checked here: see [`crate::check`].
pub fn parse(text: &str) -> Result<Policy, ParseError> {
    parse_toml(text, |p: &Policy| p.format, FORMAT_VERSION, "policy")
}

/// A TOML document of `format` version `expected` (its `format` key): a syntax or type error
/// with its position, or a format this version does not read, naming `what` file it is.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    format: impl Fn(&T) -> u32,
    expected: u32,
    what: &str,
) -> Result<T, ParseError> {
    let value: T = toml::from_str(text).map_err(|e| {
        let span = e.span();
        ParseError {
            message: e.message().trim().trim_end_matches('.').to_string(),
            position: span.as_ref().map(|s| Position::of_offset(text, s.start)),
            span,
        }
    })?;
    let found = format(&value);
    if found != expected {
        let span = toml_edit::Document::parse(text.to_string())
            .ok()
            .and_then(|doc| doc.get("format").and_then(|item| item.span()));
        return Err(ParseError {
            message: format!("{what} file format `{found}` is not supported (this version reads format {expected})"),
            position: span.as_ref().map(|s| Position::of_offset(text, s.start)),
            span,
        });
    }
    Ok(value)
}

/// Write a policy as TOML, as `policy import` does.
pub fn to_toml(policy: &Policy) -> String {
    // INVARIANT: every model type serialises to TOML (no maps with non-string keys, no
    // top-level values after tables), so this cannot fail.
    toml::to_string_pretty(policy).expect("policy model serialises to TOML")
}

/// The content digest of a policy version: SHA-256 over its canonical JSON form, so that
/// formatting and comments do not make a new version but any change of meaning does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PolicyDigest(pub String);

impl PolicyDigest {
    pub fn of(policy: &Policy) -> PolicyDigest {
        // INVARIANT: the model serialises to JSON (struct fields in declaration order, maps
        // are BTreeMaps), so the canonical form is deterministic.
        let canonical = serde_json::to_vec(policy).expect("policy model serialises to JSON");
        PolicyDigest(format!("sha256:{}", hex::encode(Sha256::digest(&canonical))))
    }

    /// The raw 32 bytes, for the audit ledger.
    pub fn bytes(&self) -> [u8; 32] {
        digest_bytes(&self.0)
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        digest_short(&self.0)
    }
}

/// The 32 bytes of a `sha256:…` digest as text (zeros when it is not one): what the audit
/// ledger's digest field holds for any document named this way.
pub fn digest_bytes(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if let Some(h) = text.strip_prefix("sha256:") {
        let _ = hex::decode_to_slice(h, &mut out);
    }
    out
}

/// The first 12 hex digits of a `sha256:…` digest, for display.
pub fn digest_short(text: &str) -> &str {
    let h = text.strip_prefix("sha256:").unwrap_or(text);
    &h[..h.len().min(12)]
}

/// `sha256:` and the hexadecimal SHA-256 of `bytes`: how documents are named.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl std::fmt::Display for PolicyDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
