//! The alert outbox: alerts waiting to be delivered (by webhook or e-mail), and the delivery
//! log of every attempt.
//!
//! An alert is kept with its id, its kind, the subject it concerns (ids only, e.g.
//! `incident/INC-1/obligation/appi-final`), a dedupe key (the same event for the same
//! recipient is enqueued once: a second [`AlertStore::add_alert`] with that key changes
//! nothing), the channel and the recipient, the payload to send (a JSON document of ids,
//! codes, dates and the Japanese and English text — never a subscriber's personal data), when
//! it was enqueued and by which audit entry, its state (pending → delivered | failed), how
//! many attempts it has had since it was (re)queued and when the next one is due.
//!
//! Delivery is at least once, by any number of `serve` instances on one database: an instance
//! *claims* due alerts for a lease ([`AlertStore::claim_alerts`]); no other instance claims
//! them until the lease ends, so an instance that dies mid-delivery only delays its alerts.
//! Every attempt is kept in the delivery log, which is append-only; a delivered alert never
//! changes again.

use jiff::Timestamp;

use crate::StoreResult;

/// How an alert is delivered. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertChannel {
    /// An HTTP POST of a signed JSON document.
    Webhook,
    /// A message through the deployment's SMTP relay.
    Email,
}

impl AlertChannel {
    pub const ALL: [AlertChannel; 2] = [AlertChannel::Webhook, AlertChannel::Email];

    pub fn code(self) -> &'static str {
        match self {
            AlertChannel::Webhook => "webhook",
            AlertChannel::Email => "email",
        }
    }

    pub fn from_code(code: &str) -> Option<AlertChannel> {
        AlertChannel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// Where an alert stands. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    /// Waiting for its next attempt.
    Pending,
    /// Accepted by its recipient; final.
    Delivered,
    /// Every attempt failed; a person may re-queue it.
    Failed,
}

impl AlertState {
    pub const ALL: [AlertState; 3] = [AlertState::Pending, AlertState::Delivered, AlertState::Failed];

    pub fn code(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Delivered => "delivered",
            AlertState::Failed => "failed",
        }
    }

    pub fn from_code(code: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// An alert to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    /// Unique.
    pub id: String,
    /// What the alert is about, as a code (`deadline_escalation`, `test`, …).
    pub kind: String,
    /// The object it concerns, by id.
    pub subject: String,
    /// Unique: the same event for the same recipient.
    pub dedupe_key: String,
    pub channel: AlertChannel,
    /// The webhook URL or the e-mail address.
    pub recipient: String,
    /// The JSON document to send.
    pub payload: String,
    pub created_at: Timestamp,
    /// The audit entry that enqueued it.
    pub audit_index: u64,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub alert: NewAlert,
    pub state: AlertState,
    /// Attempts since it was enqueued or last re-queued.
    pub attempts: u32,
    /// When the next attempt is due (pending alerts).
    pub next_attempt_at: Timestamp,
    /// Claimed by a delivering instance until then.
    pub claimed_until: Option<Timestamp>,
    /// The last change of state, attempt count or schedule.
    pub updated_at: Timestamp,
}

/// What an attempt did to its alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// The recipient accepted it: the alert is delivered.
    Delivered,
    /// It failed; the next attempt is due then.
    Retry(Timestamp),
    /// It failed and was the last attempt allowed: the alert has failed.
    Failed,
}

impl AttemptResult {
    /// The code kept in the delivery log.
    pub fn code(self) -> &'static str {
        match self {
            AttemptResult::Delivered => "delivered",
            AttemptResult::Retry(_) => "retry",
            AttemptResult::Failed => "failed",
        }
    }
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub alert: String,
    pub attempted_at: Timestamp,
    /// How long the attempt took, in milliseconds.
    pub duration_ms: u64,
    /// The recipient's answer: an HTTP status or an SMTP reply code.
    pub status: Option<u16>,
    /// What went wrong, when it did (no personal data).
    pub error: Option<String>,
    pub result: AttemptResult,
    /// The audit entry that recorded the attempt.
    pub audit_index: u64,
}

/// The alert outbox.
pub trait AlertStore {
    /// Enqueue an alert (pending, due at its creation): `Ok(false)` and nothing changed when an
    /// alert with the same dedupe key exists; an id already used by another key is a conflict.
    fn add_alert(&self, alert: &NewAlert) -> StoreResult<bool>;

    fn alert(&self, id: &str) -> StoreResult<Option<StoredAlert>>;

    fn alert_by_key(&self, dedupe_key: &str) -> StoreResult<Option<StoredAlert>>;

    /// Alerts in `state` (all when `None`), newest first, at most `limit`.
    fn alerts(&self, state: Option<AlertState>, limit: usize) -> StoreResult<Vec<StoredAlert>>;

    /// Claim up to `limit` pending alerts due at `now` that nobody holds (no claim, or one that
    /// ended by `now`), until `until`; the earliest due first. Atomic across instances: two
    /// claims never return the same alert while its lease lasts.
    fn claim_alerts(&self, now: Timestamp, until: Timestamp, limit: usize) -> StoreResult<Vec<StoredAlert>>;

    /// Log an attempt and, while the alert is still pending, apply its result: one more
    /// attempt, the claim released, delivered, failed or due again. An alert that is no longer
    /// pending (another instance delivered it meanwhile) keeps its state; the attempt is logged
    /// all the same. `NotFound` for an unknown alert.
    fn record_delivery(&self, attempt: &DeliveryAttempt) -> StoreResult<()>;

    /// The delivery log of an alert, oldest first.
    fn alert_deliveries(&self, id: &str) -> StoreResult<Vec<DeliveryAttempt>>;

    /// Put a failed alert back in the queue, due at `at` with no attempts: `NotFound` for an
    /// unknown alert, a conflict for one that has not failed.
    fn requeue_alert(&self, id: &str, at: Timestamp) -> StoreResult<()>;
}
