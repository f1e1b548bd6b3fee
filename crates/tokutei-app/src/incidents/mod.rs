//! The leak-incident register (漏えい等事案) as application functions, one per action, each
//! validated → audited (durable, `incident/<id>`) → stored, managers changing and everyone
//! else reading (the front ends' route tables keep auditors to reading):
//!
//! - [`rules`] — pure: the regimes' deadlines, the APPI triage, the report items;
//! - `register` — [`App::open_incident`] (with its obligations computed),
//!   [`App::update_incident`] (partial; deadlines follow the facts), [`App::triage_incident`]
//!   (flags and regimes → obligations recomputed, submitted ones kept), [`App::incidents`],
//!   [`App::incident`], [`App::incident_history`] and [`App::open_obligations`] (days left,
//!   overdue: for the dashboard and the escalations);
//! - `reports` — [`App::report_document`] (the items each report carries, filled from the
//!   incident) and [`App::submit_report`] (a final report only with every item filled; the
//!   digest of the document as submitted in the entry's digest field);
//! - `impact` — [`App::compute_impact`] (which subscribers and categories a principal, an API
//!   token or a set of categories read in a window, by ledger index) and
//!   [`App::impact_proof`] (an inclusion proof of any of those entries against a checkpoint);
//! - `notices` — [`App::notice_letters`] (contacts read through the gateway, audited, never
//!   stored), [`App::record_notices`] (a sent log per person) and
//!   [`App::record_alternative_measure`];
//! - `publication` — [`App::publish_incident`], [`App::correct_publication`] (a new version;
//!   the old text stays in the public history), [`App::withdraw_incident`] (refused inside the
//!   window, by this layer and by the database) and [`public_entries`]/[`published_leaks`], the
//!   register as the public list (`/leaks`, the policy page's 事故内容).
//!
//! The ledger gets ids, codes, dates, counts and digests: never a contact, a name or a text.

mod impact;
mod notices;
mod publication;
mod register;
mod reports;
pub mod rules;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokutei_policy::Date;
use tokutei_store::incident::{
    AlternativeMeasure, IncidentFields, IncidentStatus, IncidentVersion, NewObligation, Obligation, Publication,
    Regime, Report, Submission, Withdrawal,
};

pub use impact::{ImpactItemView, ImpactOutcome, ImpactQuery};
pub use notices::{Letter, NoticeLetters, NoticeMethod, NoticeRead, NoticesRecorded};
pub use publication::{PublicEntry, public_entries, published_leaks};
pub use register::{IncidentPatch, NewIncident, OpenObligation, TriageInput};
pub use reports::{ReportDocument, ReportItem, SubmitReport};
pub use rules::Triage;

use crate::error::{ActionError, ActionResult};

/// The ledger subject of an incident.
pub(crate) fn subject(id: &str) -> String {
    format!("incident/{id}")
}

/// The most characters of a title or a name.
pub const TITLE_MAX: usize = 200;
/// The most characters of a free text (summary, cause, response…).
pub const TEXT_MAX: usize = 4_000;

/// A free text: trimmed, at most `max` characters, no control characters but line breaks and
/// tabs (`lines`) — or none at all. Empty is `None`.
pub(crate) fn text(field: &'static str, value: &str, max: usize, lines: bool) -> ActionResult<Option<String>> {
    let value = value.trim().replace("\r\n", "\n");
    if value.chars().any(|c| c.is_control() && !(lines && matches!(c, '\n' | '\t'))) {
        return Err(ActionError::invalid(field, "holds a control character"));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(ActionError::invalid(field, format!("has {chars} characters; at most {max}")));
    }
    Ok((!value.is_empty()).then_some(value))
}

/// SHA-256 of an incident version's fields as stored (the entry's digest).
pub(crate) fn fields_digest(fields: &IncidentFields) -> [u8; 32] {
    // INVARIANT: the fields are plain data (strings, numbers, a sorted map): they serialise.
    let bytes = serde_json::to_vec(fields).expect("incident fields serialise");
    Sha256::digest(bytes).into()
}

/// How a report was submitted, as the front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmissionView {
    pub submitted_at: Timestamp,
    pub recipient: String,
    pub reference: Option<String>,
    /// SHA-256 of the document as submitted, hex.
    pub digest: String,
    pub submitted_by: String,
    pub audit_index: u64,
}

impl From<&Submission> for SubmissionView {
    fn from(s: &Submission) -> SubmissionView {
        SubmissionView {
            submitted_at: s.submitted_at,
            recipient: s.recipient.clone(),
            reference: s.reference.clone(),
            digest: hex::encode(s.digest),
            submitted_by: s.submitted_by.clone(),
            audit_index: s.audit_index,
        }
    }
}

/// A report owed, with its clock on `today`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObligationView {
    pub regime: Regime,
    pub report: Report,
    #[serde(serialize_with = "crate::dates::text")]
    pub due: Date,
    pub recipient: String,
    /// The rule behind the due date is a configured assumption, not confirmed law.
    pub unconfirmed: bool,
    pub submission: Option<SubmissionView>,
    /// Days from today to the due date (negative once overdue); `None` once submitted.
    pub days_left: Option<i64>,
    /// Not submitted, and the due date has passed.
    pub overdue: bool,
}

impl ObligationView {
    /// The obligation as the CLI's `--json` and the API give it: one flat object (`regime`,
    /// `report`, `due`, `submitted_at`, `recipient`, `unconfirmed`, `days_left`, `overdue`,
    /// `reference`, `digest`, `audit_index`), the submission's fields `null` until submitted.
    pub fn to_json(&self) -> serde_json::Value {
        let submission = self.submission.as_ref();
        serde_json::json!({
            "regime": self.regime.code(),
            "report": self.report.code(),
            "due": self.due.to_string(),
            "submitted_at": submission.map(|s| s.submitted_at),
            "recipient": self.recipient,
            "unconfirmed": self.unconfirmed,
            "days_left": self.days_left,
            "overdue": self.overdue,
            "reference": submission.and_then(|s| s.reference.clone()),
            "digest": submission.map(|s| s.digest.clone()),
            "audit_index": submission.map(|s| s.audit_index),
        })
    }

    pub(crate) fn new(o: &NewObligation, submission: Option<&Submission>, today: Date) -> ObligationView {
        let days_left = submission.is_none().then(|| rules::days_left(o.due, today));
        ObligationView {
            regime: o.regime,
            report: o.report,
            due: o.due,
            recipient: o.recipient.clone(),
            unconfirmed: o.unconfirmed,
            submission: submission.map(SubmissionView::from),
            days_left,
            overdue: days_left.is_some_and(|d| d < 0),
        }
    }

    pub(crate) fn of(o: &Obligation, today: Date) -> ObligationView {
        ObligationView::new(&o.obligation, o.submission.as_ref(), today)
    }
}

/// A version of the public entry, as the front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicationView {
    pub version: u32,
    #[serde(serialize_with = "crate::dates::text")]
    pub occurred: Date,
    pub summary_ja: String,
    pub summary_en: Option<String>,
    pub published_at: Timestamp,
    #[serde(serialize_with = "crate::dates::text")]
    pub listed_until: Date,
    pub published_by: String,
    pub audit_index: u64,
}

impl From<&Publication> for PublicationView {
    fn from(p: &Publication) -> PublicationView {
        PublicationView {
            version: p.version,
            occurred: p.occurred,
            summary_ja: p.summary.ja.clone(),
            summary_en: p.summary.en.clone(),
            published_at: p.published_at,
            listed_until: p.listed_until,
            published_by: p.published_by.clone(),
            audit_index: p.audit_index,
        }
    }
}

/// The withdrawal of a public entry, as the front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithdrawalView {
    pub withdrawn_at: Timestamp,
    pub reason: String,
    pub withdrawn_by: String,
    pub audit_index: u64,
}

impl From<&Withdrawal> for WithdrawalView {
    fn from(w: &Withdrawal) -> WithdrawalView {
        WithdrawalView {
            withdrawn_at: w.withdrawn_at,
            reason: w.reason.clone(),
            withdrawn_by: w.withdrawn_by.clone(),
            audit_index: w.audit_index,
        }
    }
}

/// The latest impact of an incident, in short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactSummary {
    pub number: u32,
    pub subscribers: usize,
    pub categories: BTreeMap<String, usize>,
    pub reads: usize,
    pub computed_at: Timestamp,
    pub audit_index: u64,
}

/// An incident as the register shows it on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentView {
    pub id: String,
    pub status: IncidentStatus,
    /// The number of its latest version.
    pub version: u32,
    pub created_at: Timestamp,
    pub changed_at: Timestamp,
    pub changed_by: String,
    pub fields: IncidentFields,
    /// The APPI triage of its flags and number of persons.
    pub triage: Triage,
    pub obligations: Vec<ObligationView>,
    pub impact: Option<ImpactSummary>,
    /// How many notices were recorded as sent.
    pub notices: usize,
    pub alternatives: Vec<AlternativeView>,
    /// The versions of its public entry, oldest first.
    pub publications: Vec<PublicationView>,
    /// The last day its public entry is listed (it cannot be withdrawn before).
    #[serde(serialize_with = "crate::dates::opt_text")]
    pub listed_until: Option<Date>,
    pub withdrawal: Option<WithdrawalView>,
}

impl IncidentView {
    /// The incident as the CLI's `--json` and the API give it: the view, with its obligations
    /// as flat objects ([`ObligationView::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        json["obligations"] = self.obligations.iter().map(ObligationView::to_json).collect();
        json
    }
}

/// A version of an incident as the CLI's `--json` and the API give it: `id` (the version's
/// number), `version`, `change`, `changed_by`, `changed_at`, `audit_index`, `fields`.
pub fn version_json(v: &IncidentVersion) -> serde_json::Value {
    serde_json::json!({
        "id": v.version, "version": v.version, "change": v.change, "changed_by": v.changed_by,
        "changed_at": v.changed_at, "audit_index": v.audit_index, "fields": v.fields,
    })
}

/// An alternative measure, as the front ends show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlternativeView {
    pub measure: String,
    pub reason: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

impl From<&AlternativeMeasure> for AlternativeView {
    fn from(m: &AlternativeMeasure) -> AlternativeView {
        AlternativeView {
            measure: m.measure.clone(),
            reason: m.reason.clone(),
            recorded_by: m.recorded_by.clone(),
            recorded_at: m.recorded_at,
            audit_index: m.audit_index,
        }
    }
}
