//! Every translation between the stores and the gateway, in one place: a stored principal
//! becomes the gateway's principal (and the ledger's actor), a stored subscriber with its
//! current consent and the stops its requests put in force become the gateway's facts, an export request becomes an approval.

use std::collections::BTreeMap;

use jiff::Timestamp;
use tokutei_gateway::reason::code;
use tokutei_gateway::{
    Consent, ConsentChoice, Contract, DataRange, Principal, PrincipalKind, SubscriberFacts, TrainingRecord,
};
use tokutei_ledger::Actor;
use tokutei_store::consent::{AccessFacts, Choice};
use tokutei_store::staff::StoredPrincipal;
use tokutei_store::vault::{ContractState, WrappedDataKey};

use super::{AccessCall, App};
use crate::error::ActionResult;

pub(super) fn gateway_principal(p: &StoredPrincipal) -> Principal {
    let kind = match &p.kind {
        tokutei_store::staff::PrincipalKind::Person { role } => PrincipalKind::Person {
            role: *role,
            training: p
                .training
                .iter()
                .map(|t| TrainingRecord {
                    course: t.course.clone(),
                    completed: t.completed.0,
                    valid_until: t.valid_until.0,
                })
                .collect(),
        },
        tokutei_store::staff::PrincipalKind::System { name } => PrincipalKind::System { name: name.clone() },
    };
    Principal {
        id: p.id.clone(),
        version: p.version,
        kind,
        data_range: p
            .grants
            .data_range
            .iter()
            .map(|r| DataRange { service: r.service.clone(), categories: r.categories.clone() })
            .collect(),
        purposes: p.grants.purposes.clone(),
        zones: p.grants.zones.clone(),
        actions: p.grants.actions.clone(),
    }
}

pub(super) fn actor_of(principal: &Principal) -> Actor {
    match principal.kind {
        PrincipalKind::Person { .. } => Actor::Staff(principal.id.clone()),
        PrincipalKind::System { .. } => Actor::System(principal.id.clone()),
    }
}

/// The facts of one subscriber, or why there are none.
pub(super) enum Facts {
    /// The facts, the consent record relied on, and the wrapped data key (`None` once erased).
    Known(SubscriberFacts, Option<u64>, Option<WrappedDataKey>),
    Refused(&'static str),
}

impl App {
    pub(super) fn facts(&self, subscriber: &str, purpose: &str, today: tokutei_policy::Date) -> ActionResult<Facts> {
        let Some(AccessFacts { subscriber: stored, consent, key, use_stopped, provision_stopped }) =
            self.stores.access_facts(subscriber, purpose)?
        else {
            return Ok(Facts::Refused(code::SUBSCRIBER_NOT_FOUND));
        };
        if stored.erased_at.is_some() {
            return Ok(Facts::Refused(code::SUBSCRIBER_ERASED));
        }
        let contract = match stored.contract.state {
            ContractState::Active => Contract::Active,
            ContractState::Suspended => Contract::Suspended,
            ContractState::Terminated => Contract::Terminated { on: stored.contract.terminated_on.unwrap_or(today).0 },
        };
        let mut consents = BTreeMap::new();
        let mut proof = None;
        if let Some(record) = consent {
            let choice = match record.record.choice {
                Choice::OptedIn => ConsentChoice::OptedIn,
                Choice::OptedOut => ConsentChoice::OptedOut,
            };
            proof = Some(record.id);
            consents.insert(purpose.to_string(), Consent { choice, proof: record.id.to_string() });
        }
        let facts = SubscriberFacts {
            id: stored.id,
            service: stored.service,
            contract,
            consents,
            use_stopped,
            provision_stopped,
        };
        Ok(Facts::Known(facts, proof, key))
    }

    pub(super) fn export_covers(
        &self,
        id: &str,
        principal: &str,
        purpose: &str,
        subscriber: &str,
        categories: &[String],
        now: Timestamp,
    ) -> bool {
        // A store failure here refuses the export (fail closed).
        matches!(self.stores.export_request(id), Ok(Some(r)) if r.covers(principal, purpose, subscriber, categories, now))
    }

    pub(super) fn recipient(&self, call: &AccessCall) -> ActionResult<Option<String>> {
        if call.recipient.is_some() {
            return Ok(call.recipient.clone());
        }
        match &call.export_approval {
            Some(id) => Ok(self.stores.export_request(id)?.and_then(|r| r.request.recipient)),
            None => Ok(None),
        }
    }
}
