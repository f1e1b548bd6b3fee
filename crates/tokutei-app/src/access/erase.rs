//! Erasing subscribers: through the gateway (every category of the subscriber decided and
//! allowed) or by an operator's command, each audited before the data key is destroyed.

use jiff::Timestamp;
use tokutei_gateway::SubscriberFacts;
use tokutei_ledger::{Action, AdminAction};

use super::decide::Decided;
use super::{AccessCall, AccessOutcome, Active, App};
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::SubscriberId;

impl App {
    /// Erase subscribers through the gateway (action `erase`): each subscriber whose every
    /// requested category is allowed is crypto-shredded after the audit entry is durable.
    pub fn erase(&self, call: &AccessCall) -> ActionResult<AccessOutcome> {
        if call.action != Action::Erase {
            return Err(ActionError::BadRequest("an erasure is an `erase`".into()));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let (decided, mut outcome) = self.decide_and_audit(call, active.as_deref(), &principal, None, None)?;
        for (Decided { subscriber, decisions, .. }, out) in decided.iter().zip(outcome.subscribers.iter_mut()) {
            if !decisions.is_empty() && decisions.iter().all(|d| d.allowed) {
                self.stores.erase_subscriber(subscriber, call.now)?;
                out.erased = true;
            }
        }
        Ok(outcome)
    }

    /// Erase a subscriber by an operator's command (`tokutei subscribers erase`), audit first:
    /// the subscriber must exist and not be erased yet; the `subscriber_erased` entry (the id
    /// only; the ledger still verifies once the key is gone) is durable before the data key
    /// is destroyed. Erasures through the gateway go through [`Self::erase`] instead.
    ///
    /// `by` is a chief manager or responsible person (an erasure destroys a subscriber's
    /// information for good).
    pub fn erase_subscriber(&self, by: &Acting, subscriber: &SubscriberId, at: Timestamp) -> ActionResult<()> {
        let actor = self.authorize(by, MANAGERS, "erase subscribers")?;
        let subscriber = subscriber.as_str();
        let Some(stored) = self.stores.subscriber(subscriber)? else {
            return Err(ActionError::NotFound(format!("subscriber `{subscriber}`")));
        };
        if stored.erased_at.is_some() {
            return Err(ActionError::Conflict(format!("subscriber `{subscriber}` was already erased")));
        }
        self.audit_admin(
            actor,
            AdminEntry::new(AdminAction::SubscriberErased, format!("subscriber/{subscriber}")),
            at,
        )?;
        Ok(self.stores.erase_subscriber(subscriber, at)?)
    }

    /// What an erasure of one subscriber destroys, so what it is decided on: every category
    /// of the subscriber's service in the active policy, every category it holds values of
    /// (its one data key seals them all) and any the caller named. Naming fewer categories
    /// never narrows an erasure.
    pub(super) fn erasure_categories(
        &self,
        active: &Active,
        facts: &SubscriberFacts,
        named: &[String],
    ) -> ActionResult<Vec<String>> {
        let mut categories: Vec<String> = active
            .policy
            .categories
            .iter()
            .filter(|c| c.services.contains(&facts.service))
            .map(|c| c.id.clone())
            .collect();
        let held = self.stores.latest_versions(&facts.id)?.into_iter().map(|(category, _)| category);
        for category in held.chain(named.iter().cloned()) {
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        Ok(categories)
    }
}
