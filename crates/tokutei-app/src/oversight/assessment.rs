//! The annual assessment (評価, 電気通信事業法27条の9): once per business year (April–March by
//! default, `[oversight] fiscal_year_start_month`), the carrier assesses how it handles
//! specified user information against each of the policy's 安全管理措置 (1)–(7): a checklist
//! item per measure with a result (met / partly / not met), a note and evidence links; findings;
//! remediation actions, each with an owner, a due date and the policy or 規程 version that
//! carries it out. Completing the assessment requires every measure assessed; nothing is
//! added after it. A business year that closes without a completed assessment raises an
//! alert through the outbox, once, from the escalation scan ([`overdue_assessments`]).
//!
//! Every change is one function — authorized (the chief manager and the responsible persons),
//! validated naming the field, audited (durable) first, then stored. The notes and texts are
//! the office's business records: the store keeps them, the ledger their digests.
//!
//! Evidence links are `kind:reference`: `inspection:ID` (a self-inspection report),
//! `training-roster:DATE` (the roster as of a day), `incident:ID`, `policy:VERSION`,
//! `rules:VERSION` (a 規程 version), `ledger:INDEX`. An incident, a policy version and a ledger
//! index must exist; a self-inspection report id and a 規程 version are checked for their
//! form only (their registers are not part of this tree yet); a roster day must not be in the
//! future.

use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Role};
use tokutei_store::assessment::{AssessmentEventKind, NewAssessment, NewAssessmentEvent, StoredAssessment};

use super::{TEXT_MAX, digest};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::alerts::{AlertRequest, Bilingual};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;

/// The first day of business year `year` (the calendar year it starts in).
pub fn fiscal_year_first_day(year: i32, start_month: u32) -> ActionResult<Date> {
    let month =
        i8::try_from(start_month).map_err(|_| ActionError::invalid("fiscal_year_start_month", "use 1 to 12"))?;
    jiff::civil::Date::new(i16::try_from(year).unwrap_or(i16::MAX), month, 1)
        .map(Date)
        .map_err(|e| ActionError::invalid("fiscal_year", e.to_string()))
}

/// The first and the last day of business year `year`.
pub fn fiscal_year_days(year: i32, start_month: u32) -> ActionResult<(Date, Date)> {
    let first = fiscal_year_first_day(year, start_month)?;
    let last = first
        .0
        .checked_add(1.year())
        .and_then(|d| d.checked_sub(1.day()))
        .map_err(|e| ActionError::invalid("fiscal_year", e.to_string()))?;
    Ok((first, Date(last)))
}

/// The business year `day` falls in.
pub fn fiscal_year_of(day: Date, start_month: u32) -> i32 {
    let year = i32::from(day.0.year());
    if u32::try_from(day.0.month()).unwrap_or(1) >= start_month { year } else { year - 1 }
}

/// The business years whose assessment is overdue at `today`: the year before the one in
/// course — it has closed — when its assessment is not completed and the carrier was
/// designated (its 告示) before that year began, with the year's last day. A carrier owes the
/// assessment of each full business year after its designation (27条の9 says 毎事業年度; the
/// first year owed is an assumption, legal-requirements §9). Older years were overdue in
/// their time.
pub fn overdue_assessments(
    today: Date,
    start_month: u32,
    designated_on: Option<Date>,
    completed: &[i32],
) -> Vec<(i32, Date)> {
    let Some(designated_on) = designated_on else { return Vec::new() };
    let closed = fiscal_year_of(today, start_month) - 1;
    match fiscal_year_days(closed, start_month) {
        Ok((first, last)) if designated_on < first && !completed.contains(&closed) => vec![(closed, last)],
        _ => Vec::new(),
    }
}

/// A checklist item's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureResult {
    Met,
    Partly,
    NotMet,
}

impl MeasureResult {
    pub const ALL: [MeasureResult; 3] = [MeasureResult::Met, MeasureResult::Partly, MeasureResult::NotMet];

    pub fn code(self) -> &'static str {
        match self {
            MeasureResult::Met => "met",
            MeasureResult::Partly => "partly",
            MeasureResult::NotMet => "not_met",
        }
    }

    pub fn from_code(code: &str) -> Option<MeasureResult> {
        MeasureResult::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn ja(self) -> &'static str {
        match self {
            MeasureResult::Met => "適合",
            MeasureResult::Partly => "一部適合",
            MeasureResult::NotMet => "不適合",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            MeasureResult::Met => "met",
            MeasureResult::Partly => "partly met",
            MeasureResult::NotMet => "not met",
        }
    }
}

/// The kinds of evidence an item links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    Inspection,
    TrainingRoster,
    Incident,
    Policy,
    Rules,
    Ledger,
}

impl EvidenceKind {
    pub const ALL: [EvidenceKind; 6] = [
        EvidenceKind::Inspection,
        EvidenceKind::TrainingRoster,
        EvidenceKind::Incident,
        EvidenceKind::Policy,
        EvidenceKind::Rules,
        EvidenceKind::Ledger,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EvidenceKind::Inspection => "inspection",
            EvidenceKind::TrainingRoster => "training-roster",
            EvidenceKind::Incident => "incident",
            EvidenceKind::Policy => "policy",
            EvidenceKind::Rules => "rules",
            EvidenceKind::Ledger => "ledger",
        }
    }
}

/// An evidence link, `kind:reference`, checked for its form (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub reference: String,
}

impl Evidence {
    /// Parse `kind:reference`, checking the reference's form (`field` is named when wrong).
    pub fn parse(field: &'static str, text: &str) -> ActionResult<Evidence> {
        let codes: Vec<&str> = EvidenceKind::ALL.iter().map(|k| k.code()).collect();
        let (code, reference) = text.split_once(':').ok_or_else(|| {
            ActionError::invalid(field, format!("`{text}` is not kind:reference ({})", codes.join(", ")))
        })?;
        let kind = EvidenceKind::ALL.into_iter().find(|k| k.code() == code).ok_or_else(|| {
            ActionError::invalid(field, format!("`{code}` is not a kind of evidence ({})", codes.join(", ")))
        })?;
        let bad = |what: &str| ActionError::invalid(field, format!("`{text}`: the reference is not {what}"));
        match kind {
            EvidenceKind::Inspection | EvidenceKind::Incident => {
                crate::limits::id(field, reference).map_err(|_| bad("an id"))?;
            }
            EvidenceKind::TrainingRoster => {
                reference.parse::<Date>().map_err(|_| bad("a date (YYYY-MM-DD)"))?;
            }
            EvidenceKind::Policy | EvidenceKind::Rules => {
                if !reference.parse::<u32>().is_ok_and(|n| n >= 1) {
                    return Err(bad("a version number"));
                }
            }
            EvidenceKind::Ledger => {
                reference.parse::<u64>().map_err(|_| bad("a ledger index"))?;
            }
        }
        Ok(Evidence { kind, reference: reference.to_string() })
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind.code(), self.reference)
    }
}

/// A measure assessed, as a manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessInput {
    /// The measure's number in the policy in force, (1)–(7).
    pub measure: u32,
    pub result: MeasureResult,
    pub note: Option<String>,
    /// `kind:reference` links.
    pub evidence: Vec<String>,
}

/// A finding, as a manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingInput {
    pub measure: u32,
    pub text: String,
}

/// A remediation action of a finding, as a manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemediationInput {
    /// The finding (`F-1`).
    pub finding: String,
    pub action: String,
    /// The person who owns it.
    pub owner: PrincipalId,
    pub due: Date,
    /// The policy or 規程 version that carries it out: `policy:VERSION` or `rules:VERSION`.
    pub carried_by: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AssessedBody {
    measure: u32,
    result: MeasureResult,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FindingBody {
    id: String,
    measure: u32,
    text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RemediationBody {
    id: String,
    finding: String,
    action: String,
    owner: String,
    due: String,
    carried_by: String,
}

/// A checklist item: a measure of the policy in force and where its assessment stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    pub measure: u32,
    pub title_ja: String,
    pub title_en: String,
    /// The role that owns the measure in the policy.
    pub owner: Option<Role>,
    pub result: Option<MeasureResult>,
    pub note: Option<String>,
    pub evidence: Vec<String>,
    pub assessed_by: Option<String>,
    pub assessed_at: Option<Timestamp>,
}

/// A remediation action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemediationView {
    pub id: String,
    pub action: String,
    pub owner: String,
    pub due: String,
    pub carried_by: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
}

/// A finding with its remediation actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingView {
    pub id: String,
    pub measure: u32,
    pub text: String,
    pub recorded_by: String,
    pub recorded_at: Timestamp,
    pub remediations: Vec<RemediationView>,
}

/// An assessment as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssessmentView {
    /// `FY2026`.
    pub id: String,
    pub fiscal_year: i32,
    pub first_day: String,
    pub last_day: String,
    pub opened_by: String,
    pub opened_at: Timestamp,
    /// `open` or `completed`.
    pub state: &'static str,
    pub checklist: Vec<ChecklistItem>,
    pub findings: Vec<FindingView>,
    pub completed_by: Option<String>,
    pub completed_at: Option<Timestamp>,
}

impl AssessmentView {
    pub fn is_completed(&self) -> bool {
        self.completed_at.is_some()
    }

    /// The measures not yet assessed.
    pub fn unassessed(&self) -> Vec<u32> {
        self.checklist.iter().filter(|i| i.result.is_none()).map(|i| i.measure).collect()
    }
}

/// The subject of an assessment's entries.
pub fn subject(year: i32) -> String {
    format!("assessment/FY{year}")
}

fn corrupt(year: i32, e: impl std::fmt::Display) -> ActionError {
    ActionError::Conflict(format!("a stored event of the assessment of business year {year} does not read: {e}"))
}

/// A measure of the policy as the checklist names it: `(number, title ja, title en, owner)`.
type MeasureRow = (u32, String, String, Option<Role>);

impl App {
    /// The measures of the policy in force; (1)–(7) untitled when no policy is in force.
    fn assessment_measures(&self, now: Timestamp) -> ActionResult<Vec<MeasureRow>> {
        Ok(match self.active_policy(now)? {
            Some((_, policy)) => policy
                .security
                .measures
                .iter()
                .map(|m| {
                    (
                        m.number,
                        m.title.ja.clone(),
                        m.title.en.clone().unwrap_or_else(|| m.title.ja.clone()),
                        Some(m.owner),
                    )
                })
                .collect(),
            None => (1..=7).map(|n| (n, format!("（{n}）"), format!("({n})"), None)).collect(),
        })
    }

    fn stored_assessment(&self, year: i32) -> ActionResult<StoredAssessment> {
        self.stores()
            .assessments()?
            .into_iter()
            .find(|a| a.assessment.fiscal_year == year)
            .ok_or_else(|| ActionError::NotFound(format!("the assessment of business year {year}")))
    }

    fn assessment_view(&self, stored: &StoredAssessment, now: Timestamp) -> ActionResult<AssessmentView> {
        let year = stored.assessment.fiscal_year;
        let (first, last) = fiscal_year_days(year, self.oversight_rules.fiscal_year_start_month)?;
        let mut checklist: Vec<ChecklistItem> = self
            .assessment_measures(now)?
            .into_iter()
            .map(|(measure, title_ja, title_en, owner)| ChecklistItem {
                measure,
                title_ja,
                title_en,
                owner,
                result: None,
                note: None,
                evidence: Vec::new(),
                assessed_by: None,
                assessed_at: None,
            })
            .collect();
        let mut findings: Vec<FindingView> = Vec::new();
        let (mut completed_by, mut completed_at) = (None, None);
        for e in &stored.events {
            let e = &e.event;
            match e.kind {
                AssessmentEventKind::Assessed => {
                    let body: AssessedBody = serde_json::from_str(&e.body).map_err(|err| corrupt(year, err))?;
                    if let Some(item) = checklist.iter_mut().find(|i| i.measure == body.measure) {
                        item.result = Some(body.result);
                        item.note = body.note;
                        item.evidence = body.evidence;
                        item.assessed_by = Some(e.by.clone());
                        item.assessed_at = Some(e.at);
                    }
                }
                AssessmentEventKind::Finding => {
                    let body: FindingBody = serde_json::from_str(&e.body).map_err(|err| corrupt(year, err))?;
                    findings.push(FindingView {
                        id: body.id,
                        measure: body.measure,
                        text: body.text,
                        recorded_by: e.by.clone(),
                        recorded_at: e.at,
                        remediations: Vec::new(),
                    });
                }
                AssessmentEventKind::Remediation => {
                    let body: RemediationBody = serde_json::from_str(&e.body).map_err(|err| corrupt(year, err))?;
                    if let Some(f) = findings.iter_mut().find(|f| f.id == body.finding) {
                        f.remediations.push(RemediationView {
                            id: body.id,
                            action: body.action,
                            owner: body.owner,
                            due: body.due,
                            carried_by: body.carried_by,
                            recorded_by: e.by.clone(),
                            recorded_at: e.at,
                        });
                    }
                }
                AssessmentEventKind::Completed => {
                    completed_by = Some(e.by.clone());
                    completed_at = Some(e.at);
                }
            }
        }
        Ok(AssessmentView {
            id: format!("FY{year}"),
            fiscal_year: year,
            first_day: first.to_string(),
            last_day: last.to_string(),
            opened_by: stored.assessment.opened_by.clone(),
            opened_at: stored.assessment.opened_at,
            state: if completed_at.is_some() { "completed" } else { "open" },
            checklist,
            findings,
            completed_by,
            completed_at,
        })
    }

    /// Every assessment, the earliest year first.
    pub fn assessments(&self, now: Timestamp) -> ActionResult<Vec<AssessmentView>> {
        self.stores().assessments()?.iter().map(|a| self.assessment_view(a, now)).collect()
    }

    /// The assessment of business year `year` (`NotFound` when not opened).
    pub fn assessment(&self, year: i32, now: Timestamp) -> ActionResult<AssessmentView> {
        self.assessment_view(&self.stored_assessment(year)?, now)
    }

    /// A business year a person names: one that has begun (not after the year in course),
    /// from 2000 on.
    fn check_year(&self, year: i32, now: Timestamp) -> ActionResult<()> {
        let today = tokutei_policy::tokyo::date_of(now);
        let current = fiscal_year_of(today, self.oversight_rules.fiscal_year_start_month);
        if !(2000..=current).contains(&year) {
            return Err(ActionError::invalid(
                "fiscal_year",
                format!("{year} is not a business year that has begun (2000 to {current})"),
            ));
        }
        Ok(())
    }

    /// Open the assessment of business year `year`, by a manager. `assessment_opened` durable
    /// first. A second assessment of a year is a conflict naming it, with nothing written.
    pub fn open_assessment(&self, by: &Acting, year: i32, now: Timestamp) -> ActionResult<AssessmentView> {
        self.check_year(year, now)?;
        let actor = self.authorize(by, MANAGERS, "open an assessment")?;
        if self.stores().assessments()?.iter().any(|a| a.assessment.fiscal_year == year) {
            return Err(ActionError::Conflict(format!("the assessment of business year {year} is open already")));
        }
        let (first, last) = fiscal_year_days(year, self.oversight_rules.fiscal_year_start_month)?;
        let entry = AdminEntry::new(AdminAction::AssessmentOpened, subject(year))
            .detail("first_day", first)
            .detail("last_day", last);
        let opened_by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        self.stores().add_assessment(&NewAssessment { fiscal_year: year, opened_by, opened_at: now, audit_index })?;
        self.assessment(year, now)
    }

    /// An open assessment of `year`, for a change (`NotFound`; a conflict when completed).
    fn open_for_change(&self, year: i32, now: Timestamp) -> ActionResult<AssessmentView> {
        let view = self.assessment(year, now)?;
        if view.is_completed() {
            return Err(ActionError::Conflict(format!("the assessment of business year {year} is completed")));
        }
        Ok(view)
    }

    fn check_measure(view: &AssessmentView, measure: u32) -> ActionResult<()> {
        if !view.checklist.iter().any(|i| i.measure == measure) {
            let numbers: Vec<String> = view.checklist.iter().map(|i| i.measure.to_string()).collect();
            return Err(ActionError::invalid(
                "measure",
                format!("{measure} is not a measure of the policy in force ({})", numbers.join(", ")),
            ));
        }
        Ok(())
    }

    /// An evidence link checked against this deployment: the form, then that an incident, a
    /// policy version, a self-inspection report, a rules version or a ledger index exists and
    /// a roster day is not in the future.
    pub fn check_evidence(&self, field: &'static str, text: &str, now: Timestamp) -> ActionResult<Evidence> {
        let evidence = Evidence::parse(field, text.trim())?;
        let missing = |what: String| ActionError::invalid(field, what);
        match evidence.kind {
            EvidenceKind::Incident => {
                if self.stores().incident(&evidence.reference)?.is_none() {
                    return Err(missing(format!("no incident `{}`", evidence.reference)));
                }
            }
            EvidenceKind::Policy => {
                let n: u32 = evidence.reference.parse().unwrap_or(0);
                if self.stores().policy_version(n)?.is_none() {
                    return Err(missing(format!("no policy version {n}")));
                }
            }
            EvidenceKind::Ledger => {
                let index: u64 = evidence.reference.parse().unwrap_or(u64::MAX);
                let size = self.ledger().tree_size().map_err(ActionError::Audit)?;
                if index >= size {
                    return Err(missing(format!("the ledger has no entry {index} (its size is {size})")));
                }
            }
            EvidenceKind::TrainingRoster => {
                let day: Date = evidence.reference.parse().map_err(|e: String| missing(e))?;
                super::past_date(field, day, tokutei_policy::tokyo::date_of(now))?;
            }
            EvidenceKind::Inspection => {
                if self.stores().inspection(&evidence.reference)?.is_none() {
                    return Err(missing(format!("no self-inspection report `{}`", evidence.reference)));
                }
            }
            EvidenceKind::Rules => {
                let n: u32 = evidence.reference.parse().unwrap_or(0);
                if !self.stores().rules_versions()?.iter().any(|v| v.version == n) {
                    return Err(missing(format!("no rules version {n}")));
                }
            }
        }
        Ok(evidence)
    }

    fn add_event(
        &self,
        actor: tokutei_ledger::Actor,
        year: i32,
        kind: AssessmentEventKind,
        body: String,
        entry: AdminEntry,
        now: Timestamp,
    ) -> ActionResult<u64> {
        let by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        self.stores().add_assessment_event(&NewAssessmentEvent {
            fiscal_year: year,
            kind,
            body,
            by,
            at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// Assess one measure (again: the latest counts), by a manager: its result, a note and
    /// evidence links. `assessment_measure_assessed` durable first (the note's digest).
    pub fn assess_measure(&self, by: &Acting, year: i32, input: &AssessInput, now: Timestamp) -> ActionResult<u64> {
        let note = match &input.note {
            Some(n) => crate::incidents::text("note", n, TEXT_MAX, true)?,
            None => None,
        };
        let actor = self.authorize(by, MANAGERS, "assess a measure")?;
        let view = self.open_for_change(year, now)?;
        Self::check_measure(&view, input.measure)?;
        let mut evidence = Vec::new();
        for text in &input.evidence {
            let link = self.check_evidence("evidence", text, now)?.to_string();
            if !evidence.contains(&link) {
                evidence.push(link);
            }
        }
        let entry = AdminEntry::new(AdminAction::AssessmentMeasureAssessed, subject(year))
            .detail("measure", input.measure)
            .detail("result", input.result.code())
            .detail("evidence", evidence.join(" "))
            .digest(digest(&[note.as_deref().unwrap_or("")]));
        let body = AssessedBody { measure: input.measure, result: input.result, note, evidence };
        let body = serde_json::to_string(&body).map_err(|e| corrupt(year, e))?;
        self.add_event(actor, year, AssessmentEventKind::Assessed, body, entry, now)
    }

    /// Record a finding of a measure, by a manager; its id (`F-n`, numbered per assessment).
    /// `assessment_finding_recorded` durable first (the text's digest).
    pub fn record_finding(&self, by: &Acting, year: i32, input: &FindingInput, now: Timestamp) -> ActionResult<String> {
        let text = crate::incidents::text("text", &input.text, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("text", "is empty"))?;
        let actor = self.authorize(by, MANAGERS, "record a finding")?;
        let view = self.open_for_change(year, now)?;
        Self::check_measure(&view, input.measure)?;
        let id = format!("F-{}", view.findings.len() + 1);
        let entry = AdminEntry::new(AdminAction::AssessmentFindingRecorded, subject(year))
            .detail("finding", &id)
            .detail("measure", input.measure)
            .digest(digest(&[&text]));
        let body = FindingBody { id: id.clone(), measure: input.measure, text };
        let body = serde_json::to_string(&body).map_err(|e| corrupt(year, e))?;
        self.add_event(actor, year, AssessmentEventKind::Finding, body, entry, now)?;
        Ok(id)
    }

    /// Record a remediation action of a finding, by a manager; its id (`R-n`, numbered per
    /// assessment). The owner is a person of the staff registry; `carried_by` is the policy
    /// or 規程 version that carries it out. `assessment_remediation_recorded` durable first
    /// (the action's digest).
    pub fn record_remediation(
        &self,
        by: &Acting,
        year: i32,
        input: &RemediationInput,
        now: Timestamp,
    ) -> ActionResult<String> {
        let action = crate::incidents::text("action", &input.action, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("action", "is empty"))?;
        let carried_by = self.check_evidence("carried_by", &input.carried_by, now)?;
        if !matches!(carried_by.kind, EvidenceKind::Policy | EvidenceKind::Rules) {
            return Err(ActionError::invalid(
                "carried_by",
                format!("`{carried_by}` is not a policy or rules version (policy:N or rules:N)"),
            ));
        }
        let actor = self.authorize(by, MANAGERS, "record a remediation action")?;
        let view = self.open_for_change(year, now)?;
        if !view.findings.iter().any(|f| f.id == input.finding) {
            return Err(ActionError::invalid("finding", format!("no finding `{}` in this assessment", input.finding)));
        }
        let owner = input.owner.as_str();
        match self.stores().principal(owner)? {
            Some(p)
                if p.disabled_at.is_none() && matches!(p.kind, tokutei_store::staff::PrincipalKind::Person { .. }) => {}
            _ => {
                return Err(ActionError::invalid(
                    "owner",
                    format!("`{owner}` is not an enabled person of the staff registry"),
                ));
            }
        }
        let count: usize = view.findings.iter().map(|f| f.remediations.len()).sum();
        let id = format!("R-{}", count + 1);
        let entry = AdminEntry::new(AdminAction::AssessmentRemediationRecorded, subject(year))
            .detail("remediation", &id)
            .detail("finding", &input.finding)
            .detail("owner", owner)
            .detail("due", input.due)
            .detail("carried_by", carried_by.to_string())
            .digest(digest(&[&action]));
        let body = RemediationBody {
            id: id.clone(),
            finding: input.finding.clone(),
            action,
            owner: owner.to_string(),
            due: input.due.to_string(),
            carried_by: carried_by.to_string(),
        };
        let body = serde_json::to_string(&body).map_err(|e| corrupt(year, e))?;
        self.add_event(actor, year, AssessmentEventKind::Remediation, body, entry, now)?;
        Ok(id)
    }

    /// Complete the assessment, by a manager: every measure of the checklist must be
    /// assessed (a conflict naming those that are not). `assessment_completed` durable first
    /// (each measure's result); nothing is added afterwards.
    pub fn complete_assessment(&self, by: &Acting, year: i32, now: Timestamp) -> ActionResult<AssessmentView> {
        let actor = self.authorize(by, MANAGERS, "complete an assessment")?;
        let view = self.open_for_change(year, now)?;
        let missing = view.unassessed();
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("({m})")).collect();
            return Err(ActionError::Conflict(format!(
                "the assessment of business year {year} has measures not assessed: {}",
                list.join(", ")
            )));
        }
        let results: Vec<String> =
            view.checklist.iter().filter_map(|i| i.result.map(|r| format!("{}={}", i.measure, r.code()))).collect();
        let entry =
            AdminEntry::new(AdminAction::AssessmentCompleted, subject(year)).detail("results", results.join(" "));
        self.add_event(actor, year, AssessmentEventKind::Completed, "{}".into(), entry, now)?;
        self.assessment(year, now)
    }

    /// The alerts of business years closed without a completed assessment at `now`
    /// ([`overdue_assessments`]), each with the days since the year closed (negative), for
    /// the escalation scan: one event per year, so each is sent once.
    pub(crate) fn overdue_assessment_alerts(
        &self,
        now: Timestamp,
        responsible: &[PrincipalId],
    ) -> ActionResult<Vec<(i64, AlertRequest)>> {
        let completed: Vec<i32> = self
            .stores()
            .assessments()?
            .iter()
            .filter(|a| a.events.iter().any(|e| e.event.kind == AssessmentEventKind::Completed))
            .map(|a| a.assessment.fiscal_year)
            .collect();
        let designated_on = self.stores().designations()?.last().map(|d| d.designation.notified_on);
        let today = tokutei_policy::tokyo::date_of(now);
        let start = self.oversight_rules.fiscal_year_start_month;
        Ok(overdue_assessments(today, start, designated_on, &completed)
            .into_iter()
            .map(|(year, last)| {
                let days_left = super::days_left(today, last);
                let subject = subject(year);
                let request = AlertRequest {
                    kind: "assessment_missing".into(),
                    event: format!("{subject}/closed-incomplete"),
                    title: Bilingual {
                        ja: format!("{year}年度の評価（27条の9）が未完了のまま事業年度が終了しました"),
                        en: format!("Business year {year} closed without a completed annual assessment (art. 27-9)"),
                    },
                    text: Bilingual {
                        ja: format!("{year}年度（{last}まで）の評価が完了していません。評価を開き、各安全管理措置を評価して完了してください。"),
                        en: format!("The annual assessment of business year {year} (ended {last}) is not completed. Open it, assess each security measure and complete it."),
                    },
                    subject,
                    due: Some(last),
                    responsible: responsible.to_vec(),
                    details: vec![("fiscal_year".into(), year.to_string())],
                };
                (days_left, request)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn business_years_start_in_the_configured_month() {
        let cases = [
            ("2027-03-31", 4, 2026),
            ("2027-04-01", 4, 2027),
            ("2026-12-31", 1, 2026),
            ("2026-09-30", 10, 2025),
            ("2026-10-01", 10, 2026),
        ];
        for (day, start, year) in cases {
            assert_eq!(fiscal_year_of(d(day), start), year, "{day} starting in month {start}");
        }
        assert_eq!(fiscal_year_days(2026, 4).unwrap(), (d("2026-04-01"), d("2027-03-31")));
        assert_eq!(fiscal_year_days(2026, 1).unwrap(), (d("2026-01-01"), d("2026-12-31")));
        assert_eq!(fiscal_year_days(2027, 3).unwrap(), (d("2027-03-01"), d("2028-02-29")));
    }

    #[test]
    fn an_alert_is_owed_when_a_year_closes_without_a_completed_assessment() {
        // (today, designated on, completed years) -> overdue (year, last day)
        let designated = Some(d("2025-11-30"));
        type Case<'a> = (&'a str, Option<Date>, &'a [i32], &'a [(i32, &'a str)]);
        let cases: [Case; 8] = [
            // The last day of business year 2026: it has not closed yet.
            ("2027-03-31", designated, &[], &[]),
            // The day it closes without a completed assessment.
            ("2027-04-01", designated, &[], &[(2026, "2027-03-31")]),
            ("2027-04-01", designated, &[2025], &[(2026, "2027-03-31")]),
            // Completed: no alert.
            ("2027-04-01", designated, &[2026], &[]),
            ("2028-03-31", designated, &[], &[(2026, "2027-03-31")]),
            // A carrier not designated, or designated during the year, owes none for it.
            ("2027-04-01", None, &[], &[]),
            ("2027-04-01", Some(d("2026-04-01")), &[], &[]),
            ("2027-04-01", Some(d("2026-03-31")), &[], &[(2026, "2027-03-31")]),
        ];
        for (today, designated_on, completed, owed) in cases {
            let expected: Vec<(i32, Date)> = owed.iter().map(|(y, last)| (*y, d(last))).collect();
            assert_eq!(
                overdue_assessments(d(today), 4, designated_on, completed),
                expected,
                "{today}, designated {designated_on:?}, {completed:?} completed"
            );
        }
        // Another start month moves the close.
        assert_eq!(overdue_assessments(d("2027-01-01"), 1, designated, &[]), [(2026, d("2026-12-31"))]);
    }

    #[test]
    fn evidence_links_are_checked_for_their_form() {
        let ok = [
            "inspection:IR-2026-04",
            "training-roster:2027-03-01",
            "incident:INC-1",
            "policy:3",
            "rules:2",
            "ledger:0",
        ];
        for text in ok {
            assert_eq!(Evidence::parse("evidence", text).unwrap().to_string(), text);
        }
        for bad in [
            "policy",
            "memo:1",
            "policy:0",
            "policy:x",
            "rules:-1",
            "training-roster:2027-13-01",
            "ledger:x",
            "inspection:a b",
        ] {
            let err = Evidence::parse("evidence", bad).unwrap_err();
            assert!(matches!(err, ActionError::Invalid { field: "evidence", .. }), "{bad}: {err:?}");
        }
    }
}
