//! Consent records: each subscriber's opt-in and opt-out choices per purpose, with their
//! proof — when, through which channel, which notice (policy version) was shown, who or what
//! recorded it, and a reference to the evidence (form id, call recording id). Records are
//! never changed: a withdrawal is a new record, and the latest record per purpose is the
//! subscriber's current choice. The gateway reads the current choice on every request, so a
//! withdrawal takes effect on the very next one.
//!
//! A backend refuses to change or delete a record. Each record names the audit entry that
//! recorded it (`audit_index`), and that entry carries the record's [`consent_digest`], so a
//! record deleted or edited behind the store's back is found by `tokutei subscribers verify`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// What the audit entry of a consent record commits to: SHA-256 over a domain tag and every
/// field of the record (the evidence is a reference, never its content).
pub fn consent_digest(c: &NewConsent) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tokutei.consent.v1\0");
    let evidence = c.evidence.as_deref();
    for part in [
        c.subscriber.as_str(),
        c.purpose.as_str(),
        c.choice.id(),
        c.channel.as_str(),
        c.recorded_by.as_str(),
        evidence.unwrap_or(""),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update([u8::from(evidence.is_some())]);
    h.update(c.notice_version.to_be_bytes());
    h.update(c.recorded_at.as_microsecond().to_be_bytes());
    h.finalize().into()
}

/// A stored consent record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentRecord {
    /// 1, 2, 3… in the order recorded (the proof id).
    pub id: u64,
    #[serde(flatten)]
    pub record: NewConsent,
    /// The audit entry that recorded it (`None` for records from before tokutei kept it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_index: Option<u64>,
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
    /// A stop of use for the purpose (or for every purpose) is in force
    /// ([`crate::requests::UseStop`]).
    pub use_stopped: bool,
    /// A stop of provision to third parties is in force.
    pub provision_stopped: bool,
}

/// Consent records.
pub trait ConsentStore {
    /// The facts of `subscriber` for a request declaring `purpose`; `None` when there is no
    /// such subscriber.
    fn access_facts(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<AccessFacts>>;

    /// Record a choice; the subscriber must exist. `audit_index` is the durable audit entry
    /// of this record, written before it.
    fn record_consent(&self, consent: &NewConsent, audit_index: Option<u64>) -> StoreResult<ConsentRecord>;

    /// The current choice per purpose of a subscriber (the latest record of each purpose), in
    /// purpose order.
    fn current_consents(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>>;

    /// The current choice of one purpose.
    fn current_consent(&self, subscriber: &str, purpose: &str) -> StoreResult<Option<ConsentRecord>>;

    /// Every record of a subscriber, oldest first.
    fn consent_history(&self, subscriber: &str) -> StoreResult<Vec<ConsentRecord>>;

    /// Every record in id order after `after`, at most `limit` (for the integrity check).
    fn consent_records(&self, after: Option<u64>, limit: usize) -> StoreResult<Vec<ConsentRecord>>;
}
