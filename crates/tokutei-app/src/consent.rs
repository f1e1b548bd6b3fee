//! Recording a subscriber's choice for a purpose, audit first.

use tokutei_ledger::{Actor, AdminAction, AdminEvent, Entry};
use tokutei_policy::ConsentMode;
use tokutei_store::consent::{ConsentRecord, NewConsent};

use crate::App;
use crate::error::{ActionError, ActionResult};

impl App {
    /// Record a subscriber's choice for a purpose, audit first: the `consent_recorded` entry
    /// (with the record's digest) is durable before the record is stored, and the record
    /// names it. The purpose must be in the active policy and offer a choice (opt-in or
    /// opt-out), the subscriber must exist, and the notice version must be a published one.
    pub fn record_consent(&self, actor: Actor, consent: &NewConsent) -> ActionResult<ConsentRecord> {
        let active = self
            .active(self.freshness(consent.recorded_at)?)?
            .ok_or_else(|| ActionError::BadRequest("no policy version is in force; publish one first".into()))?;
        let purpose = active.policy.purpose(&consent.purpose).ok_or_else(|| {
            ActionError::invalid("purpose", format!("`{}` is not in the active policy", consent.purpose))
        })?;
        if purpose.consent == ConsentMode::None {
            return Err(ActionError::invalid(
                "purpose",
                format!("`{}` is needed to provide the service and offers no choice", consent.purpose),
            ));
        }
        if self.stores().subscriber(&consent.subscriber)?.is_none() {
            return Err(ActionError::NotFound(format!("subscriber `{}`", consent.subscriber)));
        }
        // The notice shown is a version's: one never published was never shown to anyone.
        if self.stores().policy_version(consent.notice_version)?.is_none() {
            return Err(ActionError::invalid(
                "notice_version",
                format!("`{}` is not a published policy version", consent.notice_version),
            ));
        }
        let details = vec![
            ("purpose".to_string(), consent.purpose.clone()),
            ("choice".to_string(), consent.choice.id().to_string()),
            ("channel".to_string(), consent.channel.clone()),
            ("notice_version".to_string(), consent.notice_version.to_string()),
        ];
        let event = AdminEvent {
            action: AdminAction::ConsentRecorded,
            subject: consent.subscriber.clone(),
            digest: Some(tokutei_store::consent::consent_digest(consent)),
            details,
        };
        let entry =
            self.ledger().append(&Entry::admin(consent.recorded_at, actor, event)).map_err(ActionError::Audit)?;
        Ok(self.stores().record_consent(consent, Some(entry.index))?)
    }
}
