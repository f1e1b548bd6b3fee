//! Consent records: each subscriber's opt-in and opt-out choices per purpose, with their
//! proof — when, through which channel, which notice (policy version) was shown, who or what
//! recorded it, and a reference to the evidence (form id, call recording id). Records are
//! never changed: a withdrawal is a new record, and the latest record per purpose is the
//! subscriber's current choice. The gateway reads the current choice on every request, so a
//! withdrawal takes effect on the very next one.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::StoreResult;

/// What the subscriber chose for a purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    OptedIn,
    OptedOut,
}

impl Choice {
    pub fn id(self) -> &'static str {
        match self {
            Choice::OptedIn => "opted_in",
            Choice::OptedOut => "opted_out",
        }
    }

    pub fn from_id(id: &str) -> Option<Choice> {
        [Choice::OptedIn, Choice::OptedOut].into_iter().find(|c| c.id() == id)
    }
}

/// A choice to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConsent {
    pub subscriber: String,
    pub purpose: String,
    pub choice: Choice,
    /// How the choice reached us (`web`, `app`, `phone`, `in_person`, `post`…).
    pub channel: String,
    /// The policy version whose notice was shown when the choice was made.
    pub notice_version: u32,
    pub recorded_at: Timestamp,
    /// The staff member or system that recorded it.
    pub recorded_by: String,
    /// A reference to the evidence (form submission id, call recording id); never its content.
    pub evidence: Option<String>,
}

/// A stored consent record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// 1, 2, 3… in the order recorded (the proof id).
    pub id: u64,
    #[serde(flatten)]
    pub record: NewConsent,
}

/// What the gateway reads about a subscriber on every request, in one read: the subscriber
/// (service, contract), its current choice for the declared purpose, and its wrapped data key
/// (`None` once erased). Reading the wrapped key is not decrypting: the key is unwrapped only
/// after the audit entry is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    pub subscriber: crate::vault::Subscriber,
    pub consent: Option<ConsentRecord>,
    pub key: Option<crate::vault::WrappedDataKey>,
}

/// Consent records.
pub trait ConsentStore {
    /// The facts of `subscriber` for a request declaring `purpose`; `None` when there is no
    /// such subscriber.
    fn access_facts(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<AccessFacts>>;

    /// Record a choice; the subscriber must exist.
    fn record_consent(&self, consent: &NewConsent) -> StoreResult<ConsentRecord>;

    /// The current choice per purpose of a subscriber (the latest record of each purpose), in
    /// purpose order.
    fn current_consents(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>>;

    /// The current choice of one purpose.
    fn current_consent(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<ConsentRecord>>;

    /// Every record of a subscriber, oldest first.
    fn consent_history(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>>;
}
