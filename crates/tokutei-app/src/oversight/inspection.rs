//! Self-inspection reports (自己点検, the security measures' periodic self-inspection, issue 16
//! item 6): a report per Tokyo calendar month, made from the audit ledger as a signed
//! checkpoint covered it, so an auditor can prove it was made from the ledger as it stood.
//!
//! - [`App::run_inspection`] counts the period's ledger entries ([`count`], streamed through
//!   the ledger's query API): uses per principal and purpose, denials by reason, exports,
//!   consent changes, key rotations, policy publications and every administrative action; and
//!   reads the registers: the training status of every person on the period's last day, and
//!   the violation reports received in the period with their state at its end. Only entries
//!   below the size of the latest signed checkpoint count, and that checkpoint must cover the
//!   period's last entry. A period that is not over is refused (naming `period`). The document
//!   is canonical JSON; `inspection_reported` carries its SHA-256 digest and is durable before
//!   the report is stored. Running a period again makes a new revision, never an overwrite.
//! - [`App::verify_inspection`] recomputes the stored document's digest, checks it against the
//!   stored digest and the ledger entry that made the report, checks the checkpoint's
//!   signature and that the ledger still has that root at that size, and recounts the ledger
//!   figures: each difference is named ([`Problem`]).
//! - Findings ([`App::add_finding`], [`App::close_finding`]) are tracked to closure, each
//!   audited first (texts as digests); open ones show their days left or overdue.
//! - [`due_period`] is the schedule `serve` follows: once a month is over, its report is made
//!   unless one exists (`[oversight] inspection_schedule = "monthly"`, or `"off"`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokutei_ledger::{AdminAction, CheckpointVerifier, Decision, Event};
use tokutei_policy::{Date, tokyo};
use tokutei_store::inspection::{NewFindingClosure, NewInspection, NewInspectionFinding, StoredFinding};
use tokutei_store::ledger::LedgerQuery;
use tokutei_store::staff::PrincipalKind;

use super::{TEXT_MAX, days_left, digest};
use crate::App;
use crate::acting::{Acting, MANAGERS, OVERSIGHT};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;

/// What the document says it is (a new shape is a new version).
pub const DOCUMENT_KIND: &str = "tokutei-self-inspection/v1";

/// The system the schedule in `serve` runs the reports as.
pub const SCHEDULER: &str = "inspection-scheduler";

/// A Tokyo calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    year: i16,
    month: i8,
}

impl Period {
    /// `YYYY-MM` as typed: invalid naming `period` otherwise.
    pub fn parse(text: &str) -> ActionResult<Period> {
        let bad = || ActionError::invalid("period", format!("`{text}` is not a month: use YYYY-MM"));
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if !(1..=12).contains(&month) || year < 2000 {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    /// The month `at` falls in, in Tokyo.
    pub fn of(at: Timestamp) -> Period {
        let day = tokyo::date_of(at).0;
        Period { year: day.year(), month: day.month() }
    }

    /// The month before.
    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period { year: self.year - 1, month: 12 }
        } else {
            Period { month: self.month - 1, ..self }
        }
    }

    fn next(self) -> Period {
        if self.month == 12 {
            Period { year: self.year + 1, month: 1 }
        } else {
            Period { month: self.month + 1, ..self }
        }
    }

    fn first_day(self) -> civil::Date {
        civil::Date::new(self.year, self.month, 1).unwrap_or(civil::Date::MIN)
    }

    /// Its first instant (midnight in Tokyo on the 1st).
    pub fn start(self) -> Timestamp {
        tokyo::start_of(self.first_day())
    }

    /// The first instant after it.
    pub fn end(self) -> Timestamp {
        self.next().start()
    }

    /// Its last day.
    pub fn last_day(self) -> Date {
        Date(self.first_day().last_of_month())
    }

    /// `2026年11月`.
    pub fn ja(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// When reports are made on their own (`[oversight] inspection_schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Each month's report once the month is over.
    #[default]
    Monthly,
    /// Never on their own (reports are run by hand).
    Off,
}

impl Schedule {
    pub fn from_code(code: &str) -> Option<Schedule> {
        match code {
            "monthly" => Some(Schedule::Monthly),
            "off" => Some(Schedule::Off),
            _ => None,
        }
    }
}

/// The period whose report is due at `now`, given the latest period reported: the month
/// before `now`'s (in Tokyo) when it has none yet.
pub fn due_period(now: Timestamp, last_reported: Option<Period>, schedule: Schedule) -> Option<Period> {
    match schedule {
        Schedule::Off => None,
        Schedule::Monthly => {
            let due = Period::of(now).previous();
            (last_reported < Some(due)).then_some(due)
        }
    }
}

/// Uses and denials of one principal for one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UseRow {
    pub principal: String,
    pub purpose: String,
    /// Allowed requests (entries).
    pub allowed: u64,
    /// Denied requests (entries).
    pub denied: u64,
}

/// What the ledger says about a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerFigures {
    /// Entries in the period (below the checkpoint's size).
    pub entries: u64,
    pub first_index: Option<u64>,
    pub last_index: Option<u64>,
    /// Per principal and purpose, by principal then purpose.
    pub uses: Vec<UseRow>,
    /// Denied requests.
    pub denials: u64,
    /// Denied requests per reason code (a request denied for two reasons counts under both).
    pub denials_by_reason: BTreeMap<String, u64>,
    /// Allowed exports, by ledger index.
    pub exports: Vec<u64>,
    /// `consent_recorded` entries.
    pub consent_changes: u64,
    /// `key_rotated` entries.
    pub key_rotations: u64,
    /// The policy versions published (`policy/v<n>`), in ledger order.
    pub policy_publications: Vec<String>,
    /// Every administrative action, by its name.
    pub admin: BTreeMap<String, u64>,
}

/// Count the ledger's entries with a time in `[since, until)` and an index below `size`,
/// streamed through the query API; also the highest index seen in the period (at any size).
pub fn count(
    ledger: &dyn tokutei_store::ledger::LedgerStore,
    since: Timestamp,
    until: Timestamp,
    size: u64,
) -> ActionResult<(LedgerFigures, Option<u64>)> {
    let mut f = LedgerFigures::default();
    let mut uses: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    let mut highest = None;
    let query = LedgerQuery { since: Some(since), until: Some(until), ..LedgerQuery::default() };
    ledger.query_entries(&query, &mut |stored| {
        let index = stored.index;
        highest = highest.max(Some(index));
        if index >= size {
            return Ok(true);
        }
        let entry = stored.decode()?;
        f.entries += 1;
        f.first_index = Some(f.first_index.map_or(index, |i| i.min(index)));
        f.last_index = Some(f.last_index.map_or(index, |i| i.max(index)));
        match &entry.event {
            Event::Access(access) => {
                let row = uses.entry((entry.actor.id().to_string(), access.purpose.clone())).or_default();
                if access.decision == Decision::Deny {
                    row.1 += 1;
                    f.denials += 1;
                    for reason in &access.reasons {
                        *f.denials_by_reason.entry(reason.clone()).or_default() += 1;
                    }
                } else {
                    row.0 += 1;
                    if access.action == tokutei_ledger::Action::Export {
                        f.exports.push(index);
                    }
                }
            }
            Event::Admin(admin) => {
                *f.admin.entry(admin.action.as_str().to_string()).or_default() += 1;
                match admin.action {
                    AdminAction::ConsentRecorded => f.consent_changes += 1,
                    AdminAction::KeyRotated => f.key_rotations += 1,
                    AdminAction::PolicyPublished => f.policy_publications.push(admin.subject.clone()),
                    _ => {}
                }
            }
        }
        Ok(true)
    })?;
    f.exports.sort_unstable();
    f.uses = uses
        .into_iter()
        .map(|((principal, purpose), (allowed, denied))| UseRow { principal, purpose, allowed, denied })
        .collect();
    Ok((f, highest))
}

/// One person's training on the period's last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingRow {
    pub principal: String,
    pub role: tokutei_policy::Role,
    /// Each course counted (the deployment's required ones, or every course the person has
    /// when none is required): its code and the last day it is valid, if completed.
    pub courses: Vec<(String, Option<String>)>,
    /// Whether every counted course was valid on the period's last day.
    pub valid: bool,
}

/// A violation report received in the period and its state at the period's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViolationRow {
    pub id: String,
    pub principal: String,
    pub measure: u8,
    pub detector: Option<String>,
    /// `received`, `acknowledged`, `resolved_none` or `resolved_violation`.
    pub state: String,
}

/// The signed checkpoint a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRef {
    pub size: u64,
    /// The root hash, hex.
    pub root: String,
    /// The C2SP signed note as the ledger's key signed it.
    pub note: String,
}

/// The report document (its canonical JSON is what the ledger's digest commits to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectionDocument {
    pub kind: String,
    pub id: String,
    /// `YYYY-MM`.
    pub period: String,
    pub revision: u32,
    /// The period as instants: `[from, until)`.
    pub from: Timestamp,
    pub until: Timestamp,
    pub made_at: Timestamp,
    pub made_by: String,
    pub checkpoint: CheckpointRef,
    pub ledger: LedgerFigures,
    /// Every person of the registry on the period's last day (not disabled before its end).
    pub training: Vec<TrainingRow>,
    /// The violation reports received in the period.
    pub violations: Vec<ViolationRow>,
    /// Reports received before the period's end and not resolved by then.
    pub violations_open_at_end: Vec<String>,
}

impl InspectionDocument {
    /// The canonical JSON (field order fixed, maps sorted).
    pub fn canonical(&self) -> String {
        // INVARIANT: a document of strings, numbers, lists and sorted maps always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Persons whose training was not valid on the period's last day.
    pub fn training_lapsed(&self) -> usize {
        self.training.iter().filter(|t| !t.valid).count()
    }
}

/// A stored report with its document.
#[derive(Debug, Clone)]
pub struct InspectionView {
    pub stored: NewInspection,
    pub document: InspectionDocument,
}

/// One thing verification found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `document_digest`, `document`, `ledger_entry`, `ledger_digest`, `checkpoint_signature`,
    /// `checkpoint_root` or `figures`.
    pub code: &'static str,
    pub message: String,
}

/// What verifying a stored report found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectionCheck {
    pub id: String,
    pub ok: bool,
    pub problems: Vec<Problem>,
}

/// A finding as a manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingInput {
    /// The report it is raised from.
    pub inspection: String,
    pub text: String,
    /// The person who must close it.
    pub owner: PrincipalId,
    pub due: Option<Date>,
}

/// A finding with where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingView {
    pub stored: StoredFinding,
    /// Days until its due date while open (negative: overdue).
    pub days_left: Option<i64>,
}

fn subject(id: &str) -> String {
    format!("inspection/{id}")
}

fn finding_subject(id: &str) -> String {
    format!("inspection-finding/{id}")
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl App {
    /// Make the report of `period` from the ledger, by a manager (or the schedule): refused
    /// while the period is not over (invalid `period`) or when no signed checkpoint covers
    /// its last entry yet (a conflict: sign one, `tokutei audit checkpoint`). The document is
    /// built, `inspection_reported` with its digest made durable, then the report stored as
    /// the period's next revision.
    pub fn run_inspection(&self, by: &Acting, period: Period, now: Timestamp) -> ActionResult<InspectionView> {
        let actor = self.authorize(by, MANAGERS, "run a self-inspection")?;
        let (from, until) = (period.start(), period.end());
        if until > now {
            return Err(ActionError::invalid(
                "period",
                format!("{period} is not over yet (it ends {})", tokyo::minutes(until)),
            ));
        }
        let checkpoint = self
            .ledger()
            .latest_checkpoint()?
            .ok_or_else(|| ActionError::Conflict("no signed checkpoint yet: sign one first".into()))?;
        let (figures, highest) = count(self.ledger().as_ref(), from, until, checkpoint.size)?;
        if let Some(highest) = highest.filter(|h| *h >= checkpoint.size) {
            return Err(ActionError::Conflict(format!(
                "the latest signed checkpoint (size {}) does not cover entry {highest} of {period} yet: sign one first",
                checkpoint.size
            )));
        }
        let root = self.ledger().tree_head_at(checkpoint.size)?.root;
        let existing = self.stores().inspections()?;
        let id = format!("IR-{}", existing.len() + 1);
        let revision = existing.iter().filter(|i| i.period == period.to_string()).count() as u32 + 1;
        let document = InspectionDocument {
            kind: DOCUMENT_KIND.into(),
            id: id.clone(),
            period: period.to_string(),
            revision,
            from,
            until,
            made_at: now,
            made_by: actor.id().to_string(),
            checkpoint: CheckpointRef { size: checkpoint.size, root: hex::encode(root), note: checkpoint.note },
            ledger: figures,
            training: self.training_rows(period)?,
            violations: Vec::new(),
            violations_open_at_end: Vec::new(),
        };
        let document = self.with_violations(document)?;
        let text = document.canonical();
        let digest = sha256(&text);
        let entry = AdminEntry::new(AdminAction::InspectionReported, subject(&id))
            .detail("period", period)
            .detail("revision", revision)
            .detail("checkpoint_size", document.checkpoint.size)
            .digest(digest);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let stored = NewInspection {
            id,
            period: period.to_string(),
            revision,
            document: text,
            digest,
            checkpoint_size: document.checkpoint.size,
            made_by: actor.id().to_string(),
            made_at: now,
            audit_index,
        };
        self.stores().add_inspection(&stored)?;
        Ok(InspectionView { stored, document })
    }

    /// The report the schedule owes at `now`, made as [`SCHEDULER`]: `None` when none is due
    /// (or the schedule is off).
    pub fn run_scheduled_inspection(&self, now: Timestamp) -> ActionResult<Option<InspectionView>> {
        let last = self.stores().inspections()?.iter().filter_map(|i| Period::parse(&i.period).ok()).max();
        match due_period(now, last, self.oversight_rules.inspection_schedule) {
            None => Ok(None),
            Some(period) => self.run_inspection(&Acting::Setup(SCHEDULER), period, now).map(Some),
        }
    }

    fn training_rows(&self, period: Period) -> ActionResult<Vec<TrainingRow>> {
        let (end, last_day) = (period.end(), period.last_day());
        let required = &self.deployment.required_training;
        let mut rows = Vec::new();
        for p in self.stores().principals()? {
            let PrincipalKind::Person { role } = p.kind else { continue };
            if p.created_at >= end || p.disabled_at.is_some_and(|d| d < end) {
                continue;
            }
            let mut courses: Vec<String> = if required.is_empty() {
                p.training.iter().map(|t| t.course.clone()).collect()
            } else {
                required.clone()
            };
            courses.sort_unstable();
            courses.dedup();
            let courses: Vec<(String, Option<Date>)> = courses
                .into_iter()
                .map(|c| {
                    let until = p
                        .training
                        .iter()
                        .filter(|t| t.course == c && t.completed <= last_day)
                        .map(|t| t.valid_until)
                        .max();
                    (c, until)
                })
                .collect();
            let valid = courses.iter().all(|(_, until)| until.is_some_and(|u| u >= last_day));
            rows.push(TrainingRow {
                principal: p.id,
                role,
                courses: courses.into_iter().map(|(c, u)| (c, u.map(|d| d.to_string()))).collect(),
                valid,
            });
        }
        rows.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(rows)
    }

    fn with_violations(&self, mut document: InspectionDocument) -> ActionResult<InspectionDocument> {
        use tokutei_store::oversight::ViolationEventKind as K;
        for v in self.stores().violation_reports()? {
            let r = &v.report;
            if r.received_at >= document.until {
                continue;
            }
            let state = v.events.iter().filter(|e| e.at < document.until).fold("received", |state, e| match e.kind {
                K::Acknowledged if state == "received" => "acknowledged",
                K::Acknowledged => state,
                K::ResolvedNone => "resolved_none",
                K::ResolvedViolation => "resolved_violation",
            });
            if !state.starts_with("resolved") {
                document.violations_open_at_end.push(r.id.clone());
            }
            if r.received_at >= document.from {
                document.violations.push(ViolationRow {
                    id: r.id.clone(),
                    principal: r.principal.clone(),
                    measure: r.measure,
                    detector: r.detector.clone(),
                    state: state.into(),
                });
            }
        }
        Ok(document)
    }

    /// Every report, in the order made: for the oversight roles.
    pub fn inspections(&self, by: &Acting) -> ActionResult<Vec<InspectionView>> {
        self.authorize(by, OVERSIGHT, "read the self-inspection reports")?;
        self.stores().inspections()?.into_iter().map(view).collect()
    }

    /// One report: for the oversight roles. Its document as stored (a document that no
    /// longer parses is refused here; [`Self::verify_inspection`] names it).
    pub fn inspection(&self, by: &Acting, id: &str) -> ActionResult<InspectionView> {
        self.authorize(by, OVERSIGHT, "read a self-inspection report")?;
        view(self.inspection_stored(id)?)
    }

    fn inspection_stored(&self, id: &str) -> ActionResult<NewInspection> {
        self.stores().inspection(id)?.ok_or_else(|| ActionError::NotFound(format!("self-inspection report `{id}`")))
    }

    /// Verify a stored report, for the oversight roles, against the ledger and the
    /// checkpoint key `verifier`: every problem found, named.
    pub fn verify_inspection(
        &self,
        by: &Acting,
        id: &str,
        verifier: &CheckpointVerifier,
    ) -> ActionResult<InspectionCheck> {
        self.authorize(by, OVERSIGHT, "verify a self-inspection report")?;
        let stored = self.inspection_stored(id)?;
        let mut problems = Vec::new();
        let mut problem = |code: &'static str, message: String| problems.push(Problem { code, message });
        let recomputed = sha256(&stored.document);
        if recomputed != stored.digest {
            problem(
                "document_digest",
                format!(
                    "the stored document's digest is {}, not the recorded {}",
                    hex::encode(recomputed),
                    hex::encode(stored.digest)
                ),
            );
        }
        let entry = self.ledger().ledger_entry(stored.audit_index)?.map(|e| e.decode()).transpose()?;
        match entry.map(|e| e.event) {
            Some(Event::Admin(a)) if a.action == AdminAction::InspectionReported && a.subject == subject(id) => {
                if a.digest != Some(recomputed) {
                    problem(
                        "ledger_digest",
                        format!(
                            "ledger entry {} carries another digest than the stored document's",
                            stored.audit_index
                        ),
                    );
                }
            }
            _ => problem(
                "ledger_entry",
                format!("ledger entry {} is not the report's `inspection_reported`", stored.audit_index),
            ),
        }
        match serde_json::from_str::<InspectionDocument>(&stored.document) {
            Err(e) => problem("document", format!("the stored document does not parse: {e}")),
            Ok(document) => {
                match verifier.verify(&document.checkpoint.note) {
                    Err(e) => problem("checkpoint_signature", format!("the checkpoint note does not verify: {e}")),
                    Ok(cp) => {
                        let ours = self.ledger().tree_head_at(cp.size).ok().map(|h| h.root);
                        if cp.size != document.checkpoint.size
                            || hex::encode(cp.root) != document.checkpoint.root
                            || ours != Some(cp.root)
                        {
                            problem(
                                "checkpoint_root",
                                format!(
                                    "the ledger does not have the checkpoint's root at size {} (or the document names another checkpoint)",
                                    cp.size
                                ),
                            );
                        }
                    }
                }
                let (recount, _) =
                    count(self.ledger().as_ref(), document.from, document.until, document.checkpoint.size)?;
                for field in differences(&document.ledger, &recount) {
                    problem("figures", format!("`{field}` differs from a recount of the ledger"));
                }
            }
        }
        Ok(InspectionCheck { id: id.to_string(), ok: problems.is_empty(), problems })
    }

    /// Record a finding of a report, by a manager: its owner a person of the registry, its
    /// due date (if any) not before today. `inspection_finding_added` durable first (the
    /// text's digest).
    pub fn add_finding(&self, by: &Acting, input: &FindingInput, now: Timestamp) -> ActionResult<FindingView> {
        let actor = self.authorize(by, MANAGERS, "record a self-inspection finding")?;
        let text = crate::incidents::text("text", &input.text, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("text", "is empty"))?;
        let owner = input.owner.as_str();
        match self.stores().principal(owner)? {
            Some(p) if matches!(p.kind, PrincipalKind::Person { .. }) && p.disabled_at.is_none() => {}
            _ => {
                return Err(ActionError::invalid(
                    "owner",
                    format!("`{owner}` is not an active person of the staff registry"),
                ));
            }
        }
        let today = tokyo::date_of(now);
        if let Some(due) = input.due
            && due < today
        {
            return Err(ActionError::invalid("due", format!("{due} is before today ({today})")));
        }
        self.inspection_stored(&input.inspection)?;
        let id = format!("IF-{}", self.stores().inspection_findings()?.len() + 1);
        let mut entry = AdminEntry::new(AdminAction::InspectionFindingAdded, finding_subject(&id))
            .detail("inspection", &input.inspection)
            .detail("owner", owner)
            .digest(digest(&[&text]));
        if let Some(due) = input.due {
            entry = entry.detail("due", due);
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let finding = NewInspectionFinding {
            id,
            inspection: input.inspection.clone(),
            text,
            owner: owner.into(),
            due: input.due,
            added_by: actor.id().to_string(),
            added_at: now,
            audit_index,
        };
        self.stores().add_inspection_finding(&finding)?;
        Ok(finding_view(StoredFinding { finding, closure: None }, today))
    }

    /// Close a finding, by a manager, with what was done: `inspection_finding_closed`
    /// durable first (the text's digest). A conflict when it is closed already.
    pub fn close_finding(&self, by: &Acting, id: &str, text: &str, now: Timestamp) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "close a self-inspection finding")?;
        let text = crate::incidents::text("text", text, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("text", "is empty"))?;
        let stored = self
            .stores()
            .inspection_findings()?
            .into_iter()
            .find(|f| f.finding.id == id)
            .ok_or_else(|| ActionError::NotFound(format!("finding `{id}`")))?;
        if stored.closure.is_some() {
            return Err(ActionError::Conflict(format!("finding `{id}` is closed already")));
        }
        let entry = AdminEntry::new(AdminAction::InspectionFindingClosed, finding_subject(id)).digest(digest(&[&text]));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_finding_closure(&NewFindingClosure {
            finding: id.into(),
            text,
            by: actor.id().to_string(),
            at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// Every finding, in the order recorded, with its days left while open: for the
    /// oversight roles.
    pub fn findings(&self, by: &Acting, now: Timestamp) -> ActionResult<Vec<FindingView>> {
        self.authorize(by, OVERSIGHT, "read the self-inspection findings")?;
        let today = tokyo::date_of(now);
        Ok(self.stores().inspection_findings()?.into_iter().map(|f| finding_view(f, today)).collect())
    }

    /// The due dates of the open findings: `(subject, Japanese title, English title, due)` for
    /// the escalation scan.
    pub(crate) fn finding_clocks(&self) -> ActionResult<Vec<(String, String, String, Date)>> {
        Ok(self
            .stores()
            .inspection_findings()?
            .into_iter()
            .filter(|f| f.closure.is_none())
            .filter_map(|f| {
                let id = f.finding.id;
                f.finding.due.map(|due| {
                    (
                        format!("inspection-finding/{id}/close"),
                        format!("自己点検の指摘（{id}）の是正"),
                        format!("Closing self-inspection finding {id}"),
                        due,
                    )
                })
            })
            .collect())
    }
}

impl InspectionView {
    /// The report as the CLI's `--json` and the API show it: what identifies it, and the figures.
    pub fn to_json(&self) -> serde_json::Value {
        let s = &self.stored;
        serde_json::json!({
            "id": s.id,
            "period": s.period,
            "revision": s.revision,
            "digest": hex::encode(s.digest),
            "checkpoint_size": s.checkpoint_size,
            "made_by": s.made_by,
            "made_at": s.made_at.to_string(),
            "audit_index": s.audit_index,
            "figures": {
                "ledger": self.document.ledger,
                "training": self.document.training,
                "violations": self.document.violations,
                "violations_open_at_end": self.document.violations_open_at_end,
            },
        })
    }
}

impl FindingView {
    /// A finding as the CLI's `--json` and the API show it.
    pub fn to_json(&self) -> serde_json::Value {
        let (x, c) = (&self.stored.finding, &self.stored.closure);
        serde_json::json!({
            "id": x.id,
            "inspection": x.inspection,
            "text": x.text,
            "owner": x.owner,
            "due": x.due.map(|d| d.to_string()),
            "days_left": self.days_left,
            "state": if c.is_some() { "closed" } else { "open" },
            "added_by": x.added_by,
            "added_at": x.added_at.to_string(),
            "closure": c.as_ref().map(|c| serde_json::json!({ "text": c.text, "by": c.by, "at": c.at.to_string() })),
        })
    }
}

fn view(stored: NewInspection) -> ActionResult<InspectionView> {
    let document = serde_json::from_str(&stored.document).map_err(|e| {
        ActionError::Conflict(format!("the document of self-inspection report `{}` does not parse: {e}", stored.id))
    })?;
    Ok(InspectionView { stored, document })
}

fn finding_view(stored: StoredFinding, today: Date) -> FindingView {
    let days_left = match (&stored.closure, stored.finding.due) {
        (None, Some(due)) => Some(days_left(today, due)),
        _ => None,
    };
    FindingView { stored, days_left }
}

/// The names of the figures that differ.
fn differences(a: &LedgerFigures, b: &LedgerFigures) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut check = |name: &'static str, same: bool| {
        if !same {
            out.push(name);
        }
    };
    check("entries", a.entries == b.entries);
    check("first_index", a.first_index == b.first_index);
    check("last_index", a.last_index == b.last_index);
    check("uses", a.uses == b.uses);
    check("denials", a.denials == b.denials);
    check("denials_by_reason", a.denials_by_reason == b.denials_by_reason);
    check("exports", a.exports == b.exports);
    check("consent_changes", a.consent_changes == b.consent_changes);
    check("key_rotations", a.key_rotations == b.key_rotations);
    check("policy_publications", a.policy_publications == b.policy_publications);
    check("admin", a.admin == b.admin);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        tokyo::parse_instant(text).unwrap()
    }

    fn p(text: &str) -> Period {
        Period::parse(text).unwrap()
    }

    #[test]
    fn periods_parse_and_bad_ones_name_the_field() {
        assert_eq!(p("2026-11").to_string(), "2026-11");
        assert_eq!(p("2026-11").start(), at("2026-11-01"));
        assert_eq!(p("2026-12").end(), at("2027-01-01"));
        assert_eq!(p("2027-02").last_day().to_string(), "2027-02-28");
        assert_eq!(p("2027-01").previous(), p("2026-12"));
        for bad in ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", "2026-11-01", "abcd-ef", "1999-12"] {
            assert!(matches!(Period::parse(bad), Err(ActionError::Invalid { field: "period", .. })), "{bad}");
        }
    }

    /// The schedule is a function of now and the latest period reported: the previous month
    /// once it is over (Tokyo midnight), once.
    #[test]
    fn the_schedule_runs_the_previous_month_once() {
        let cases = [
            ("2026-12-01T00:00", None, Schedule::Monthly, Some("2026-11")),
            ("2026-11-30T23:59", None, Schedule::Monthly, Some("2026-10")),
            ("2026-12-01T00:00", Some("2026-10"), Schedule::Monthly, Some("2026-11")),
            ("2026-12-01T00:00", Some("2026-11"), Schedule::Monthly, None),
            ("2026-12-31T12:00", Some("2026-11"), Schedule::Monthly, None),
            ("2027-01-01T00:00", Some("2026-11"), Schedule::Monthly, Some("2026-12")),
            ("2027-01-01T00:00", Some("2027-01"), Schedule::Monthly, None),
            ("2026-12-01T00:00", None, Schedule::Off, None),
        ];
        for (now, last, schedule, due) in cases {
            assert_eq!(due_period(at(now), last.map(p), schedule), due.map(p), "{now} after {last:?}");
        }
    }
}
