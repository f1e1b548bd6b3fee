//! The gateway's inputs in domain terms: who asks (principal), about whom (subscriber facts),
//! what for (purpose, action, categories, channel, zone, export approval) and the deployment
//! settings that switch rules on.
//!
//! These are plain values handed in by the caller, which loads them from the staff registry,
//! the consent records and the contract store; this crate never reads storage itself.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use tokutei_policy::{Channel, Role};

/// A person or an internal system that reads subscriber information through the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// Stable id from the staff registry.
    pub id: String,
    /// Bumped by the registry on every change of this principal; part of the decision cache
    /// key, so a changed principal is never judged by an old decision.
    #[serde(default)]
    pub version: u64,
    pub kind: PrincipalKind,
    /// The services × categories this principal may touch.
    #[serde(default)]
    pub data_range: Vec<DataRange>,
    /// The purposes this principal may act under (ids from the policy file).
    #[serde(default)]
    pub purposes: Vec<String>,
    /// The handling zones this principal may work from (people only).
    #[serde(default)]
    pub zones: Vec<String>,
    /// The actions this principal may take. Erasure crypto-shreds every category of a
    /// subscriber, so it is granted only explicitly; without this field a principal may read,
    /// update and export (exports still need an approved request).
    #[serde(default = "default_actions")]
    pub actions: Vec<Action>,
}

/// The actions a principal may take unless its grants say otherwise: every use, no erasure.
pub fn default_actions() -> Vec<Action> {
    vec![Action::Read, Action::Update, Action::Export]
}

/// Whether a principal is a member of staff or an internal system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrincipalKind {
    Person {
        role: Role,
        #[serde(default)]
        training: Vec<TrainingRecord>,
    },
    System {
        name: String,
    },
}

/// One completed training course and until when it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingRecord {
    pub course: String,
    pub completed: Date,
    /// The last day (Asia/Tokyo) on which this training is valid.
    pub valid_until: Date,
}

/// Part of a data range: one service and the categories of it a principal may touch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRange {
    pub service: String,
    pub categories: Vec<String>,
}

/// What the gateway needs to know about one subscriber (no personal data: ids and states).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberFacts {
    pub id: String,
    /// The service the subscriber's contract is for (id from the policy file).
    pub service: String,
    pub contract: Contract,
    /// The subscriber's recorded choice per purpose id.
    #[serde(default)]
    pub consents: BTreeMap<String, Consent>,
    /// The use for the declared purpose is stopped by the subscriber's request (APPI 35条1項).
    #[serde(default)]
    pub use_stopped: bool,
    /// Provision to third parties is stopped by the subscriber's request (APPI 35条3項).
    #[serde(default)]
    pub provision_stopped: bool,
}

impl SubscriberFacts {
    /// The subscriber's choice for `purpose`, if one is recorded.
    pub fn choice(&self, purpose: &str) -> Option<ConsentChoice> {
        self.consents.get(purpose).map(|c| c.choice)
    }
}

/// The state of a subscriber's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Contract {
    Active,
    Suspended,
    Terminated { on: Date },
}

impl Contract {
    pub fn code(self) -> &'static str {
        match self {
            Contract::Active => "active",
            Contract::Suspended => "suspended",
            Contract::Terminated { .. } => "terminated",
        }
    }
}

/// A recorded consent choice with the id of its proof (when, channel, notice version shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub choice: ConsentChoice,
    pub proof: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentChoice {
    OptedIn,
    OptedOut,
}

impl ConsentChoice {
    pub fn code(self) -> &'static str {
        match self {
            ConsentChoice::OptedIn => "opted_in",
            ConsentChoice::OptedOut => "opted_out",
        }
    }
}

/// What a principal wants to do with the values: the same actions the audit ledger records.
pub use tokutei_ledger::Action;

/// One use of subscriber information: decided per category.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    pub principal: &'a Principal,
    pub action: Action,
    /// The declared purpose id.
    pub purpose: &'a str,
    pub subscriber: &'a SubscriberFacts,
    /// The categories asked for; one decision each.
    pub categories: &'a [String],
    /// The channel the use reaches the subscriber through, when declared.
    pub channel: Option<Channel>,
    /// The handling zone the principal is in, when known (from the entry/exit log).
    pub zone: Option<&'a str>,
    /// Whether that zone may handle secrecy of communications (from the zone register; `None`
    /// when the zone is not registered).
    pub zone_secrecy: Option<bool>,
    /// The id of an approved export request (the caller has checked it is approved and
    /// covers this export).
    pub export_approval: Option<&'a str>,
    pub now: jiff::Timestamp,
}

/// Settings of one deployment that switch rules on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// People may only handle information from inside one of their handling zones.
    #[serde(default)]
    pub zones_required: bool,
    /// Training courses every person must hold, valid, to handle information.
    #[serde(default)]
    pub required_training: Vec<String>,
    /// The roles that must hold a required course, by course id; a course not listed here is
    /// required of every person.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub training_roles: std::collections::BTreeMap<String, Vec<tokutei_policy::Role>>,
}
