//! The 情報取扱規程 (information handling rules, 電気通信事業法27条の6): the carrier's internal
//! rules document, filed with the ministry. One TOML file per version:
//!
//! ```toml
//! format = 1
//! title = { ja = "特定利用者情報取扱規程", en = "Specified user information handling rules" }
//! enacted = 2026-04-01
//! effective = 2026-04-01
//!
//! [[sections]]
//! measure = "basic_policy"          # one of the seven measures of the policy, or "other"
//! title = { ja = "基本方針", en = "Basic policy" }
//! owner = "chief_manager"           # the role that owns the section
//! text = { ja = "…", en = "…" }
//! ```
//!
//! The rules are checked like the policy ([`crate::check::check_rules`]): every one of the seven
//! measures ([`MeasureKind::REQUIRED`]) has a section, and every section has an owner role and a
//! Japanese text. A version is named by the digest of its text ([`RulesDigest`]): what was filed
//! is exactly what is stored.
//!
//! Architecture Invariant: like the rest of this crate, no IO: strings in, values out.

use serde::{Deserialize, Serialize};

use crate::model::{Date, Lang, MeasureKind, Policy, Role, Text};
use crate::source::ParseError;

/// The rules file format this version reads and writes.
pub const RULES_FORMAT: u32 = 1;

/// An internal-rules document as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub format: u32,
    pub title: Text,
    /// 制定日.
    pub enacted: Date,
    /// 施行日.
    pub effective: Date,
    #[serde(default)]
    pub sections: Vec<RulesSection>,
}

/// One section (章) of the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// The measure of the policy it carries out.
    pub measure: MeasureKind,
    pub title: Text,
    /// The role that owns it; a section without one fails the check (`rules-owner`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Role>,
    #[serde(default)]
    pub text: Text,
}

impl Rules {
    /// The title in `lang` (Japanese when English is missing).
    pub fn title(&self, lang: Lang) -> &str {
        self.title.get(lang).unwrap_or(&self.title.ja)
    }
}

/// Parse a rules file. The check's rules are not applied here: see [`crate::check::check_rules`].
pub fn parse_rules(text: &str) -> Result<Rules, ParseError> {
    crate::source::parse_toml(text, |r: &Rules| r.format, RULES_FORMAT, "rules")
}

/// The digest of a rules version: SHA-256 over the file's bytes, as filed (a rules document is
/// filed as written, so its exact text is what the digest names).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RulesDigest(pub String);

impl RulesDigest {
    pub fn of(source: &str) -> RulesDigest {
        RulesDigest(crate::source::digest_of(source.as_bytes()))
    }

    /// The raw 32 bytes, for the audit ledger.
    pub fn bytes(&self) -> [u8; 32] {
        crate::source::digest_bytes(&self.0)
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        crate::source::digest_short(&self.0)
    }
}

impl std::fmt::Display for RulesDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A first draft of the rules from a policy: one section per security measure, with the
/// measure's title, owner and text, enacted and effective on `on`. What `tokutei rules draft`
/// prints for the privacy office to write out, and what the demo registers.
pub fn draft(policy: &Policy, on: Date) -> Rules {
    Rules {
        format: RULES_FORMAT,
        title: Text::new("特定利用者情報取扱規程", "Specified user information handling rules"),
        enacted: on,
        effective: on,
        sections: policy
            .security
            .measures
            .iter()
            .map(|m| RulesSection {
                measure: m.kind,
                title: m.title.clone(),
                owner: Some(m.owner),
                text: m.text.clone(),
            })
            .collect(),
    }
}

/// Write rules as TOML.
pub fn rules_to_toml(rules: &Rules) -> String {
    // INVARIANT: every field serialises to TOML (no maps, no values after tables).
    toml::to_string_pretty(rules).expect("rules model serialises to TOML")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_reads_back_as_written() {
        let policy = crate::parse(include_str!("../policies/hoshizora-tsushin.toml")).unwrap();
        let on = Date::new(2026, 4, 1).unwrap();
        let rules = draft(&policy, on);
        assert_eq!(rules.sections.len(), policy.security.measures.len());
        let text = rules_to_toml(&rules);
        assert_eq!(parse_rules(&text).unwrap(), rules);
        assert!(crate::check::check_rules(&text).is_valid(), "{:?}", crate::check::check_rules(&text).diagnostics);
    }

    #[test]
    fn the_digest_names_the_exact_text() {
        let a = RulesDigest::of("format = 1\n");
        assert_eq!(a, RulesDigest::of("format = 1\n"));
        assert_ne!(a, RulesDigest::of("format = 1 \n"));
        assert_eq!(a.short().len(), 12);
        assert_eq!(hex::encode(a.bytes()), a.0.trim_start_matches("sha256:"));
    }
}
