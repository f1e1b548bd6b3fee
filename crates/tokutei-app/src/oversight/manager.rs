//! The chief manager register (特定利用者情報統括管理者, 27条の10, 27条の11): appointments with
//! their dates and qualification evidence, the notification of each to the ministry, and the
//! log of the chief manager's opinions with the company's responses.
//!
//! Exactly one appointee at a time: appointing a new chief manager ends the appointment in
//! force the day before the new one starts (the store does both in one transaction and its
//! database refuses a second open or an overlapping appointment). The appointee is a person
//! of the staff registry, not disabled, with the role of chief manager — the registry and the
//! register say the same. Each appointment opens a notification task, due
//! `notification_days` (30 by default, "遅滞なく", unconfirmed) after its first day, which
//! stays open until its notification filing is recorded; an opinion awaits the company's
//! response for `response_days` (30 by default, the office's own target).

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_policy::{Date, Role, tokyo};
use tokutei_store::oversight::{
    FilingKind, NewAppointment, NewFiling, NewOpinion, NewOpinionResponse, StoredAppointment, StoredFiling,
    StoredOpinion,
};
use tokutei_store::staff::PrincipalKind;

use super::{TEXT_MAX, days_left, digest, past_date, reference};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{AppointmentId, OpinionId, PrincipalId};

/// An appointment as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointInput {
    pub principal: PrincipalId,
    /// The first day of the appointment.
    pub from: Date,
    /// The qualification evidence: a text or a reference to a document.
    pub evidence: Option<String>,
}

/// A notification as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationInput {
    /// The appointment notified; the one in force when `None`.
    pub appointment: Option<AppointmentId>,
    pub filed_on: Date,
    pub reference: String,
}

/// An opinion as recorded by a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionInput {
    pub given_on: Date,
    pub subject: String,
    pub text: String,
}

/// A response as a person gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseInput {
    pub opinion: OpinionId,
    pub responded_on: Date,
    pub text: String,
}

/// What an appointment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointed {
    pub id: AppointmentId,
    /// The appointment it ended (the day before this one starts).
    pub ended: Option<AppointmentId>,
    /// The notification task it opened, due then.
    pub notification_due: Date,
    pub audit_index: u64,
}

/// An appointment with its notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentView {
    pub appointment: StoredAppointment,
    /// Whether it is in force today.
    pub active: bool,
    /// Its notification filings, oldest first (a correction is another filing).
    pub notifications: Vec<StoredFiling>,
    /// When the notification is due.
    pub notification_due: Date,
    /// Calendar days left until then while it is not filed (negative: overdue).
    pub notification_days_left: Option<i64>,
}

/// An opinion with its responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionView {
    pub opinion: StoredOpinion,
    pub response_due: Date,
    /// Calendar days left until then while it has no response (negative: overdue).
    pub response_days_left: Option<i64>,
}

impl AppointmentView {
    /// The JSON every front end shows (the CLI's `--json`, the API), with the appointee's
    /// `name` from the staff registry.
    pub fn to_json(&self, name: Option<&str>) -> serde_json::Value {
        let v = self;
        let a = &v.appointment.appointment;
        serde_json::json!({
            "id": a.id,
            "principal": a.principal,
            "name": name,
            "from": a.from.to_string(),
            "to": v.appointment.to.map(|d| d.to_string()),
            "active": v.active,
            "evidence": a.evidence,
            "appointed_by": a.appointed_by,
            "appointed_at": a.appointed_at.to_string(),
            "notification_due": v.notification_due.to_string(),
            "notification_days_left": v.notification_days_left,
            "notifications": v.notifications.iter().map(|f| serde_json::json!({
                "number": f.number,
                "filed_on": f.filing.filed_on.to_string(),
                "reference": f.filing.reference,
            })).collect::<Vec<_>>(),
        })
    }
}

impl OpinionView {
    /// The JSON every front end shows (the CLI's `--json`, the API).
    pub fn to_json(&self) -> serde_json::Value {
        let v = self;
        let o = &v.opinion.opinion;
        serde_json::json!({
            "id": o.id,
            "appointment": o.appointment,
            "given_on": o.given_on.to_string(),
            "subject": o.subject,
            "text": o.text,
            "recorded_by": o.recorded_by,
            "response_due": v.response_due.to_string(),
            "response_days_left": v.response_days_left,
            "responses": v.opinion.responses.iter().map(|r| serde_json::json!({
                "responded_on": r.responded_on.to_string(),
                "text": r.text,
                "recorded_by": r.recorded_by,
            })).collect::<Vec<_>>(),
        })
    }
}

fn subject(id: &str) -> String {
    format!("chief-manager/{id}")
}

fn opinion_subject(id: &str) -> String {
    format!("opinion/{id}")
}

fn long_text(field: &'static str, value: &str) -> ActionResult<String> {
    crate::incidents::text(field, value, TEXT_MAX, true)?.ok_or_else(|| ActionError::invalid(field, "is empty"))
}

impl App {
    /// Appoint a chief manager from `from`, by a manager: a person of the staff registry, not
    /// disabled, with the chief manager's role, not the one already in force, starting after
    /// the appointment in force started. The appointment in force ends the day before;
    /// `chief_manager_appointed` durable before the change. Opens the notification task.
    pub fn appoint_chief_manager(&self, by: &Acting, input: &AppointInput, now: Timestamp) -> ActionResult<Appointed> {
        let actor = self.authorize(by, MANAGERS, "appoint the chief manager")?;
        let evidence = match &input.evidence {
            Some(text) => crate::incidents::text("evidence", text, TEXT_MAX, true)?,
            None => None,
        };
        let id = input.principal.as_str();
        let person = self
            .stores()
            .principal(id)?
            .ok_or_else(|| ActionError::invalid("principal", format!("no principal `{id}` in the staff registry")))?;
        if person.disabled_at.is_some() {
            return Err(ActionError::invalid("principal", format!("`{id}` is disabled")));
        }
        match person.kind {
            PrincipalKind::Person { role: Role::ChiefManager } => {}
            PrincipalKind::Person { role } => {
                return Err(ActionError::invalid(
                    "principal",
                    format!(
                        "`{id}` has the role {}; give the person the role of chief manager first",
                        role.label(tokutei_policy::Lang::En)
                    ),
                ));
            }
            PrincipalKind::System { .. } => {
                return Err(ActionError::invalid("principal", format!("`{id}` is a system; appoint a person")));
            }
        }
        let appointments = self.stores().appointments()?;
        if let Some(open) = appointments.iter().find(|a| a.to.is_none()) {
            if open.appointment.principal == id {
                return Err(ActionError::Conflict(format!(
                    "`{id}` is the chief manager already (appointment `{}`)",
                    open.appointment.id
                )));
            }
            if input.from <= open.appointment.from {
                return Err(ActionError::Conflict(format!(
                    "appointment `{}` is in force from {}; a successor starts after that day, not on {}",
                    open.appointment.id, open.appointment.from, input.from
                )));
            }
        }
        let appointment = AppointmentId::known(format!("CM-{}", appointments.len() + 1));
        let notification_due = self.oversight_rules.notification_due(input.from)?;
        let mut entry = AdminEntry::new(AdminAction::ChiefManagerAppointed, subject(appointment.as_str()))
            .detail("principal", id)
            .detail("from", input.from)
            .detail("notification_due", notification_due);
        if let Some(open) = appointments.iter().find(|a| a.to.is_none()) {
            entry = entry.detail("ends", &open.appointment.id);
        }
        if let Some(text) = &evidence {
            entry = entry.digest(digest(&[text]));
        }
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        let ended = self.stores().add_appointment(&NewAppointment {
            id: appointment.to_string(),
            principal: id.to_string(),
            from: input.from,
            evidence,
            appointed_by: actor.id().to_string(),
            appointed_at: now,
            audit_index,
        })?;
        Ok(Appointed { id: appointment, ended: ended.map(AppointmentId::known), notification_due, audit_index })
    }

    /// Record the notification of an appointment (the one in force when none is named) to the
    /// ministry, by a manager: the filing date (not after today) and its reference. `chief_manager_notified` durable before it is stored; the
    /// appointment's notification task is closed.
    pub fn record_manager_notification(
        &self,
        by: &Acting,
        input: &NotificationInput,
        now: Timestamp,
    ) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "record a notification")?;
        let filed_on = past_date("date", input.filed_on, tokyo::date_of(now))?;
        let reference = reference("reference", &input.reference)?;
        let appointments = self.stores().appointments()?;
        let appointment = match &input.appointment {
            Some(id) => appointments
                .iter()
                .find(|a| a.appointment.id == id.as_str())
                .ok_or_else(|| ActionError::NotFound(format!("appointment `{id}`")))?,
            None => appointments
                .iter()
                .find(|a| a.to.is_none())
                .ok_or_else(|| ActionError::invalid("appointment", "no chief manager is appointed"))?,
        };
        let id = appointment.appointment.id.clone();
        let entry = AdminEntry::new(AdminAction::ChiefManagerNotified, subject(&id))
            .detail("filed_on", filed_on)
            .detail("reference", &reference);
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_filing(&NewFiling {
            kind: FilingKind::ManagerNotification,
            appointment: Some(id),
            rules_version: None,
            filed_on,
            reference,
            recorded_by: actor.id().to_string(),
            recorded_at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// The register: every appointment, the earliest first, with its notifications and task.
    pub fn chief_managers(&self, now: Timestamp) -> ActionResult<Vec<AppointmentView>> {
        let today = tokyo::date_of(now);
        let filings = self.stores().oversight_filings()?;
        self.stores()
            .appointments()?
            .into_iter()
            .map(|a| {
                let notifications: Vec<StoredFiling> = filings
                    .iter()
                    .filter(|f| f.filing.appointment.as_deref() == Some(a.appointment.id.as_str()))
                    .cloned()
                    .collect();
                let notification_due = self.oversight_rules.notification_due(a.appointment.from)?;
                Ok(AppointmentView {
                    active: a.appointment.from <= today && a.to.is_none_or(|to| today <= to),
                    notification_days_left: notifications.is_empty().then(|| days_left(today, notification_due)),
                    notification_due,
                    notifications,
                    appointment: a,
                })
            })
            .collect()
    }

    /// Record an opinion of the chief manager, by a manager (the chief manager, or a
    /// responsible person writing it down): given on a day (not after today) on which a chief
    /// manager was appointed, with a subject and the text. `opinion_recorded` durable first
    /// (the entry holds the digest of the subject and text, never the text).
    pub fn record_opinion(&self, by: &Acting, input: &OpinionInput, now: Timestamp) -> ActionResult<OpinionId> {
        let actor = self.authorize(by, MANAGERS, "record an opinion")?;
        let given_on = past_date("date", input.given_on, tokyo::date_of(now))?;
        let subject_text = reference("subject", &input.subject)?;
        let text = long_text("text", &input.text)?;
        let appointments = self.stores().appointments()?;
        let appointment = appointments
            .iter()
            .find(|a| a.appointment.from <= given_on && a.to.is_none_or(|to| given_on <= to))
            .ok_or_else(|| ActionError::invalid("date", format!("no chief manager was appointed on {given_on}")))?;
        let id = OpinionId::known(format!("OP-{}", self.stores().opinions()?.len() + 1));
        let entry = AdminEntry::new(AdminAction::OpinionRecorded, opinion_subject(id.as_str()))
            .detail("appointment", &appointment.appointment.id)
            .detail("given_on", given_on)
            .digest(digest(&[&subject_text, &text]));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_opinion(&NewOpinion {
            id: id.to_string(),
            appointment: appointment.appointment.id.clone(),
            given_on,
            subject: subject_text,
            text,
            recorded_by: actor.id().to_string(),
            recorded_at: now,
            audit_index,
        })?;
        Ok(id)
    }

    /// Record the company's response to an opinion, by a manager: the day (not after today,
    /// not before the opinion) and the text. `opinion_responded` durable first (its digest).
    pub fn respond_to_opinion(&self, by: &Acting, input: &ResponseInput, now: Timestamp) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "respond to an opinion")?;
        let responded_on = past_date("date", input.responded_on, tokyo::date_of(now))?;
        let text = long_text("text", &input.text)?;
        let id = input.opinion.as_str();
        let opinion = self
            .stores()
            .opinions()?
            .into_iter()
            .find(|o| o.opinion.id == id)
            .ok_or_else(|| ActionError::NotFound(format!("opinion `{id}`")))?;
        if responded_on < opinion.opinion.given_on {
            return Err(ActionError::invalid(
                "date",
                format!("{responded_on} is before the opinion was given ({})", opinion.opinion.given_on),
            ));
        }
        let entry = AdminEntry::new(AdminAction::OpinionResponded, opinion_subject(id))
            .detail("responded_on", responded_on)
            .digest(digest(&[&text]));
        let audit_index = self.audit_admin(actor.clone(), entry, now)?;
        self.stores().add_opinion_response(&NewOpinionResponse {
            opinion: id.to_string(),
            responded_on,
            text,
            recorded_by: actor.id().to_string(),
            recorded_at: now,
            audit_index,
        })?;
        Ok(audit_index)
    }

    /// The opinions log, the earliest given first, each with its responses and deadline.
    pub fn opinions(&self, now: Timestamp) -> ActionResult<Vec<OpinionView>> {
        let today = tokyo::date_of(now);
        self.stores()
            .opinions()?
            .into_iter()
            .map(|o| {
                let response_due = self.oversight_rules.response_due(o.opinion.given_on)?;
                Ok(OpinionView {
                    response_days_left: o.responses.is_empty().then(|| days_left(today, response_due)),
                    response_due,
                    opinion: o,
                })
            })
            .collect()
    }
}
