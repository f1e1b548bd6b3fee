//! Self-inspection reports (自己点検, the security measures' periodic self-inspection, issue 16
//! item 6): one report document per Tokyo calendar month and revision, made from the audit
//! ledger as a named signed checkpoint covered it, with its SHA-256 digest (the same digest the
//! ledger entry that made it carries), and the findings raised from a report, each tracked to
//! its closure.
//!
//! Every record is evidence: nothing is ever edited or deleted (the database refuses it on
//! every backend). Running a period again makes a new revision; a finding is closed by
//! recording its closure, once. The document holds ids, codes and counts only; the texts of
//! findings are the privacy office's business records (the ledger keeps their digests).

use jiff::Timestamp;
use tokutei_policy::Date;

use crate::StoreResult;

/// A report to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspection {
    /// Unique (`IR-1`, `IR-2`…).
    pub id: String,
    /// The Tokyo calendar month it covers, `YYYY-MM`.
    pub period: String,
    /// 1 for the first report of its period, +1 for each run again; unique per period.
    pub revision: u32,
    /// The report document: canonical JSON.
    pub document: String,
    /// SHA-256 of `document`'s bytes.
    pub digest: [u8; 32],
    /// The size of the signed checkpoint it covers.
    pub checkpoint_size: u64,
    pub made_by: String,
    pub made_at: Timestamp,
    /// The audit entry that made it (it carries `digest`).
    pub audit_index: u64,
}

/// A finding of a report to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInspectionFinding {
    /// Unique (`IF-1`, `IF-2`…).
    pub id: String,
    /// The report it was raised from.
    pub inspection: String,
    pub text: String,
    /// The principal who must close it.
    pub owner: String,
    /// The day (Asia/Tokyo) it must be closed by, when set.
    pub due: Option<Date>,
    pub added_by: String,
    pub added_at: Timestamp,
    pub audit_index: u64,
}

/// The closure of a finding (once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFindingClosure {
    pub finding: String,
    pub text: String,
    pub by: String,
    pub at: Timestamp,
    pub audit_index: u64,
}

/// A stored finding with its closure, when closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub finding: NewInspectionFinding,
    pub closure: Option<NewFindingClosure>,
}

/// The self-inspection register.
pub trait InspectionStore {
    /// Record a report: a conflict, with nothing stored, when its id or its period and
    /// revision are taken.
    fn add_inspection(&self, inspection: &NewInspection) -> StoreResult<()>;

    /// Every report, in the order made.
    fn inspections(&self) -> StoreResult<Vec<NewInspection>>;

    /// One report.
    fn inspection(&self, id: &str) -> StoreResult<Option<NewInspection>>;

    /// Record a finding: `NotFound` for an unknown report, a conflict when the id is taken.
    fn add_inspection_finding(&self, finding: &NewInspectionFinding) -> StoreResult<()>;

    /// Close a finding: `NotFound` for an unknown finding, a conflict when it is closed already.
    fn add_finding_closure(&self, closure: &NewFindingClosure) -> StoreResult<()>;

    /// Every finding with its closure, in the order recorded.
    fn inspection_findings(&self) -> StoreResult<Vec<StoredFinding>>;
}
