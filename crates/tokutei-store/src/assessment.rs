//! The register of the annual assessment (評価, 電気通信事業法27条の9): one assessment per
//! business year, opened once, and the events that fill it — a measure assessed (with its
//! result, note and evidence links), a finding, a remediation action, the completion. Every
//! record is evidence: nothing is edited or deleted; a measure assessed again is a newer
//! event (the latest counts). Nothing is added to an assessment once it is completed, and a
//! second assessment of a year is refused — both by the database itself, on every backend.
//!
//! An event's contents are the application's JSON document (`body`): the store keeps it
//! whole and does not read it.

use jiff::Timestamp;

use crate::StoreResult;

/// An assessment to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssessment {
    /// The business year, by the calendar year it starts in (2026: 2026-04-01 – 2027-03-31
    /// with the default start month). Unique.
    pub fiscal_year: i32,
    pub opened_by: String,
    pub opened_at: Timestamp,
    pub audit_index: u64,
}

/// What an event records. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssessmentEventKind {
    /// A measure assessed: result, note, evidence links.
    Assessed,
    /// A finding.
    Finding,
    /// A remediation action of a finding.
    Remediation,
    /// The assessment completed (once; nothing after it).
    Completed,
}

impl AssessmentEventKind {
    pub const ALL: [AssessmentEventKind; 4] = [
        AssessmentEventKind::Assessed,
        AssessmentEventKind::Finding,
        AssessmentEventKind::Remediation,
        AssessmentEventKind::Completed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            AssessmentEventKind::Assessed => "assessed",
            AssessmentEventKind::Finding => "finding",
            AssessmentEventKind::Remediation => "remediation",
            AssessmentEventKind::Completed => "completed",
        }
    }

    pub fn from_code(code: &str) -> Option<AssessmentEventKind> {
        AssessmentEventKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// An event of an assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssessmentEvent {
    pub fiscal_year: i32,
    pub kind: AssessmentEventKind,
    /// The application's JSON document of the event.
    pub body: String,
    pub by: String,
    pub at: Timestamp,
    pub audit_index: u64,
}

/// A stored event: `number` orders the events of every assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessmentEvent {
    pub number: u64,
    pub event: NewAssessmentEvent,
}

/// A stored assessment with its events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAssessment {
    pub assessment: NewAssessment,
    pub events: Vec<StoredAssessmentEvent>,
}

/// The assessment register.
pub trait AssessmentStore {
    /// Open the assessment of a business year: a conflict naming the year, with nothing
    /// written, when it is open already.
    fn add_assessment(&self, assessment: &NewAssessment) -> StoreResult<()>;

    /// Add an event; its number. `NotFound` for a year without an assessment; a conflict,
    /// with nothing written, when the assessment is completed.
    fn add_assessment_event(&self, event: &NewAssessmentEvent) -> StoreResult<u64>;

    /// Every assessment with its events, the earliest year first.
    fn assessments(&self) -> StoreResult<Vec<StoredAssessment>>;
}
