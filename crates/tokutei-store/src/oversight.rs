//! The oversight registers of a designated carrier (電気通信事業法27条の5–27条の11): the
//! designation (告示 date and the services it covers), the filings made to the ministry (the
//! 情報取扱規程, 27条の6; the notification of a chief manager, 27条の10), the register of the
//! chief manager (特定利用者情報統括管理者) appointments, and the log of the chief manager's
//! opinions with the company's responses (27条の11).
//!
//! Every record is legal evidence: nothing is ever deleted or edited. A designation is
//! corrected by recording a new one (the latest is in force); a filing or a response by
//! recording another. The one change a stored row knows is the end of an appointment: when a
//! new chief manager is appointed, the appointment in force ends the day before the new one
//! starts, in the same transaction — so exactly one appointment is open at any time once the
//! first is made, and appointments never overlap (both guarded by the database itself, on
//! every backend). Texts (qualification evidence, opinions, responses) are the privacy
//! office's business records, never a subscriber's personal data; the ledger keeps their
//! digests.

use jiff::Timestamp;
use tokutei_policy::Date;

use crate::StoreResult;

/// A designation as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDesignation {
    /// The date of the 告示 that designated the carrier.
    pub notified_on: Date,
    /// The designated services, by the policy's service ids (checked by the caller).
    pub services: Vec<String>,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    /// The audit entry that recorded it.
    pub audit_index: u64,
}

/// A stored designation: the latest number is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDesignation {
    /// 1, 2, 3… in the order recorded.
    pub number: u32,
    pub designation: NewDesignation,
}

/// What a filing to the ministry was. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilingKind {
    /// The 情報取扱規程 (27条の6).
    Rules,
    /// The notification of a chief manager's appointment (27条の10).
    ManagerNotification,
}

impl FilingKind {
    pub const ALL: [FilingKind; 2] = [FilingKind::Rules, FilingKind::ManagerNotification];

    pub fn code(self) -> &'static str {
        match self {
            FilingKind::Rules => "rules",
            FilingKind::ManagerNotification => "manager_notification",
        }
    }

    pub fn from_code(code: &str) -> Option<FilingKind> {
        FilingKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A filing to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFiling {
    pub kind: FilingKind,
    /// The appointment notified (a [`FilingKind::ManagerNotification`] only; `None` otherwise).
    pub appointment: Option<String>,
    /// The version of the 規程 filed (a [`FilingKind::Rules`] only; `None` for a notification,
    /// and for a filing of the rules recorded before the rules were versioned).
    pub rules_version: Option<u32>,
    /// The day it was filed (Asia/Tokyo).
    pub filed_on: Date,
    /// The ministry's receipt or the office's own file reference.
    pub reference: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

impl NewFiling {
    /// A conflict unless a manager notification, and only it, names an appointment, and only
    /// a filing of the rules names a rules version (each backend checks this first).
    pub fn check_shape(&self) -> StoreResult<()> {
        if (self.kind == FilingKind::ManagerNotification) != self.appointment.is_some() {
            return Err(crate::StoreError::Conflict(format!(
                "a {} filing {} an appointment",
                self.kind.code(),
                if self.appointment.is_some() { "names no" } else { "names" }
            )));
        }
        if self.kind != FilingKind::Rules && self.rules_version.is_some() {
            return Err(crate::StoreError::Conflict(format!("a {} filing names no rules version", self.kind.code())));
        }
        Ok(())
    }
}

/// A stored filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFiling {
    /// 1, 2, 3… in the order recorded.
    pub number: u64,
    pub filing: NewFiling,
}

/// A version of the 情報取扱規程 (27条の6) to record: the rules file as written. The rules are
/// the office's own document, never a subscriber's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRulesVersion {
    /// 1, 2, 3… — the next number (a conflict otherwise).
    pub version: u32,
    /// The rules file's text.
    pub source: String,
    /// `sha256:…` of `source`.
    pub digest: String,
    /// The day the version takes effect (施行日).
    pub effective: Date,
    pub registered_by: String,
    pub registered_at: Timestamp,
    pub audit_index: u64,
}

/// A chief manager's appointment to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppointment {
    /// Unique.
    pub id: String,
    /// The person appointed: a principal of the staff registry.
    pub principal: String,
    /// The first day of the appointment.
    pub from: Date,
    /// The qualification evidence (a text or a reference to a document), when given.
    pub evidence: Option<String>,
    pub appointed_by: String,
    pub appointed_at: Timestamp,
    pub audit_index: u64,
}

/// A stored appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppointment {
    pub appointment: NewAppointment,
    /// The last day of the appointment: `None` while it is in force.
    pub to: Option<Date>,
}

/// A chief manager's opinion (意見, 27条の11) to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOpinion {
    /// Unique.
    pub id: String,
    /// The appointment of the chief manager who gave it.
    pub appointment: String,
    pub given_on: Date,
    pub subject: String,
    pub text: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

/// The company's response to an opinion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOpinionResponse {
    pub opinion: String,
    pub responded_on: Date,
    pub text: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

/// A stored opinion with its responses, oldest first (the latest is the company's answer;
/// earlier ones are kept as given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOpinion {
    pub opinion: NewOpinion,
    pub responses: Vec<NewOpinionResponse>,
}

/// The oversight registers.
pub trait OversightStore {
    /// Record a designation; its number.
    fn add_designation(&self, designation: &NewDesignation) -> StoreResult<u32>;

    /// Every designation recorded, oldest first (the last is in force).
    fn designations(&self) -> StoreResult<Vec<StoredDesignation>>;

    /// Record a filing; its number. A manager notification names a known appointment
    /// (`NotFound` otherwise) and no other filing names one; a filing of the rules names a
    /// known version (`NotFound` otherwise), and no other filing names one.
    fn add_filing(&self, filing: &NewFiling) -> StoreResult<u64>;

    /// Every filing, oldest first.
    fn oversight_filings(&self) -> StoreResult<Vec<StoredFiling>>;

    /// Record a version of the 規程: a conflict, with nothing changed, unless `version` is the
    /// next number.
    fn add_rules_version(&self, rules: &NewRulesVersion) -> StoreResult<()>;

    /// Every version of the 規程, the first first.
    fn rules_versions(&self) -> StoreResult<Vec<NewRulesVersion>>;

    /// Appoint a chief manager: in one transaction, the appointment in force (if any) ends
    /// the day before `from`, and the new one opens. The id of the appointment it ended. A
    /// conflict, with nothing changed, when the id is taken or `from` is not after the start
    /// of the appointment in force.
    fn add_appointment(&self, appointment: &NewAppointment) -> StoreResult<Option<String>>;

    /// Every appointment, the earliest first.
    fn appointments(&self) -> StoreResult<Vec<StoredAppointment>>;

    /// Record an opinion: a conflict when the id is taken, `NotFound` for an unknown
    /// appointment.
    fn add_opinion(&self, opinion: &NewOpinion) -> StoreResult<()>;

    /// Record a response to an opinion: `NotFound` for an unknown opinion.
    fn add_opinion_response(&self, response: &NewOpinionResponse) -> StoreResult<()>;

    /// Every opinion with its responses, the earliest given first.
    fn opinions(&self) -> StoreResult<Vec<StoredOpinion>>;
}

/// A report of a violation, or a sign of one, of the security measures (安全管理措置): filed
/// by a member of staff or raised by a detector over the audit ledger. The text is the
/// reporter's (or the detector's) and stays in the store: the ledger keeps its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewViolationReport {
    /// Unique (`VR-1`, `VR-2`…).
    pub id: String,
    /// The detector's code when a detector raised it; `None` for a staff report.
    pub detector: Option<String>,
    /// The principal concerned.
    pub principal: String,
    /// The security measure concerned, (1)–(7) of the policy.
    pub measure: u8,
    pub text: String,
    /// A detector's finding key: no two reports share one (running a detector twice over
    /// the same window files nothing new).
    pub dedupe_key: Option<String>,
    pub reported_by: String,
    pub received_at: Timestamp,
    /// When it must be acknowledged.
    pub ack_due: Timestamp,
    pub audit_index: u64,
}

/// What happened to a report. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationEventKind {
    /// A responsible person has it in hand.
    Acknowledged,
    /// Closed: no violation.
    ResolvedNone,
    /// Closed: a violation.
    ResolvedViolation,
}

impl ViolationEventKind {
    pub const ALL: [ViolationEventKind; 3] =
        [ViolationEventKind::Acknowledged, ViolationEventKind::ResolvedNone, ViolationEventKind::ResolvedViolation];

    pub fn code(self) -> &'static str {
        match self {
            ViolationEventKind::Acknowledged => "acknowledged",
            ViolationEventKind::ResolvedNone => "resolved_none",
            ViolationEventKind::ResolvedViolation => "resolved_violation",
        }
    }

    pub fn from_code(code: &str) -> Option<ViolationEventKind> {
        ViolationEventKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// A change of a report's state (appended, never edited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewViolationEvent {
    pub report: String,
    pub kind: ViolationEventKind,
    /// The resolution's text.
    pub text: Option<String>,
    /// The incident a violation is linked to.
    pub incident: Option<String>,
    pub by: String,
    pub at: Timestamp,
    pub audit_index: u64,
}

/// A stored report with its events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredViolation {
    pub report: NewViolationReport,
    pub events: Vec<NewViolationEvent>,
}

/// The violation reporting line (報告体制, the security measures' reporting line).
pub trait ViolationStore {
    /// Record a report: a conflict, with nothing stored, when its id or its dedupe key is
    /// taken.
    fn add_violation_report(&self, report: &NewViolationReport) -> StoreResult<()>;

    /// Append an event to a report: `NotFound` for an unknown report.
    fn add_violation_event(&self, event: &NewViolationEvent) -> StoreResult<()>;

    /// Every report with its events, in the order received.
    fn violation_reports(&self) -> StoreResult<Vec<StoredViolation>>;
}
