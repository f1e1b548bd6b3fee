//! The violation reporting line (the security measures' 報告連絡体制, issue 16 item 4): a
//! report of a violation, or a sign of one, filed by any member of staff or raised by a
//! detector over the audit ledger (as the system `violation-detector`), about a principal and
//! one of the policy's security measures (1)–(7). Each report goes to the persons holding the
//! role that owns its measure (an alert through the outbox when a channel is configured), has
//! an acknowledgement clock (`[oversight] ack_days`, 3 calendar days by default — the office's
//! own target, no deadline in law) that joins the escalation scan until acknowledged, and a
//! resolution (no violation / a violation, with a text, optionally linked to an incident).
//!
//! Every change is audited first. The reporter's text may describe people: it stays in the
//! store, and the ledger holds only its digest.

use jiff::{SignedDuration, Timestamp};
use tokutei_ledger::AdminAction;
use tokutei_policy::{Role, tokyo};
use tokutei_store::oversight::{NewViolationEvent, NewViolationReport, StoredViolation, ViolationEventKind};

use super::{TEXT_MAX, digest};
use crate::App;
use crate::acting::{ALL_ROLES, Acting, MANAGERS, OVERSIGHT};
use crate::alerts::{AlertRequest, Bilingual};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{IncidentId, PrincipalId};

/// The system a detector files its reports as.
pub const DETECTOR: &str = "violation-detector";

/// The measure a staff report concerns when none is named: (3) organisational measures, which
/// carry the reporting line itself.
pub const DEFAULT_MEASURE: u8 = 3;

/// A report as a person (or a detector) gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportInput {
    /// The principal concerned.
    pub principal: PrincipalId,
    /// The security measure concerned, (1)–(7); [`DEFAULT_MEASURE`] when `None`.
    pub measure: Option<u8>,
    pub text: String,
}

/// A detector's finding to file (see [`super::detectors`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The detector's code (`denial_burst`).
    pub detector: &'static str,
    pub principal: String,
    pub measure: u8,
    /// What it saw (codes and counts, never personal data).
    pub text: String,
    /// What makes it the same finding when seen again.
    pub key: String,
}

/// How a report is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No violation.
    None,
    /// A violation.
    Violation,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::None => "none",
            Outcome::Violation => "violation",
        }
    }

    pub fn from_code(code: &str) -> Option<Outcome> {
        [Outcome::None, Outcome::Violation].into_iter().find(|o| o.code() == code)
    }
}

/// A resolution as a manager gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveInput {
    pub outcome: Outcome,
    pub text: String,
    /// The incident a violation is linked to.
    pub incident: Option<IncidentId>,
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationState {
    Received,
    Acknowledged,
    Resolved(Outcome),
}

impl ViolationState {
    pub fn code(self) -> &'static str {
        match self {
            ViolationState::Received => "received",
            ViolationState::Acknowledged => "acknowledged",
            ViolationState::Resolved(Outcome::None) => "resolved_none",
            ViolationState::Resolved(Outcome::Violation) => "resolved_violation",
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            ViolationState::Received => "受付",
            ViolationState::Acknowledged => "確認済み",
            ViolationState::Resolved(Outcome::None) => "終結（違反なし）",
            ViolationState::Resolved(Outcome::Violation) => "終結（違反あり）",
        }
    }
}

/// A report with its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViolationView {
    pub stored: StoredViolation,
    pub state: ViolationState,
    /// Whether it is past its acknowledgement due and still unacknowledged.
    pub ack_overdue: bool,
}

impl ViolationView {
    /// The JSON every front end shows (the CLI's `--json`, the API).
    pub fn to_json(&self) -> serde_json::Value {
        let v = self;
        let r = &v.stored.report;
        serde_json::json!({
            "id": r.id,
            "detector": r.detector,
            "principal": r.principal,
            "measure": r.measure,
            "text": r.text,
            "reported_by": r.reported_by,
            "received_at": r.received_at.to_string(),
            "ack_due": r.ack_due.to_string(),
            "ack_overdue": v.ack_overdue,
            "state": v.state.code(),
            "audit_index": r.audit_index,
            "events": v.stored.events.iter().map(|e| serde_json::json!({
                "kind": e.kind.code(),
                "text": e.text,
                "incident": e.incident,
                "by": e.by,
                "at": e.at.to_string(),
            })).collect::<Vec<_>>(),
        })
    }
}

fn state_of(v: &StoredViolation) -> ViolationState {
    v.events.iter().fold(ViolationState::Received, |state, e| match e.kind {
        ViolationEventKind::Acknowledged if state == ViolationState::Received => ViolationState::Acknowledged,
        ViolationEventKind::Acknowledged => state,
        ViolationEventKind::ResolvedNone => ViolationState::Resolved(Outcome::None),
        ViolationEventKind::ResolvedViolation => ViolationState::Resolved(Outcome::Violation),
    })
}

fn subject(id: &str) -> String {
    format!("violation/{id}")
}

impl App {
    /// Days from a report's receipt to its acknowledgement due.
    fn ack_due(&self, received: Timestamp) -> Timestamp {
        received + SignedDuration::from_hours(24 * i64::from(self.oversight_rules.ack_days))
    }

    /// File a report, by any member of staff: the principal concerned (of the staff registry),
    /// the measure (1)–(7), the text (kept in the store; the ledger gets its digest).
    /// `violation_reported` durable first; then the measure's owners are alerted.
    pub fn report_violation(&self, by: &Acting, input: &ReportInput, now: Timestamp) -> ActionResult<ViolationView> {
        let actor = self.authorize(by, ALL_ROLES, "report a violation")?;
        let measure = input.measure.unwrap_or(DEFAULT_MEASURE);
        let text = crate::incidents::text("text", &input.text, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("text", "is empty"))?;
        let principal = input.principal.as_str();
        if self.stores().principal(principal)?.is_none() {
            return Err(ActionError::invalid("principal", format!("no principal `{principal}` in the staff registry")));
        }
        self.file_violation(actor, None, principal, measure, text, None, now)
    }

    /// File a detector's finding as `violation-detector`, unless one with its key is filed
    /// already: the report, or `None` when it is not new.
    pub fn file_finding(&self, finding: &Finding, now: Timestamp) -> ActionResult<Option<ViolationView>> {
        if self.stores().violation_reports()?.iter().any(|r| r.report.dedupe_key.as_deref() == Some(&finding.key)) {
            return Ok(None);
        }
        let actor = tokutei_ledger::Actor::System(DETECTOR.into());
        self.file_violation(
            actor,
            Some(finding.detector),
            &finding.principal,
            finding.measure,
            finding.text.clone(),
            Some(finding.key.clone()),
            now,
        )
        .map(Some)
    }

    #[allow(clippy::too_many_arguments, reason = "one private path for staff and detectors")]
    fn file_violation(
        &self,
        actor: tokutei_ledger::Actor,
        detector: Option<&'static str>,
        principal: &str,
        measure: u8,
        text: String,
        key: Option<String>,
        now: Timestamp,
    ) -> ActionResult<ViolationView> {
        if !(1..=7).contains(&measure) {
            return Err(ActionError::invalid("measure", format!("is {measure}; use 1 to 7")));
        }
        let id = format!("VR-{}", self.stores().violation_reports()?.len() + 1);
        let ack_due = self.ack_due(now);
        let mut entry = AdminEntry::new(AdminAction::ViolationReported, subject(&id))
            .detail("principal", principal)
            .detail("measure", measure)
            .detail("ack_due", ack_due)
            .digest(digest(&[&text]));
        if let Some(d) = detector {
            entry = entry.detail("detector", d);
        }
        let reported_by = actor.id().to_string();
        let audit_index = self.audit_admin(actor, entry, now)?;
        let report = NewViolationReport {
            id: id.clone(),
            detector: detector.map(Into::into),
            principal: principal.into(),
            measure,
            text,
            dedupe_key: key,
            reported_by,
            received_at: now,
            ack_due,
            audit_index,
        };
        self.stores().add_violation_report(&report)?;
        self.alert_violation(&report, now)?;
        Ok(ViolationView {
            stored: StoredViolation { report, events: Vec::new() },
            state: ViolationState::Received,
            ack_overdue: false,
        })
    }

    /// The persons holding the role that owns `measure` in the policy in force (the chief
    /// manager and the responsible persons when no policy or owner is known), not disabled.
    fn measure_owners(&self, measure: u8, now: Timestamp) -> ActionResult<Vec<PrincipalId>> {
        let owner = self.active_policy(now)?.and_then(|(_, policy)| {
            policy.security.measures.iter().find(|m| m.number == u32::from(measure)).map(|m| m.owner)
        });
        let roles: Vec<Role> = owner.map_or_else(|| MANAGERS.to_vec(), |r| vec![r]);
        // An alert names at most 20 persons.
        Ok(self.persons_with_roles(&roles)?.into_iter().take(20).collect())
    }

    fn alert_violation(&self, report: &NewViolationReport, now: Timestamp) -> ActionResult<()> {
        if self.alerts.recipients().is_empty() {
            return Ok(());
        }
        let id = &report.id;
        let request = AlertRequest {
            kind: "violation_reported".into(),
            subject: subject(id),
            event: format!("violation/{id}/reported"),
            title: Bilingual {
                ja: format!("違反の報告（{id}、安全管理措置（{}））", report.measure),
                en: format!("Violation report {id} (security measure ({}))", report.measure),
            },
            text: Bilingual {
                ja: format!("{}までに確認してください。", tokyo::minutes(report.ack_due)),
                en: format!("Acknowledge it by {}.", tokyo::minutes(report.ack_due)),
            },
            due: Some(tokyo::date_of(report.ack_due)),
            responsible: self.measure_owners(report.measure, now)?,
            details: vec![("measure".into(), report.measure.to_string())],
        };
        self.enqueue_alert(&Acting::Setup(DETECTOR), &request, now)?;
        Ok(())
    }

    fn violation_stored(&self, id: &str) -> ActionResult<StoredViolation> {
        self.stores()
            .violation_reports()?
            .into_iter()
            .find(|v| v.report.id == id)
            .ok_or_else(|| ActionError::NotFound(format!("violation report `{id}`")))
    }

    /// Acknowledge a received report, by a manager: `violation_acknowledged` durable first. A
    /// conflict when it is acknowledged or resolved already.
    pub fn acknowledge_violation(&self, by: &Acting, id: &str, now: Timestamp) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "acknowledge a violation report")?;
        let stored = self.violation_stored(id)?;
        let state = state_of(&stored);
        if state != ViolationState::Received {
            return Err(ActionError::Conflict(format!("violation report `{id}` is {} already", state.code())));
        }
        let entry = AdminEntry::new(AdminAction::ViolationAcknowledged, subject(id));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_violation_event(&NewViolationEvent {
            report: id.into(),
            kind: ViolationEventKind::Acknowledged,
            text: None,
            incident: None,
            by: actor.id().to_string(),
            at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// Resolve a report, by a manager: no violation, or a violation (optionally linked to an
    /// incident of the register), with a text. An unacknowledged report is acknowledged by
    /// its resolution. `violation_resolved` durable first (the text's digest). A conflict when
    /// it is resolved already.
    pub fn resolve_violation(&self, by: &Acting, id: &str, input: &ResolveInput, now: Timestamp) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "resolve a violation report")?;
        let text = crate::incidents::text("text", &input.text, TEXT_MAX, true)?
            .ok_or_else(|| ActionError::invalid("text", "is empty"))?;
        if input.incident.is_some() && input.outcome == Outcome::None {
            return Err(ActionError::invalid("incident", "links a violation only; the outcome is none"));
        }
        let stored = self.violation_stored(id)?;
        let state = state_of(&stored);
        if let ViolationState::Resolved(_) = state {
            return Err(ActionError::Conflict(format!("violation report `{id}` is {} already", state.code())));
        }
        if let Some(incident) = &input.incident
            && self.stores().incident(incident.as_str())?.is_none()
        {
            return Err(ActionError::invalid("incident", format!("no incident `{incident}`")));
        }
        let mut entry = AdminEntry::new(AdminAction::ViolationResolved, subject(id))
            .detail("outcome", input.outcome.code())
            .digest(digest(&[&text]));
        if let Some(incident) = &input.incident {
            entry = entry.detail("incident", incident);
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_violation_event(&NewViolationEvent {
            report: id.into(),
            kind: match input.outcome {
                Outcome::None => ViolationEventKind::ResolvedNone,
                Outcome::Violation => ViolationEventKind::ResolvedViolation,
            },
            text: Some(text),
            incident: input.incident.as_ref().map(|i| i.to_string()),
            by: actor.id().to_string(),
            at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// Every report, in the order received, with its state: for the oversight roles.
    pub fn violations(&self, by: &Acting, now: Timestamp) -> ActionResult<Vec<ViolationView>> {
        self.authorize(by, OVERSIGHT, "read the violation reports")?;
        Ok(self.stores().violation_reports()?.into_iter().map(|v| self.view(v, now)).collect())
    }

    /// One report: for the oversight roles.
    pub fn violation(&self, by: &Acting, id: &str, now: Timestamp) -> ActionResult<ViolationView> {
        self.authorize(by, OVERSIGHT, "read a violation report")?;
        Ok(self.view(self.violation_stored(id)?, now))
    }

    fn view(&self, stored: StoredViolation, now: Timestamp) -> ViolationView {
        let state = state_of(&stored);
        ViolationView { ack_overdue: state == ViolationState::Received && stored.report.ack_due < now, state, stored }
    }

    /// The acknowledgement clocks of the reports not yet acknowledged: `(subject, Japanese
    /// title, English title, due)` for the escalation scan.
    pub(crate) fn violation_clocks(&self) -> ActionResult<Vec<(String, String, String, tokutei_policy::Date)>> {
        Ok(self
            .stores()
            .violation_reports()?
            .into_iter()
            .filter(|v| state_of(v) == ViolationState::Received)
            .map(|v| {
                let id = &v.report.id;
                (
                    format!("violation/{id}/ack"),
                    format!("違反の報告（{id}）の確認"),
                    format!("Acknowledgement of violation report {id}"),
                    tokyo::date_of(v.report.ack_due),
                )
            })
            .collect())
    }
}
