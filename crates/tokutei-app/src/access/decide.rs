//! The common first half of every use: decide each (subscriber, category) through the
//! compiled gateway, then append the audit entries and wait until they are durable.

use tokutei_gateway::reason::code;
use tokutei_gateway::{AccessRequest, Decision, Reason};
use tokutei_ledger::{AccessEvent, Action, Actor, Entry, RequestMeta};
use tokutei_store::vault::WrappedDataKey;

use super::call::{check_call, outcome_skeleton};
use super::facts::{Facts, actor_of};
use super::{AccessCall, AccessOutcome, Active, App, Cached};
use crate::error::{ActionError, ActionResult};
use crate::zones::CallZone;

/// The decisions about one subscriber, and the consent record they relied on.
pub(super) struct Decided {
    pub subscriber: String,
    pub decisions: Vec<Decision>,
    pub consent_proof: Option<u64>,
    /// The wrapped data key, read with the facts (unwrapped only after the audit).
    pub key: Option<WrappedDataKey>,
}

impl Decided {
    fn refused(subscriber: &str, decisions: Vec<Decision>) -> Decided {
        Decided { subscriber: subscriber.to_string(), decisions, consent_proof: None, key: None }
    }
}

/// Whether the call is refused whole, before any subscriber's facts are read.
fn refused_whole(call: &AccessCall, active: Option<&Active>, principal: &Cached) -> bool {
    principal.disabled || active.is_none_or(|a| a.policy.purpose(call.purpose.as_str()).is_none())
}

impl App {
    /// The zone `call` is decided in (see [`App::call_zone`]); nothing is looked up for a call
    /// refused whole.
    pub(super) fn zone_of_call(
        &self,
        call: &AccessCall,
        active: Option<&Active>,
        principal: &Cached,
    ) -> ActionResult<CallZone> {
        if refused_whole(call, active, principal) {
            return Ok(CallZone::In { zone: call.zone.clone(), secrecy: None });
        }
        let is_person = matches!(principal.principal.kind, tokutei_gateway::PrincipalKind::Person { .. });
        self.call_zone(&call.principal, is_person, call.zone.as_deref(), call.terminal, call.now)
    }

    /// Decide every (subscriber, category) of the call in `zone`. Nothing is written.
    pub(super) fn decide(
        &self,
        call: &AccessCall,
        zone: &CallZone,
        active: Option<&Active>,
        principal: &Cached,
        recipient: Option<&str>,
        export_approval: Option<&str>,
    ) -> ActionResult<Vec<Decided>> {
        check_call(call)?;
        let purpose = call.purpose.as_str();
        let erase = call.action == Action::Erase;
        let categories: Vec<String> = if erase {
            // Decided again per subscriber on every category it has (below); this list only
            // names what a refusal before the facts covers.
            if call.categories.is_empty() {
                active.map(|a| a.policy.categories.iter().map(|c| c.id.clone()).collect()).unwrap_or_default()
            } else {
                call.category_names()
            }
        } else if call.categories.is_empty() {
            let of_purpose = active.map(|a| a.gateway.purpose_categories(purpose).to_vec()).unwrap_or_default();
            if of_purpose.is_empty() {
                return Err(ActionError::BadRequest(format!(
                    "purpose `{}` lists no categories; name the categories wanted",
                    call.purpose
                )));
            }
            of_purpose
        } else {
            call.category_names()
        };
        let refuse_all = |subscriber: &str, code: &str, clause: &str| -> Vec<Decision> {
            categories
                .iter()
                .map(|c| Decision {
                    subscriber: subscriber.to_string(),
                    category: c.clone(),
                    allowed: false,
                    reasons: vec![Reason::service(code, clause, purpose, c)],
                    policies: vec![],
                    mask: None,
                })
                .collect()
        };
        let today = self.today(call.now);
        let third_party = active
            .and_then(|a| a.policy.purpose(purpose))
            .is_some_and(|p| p.third_party_provision && call.action == Action::Export);
        let mut out = Vec::with_capacity(call.subscribers.len());
        for subscriber in &call.subscribers {
            let subscriber = subscriber.as_str();
            let Some(active) = active else {
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::NO_ACTIVE_POLICY, "policy")));
                continue;
            };
            if principal.disabled {
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::PRINCIPAL_DISABLED, "staff")));
                continue;
            }
            if active.policy.purpose(purpose).is_none() {
                // Refused for the whole request before any fact is read: nothing about the
                // subscribers is looked at, and the audit holds one entry for the request.
                out.push(Decided::refused(
                    subscriber,
                    refuse_all(subscriber, code::PURPOSE_NOT_IN_POLICY, "purposes.list"),
                ));
                continue;
            }
            let (zone, zone_secrecy) = match zone {
                CallZone::In { zone, secrecy } => (zone.as_deref(), *secrecy),
                CallZone::Refused(refusal) => {
                    // Refused before any fact of the subscriber is read.
                    let clause = tokutei_gateway::zone_clause(&active.policy);
                    out.push(Decided::refused(subscriber, refuse_all(subscriber, refusal.code(), &clause)));
                    continue;
                }
            };
            if third_party && recipient.is_none() {
                let clause =
                    active.policy.purposes.list.iter().position(|p| p.id == purpose).map_or_else(
                        || "purposes".to_string(),
                        |i| format!("purposes.list[{i}].third_party_provision"),
                    );
                out.push(Decided::refused(subscriber, refuse_all(subscriber, code::RECIPIENT_MISSING, &clause)));
                continue;
            }
            match self.facts(subscriber, purpose, today)? {
                Facts::Refused(code) => out.push(Decided::refused(subscriber, refuse_all(subscriber, code, "vault"))),
                Facts::Known(facts, proof, key) => {
                    let approval = export_approval.filter(|id| {
                        self.export_covers(id, call.principal.as_str(), purpose, subscriber, &categories, call.now)
                    });
                    let of_subscriber;
                    let categories = if erase {
                        of_subscriber = self.erasure_categories(active, &facts, &call.category_names())?;
                        &of_subscriber
                    } else {
                        &categories
                    };
                    let request = AccessRequest {
                        principal: &principal.principal,
                        action: call.action,
                        purpose,
                        subscriber: &facts,
                        categories,
                        channel: call.channel,
                        zone,
                        zone_secrecy,
                        export_approval: approval,
                        now: call.now,
                    };
                    out.push(Decided {
                        subscriber: subscriber.to_string(),
                        decisions: active.gateway.decide(&request),
                        consent_proof: proof,
                        key,
                    });
                }
            }
        }
        Ok(out)
    }

    /// Audit the decisions: one entry per subscriber and outcome, appended in one durable
    /// batch. Returns the ledger index of each (subscriber, category) decision.
    fn audit(
        &self,
        call: &AccessCall,
        zone: &CallZone,
        active: Option<&Active>,
        principal: &Cached,
        decided: &[Decided],
    ) -> ActionResult<Vec<Vec<u64>>> {
        let digest = active.map_or([0u8; 32], |a| a.digest);
        let meta = RequestMeta {
            channel: call.channel.map(|c| c.id().to_string()).unwrap_or_default(),
            zone: match zone {
                CallZone::In { zone, .. } => zone.clone().unwrap_or_default(),
                CallZone::Refused(_) => String::new(),
            },
            client: call.client.clone(),
        };
        let actor = actor_of(&principal.principal);
        if refused_whole(call, active, principal) {
            return self.audit_refused_request(call, actor, digest, meta, decided);
        }
        let mut entries = Vec::new();
        // For each subscriber: (index into entries of its allow entry, of its deny entry).
        let mut slots = Vec::with_capacity(decided.len());
        for Decided { subscriber, decisions, .. } in decided {
            let mut slot = (None, None);
            for allowed in [true, false] {
                let group: Vec<&Decision> = decisions.iter().filter(|d| d.allowed == allowed).collect();
                if group.is_empty() {
                    continue;
                }
                let mut reasons: Vec<String> =
                    group.iter().flat_map(|d| d.reasons.iter().map(|r| r.code.clone())).collect();
                reasons.sort_unstable();
                reasons.dedup();
                let mut rules: Vec<String> = group.iter().flat_map(|d| d.policies.iter().cloned()).collect();
                rules.sort_unstable();
                rules.dedup();
                let event = AccessEvent {
                    action: call.action,
                    purpose: call.purpose.as_str().to_string(),
                    subscribers: vec![subscriber.clone()],
                    categories: group.iter().map(|d| d.category.clone()).collect(),
                    decision: if allowed { tokutei_ledger::Decision::Allow } else { tokutei_ledger::Decision::Deny },
                    reasons,
                    rules,
                    policy_digest: digest,
                    request: meta.clone(),
                };
                if allowed {
                    slot.0 = Some(entries.len());
                } else {
                    slot.1 = Some(entries.len());
                }
                entries.push(Entry::access(call.now, actor.clone(), event));
            }
            slots.push(slot);
        }
        let appended = self.ledger.append_batch(&entries).map_err(ActionError::Audit)?;
        Ok(decided
            .iter()
            .zip(slots)
            .map(|(d, (allow, deny))| {
                d.decisions
                    .iter()
                    .map(|d| {
                        let slot = if d.allowed { allow } else { deny };
                        slot.and_then(|i| appended.get(i)).map_or(u64::MAX, |a| a.index)
                    })
                    .collect()
            })
            .collect())
    }

    /// One deny entry for a request refused whole (no policy in force, a disabled principal,
    /// a purpose the active policy does not list), naming every subscriber once: however
    /// many subscribers it names, such a request adds one entry to the ledger.
    fn audit_refused_request(
        &self,
        call: &AccessCall,
        actor: Actor,
        digest: [u8; 32],
        meta: RequestMeta,
        decided: &[Decided],
    ) -> ActionResult<Vec<Vec<u64>>> {
        let mut categories: Vec<String> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for d in decided.iter().flat_map(|d| &d.decisions) {
            if !categories.contains(&d.category) {
                categories.push(d.category.clone());
            }
            reasons.extend(d.reasons.iter().map(|r| r.code.clone()));
        }
        reasons.sort_unstable();
        reasons.dedup();
        let event = AccessEvent {
            action: call.action,
            purpose: call.purpose.as_str().to_string(),
            subscribers: decided.iter().map(|d| d.subscriber.clone()).collect(),
            categories,
            decision: tokutei_ledger::Decision::Deny,
            reasons,
            rules: Vec::new(),
            policy_digest: digest,
            request: meta,
        };
        let index = self.ledger.append(&Entry::access(call.now, actor, event)).map_err(ActionError::Audit)?.index;
        Ok(decided.iter().map(|d| vec![index; d.decisions.len()]).collect())
    }

    /// The common first half of every use: decide each (subscriber, category) and append the
    /// audit entries, waiting until they are durable. Nothing is read or written before this
    /// returns.
    pub(super) fn decide_and_audit(
        &self,
        call: &AccessCall,
        active: Option<&Active>,
        principal: &Cached,
        recipient: Option<&str>,
        export_approval: Option<&str>,
    ) -> ActionResult<(Vec<Decided>, AccessOutcome)> {
        let zone = self.zone_of_call(call, active, principal)?;
        let decided = self.decide(call, &zone, active, principal, recipient, export_approval)?;
        let indexes = self.audit(call, &zone, active, principal, &decided)?;
        let outcome = outcome_skeleton(active, call.purpose.as_str(), &decided, &indexes);
        Ok((decided, outcome))
    }
}
