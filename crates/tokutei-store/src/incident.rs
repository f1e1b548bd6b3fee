//! The leak-incident register (漏えい等事案): incidents as append-only versions of their
//! fields (saved "as far as known", every change a new version), the reports each regime
//! owes with their due dates, recipients and submission records, the impact computed from the
//! audit ledger (affected subscriber ids and categories, each count backed by entry indexes),
//! the notices sent to the persons and the alternative measure, and the public entry as
//! append-only versions with its withdrawal.
//!
//! The records are append-only in the database itself (both backends' `0012_incidents`): a
//! version, a submission, an impact, a notice or a publication is never changed; an obligation
//! is replaced only while nothing was submitted for it; and a withdrawal is refused while the
//! publication window (`listed_until`, carried by each publication row) has not ended.
//! The rules that fill these records (deadlines, triage, report items, the window) live in
//! `tokutei_app::incidents`; here they are only kept.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokutei_policy::{Date, Text};

use crate::StoreResult;

/// A reporting regime an incident falls under; each has its own reports, filed separately
/// (legal-requirements §1.9). The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// 通信の秘密の漏えい (電気通信事業法28条, 規則57条).
    Secrecy,
    /// 特定利用者情報の漏えい (電気通信事業法27条の5 designated carriers).
    Tokutei,
    /// 個人データの漏えい等 (個人情報保護法26条, 規則7条・8条).
    Appi,
}

impl Regime {
    pub const ALL: [Regime; 3] = [Regime::Secrecy, Regime::Tokutei, Regime::Appi];

    pub fn code(self) -> &'static str {
        match self {
            Regime::Secrecy => "secrecy",
            Regime::Tokutei => "tokutei",
            Regime::Appi => "appi",
        }
    }

    pub fn from_code(code: &str) -> Option<Regime> {
        Regime::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The regime's name in Japanese.
    pub fn ja(self) -> &'static str {
        match self {
            Regime::Secrecy => "通信の秘密の漏えい（電気通信事業法28条）",
            Regime::Tokutei => "特定利用者情報の漏えい（電気通信事業法27条の5）",
            Regime::Appi => "個人データの漏えい等（個人情報保護法26条）",
        }
    }

    /// The regime's name in English.
    pub fn en(self) -> &'static str {
        match self {
            Regime::Secrecy => "Leak of secrecy of communications (Telecommunications Business Act art. 28)",
            Regime::Tokutei => "Leak of specified user information (Telecommunications Business Act art. 27-5)",
            Regime::Appi => "Leak of personal data (APPI art. 26)",
        }
    }
}

/// A report an obligation asks for. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Report {
    /// 第一報 (secrecy, tokutei): "速やかに" after discovery.
    First,
    /// 詳報 (secrecy, tokutei): the detailed report, a final one.
    Detailed,
    /// 速報 (APPI): "速やかに" after the carrier knew.
    Preliminary,
    /// 確報 (APPI): the final report.
    Final,
}

impl Report {
    pub const ALL: [Report; 4] = [Report::First, Report::Detailed, Report::Preliminary, Report::Final];

    pub fn code(self) -> &'static str {
        match self {
            Report::First => "first",
            Report::Detailed => "detailed",
            Report::Preliminary => "preliminary",
            Report::Final => "final",
        }
    }

    pub fn from_code(code: &str) -> Option<Report> {
        Report::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Whether this is the last report of its regime (詳報, 確報): every item must be filled.
    pub fn is_final(self) -> bool {
        matches!(self, Report::Detailed | Report::Final)
    }

    pub fn ja(self) -> &'static str {
        match self {
            Report::First => "第一報",
            Report::Detailed => "詳報",
            Report::Preliminary => "速報",
            Report::Final => "確報",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Report::First => "first report",
            Report::Detailed => "detailed report",
            Report::Preliminary => "preliminary report",
            Report::Final => "final report",
        }
    }
}

/// Where an incident stands: open → reported → closed. The codes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    Reported,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 3] = [IncidentStatus::Open, IncidentStatus::Reported, IncidentStatus::Closed];

    pub fn code(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Reported => "reported",
            IncidentStatus::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<IncidentStatus> {
        IncidentStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn ja(self) -> &'static str {
        match self {
            IncidentStatus::Open => "対応中",
            IncidentStatus::Reported => "報告済み",
            IncidentStatus::Closed => "完了",
        }
    }
}

/// When the leak occurred, as far as known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Occurrence {
    #[default]
    Unknown,
    At {
        at: Timestamp,
    },
    /// Somewhere in `from..=to` (a leak that went on, or a moment not pinned down).
    Between {
        from: Timestamp,
        to: Timestamp,
    },
}

/// How many persons are affected, exact or estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persons {
    pub count: u64,
    #[serde(default)]
    pub estimated: bool,
}

/// The APPI triage flags (規則7条): what was leaked and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Flags {
    /// 要配慮個人情報 is involved.
    pub sensitive: bool,
    /// Financial damage may follow (payment details…).
    pub financial: bool,
    /// An unlawful purpose is suspected (unauthorised access, insider theft).
    pub malicious: bool,
    /// The data was protected by strong (高度な) encryption.
    pub encrypted: bool,
}

/// A processor (委託先) linked to the incident, with when it notified the carrier (APPI §2b.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessorLink {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notified_at: Option<Timestamp>,
}

/// Every field of an incident, saved partly filled ("as far as known"). Free texts are
/// Japanese (the reports are); the title and the summary carry an English translation too.
/// Stored as one JSON document per version: adding a field later is adding an optional key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentFields {
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Text>,
    #[serde(default)]
    pub occurred: Occurrence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_at: Option<Timestamp>,
    /// The moment the carrier knew: the report clocks run from it.
    pub known_at: Timestamp,
    /// How it was discovered (発覚の経緯).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<String>,
    /// Category ids of the policy affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Service ids of the policy affected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// What leaked, in words (漏えいした情報の内容).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons: Option<Persons>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Secondary damage or its risk (二次被害又はそのおそれ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary_damage: Option<String>,
    /// The response to the persons affected (本人・利用者への対応).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Recurrence prevention (再発防止策).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prevention: Option<String>,
    /// Other reference information (その他参考となる事項).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    pub status: IncidentStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processors: Vec<ProcessorLink>,
    pub regimes: Vec<Regime>,
    #[serde(default)]
    pub flags: Flags,
    /// Values of the deployment's own report items, by item id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

/// One version of an incident: what it said after a change, who changed it and the audit
/// entry that recorded the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentVersion {
    pub incident: String,
    /// 1, 2, 3… without gaps.
    pub version: u32,
    pub fields: IncidentFields,
    /// What the change was: `opened`, `updated`, `triaged`.
    pub change: String,
    pub changed_by: String,
    pub changed_at: Timestamp,
    pub audit_index: u64,
}

/// A report owed under a regime, as computed by the deployment's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObligation {
    pub regime: Regime,
    pub report: Report,
    /// The last day (Asia/Tokyo) the report may be filed.
    pub due: Date,
    /// Who receives it (the competent 総合通信局…).
    pub recipient: String,
    /// Whether the rule behind the due date is unconfirmed (a configured assumption).
    pub unconfirmed: bool,
}

/// How a report was submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub submitted_at: Timestamp,
    pub recipient: String,
    /// The recipient's reference number (受付番号), when one was given.
    pub reference: Option<String>,
    /// SHA-256 of the document as submitted.
    pub digest: [u8; 32],
    pub submitted_by: String,
    pub audit_index: u64,
}

/// An obligation with its submission, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    pub obligation: NewObligation,
    pub submission: Option<Submission>,
}

/// An incident as registered: its latest version and its obligations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIncident {
    pub id: String,
    pub created_at: Timestamp,
    pub current: IncidentVersion,
    /// In regime, then report order.
    pub obligations: Vec<Obligation>,
}

/// What an impact computation looked at.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImpactScope {
    /// Reads by this principal…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// …or through this API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Only these categories (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Inclusive.
    pub since: Timestamp,
    /// Exclusive.
    pub until: Timestamp,
}

/// One affected (subscriber, category): how many times it was read, by which entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactItem {
    pub subscriber: String,
    pub category: String,
    /// Ledger indexes of the entries that read it, ascending (their number is the count).
    pub indexes: Vec<u64>,
}

/// An impact computed from the ledger and kept on the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impact {
    pub incident: String,
    /// 1, 2, 3… per incident (the latest is current).
    pub number: u32,
    pub scope: ImpactScope,
    /// The ledger's size when it was computed (entries below it were looked at).
    pub tree_size: u64,
    pub computed_by: String,
    pub computed_at: Timestamp,
    pub audit_index: u64,
    /// By subscriber, then category.
    pub items: Vec<ImpactItem>,
}

/// A notice sent to one person (APPI 26条2項).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSent {
    pub incident: String,
    pub subscriber: String,
    /// How it was sent: `email`, `post`, `phone`, `sms`, `other`.
    pub method: String,
    pub sent_at: Timestamp,
    pub recorded_by: String,
    pub audit_index: u64,
}

/// The alternative measure (publication…) taken when notice is impossible, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternativeMeasure {
    pub incident: String,
    pub measure: String,
    pub reason: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

/// One version of an incident's public entry. A correction is a new version; every version
/// stays (the public history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub incident: String,
    /// 1 is the first publication, later ones corrections.
    pub version: u32,
    /// The date of occurrence shown (発生日).
    pub occurred: Date,
    /// 事故内容, without personal data.
    pub summary: Text,
    pub published_at: Timestamp,
    /// `published_at`'s date in Asia/Tokyo.
    pub published_on: Date,
    /// The last day the entry is listed: it cannot be withdrawn until this day has passed.
    pub listed_until: Date,
    pub published_by: String,
    pub audit_index: u64,
}

/// The withdrawal of a public entry (only once its window has ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    pub incident: String,
    pub withdrawn_at: Timestamp,
    /// `withdrawn_at`'s date in Asia/Tokyo.
    pub withdrawn_on: Date,
    pub reason: String,
    pub withdrawn_by: String,
    pub audit_index: u64,
}

/// The incident register.
pub trait IncidentStore {
    /// Register a new incident with its first version (number 1) and its obligations; an id
    /// already used is a conflict.
    fn create_incident(&self, first: &IncidentVersion, obligations: &[NewObligation]) -> StoreResult<()>;

    /// Keep a new version of an incident (its number must follow the latest, else a conflict:
    /// someone else changed it meanwhile). With `obligations`, the obligations nothing was
    /// submitted for are replaced by them, in the same transaction; a submitted one is kept as
    /// it is, and a new one for its regime and report is ignored.
    fn add_incident_version(&self, version: &IncidentVersion, obligations: Option<&[NewObligation]>)
    -> StoreResult<()>;

    fn incident(&self, id: &str) -> StoreResult<Option<StoredIncident>>;

    /// Incidents, newest first, at most `limit`.
    fn incidents(&self, limit: usize) -> StoreResult<Vec<StoredIncident>>;

    /// Every version of an incident, oldest first.
    fn incident_versions(&self, id: &str) -> StoreResult<Vec<IncidentVersion>>;

    /// Record the submission of a report; `NotFound` when the incident does not owe it, a
    /// conflict when it was submitted already.
    fn record_submission(
        &self,
        incident: &str,
        regime: Regime,
        report: Report,
        submission: &Submission,
    ) -> StoreResult<()>;

    /// Every obligation nothing was submitted for, with its incident's id, by due date.
    fn open_obligations(&self) -> StoreResult<Vec<(String, NewObligation)>>;

    /// Keep an impact (its number must follow the latest, else a conflict).
    fn add_impact(&self, impact: &Impact) -> StoreResult<()>;

    /// The impacts of an incident, oldest first.
    fn impacts(&self, incident: &str) -> StoreResult<Vec<Impact>>;

    /// Log notices sent, all or nothing.
    fn record_notices(&self, notices: &[NoticeSent]) -> StoreResult<()>;

    /// The notices of an incident, in the order recorded.
    fn notices(&self, incident: &str) -> StoreResult<Vec<NoticeSent>>;

    fn record_alternative(&self, measure: &AlternativeMeasure) -> StoreResult<()>;

    /// The alternative measures of an incident, in the order recorded.
    fn alternatives(&self, incident: &str) -> StoreResult<Vec<AlternativeMeasure>>;

    /// Keep a version of the public entry (its number must follow the latest, else a conflict).
    fn publish_incident(&self, publication: &Publication) -> StoreResult<()>;

    /// The versions of an incident's public entry, oldest first.
    fn publications(&self, incident: &str) -> StoreResult<Vec<Publication>>;

    /// Every version of every public entry that was not withdrawn, by incident then version.
    fn published_incidents(&self) -> StoreResult<Vec<Publication>>;

    /// Withdraw a public entry. The database refuses it (a conflict) while the window of a
    /// publication of the incident has not ended, by its own clock or by `withdrawn_on`.
    fn withdraw_incident(&self, withdrawal: &Withdrawal) -> StoreResult<()>;

    fn withdrawal(&self, incident: &str) -> StoreResult<Option<Withdrawal>>;
}
