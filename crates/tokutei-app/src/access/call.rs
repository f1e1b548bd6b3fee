//! What one use of subscriber information names ([`AccessCall`], [`WriteCall`]) and what it
//! produced ([`AccessOutcome`]), with the checks every call passes before anything is decided.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::Serialize;
use tokutei_gateway::Reason;
use tokutei_ledger::Action;
use tokutei_policy::{AcquisitionMethod, Channel};
use tokutei_store::vault::Provenance;

use super::Active;
use super::decide::Decided;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, PrincipalId, PurposeId, SubscriberId};
use crate::limits::{self, MAX_CATEGORIES, MAX_SUBSCRIBERS};

/// One use of subscriber information. The ids are parsed by the front end (an invalid one is
/// [`ActionError::Invalid`] naming its field before any call is made); the counts, the
/// duplicates and the other names are checked before anything is decided.
#[derive(Debug, Clone)]
pub struct AccessCall {
    /// The principal's id (already authenticated by the caller: token, session, CLI user).
    pub principal: PrincipalId,
    pub action: Action,
    pub purpose: PurposeId,
    pub subscribers: Vec<SubscriberId>,
    /// The categories wanted; empty means every category of the purpose.
    pub categories: Vec<CategoryId>,
    pub channel: Option<Channel>,
    /// The handling zone the caller names: a system's (its configured zone). With zones
    /// required, a person's zone is derived instead (`crate::zones`) and this is not looked at.
    pub zone: Option<String>,
    /// The address the call came from: the console's or the API's peer, the command line's own
    /// host (loopback). With zones required, a person's zone is the zone they badged into whose
    /// terminal networks hold this address.
    pub terminal: Option<std::net::IpAddr>,
    /// The id of the approved export request (exports only).
    pub export_approval: Option<String>,
    /// The third party receiving the data (exports under a third-party provision purpose);
    /// defaults to the export request's recipient.
    pub recipient: Option<String>,
    /// Where the call came from (`cli`, `api:<token id>`, `console:<session>`), for the audit.
    pub client: String,
    pub now: Timestamp,
}

impl AccessCall {
    /// The categories named, as the gateway and the stores take them.
    pub(super) fn category_names(&self) -> Vec<String> {
        self.categories.iter().map(|c| c.as_str().to_string()).collect()
    }
}

/// A value to write through the gateway.
#[derive(Debug, Clone)]
pub struct NewPlainValue {
    pub category: CategoryId,
    pub value: zeroize::Zeroizing<Vec<u8>>,
}

/// A write: the call (action `update`, one subscriber), the values and how they were
/// acquired. The values' provenance is the write's: acquired directly from the subscriber by
/// the call's principal at the call's time, under the notice of the policy version in force.
#[derive(Debug, Clone)]
pub struct WriteCall {
    pub call: AccessCall,
    pub values: Vec<NewPlainValue>,
    pub method: AcquisitionMethod,
}

/// What a call produced.
#[derive(Debug, Clone, Serialize)]
pub struct AccessOutcome {
    /// The declared purpose (when it is one of the active policy's, else `None`: metrics and
    /// pages only ever show published purpose ids).
    pub purpose: Option<String>,
    /// The policy version the decisions were made under (`None` when none is in force).
    pub policy_version: Option<u32>,
    pub policy_digest: Option<String>,
    pub subscribers: Vec<SubscriberOutcome>,
    /// The ledger indexes of the audit entries this call wrote.
    pub audit: Vec<u64>,
    /// The ids of the APPI 29条 provision records this call wrote.
    pub provisions: Vec<u64>,
}

impl AccessOutcome {
    /// Whether every requested category of every subscriber was allowed.
    pub fn all_allowed(&self) -> bool {
        self.subscribers.iter().all(|s| s.items.iter().all(|i| i.allowed))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubscriberOutcome {
    pub id: String,
    pub items: Vec<ItemOutcome>,
    /// Whether the subscriber was erased by this call.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
}

/// The decision and (when allowed) the values of one category.
#[derive(Debug, Clone, Serialize)]
pub struct ItemOutcome {
    pub category: String,
    pub allowed: bool,
    pub reasons: Vec<Reason>,
    pub policies: Vec<String>,
    pub mask: Option<String>,
    /// The ledger index of the audit entry covering this decision.
    pub audit_index: u64,
    pub values: Vec<ValueOut>,
    /// Allowed values that could not be opened (tampered, erased): version and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<(u32, String)>,
    /// The versions written (writes only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<u32>,
}

/// One returned value.
#[derive(Debug, Clone, Serialize)]
pub struct ValueOut {
    pub version: u32,
    /// The value as text, masked when the purpose asks for it; binary values in base64.
    pub value: String,
    pub encoding: &'static str,
    pub masked: bool,
    pub provenance: Provenance,
    pub valid_from: Timestamp,
}

/// The checks every call passes before anything is decided: counts, lengths, duplicates.
pub(super) fn check_call(call: &AccessCall) -> ActionResult<()> {
    if call.subscribers.is_empty() {
        return Err(ActionError::BadRequest("name at least one subscriber".into()));
    }
    if call.subscribers.len() > MAX_SUBSCRIBERS {
        return Err(ActionError::BadRequest(format!(
            "a call may name at most {MAX_SUBSCRIBERS} subscribers, got {}",
            call.subscribers.len()
        )));
    }
    if call.categories.len() > MAX_CATEGORIES {
        return Err(ActionError::BadRequest(format!(
            "a call may name at most {MAX_CATEGORIES} categories, got {}",
            call.categories.len()
        )));
    }
    if let Some(zone) = &call.zone {
        limits::id("zone", zone)?;
    }
    if let Some(approval) = &call.export_approval {
        limits::id("export_approval", approval)?;
    }
    if let Some(recipient) = &call.recipient {
        limits::name("recipient", recipient)?;
    }
    let mut seen = BTreeSet::new();
    for s in &call.subscribers {
        if !seen.insert(s.as_str()) {
            return Err(ActionError::BadRequest(format!("subscriber `{s}` is named twice")));
        }
    }
    let mut seen = BTreeSet::new();
    for c in &call.categories {
        if !seen.insert(c.as_str()) {
            return Err(ActionError::BadRequest(format!("category `{c}` is named twice")));
        }
    }
    Ok(())
}

pub(super) fn outcome_skeleton(
    active: Option<&Active>,
    purpose: &str,
    decided: &[Decided],
    indexes: &[Vec<u64>],
) -> AccessOutcome {
    AccessOutcome {
        purpose: active.and_then(|a| a.policy.purpose(purpose)).map(|_| purpose.to_string()),
        policy_version: active.map(|a| a.number),
        policy_digest: active.map(|a| a.digest_text.clone()),
        subscribers: decided
            .iter()
            .zip(indexes)
            .map(|(Decided { subscriber, decisions, .. }, idx)| SubscriberOutcome {
                id: subscriber.clone(),
                items: decisions
                    .iter()
                    .zip(idx)
                    .map(|(d, &audit_index)| ItemOutcome {
                        category: d.category.clone(),
                        allowed: d.allowed,
                        reasons: d.reasons.clone(),
                        policies: d.policies.clone(),
                        mask: d.mask.clone(),
                        audit_index,
                        values: Vec::new(),
                        unreadable: Vec::new(),
                        written: Vec::new(),
                    })
                    .collect(),
                erased: false,
            })
            .collect(),
        audit: {
            let mut all: Vec<u64> = indexes.iter().flatten().copied().filter(|&i| i != u64::MAX).collect();
            all.sort_unstable();
            all.dedup();
            all
        },
        provisions: Vec::new(),
    }
}
