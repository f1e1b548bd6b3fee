//! Writing new values through the gateway: decide, audit the decisions, seal the allowed
//! values, audit the versions they become, then store them.

use std::collections::HashMap;

use tokutei_ledger::{Action, AdminAction, AdminEvent, Entry};
use tokutei_store::vault::{NewValue, Provenance, Source};

use super::decide::Decided;
use super::facts::actor_of;
use super::{AccessOutcome, App, NewPlainValue, WriteCall};
use crate::error::{ActionError, ActionResult};

impl App {
    /// Write new values through the gateway (action `update`, one subscriber): check each
    /// value against its category's limits, decide per category, audit the decisions durably,
    /// seal the allowed ones, audit the versions they become (`values_written`: each
    /// version's key and leaf hash, durable before anything is stored), then store them.
    pub fn write(&self, write: &WriteCall) -> ActionResult<AccessOutcome> {
        let call = &write.call;
        if call.action != Action::Update {
            return Err(ActionError::BadRequest("a write is an `update`".into()));
        }
        if call.subscribers.len() != 1 {
            return Err(ActionError::BadRequest("a write names exactly one subscriber".into()));
        }
        let mut call = call.clone();
        call.categories = write.values.iter().map(|v| v.category.clone()).collect();
        if call.categories.is_empty() {
            return Err(ActionError::BadRequest("a write needs at least one value".into()));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        // Bad input is refused before anything is written (a NUL, a value over its limit).
        for v in &write.values {
            if let Some(category) = active.as_deref().and_then(|a| a.policy.category(v.category.as_str())) {
                tokutei_store::vault::check_plaintext(category.binary, &v.value)
                    .map_err(|problem| ActionError::BadRequest(format!("value of `{}`: {problem}", v.category)))?;
            }
        }
        let principal = self.principal(&call.principal, fresh)?;
        let (decided, mut outcome) = self.decide_and_audit(&call, active.as_deref(), &principal, None, None)?;
        let (Some(active), Some(Decided { subscriber, decisions, .. })) = (active.as_deref(), decided.first()) else {
            return Ok(outcome);
        };
        let allowed: Vec<&NewPlainValue> = write
            .values
            .iter()
            .filter(|v| decisions.iter().any(|d| d.allowed && v.category == d.category.as_str()))
            .collect();
        if allowed.is_empty() {
            return Ok(outcome);
        }
        let wrapped = self
            .stores
            .data_key(subscriber)?
            .ok_or_else(|| ActionError::BadRequest(format!("subscriber `{subscriber}` is erased")))?;
        let key = self
            .keys
            .unwrap_key(subscriber, &wrapped)
            .map_err(|message| ActionError::Key { subscriber: subscriber.clone(), message })?;
        let mut latest: HashMap<String, u32> = self.stores.latest_versions(subscriber)?.into_iter().collect();
        let provenance = Provenance {
            method: write.method,
            source: Source::Direct,
            collected_at: call.now,
            collected_by: call.principal.to_string(),
            notice_version: active.number,
        };
        let mut values = Vec::with_capacity(allowed.len());
        for v in allowed {
            let category = active
                .policy
                .category(v.category.as_str())
                .ok_or_else(|| ActionError::BadRequest(format!("unknown category `{}`", v.category)))?;
            let version = latest.get(v.category.as_str()).copied().unwrap_or(0) + 1;
            latest.insert(v.category.to_string(), version);
            let slot = crate::codec::ValueSlot { subscriber, category: v.category.as_str(), version };
            let sealed = crate::codec::seal(&key, slot, category.binary, &v.value)
                .map_err(|e| ActionError::Key { subscriber: subscriber.clone(), message: e.to_string() })?;
            let blind_index = if category.searchable {
                std::str::from_utf8(&v.value).ok().and_then(|t| self.keys.blind_token(v.category.as_str(), t))
            } else {
                None
            };
            values.push(NewValue {
                subscriber: subscriber.clone(),
                category: v.category.to_string(),
                version,
                sealed,
                provenance: provenance.clone(),
                valid_from: call.now,
                supersedes: !category.log && version > 1,
                blind_index,
            });
        }
        let leaves: Vec<(tokutei_store::vault::ValueRef, [u8; 32])> = values
            .iter()
            .map(|v| {
                let key = tokutei_store::vault::ValueRef {
                    subscriber: v.subscriber.clone(),
                    category: v.category.to_string(),
                    version: v.version,
                };
                let leaf = tokutei_store::vault::value_leaf(&key, &v.sealed.sealed_hash());
                (key, leaf)
            })
            .collect();
        let event = AdminEvent {
            action: AdminAction::ValuesWritten,
            subject: format!("subscriber/{subscriber}"),
            digest: Some(tokutei_store::vault::values_digest(leaves.iter().map(|(k, l)| (k, l)))),
            details: leaves
                .iter()
                .map(|(k, leaf)| ("value".to_string(), format!("{}/{}/{}", k.category, k.version, hex::encode(leaf))))
                .collect(),
        };
        let written = self
            .ledger
            .append(&Entry::admin(call.now, actor_of(&principal.principal), event))
            .map_err(ActionError::Audit)?;
        self.stores.add_values(&values, Some(written.index))?;
        outcome.audit.push(written.index);
        if let Some(out) = outcome.subscribers.first_mut() {
            for value in &values {
                if let Some(item) = out.items.iter_mut().find(|i| i.category == value.category) {
                    item.written.push(value.version);
                }
            }
        }
        Ok(outcome)
    }
}
