//! Explaining a decision: the decisions and the deciding policies, without reading any value,
//! audited before anything is decided.

use std::collections::BTreeMap;

use tokutei_gateway::{AccessRequest, Explanation};
use tokutei_ledger::AdminAction;

use super::call::check_call;
use super::decide::Decided;
use super::facts::{Facts, actor_of};
use super::{AccessCall, App};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::limits;

impl App {
    /// The decisions and the deciding policies, without reading any value. The decisions
    /// reveal facts about each subscriber (existence, contract state, choices), so a call may
    /// name at most [`limits::MAX_EXPLAIN_SUBSCRIBERS`] and is audited (`access_explained`,
    /// durable) before anything is decided.
    pub fn explain(&self, call: &AccessCall) -> ActionResult<Explanation> {
        check_call(call)?;
        if call.subscribers.len() > limits::MAX_EXPLAIN_SUBSCRIBERS {
            return Err(ActionError::BadRequest(format!(
                "an explanation may name at most {} subscribers, got {}",
                limits::MAX_EXPLAIN_SUBSCRIBERS,
                call.subscribers.len()
            )));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let mut details = vec![
            ("action".to_string(), call.action.id().to_string()),
            ("purpose".to_string(), call.purpose.to_string()),
            ("subscribers".to_string(), join(&call.subscribers)),
            ("client".to_string(), call.client.clone()),
        ];
        if !call.categories.is_empty() {
            details.push(("categories".to_string(), join(&call.categories)));
        }
        let mut entry = AdminEntry::new(AdminAction::AccessExplained, format!("staff/{}", call.principal));
        entry.details = details;
        self.audit_admin(actor_of(&principal.principal), entry, call.now)?;
        let Some(active_ref) = active.as_deref() else {
            let zone = self.zone_of_call(call, None, &principal)?;
            let decisions = self.decide(call, &zone, None, &principal, None, None)?;
            return Ok(Explanation {
                decisions: decisions.into_iter().flat_map(|d| d.decisions).collect(),
                policies: vec![],
            });
        };
        let recipient = self.recipient(call)?;
        let zone = self.zone_of_call(call, Some(active_ref), &principal)?;
        let decided = self.decide(
            call,
            &zone,
            Some(active_ref),
            &principal,
            recipient.as_deref(),
            call.export_approval.as_deref(),
        )?;
        let (zone, zone_secrecy) = match &zone {
            crate::zones::CallZone::In { zone, secrecy } => (zone.as_deref(), *secrecy),
            crate::zones::CallZone::Refused(_) => (None, None),
        };
        // Re-run through the explaining engine for the policy texts of known subscribers.
        let mut policies: BTreeMap<String, tokutei_gateway::ExplainedPolicy> = BTreeMap::new();
        let today = self.today(call.now);
        let mut decisions = Vec::new();
        for Decided { subscriber, decisions: d, .. } in decided {
            if let Facts::Known(facts, _, _) = self.facts(&subscriber, call.purpose.as_str(), today)?
                && !principal.disabled
            {
                let categories: Vec<String> = d.iter().map(|x| x.category.clone()).collect();
                let approval = call.export_approval.as_deref().filter(|id| {
                    self.export_covers(
                        id,
                        call.principal.as_str(),
                        call.purpose.as_str(),
                        &subscriber,
                        &categories,
                        call.now,
                    )
                });
                let request = AccessRequest {
                    principal: &principal.principal,
                    action: call.action,
                    purpose: call.purpose.as_str(),
                    subscriber: &facts,
                    categories: &categories,
                    channel: call.channel,
                    zone,
                    zone_secrecy,
                    export_approval: approval,
                    now: call.now,
                };
                for p in active_ref.gateway.explain(&request).policies {
                    policies.insert(p.id.clone(), p);
                }
            }
            decisions.extend(d);
        }
        Ok(Explanation { decisions, policies: policies.into_values().collect() })
    }
}

/// Ids as the details of an entry list them: `a,b,c`.
fn join<T: AsRef<str>>(ids: &[T]) -> String {
    ids.iter().map(AsRef::as_ref).collect::<Vec<&str>>().join(",")
}
