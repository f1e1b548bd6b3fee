//! The 情報取扱規程 (information handling rules, 27条の6): versions of the carrier's internal
//! rules and their filings with the ministry. A version is a rules file as written
//! ([`tokutei_policy::rules`]) that passes the check (a section for each of the seven measures,
//! each with an owner role and a text); it is registered by a manager, numbered 1, 2, 3…, and
//! named in the ledger by its digest. A filing names the version it filed; a version never
//! filed is flagged wherever versions are listed, and the earliest filing meets the designation's
//! deadline for the 規程 ([`super::designation`]).

use jiff::Timestamp;
use serde_json::{Value, json};
use tokutei_ledger::AdminAction;
use tokutei_policy::check::check_rules;
use tokutei_policy::rules::{Rules, RulesDigest, parse_rules};
use tokutei_policy::{Date, tokyo};
use tokutei_store::oversight::{FilingKind, NewFiling, NewRulesVersion, StoredFiling};

use super::designation::FilingRecorded;
use super::{past_date, reference};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};

/// The largest rules file registered (bytes).
pub const RULES_MAX_BYTES: usize = 256 * 1024;

/// The filing of a version of the 規程, as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFilingInput {
    /// The version filed.
    pub version: u32,
    pub filed_on: Date,
    /// The ministry's receipt or the office's own file reference.
    pub reference: String,
}

/// What registering a version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesRegistered {
    pub version: u32,
    pub digest: RulesDigest,
    pub audit_index: u64,
    /// The check's warnings (errors refuse the file).
    pub warnings: Vec<String>,
}

/// A version of the 規程 with its filings.
#[derive(Debug, Clone, PartialEq)]
pub struct RulesVersionView {
    pub stored: NewRulesVersion,
    /// The document (it parsed when it was registered).
    pub rules: Rules,
    /// Its filings, the first first.
    pub filings: Vec<StoredFiling>,
    /// The version in force today: the latest whose effective date has come.
    pub in_force: bool,
}

impl RulesVersionView {
    /// Filed with the ministry at least once.
    pub fn filed(&self) -> bool {
        !self.filings.is_empty()
    }

    pub fn digest(&self) -> RulesDigest {
        RulesDigest(self.stored.digest.clone())
    }

    /// The version as the CLI's `--json` and the API give it.
    pub fn to_json(&self) -> Value {
        json!({
            "version": self.stored.version,
            "digest": self.stored.digest,
            "title": { "ja": self.rules.title.ja, "en": self.rules.title.en },
            "enacted": self.rules.enacted.to_string(),
            "effective": self.stored.effective.to_string(),
            "in_force": self.in_force,
            "filed": self.filed(),
            "filings": self.filings.iter().map(|f| json!({
                "number": f.number,
                "filed_on": f.filing.filed_on.to_string(),
                "reference": f.filing.reference,
                "recorded_by": f.filing.recorded_by,
                "recorded_at": f.filing.recorded_at.to_string(),
                "audit_index": f.filing.audit_index,
            })).collect::<Vec<_>>(),
            "sections": self.rules.sections.iter().map(|s| json!({
                "measure": s.measure.code(),
                "title": { "ja": s.title.ja, "en": s.title.en },
                "owner": s.owner,
                "text": { "ja": s.text.ja, "en": s.text.en },
            })).collect::<Vec<_>>(),
            "registered_by": self.stored.registered_by,
            "registered_at": self.stored.registered_at.to_string(),
            "audit_index": self.stored.audit_index,
        })
    }
}

fn subject(version: u32) -> String {
    format!("rules/v{version}")
}

/// The check's errors as one message, each with its line and field (`line 12 (sections[3]
/// .measure): section 4 (人的安全管理措置) names no owner`).
fn refusal(report: &tokutei_policy::check::RulesReport) -> ActionError {
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == tokutei_policy::check::Severity::Error)
        .map(|d| match (d.position, d.field.is_empty()) {
            (Some(p), false) => format!("line {} ({}): {}", p.line, d.field, d.message),
            (Some(p), true) => format!("line {}: {}", p.line, d.message),
            (None, _) => d.message.clone(),
        })
        .collect();
    ActionError::invalid("source", format!("the rules do not pass the check: {}", errors.join("; ")))
}

impl App {
    /// Register a version of the 規程, by a manager: the rules file must pass the check; a
    /// file identical to the latest version is a conflict. `rules_registered` (the file's
    /// digest) durable before it is stored.
    pub fn register_rules(&self, by: &Acting, source: &str, now: Timestamp) -> ActionResult<RulesRegistered> {
        let actor = self.authorize(by, MANAGERS, "register the information handling rules")?;
        if source.len() > RULES_MAX_BYTES {
            return Err(ActionError::invalid(
                "source",
                format!("is {} bytes; at most {RULES_MAX_BYTES}", source.len()),
            ));
        }
        let report = check_rules(source);
        if !report.is_valid() {
            return Err(refusal(&report));
        }
        let rules = report.rules.as_ref().ok_or_else(|| refusal(&report))?;
        let digest = RulesDigest::of(source);
        let versions = self.stores().rules_versions()?;
        if let Some(last) = versions.last().filter(|v| v.digest == digest.0) {
            return Err(ActionError::Conflict(format!("the rules are unchanged from version {}", last.version)));
        }
        let version =
            u32::try_from(versions.len() + 1).map_err(|_| ActionError::Conflict("too many versions".into()))?;
        let entry = AdminEntry::new(AdminAction::RulesRegistered, subject(version))
            .digest(digest.bytes())
            .detail("enacted", rules.enacted)
            .detail("effective", rules.effective)
            .detail("sections", rules.sections.len());
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_rules_version(&NewRulesVersion {
            version,
            source: source.to_string(),
            digest: digest.0.clone(),
            effective: rules.effective,
            registered_by: actor.id().to_string(),
            registered_at: now,
            audit_index,
        })?;
        let warnings = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == tokutei_policy::check::Severity::Warning)
            .map(|d| d.message.clone())
            .collect();
        Ok(RulesRegistered { version, digest, audit_index, warnings })
    }

    /// Record the filing of a version of the 規程 with the ministry, by a manager: a registered
    /// version, the filing date (not after today, not before the version was enacted) and its
    /// reference. `rules_filed` durable before it is stored; the earliest filing meets the
    /// designation's deadline.
    pub fn record_rules_filing(
        &self,
        by: &Acting,
        input: &RulesFilingInput,
        now: Timestamp,
    ) -> ActionResult<FilingRecorded> {
        let actor = self.authorize(by, MANAGERS, "record a filing")?;
        let filed_on = past_date("date", input.filed_on, tokyo::date_of(now))?;
        let reference = reference("reference", &input.reference)?;
        let view = self.rules_version(input.version, now)?;
        if filed_on < view.rules.enacted {
            return Err(ActionError::invalid(
                "date",
                format!("{filed_on} is before version {} was enacted ({})", input.version, view.rules.enacted),
            ));
        }
        let entry = AdminEntry::new(AdminAction::RulesFiled, format!("{}/rules", super::designation::SUBJECT))
            .detail("version", input.version)
            .detail("filed_on", filed_on)
            .detail("reference", &reference);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let number = self.stores().add_filing(&NewFiling {
            kind: FilingKind::Rules,
            appointment: None,
            rules_version: Some(input.version),
            filed_on,
            reference,
            recorded_by: actor.id().to_string(),
            recorded_at: now,
            audit_index,
        })?;
        Ok(FilingRecorded { number, audit_index })
    }

    /// Every version of the 規程 with its filings, the first first; which is in force at `now`.
    pub fn rules_versions(&self, now: Timestamp) -> ActionResult<Vec<RulesVersionView>> {
        let today = tokyo::date_of(now);
        let filings = self.stores().oversight_filings()?;
        let stored = self.stores().rules_versions()?;
        let in_force = stored.iter().filter(|v| v.effective <= today).map(|v| v.version).max();
        stored
            .into_iter()
            .map(|v| {
                let rules = parse_rules(&v.source).map_err(|e| {
                    ActionError::Conflict(format!("stored rules version {} does not read: {e}", v.version))
                })?;
                Ok(RulesVersionView {
                    filings: filings
                        .iter()
                        .filter(|f| f.filing.kind == FilingKind::Rules && f.filing.rules_version == Some(v.version))
                        .cloned()
                        .collect(),
                    in_force: in_force == Some(v.version),
                    rules,
                    stored: v,
                })
            })
            .collect()
    }

    /// One version of the 規程.
    pub fn rules_version(&self, version: u32, now: Timestamp) -> ActionResult<RulesVersionView> {
        self.rules_versions(now)?
            .into_iter()
            .find(|v| v.stored.version == version)
            .ok_or_else(|| ActionError::NotFound(format!("rules version {version}")))
    }
}
