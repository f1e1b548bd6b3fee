//! The documents a request is answered with: the notice of the purposes (32条2項), the
//! provision records (33条5項) and the disclosure as an electronic record (33条1項), each JSON
//! with a versioned schema (`docs/requests.md`). They are made here from the registers and,
//! for a disclosure, from a read through the gateway under the deployment's purpose for
//! requests (audited like any read); [`super`] seals them at rest.

use std::collections::BTreeMap;
use std::net::IpAddr;

use jiff::Timestamp;
use serde_json::Value;
use tokutei_ledger::{Actor, Event};
use tokutei_store::ledger::LedgerQuery;
use tokutei_store::requests::StopKind;
use tokutei_store::staff::PrincipalKind;
use tokutei_store::vault::Source;

use super::{CORRECTION_SCHEMA, CorrectionInput, PROVISION_RECORDS_SCHEMA, PURPOSE_NOTICE_SCHEMA, RequestView};
use crate::App;
use crate::acting::Acting;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, PrincipalId, PurposeId, SubscriberId};

/// The schema of the disclosure's electronic record (33条1項).
pub const DISCLOSURE_SCHEMA: &str = "tokutei.disclosure/1";

impl App {
    /// The notice of the purposes (32条2項) for the subscriber: each purpose of the policy in
    /// force that concerns the subscriber's service (its categories of that service), with the
    /// consent it needs, the subscriber's current choice and any stop in force.
    pub(super) fn purpose_notice(&self, view: &RequestView, subscriber: &str, now: Timestamp) -> ActionResult<Value> {
        let (version, policy) = self
            .active_policy(now)?
            .ok_or_else(|| ActionError::Conflict("no policy version is in force; publish one first".into()))?;
        let stored = self
            .stores()
            .subscriber(subscriber)?
            .ok_or_else(|| ActionError::NotFound(format!("subscriber `{subscriber}`")))?;
        let choices: BTreeMap<String, String> = self
            .stores()
            .current_consents(subscriber)?
            .into_iter()
            .map(|c| (c.record.purpose.clone(), c.record.choice.id().to_string()))
            .collect();
        let stops = self.current_stops(subscriber)?;
        let of_service: Vec<&tokutei_policy::Category> =
            policy.categories.iter().filter(|c| c.services.contains(&stored.service)).collect();
        let purposes: Vec<Value> = policy
            .purposes
            .list
            .iter()
            .filter(|p| !p.individually_set)
            .filter(|p| p.categories.iter().any(|c| of_service.iter().any(|s| &s.id == c)))
            .map(|p| {
                let stopped = stops.iter().any(|s| {
                    (s.kind == StopKind::Use && (s.purpose == "*" || s.purpose == p.id))
                        || (s.kind == StopKind::Provision && p.third_party_provision)
                });
                serde_json::json!({
                    "id": p.id,
                    "text": { "ja": p.text.ja, "en": p.text.en },
                    "consent": p.consent,
                    "your_choice": choices.get(&p.id),
                    "stopped": stopped,
                    "third_party_provision": p.third_party_provision,
                    "categories": of_service.iter().filter(|c| p.categories.contains(&c.id))
                        .map(|c| serde_json::json!({ "id": c.id, "name": { "ja": c.name.ja, "en": c.name.en } }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(serde_json::json!({
            "schema": PURPOSE_NOTICE_SCHEMA,
            "request": view.id,
            "subscriber": subscriber,
            "made_at": now.to_string(),
            "policy_version": version,
            "company": { "ja": policy.header.company.ja, "en": policy.header.company.en },
            "service": stored.service,
            "purposes": purposes,
        }))
    }

    /// The records of providing the subscriber's data to third parties (29条), for a disclosure
    /// of them (33条5項): every provision record, the recipient, the categories, the purpose,
    /// the legal basis and how the record is kept.
    pub(super) fn provision_records(
        &self,
        view: &RequestView,
        subscriber: &str,
        now: Timestamp,
    ) -> ActionResult<Value> {
        Ok(serde_json::json!({
            "schema": PROVISION_RECORDS_SCHEMA,
            "request": view.id,
            "subscriber": subscriber,
            "made_at": now.to_string(),
            "provided": self.provision_rows(subscriber)?,
        }))
    }

    /// The subscriber's provision records (29条) as the documents give them.
    fn provision_rows(&self, subscriber: &str) -> ActionResult<Vec<Value>> {
        let records: Vec<Value> = self
            .stores()
            .provisions_of(subscriber)?
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id,
                    "provided_at": r.record.provided_at.to_string(),
                    "recipient": r.record.recipient,
                    "categories": r.record.categories,
                    "purpose": r.record.purpose,
                    "basis": r.record.basis.id(),
                    "consent_proof": r.record.consent_proof,
                    "record_type": r.record.record_type,
                })
            })
            .collect();
        Ok(records)
    }

    /// The disclosure as an electronic record (33条1項): every value of the subscriber in the
    /// request's scope with its provenance, read through the gateway by `by` under the
    /// deployment's purpose for requests (the read is audited as any read; a refusal of any
    /// category is a conflict naming it, and nothing is disclosed), the contract, the consent
    /// history, the provision records (29条) and receipts (30条, the indirect sources), and
    /// every use of the subscriber's information in the ledger — by role or system, never a
    /// person's name — each with its ledger index.
    pub(super) fn disclosure(
        &self,
        by: &Acting,
        view: &RequestView,
        subscriber: &str,
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<Value> {
        let Acting::Person(person) = by else {
            return Err(ActionError::Conflict("a disclosure is read by the person who fulfils it".into()));
        };
        let (version, policy, purpose) = self.requests_purpose(now)?;
        let stored = self
            .stores()
            .subscriber(subscriber)?
            .ok_or_else(|| ActionError::NotFound(format!("subscriber `{subscriber}`")))?;
        let categories: Vec<CategoryId> = policy
            .categories
            .iter()
            .filter(|c| c.services.contains(&stored.service))
            .filter(|c| view.categories.is_empty() || view.categories.contains(&c.id))
            .map(|c| CategoryId::parse(c.id.clone()))
            .collect::<ActionResult<_>>()?;
        let call = crate::AccessCall {
            principal: PrincipalId::parse(person.clone())?,
            action: tokutei_ledger::Action::Read,
            purpose: PurposeId::parse(purpose.clone())?,
            subscribers: vec![SubscriberId::parse(subscriber.to_string())?],
            categories,
            channel: None,
            zone: None,
            terminal,
            export_approval: None,
            recipient: None,
            client: format!("request:{}", view.id),
            now,
        };
        let read = self.read(&call)?;
        let items = read.subscribers.first().map(|s| s.items.clone()).unwrap_or_default();
        let refused: Vec<String> = items
            .iter()
            .filter(|i| !i.allowed)
            .map(|i| {
                format!("{} ({})", i.category, i.reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>().join(", "))
            })
            .collect();
        if !refused.is_empty() {
            return Err(ActionError::Conflict(format!(
                "the gateway refused part of the disclosure (the refusals are in the audit ledger): {}; grant `{purpose}` and the data range to the person fulfilling it",
                refused.join("; ")
            )));
        }
        let name = |id: &str| policy.category(id).map(|c| serde_json::json!({ "ja": c.name.ja, "en": c.name.en }));
        let mut values = Vec::new();
        let mut received = Vec::new();
        for item in &items {
            for v in &item.values {
                let source = match &v.provenance.source {
                    Source::Direct => serde_json::json!({ "kind": "direct" }),
                    Source::Indirect(from) => {
                        received.push(serde_json::json!({
                            "category": item.category,
                            "version": v.version,
                            "received_at": v.provenance.collected_at.to_string(),
                            "provider_name": from.provider_name,
                            "provider_address": from.provider_address,
                            "provider_representative": from.provider_representative,
                            "provider_obtained_by": from.provider_obtained_by,
                        }));
                        serde_json::json!({ "kind": "indirect", "provider_name": from.provider_name })
                    }
                };
                values.push(serde_json::json!({
                    "category": item.category,
                    "name": name(&item.category),
                    "version": v.version,
                    "value": v.value,
                    "encoding": v.encoding,
                    "valid_from": v.valid_from.to_string(),
                    "provenance": {
                        "method": v.provenance.method,
                        "source": source,
                        "collected_at": v.provenance.collected_at.to_string(),
                        "notice_version": v.provenance.notice_version,
                    },
                    "audit_index": item.audit_index,
                }));
            }
        }
        let consents: Vec<Value> = self
            .stores()
            .consent_history(subscriber)?
            .into_iter()
            .map(|c| {
                serde_json::json!({
                    "purpose": c.record.purpose,
                    "choice": c.record.choice.id(),
                    "channel": c.record.channel,
                    "notice_version": c.record.notice_version,
                    "recorded_at": c.record.recorded_at.to_string(),
                })
            })
            .collect();
        let provided = self.provision_rows(subscriber)?;
        let uses = self.uses_of(subscriber)?;
        let c = &stored.contract;
        Ok(serde_json::json!({
            "schema": DISCLOSURE_SCHEMA,
            "request": view.id,
            "subscriber": subscriber,
            "made_at": now.to_string(),
            "policy_version": version,
            "company": { "ja": policy.header.company.ja, "en": policy.header.company.en },
            "contract": {
                "service": stored.service,
                "state": format!("{:?}", c.state).to_lowercase(),
                "started_on": c.started_on.to_string(),
                "suspended_on": c.suspended_on.map(|d| d.to_string()),
                "terminated_on": c.terminated_on.map(|d| d.to_string()),
            },
            "values": values,
            "consents": consents,
            "provided": provided,
            "received": received,
            "uses": uses,
        }))
    }

    /// Every use of the subscriber's information in the ledger: when, the action, the purpose,
    /// the decision, and who — a person by role, a system by its id, never a person's name —
    /// each with its ledger index.
    fn uses_of(&self, subscriber: &str) -> ActionResult<Vec<Value>> {
        let mut who: BTreeMap<String, String> = BTreeMap::new();
        for p in self.stores().principals()? {
            let label = match p.kind {
                PrincipalKind::Person { role } => role.label(tokutei_policy::Lang::Ja).to_string(),
                PrincipalKind::System { .. } => p.id.clone(),
            };
            who.insert(p.id, label);
        }
        let tree_size = self.ledger().tree_size().map_err(ActionError::Audit)?;
        let query = LedgerQuery { subscriber: Some(subscriber.to_string()), ..LedgerQuery::default() };
        let mut uses = Vec::new();
        self.ledger().query_entries(&query, &mut |stored| {
            if stored.index >= tree_size {
                return Ok(false);
            }
            let entry = stored.decode()?;
            if let Event::Access(a) = &entry.event
                && a.subscribers.iter().any(|s| s == subscriber)
            {
                let (Actor::Staff(id) | Actor::System(id)) = &entry.actor;
                let by = who.get(id).cloned().unwrap_or_else(|| "—".into());
                uses.push(serde_json::json!({
                    "index": stored.index,
                    "at": entry.time.to_string(),
                    "action": a.action.id(),
                    "purpose": a.purpose,
                    "categories": a.categories,
                    "decision": format!("{:?}", a.decision).to_lowercase(),
                    "by": by,
                }));
            }
            Ok(true)
        })?;
        Ok(uses)
    }

    /// The purpose for requests, when the policy in force has it.
    fn requests_purpose(&self, now: Timestamp) -> ActionResult<(u32, std::sync::Arc<tokutei_policy::Policy>, String)> {
        let (version, policy) = self
            .active_policy(now)?
            .ok_or_else(|| ActionError::Conflict("no policy version is in force; publish one first".into()))?;
        let purpose = self.request_rules.purpose.clone();
        if policy.purpose(&purpose).is_none() {
            return Err(ActionError::Conflict(format!(
                "the policy in force has no purpose `{purpose}` for answering requests: add it, or name another with [requests] purpose (docs/requests.md)"
            )));
        }
        Ok((version, policy, purpose))
    }

    /// The values `write` names read through the gateway by the same person, for the same
    /// purpose, from the same terminal, by category (`(version, value)` of each version
    /// returned); a refusal is a conflict.
    fn read_values(&self, write: &crate::AccessCall) -> ActionResult<BTreeMap<String, Vec<(u32, String)>>> {
        let purpose = &write.purpose;
        let call = crate::AccessCall { action: tokutei_ledger::Action::Read, ..write.clone() };
        let read = self.read(&call)?;
        let items = read.subscribers.first().map(|s| s.items.clone()).unwrap_or_default();
        let refused: Vec<String> = items.iter().filter(|i| !i.allowed).map(|i| i.category.clone()).collect();
        if !refused.is_empty() {
            return Err(ActionError::Conflict(format!(
                "the gateway refused {} (the refusals are in the audit ledger); grant `{purpose}` and the data range to the person fulfilling it",
                refused.join(", ")
            )));
        }
        Ok(items
            .into_iter()
            .map(|i| (i.category, i.values.into_iter().map(|v| (v.version, v.value)).collect()))
            .collect())
    }

    /// A correction: each new value written through the gateway (a new version; the old one
    /// is kept), and the document of the values before and after.
    pub(super) fn correct(
        &self,
        by: &Acting,
        view: &RequestView,
        subscriber: &str,
        corrections: &[CorrectionInput],
        terminal: Option<IpAddr>,
        now: Timestamp,
    ) -> ActionResult<Value> {
        let Acting::Person(person) = by else {
            return Err(ActionError::Conflict("a correction is written by the person who fulfils it".into()));
        };
        if corrections.is_empty() {
            return Err(ActionError::invalid("values", "name at least one category and its new value"));
        }
        let (_, policy, purpose) = self.requests_purpose(now)?;
        let stored = self
            .stores()
            .subscriber(subscriber)?
            .ok_or_else(|| ActionError::NotFound(format!("subscriber `{subscriber}`")))?;
        let mut categories: Vec<CategoryId> = Vec::new();
        for c in corrections {
            let known = policy.category(c.category.as_str()).is_some_and(|k| k.services.contains(&stored.service));
            if !known {
                return Err(ActionError::invalid(
                    "values",
                    format!("`{}` is not a category of the subscriber's service `{}`", c.category, stored.service),
                ));
            }
            if categories.contains(&c.category) {
                return Err(ActionError::invalid("values", format!("`{}` is named twice", c.category)));
            }
            categories.push(c.category.clone());
        }
        let update = crate::AccessCall {
            principal: PrincipalId::parse(person.clone())?,
            action: tokutei_ledger::Action::Update,
            purpose: PurposeId::parse(purpose.clone())?,
            subscribers: vec![SubscriberId::parse(subscriber.to_string())?],
            categories: categories.clone(),
            channel: None,
            zone: None,
            terminal,
            export_approval: None,
            recipient: None,
            client: format!("request:{}", view.id),
            now,
        };
        let before = self.read_values(&update)?;
        let write = crate::WriteCall {
            call: update.clone(),
            values: corrections
                .iter()
                .map(|c| crate::NewPlainValue {
                    category: c.category.clone(),
                    value: zeroize::Zeroizing::new(c.value.as_bytes().to_vec()),
                })
                .collect(),
            method: tokutei_policy::AcquisitionMethod::Written,
        };
        let written = self.write(&write)?;
        let refused: Vec<String> = written
            .subscribers
            .iter()
            .flat_map(|s| s.items.iter().filter(|i| !i.allowed).map(|i| i.category.clone()))
            .collect();
        if !refused.is_empty() {
            return Err(ActionError::Conflict(format!(
                "the gateway refused to write {} (the refusals are in the audit ledger)",
                refused.join(", ")
            )));
        }
        let after = self.read_values(&update)?;
        let changes: Vec<Value> = categories
            .iter()
            .map(|c| {
                let versions = |m: &BTreeMap<String, Vec<(u32, String)>>| -> Vec<Value> {
                    m.get(c.as_str())
                        .into_iter()
                        .flatten()
                        .map(|(v, text)| serde_json::json!({ "version": v, "value": text }))
                        .collect()
                };
                serde_json::json!({ "category": c.as_str(), "before": versions(&before), "after": versions(&after) })
            })
            .collect();
        Ok(serde_json::json!({
            "schema": CORRECTION_SCHEMA,
            "request": view.id,
            "subscriber": subscriber,
            "made_at": now.to_string(),
            "changes": changes,
        }))
    }
}
