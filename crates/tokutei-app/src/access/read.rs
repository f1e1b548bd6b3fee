//! Reading (and exporting) values and searching by a searchable category: decide, audit
//! durably, then open the allowed values, masked where the purpose asks for it.

use base64::Engine;
use jiff::Timestamp;
use tokutei_ledger::{Action, AdminAction};
use tokutei_policy::ConsentMode;
use tokutei_store::provision::{LegalBasis, NewProvision, RecordType};
use tokutei_store::vault::{StoredValue, WrappedDataKey};

use super::decide::Decided;
use super::{AccessCall, AccessOutcome, Active, App, SubscriberOutcome, ValueOut};
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, SubscriberId};
use crate::limits::MAX_SUBSCRIBERS;
use crate::mask;

impl App {
    /// Find subscribers by the value of a searchable category (through its keyed blind
    /// index), for `call.purpose`: every candidate is decided as a read of that category and
    /// audited like any read; only the allowed candidates are listed (with their audit
    /// indexes), and no value is returned. The searched value is never stored or logged.
    /// `call.subscribers` is ignored; `call.categories` must name exactly the one category.
    pub fn search(&self, call: &AccessCall, value: &str) -> ActionResult<AccessOutcome> {
        let [category] = call.categories.as_slice() else {
            return Err(ActionError::BadRequest("a search names exactly one category".into()));
        };
        let category = category.as_str();
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let searchable = active.as_deref().and_then(|a| a.policy.category(category)).is_some_and(|c| c.searchable);
        if !searchable {
            return Err(ActionError::BadRequest(format!("category `{category}` is not searchable")));
        }
        let principal = self.principal(&call.principal, fresh)?;
        let candidates = match self.keys.blind_token(category, value) {
            Some(token) => self.stores.find_by_blind_index(category, &token)?,
            None => Vec::new(),
        };
        let mut outcome = AccessOutcome {
            purpose: None,
            policy_version: active.as_deref().map(|a| a.number),
            policy_digest: active.as_deref().map(|a| a.digest_text.clone()),
            subscribers: Vec::new(),
            audit: Vec::new(),
            provisions: Vec::new(),
        };
        if candidates.is_empty() {
            return Ok(outcome);
        }
        let mut call = call.clone();
        call.action = Action::Read;
        call.subscribers = candidates.into_iter().take(MAX_SUBSCRIBERS).map(SubscriberId::known).collect();
        outcome = self.decide_and_audit(&call, active.as_deref(), &principal, None, None)?.1;
        outcome.subscribers.retain(|s| s.items.iter().all(|i| i.allowed));
        Ok(outcome)
    }

    /// Read (or export) values: decide, audit durably, then decrypt the allowed values.
    pub fn read(&self, call: &AccessCall) -> ActionResult<AccessOutcome> {
        if !matches!(call.action, Action::Read | Action::Export) {
            return Err(ActionError::BadRequest(format!(
                "action `{}` changes data; use a write or an erasure",
                call.action.id()
            )));
        }
        let fresh = self.freshness(call.now)?;
        let active = self.active(fresh)?;
        let principal = self.principal(&call.principal, fresh)?;
        let recipient = self.recipient(call)?;
        let (decided, mut outcome) = self.decide_and_audit(
            call,
            active.as_deref(),
            &principal,
            recipient.as_deref(),
            call.export_approval.as_deref(),
        )?;
        // From here on every decision is durable in the ledger.
        let mut provisions = Vec::new();
        for (Decided { subscriber, decisions, consent_proof: proof, key }, out) in
            decided.iter().zip(outcome.subscribers.iter_mut())
        {
            let wanted: Vec<&str> = decisions.iter().filter(|d| d.allowed).map(|d| d.category.as_str()).collect();
            if wanted.is_empty() {
                continue;
            }
            let Some(active) = active.as_deref() else { continue };
            self.open_into(active, subscriber, key.as_ref(), &wanted, out)?;
            let third_party = active.policy.purpose(call.purpose.as_str()).filter(|p| p.third_party_provision);
            if let (Action::Export, Some(purpose), Some(recipient)) = (call.action, third_party, recipient.as_deref()) {
                let audit_index = out.items.iter().find(|i| i.allowed).map(|i| i.audit_index);
                provisions.push(NewProvision {
                    provided_at: call.now,
                    recipient: recipient.to_string(),
                    subscriber: subscriber.clone(),
                    categories: wanted.iter().map(|c| c.to_string()).collect(),
                    purpose: call.purpose.to_string(),
                    basis: if purpose.consent == ConsentMode::OptOut {
                        LegalBasis::OptOut
                    } else {
                        LegalBasis::Consent
                    },
                    consent_proof: *proof,
                    record_type: RecordType::Each,
                    audit_index,
                    keep_until: keep_until(self.today(call.now), 3),
                });
            }
        }
        if !provisions.is_empty() {
            outcome.provisions = self.stores.add_provisions(&provisions)?;
        }
        Ok(outcome)
    }

    /// Decrypt the current values of `categories` of `subscriber` into `out`.
    fn open_into(
        &self,
        active: &Active,
        subscriber: &str,
        wrapped: Option<&WrappedDataKey>,
        categories: &[&str],
        out: &mut SubscriberOutcome,
    ) -> ActionResult<()> {
        let stored: Vec<StoredValue> = if categories.len() == 1 {
            self.stores.values(subscriber, Some(categories[0]), false)?
        } else {
            let mut all = self.stores.values(subscriber, None, false)?;
            all.retain(|v| categories.contains(&v.category.as_str()));
            all
        };
        if stored.is_empty() {
            return Ok(());
        }
        let Some(wrapped) = wrapped else {
            for item in out.items.iter_mut().filter(|i| i.allowed) {
                item.unreadable.push((0, "erased".into()));
            }
            return Ok(());
        };
        let key = self
            .keys
            .unwrap_key(subscriber, wrapped)
            .map_err(|message| ActionError::Key { subscriber: subscriber.to_string(), message })?;
        for value in stored {
            let Some(item) = out.items.iter_mut().find(|i| i.allowed && i.category == value.category) else {
                continue;
            };
            let slot = crate::codec::ValueSlot { subscriber, category: &value.category, version: value.version };
            let plaintext = match crate::codec::open(&key, slot, &value.sealed) {
                Ok(p) => p,
                Err(e) => {
                    item.unreadable.push((value.version, e.to_string()));
                    continue;
                }
            };
            let category = active.policy.category(&value.category);
            let binary = category.is_some_and(|c| c.binary);
            let mask_def = item.mask.as_deref().and_then(|m| category.and_then(|c| c.masks.iter().find(|x| x.id == m)));
            let (text, encoding, masked) = if binary {
                (base64::engine::general_purpose::STANDARD.encode(plaintext.as_slice()), "base64", false)
            } else {
                let text = String::from_utf8_lossy(&plaintext);
                match mask_def {
                    Some(m) => (mask::apply(m, &text), "text", true),
                    None if item.mask.is_some() => ("*".repeat(text.chars().count()), "text", true),
                    None => (text.into_owned(), "text", false),
                }
            };
            item.values.push(ValueOut {
                version: value.version,
                value: text,
                encoding,
                masked,
                provenance: value.provenance,
                valid_from: value.valid_from,
            });
        }
        Ok(())
    }
}

/// The last day a record made on `today` must be kept, `years` later.
fn keep_until(today: tokutei_policy::Date, years: i16) -> tokutei_policy::Date {
    let d = today.0;
    let target = d.checked_add(jiff::Span::new().years(years)).unwrap_or(d);
    tokutei_policy::Date(target)
}

impl App {
    /// Look subscribers up by the value of a searchable category through its blind index,
    /// outside any purpose (`tokutei subscribers find`): for a chief manager or responsible
    /// person tracing a case to its subscriber. The ids found are what it reveals, so the
    /// `subscribers_looked_up` entry (the category and those ids — never the value) is durable
    /// before they are returned. Refused, with nothing written: a category that is not
    /// searchable in the policy in force, a value with nothing to search for once normalised.
    pub fn find_subscribers(
        &self,
        by: &Acting,
        category: &CategoryId,
        value: &str,
        now: Timestamp,
    ) -> ActionResult<Vec<SubscriberId>> {
        let actor = self.authorize(by, MANAGERS, "look subscribers up")?;
        let (_, policy) = self.policy_in_force(now)?;
        match policy.category(category.as_str()) {
            Some(c) if c.searchable => {}
            Some(_) => return Err(ActionError::invalid("category", format!("`{category}` is not searchable"))),
            None => {
                return Err(ActionError::invalid("category", format!("`{category}` is not in the policy in force")));
            }
        }
        let token = self.keys.blind_token(category.as_str(), value).ok_or_else(|| {
            ActionError::invalid("value", "nothing to search for once spaces and hyphens are removed")
        })?;
        let found: Vec<SubscriberId> = self
            .stores
            .find_by_blind_index(category.as_str(), &token)?
            .into_iter()
            .take(MAX_SUBSCRIBERS)
            .map(SubscriberId::known)
            .collect();
        let ids: Vec<&str> = found.iter().map(SubscriberId::as_str).collect();
        let entry = AdminEntry::new(AdminAction::SubscribersLookedUp, format!("category/{category}"))
            .detail("found", found.len())
            .detail("subscribers", ids.join(","));
        self.audit_admin(actor, entry, now)?;
        Ok(found)
    }
}
