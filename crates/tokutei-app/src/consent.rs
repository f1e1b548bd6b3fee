//! A subscriber's choices for the purposes that offer one (opt-in, opt-out), the one way every
//! front end records them (`tokutei consent record`): the purpose is in the policy in force and
//! offers a choice, the subscriber exists, the notice shown is a published version's, the one
//! recording is in the staff registry (a person of any role at the counter, or a system
//! feeding the choices it received) → the `consent_recorded` entry (the record's digest in
//! `AdminEvent.digest`) is durable → the record is stored, naming its entry. Records are never
//! changed: a new choice is a new record.

use jiff::Timestamp;
use serde::Serialize;
use tokutei_ledger::AdminAction;
use tokutei_policy::ConsentMode;
use tokutei_store::consent::{Choice, ConsentRecord, NewConsent};

use crate::acting::{ALL_ROLES, Acting};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{PurposeId, SubscriberId};
use crate::{App, limits};

/// A subscriber's choice for a purpose, as a front end received it.
#[derive(Debug, Clone)]
pub struct NewChoice {
    pub subscriber: SubscriberId,
    pub purpose: PurposeId,
    pub choice: Choice,
    /// How the choice reached us (`web`, `app`, `phone`, `in_person`, `post`…).
    pub channel: String,
    /// The policy version whose notice was shown; `None` is the version in force.
    pub notice_version: Option<u32>,
    /// A reference to the evidence (form submission id, call recording id); never its content.
    pub evidence: Option<String>,
}

/// A subscriber's current choices (the latest per purpose) and every record, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct Consents {
    pub id: SubscriberId,
    pub current: Vec<ConsentRecord>,
    pub history: Vec<ConsentRecord>,
}

impl App {
    /// Record `new` as `by`'s at `now`, audit first. Refused, with nothing written: no policy in
    /// force, a purpose not in it or offering no choice, a notice version never published
    /// ([`ActionError::Invalid`]), an unknown subscriber ([`ActionError::NotFound`]), one
    /// acting who is not in the registry or is disabled.
    pub fn record_consent(&self, by: &Acting, new: &NewChoice, now: Timestamp) -> ActionResult<ConsentRecord> {
        self.record_choice(new, now, || self.authorize_or_system(by, ALL_ROLES, "record a subscriber's choice"))
    }

    /// The subscriber's own choice on the preference page (`/preferences`), in the session a
    /// one-time link opened: recorded as [`Self::record_consent`] checks it, through the
    /// channel `web`, under the notice in force (the page shows it), by the system `portal`
    /// (the subscriber has no registry id), with the session as evidence. It applies to the
    /// very next gateway request.
    pub fn record_own_choice(
        &self,
        visitor: &crate::portal::Visitor,
        purpose: &PurposeId,
        choice: Choice,
        now: Timestamp,
    ) -> ActionResult<ConsentRecord> {
        let new = NewChoice {
            subscriber: visitor.subscriber.clone(),
            purpose: purpose.clone(),
            choice,
            channel: "web".into(),
            notice_version: None,
            evidence: Some(format!("portal-session:{}", visitor.session_reference())),
        };
        self.record_choice(&new, now, || Ok(tokutei_ledger::Actor::System("portal".into())))
    }

    fn record_choice(
        &self,
        new: &NewChoice,
        now: Timestamp,
        actor: impl FnOnce() -> ActionResult<tokutei_ledger::Actor>,
    ) -> ActionResult<ConsentRecord> {
        limits::id("channel", &new.channel)
            .map_err(|_| ActionError::invalid("channel", "a channel is 1–64 characters without white space"))?;
        if let Some(evidence) = &new.evidence {
            limits::name("evidence", evidence).map_err(|_| {
                ActionError::invalid(
                    "evidence",
                    "a reference to the evidence is 1–200 characters, no control character",
                )
            })?;
        }
        let (active, policy) = self
            .active_policy(now)?
            .ok_or_else(|| ActionError::BadRequest("no policy version is in force; publish one first".into()))?;
        let purpose = policy
            .purpose(new.purpose.as_str())
            .ok_or_else(|| ActionError::invalid("purpose", format!("`{}` is not in the active policy", new.purpose)))?;
        if purpose.consent == ConsentMode::None {
            return Err(ActionError::invalid(
                "purpose",
                format!("`{}` is needed to provide the service and offers no choice", new.purpose),
            ));
        }
        if self.stores().subscriber(new.subscriber.as_str())?.is_none() {
            return Err(ActionError::NotFound(format!("subscriber `{}`", new.subscriber)));
        }
        // The notice shown is a version's: one never published was never shown to anyone.
        let notice_version = new.notice_version.unwrap_or(active);
        if self.stores().policy_version(notice_version)?.is_none() {
            return Err(ActionError::invalid(
                "notice_version",
                format!("`{notice_version}` is not a published policy version"),
            ));
        }
        let actor = actor()?;
        let record = NewConsent {
            subscriber: new.subscriber.to_string(),
            purpose: new.purpose.to_string(),
            choice: new.choice,
            channel: new.channel.clone(),
            notice_version,
            recorded_at: now,
            recorded_by: actor.id().to_string(),
            evidence: new.evidence.clone(),
        };
        let entry = AdminEntry::new(AdminAction::ConsentRecorded, new.subscriber.as_str())
            .digest(tokutei_store::consent::consent_digest(&record))
            .detail("purpose", &record.purpose)
            .detail("choice", record.choice.id())
            .detail("channel", &record.channel)
            .detail("notice_version", notice_version);
        let index = self.audit_admin(actor, entry, now)?;
        Ok(self.stores().record_consent(&record, Some(index))?)
    }

    /// `subscriber`'s current choices and their history ([`ActionError::NotFound`] for an
    /// unknown subscriber).
    pub fn consents(&self, subscriber: &SubscriberId) -> ActionResult<Consents> {
        if self.stores().subscriber(subscriber.as_str())?.is_none() {
            return Err(ActionError::NotFound(format!("subscriber `{subscriber}`")));
        }
        Ok(Consents {
            id: subscriber.clone(),
            current: self.stores().current_consents(subscriber.as_str())?,
            history: self.stores().consent_history(subscriber.as_str())?,
        })
    }
}
