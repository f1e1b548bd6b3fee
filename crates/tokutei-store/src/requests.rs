//! The register of data-subject requests (開示等の請求, APPI 32–35条): a request as received
//! (its type, the channel, the inquiry it came from) and the events that carry it to its end —
//! its scope as received, the person's identity verified and the subscriber linked, the scope, a pause while waiting
//! for the person and the resumption, an extension, the outcome (fulfilled, partly fulfilled
//! or refused, once), the notice sent. Every record is evidence: nothing is edited or deleted,
//! and a request has at most one outcome — guarded by the database itself, on every backend.
//!
//! An event's contents are the application's JSON document (`body`): the store keeps it
//! whole and does not read it. A request names a subscriber only by id, after verification;
//! identity evidence is named by a reference to where the office keeps it, never copied here.

use jiff::Timestamp;

use crate::StoreResult;

/// A request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// Unique (`DR-1`, `DR-2`…).
    pub id: String,
    /// The request type's code (`disclosure`, `correction`, …; the application's list).
    pub kind: String,
    /// How it reached the office (`inquiry`, `phone`, `letter`, `shop`, `email`).
    pub channel: String,
    /// The inquiry it came from, by receipt number.
    pub inquiry: Option<String>,
    pub received_at: Timestamp,
    pub opened_by: String,
    pub audit_index: u64,
}

/// What an event records. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestEventKind {
    /// The request's scope as received (purposes, categories, the answer's form, the fee).
    Opened,
    /// The person's identity verified; the subscriber linked.
    Verified,
    /// The clock paused while waiting for the person.
    Paused,
    /// The clock running again.
    Resumed,
    /// The deadline extended, with a reason.
    Extended,
    /// The outcome: fulfilled, partly fulfilled or refused (once).
    Outcome,
    /// The notice of the outcome sent to the person.
    Notified,
    /// The disclosure's electronic record downloaded (once).
    Downloaded,
}

impl RequestEventKind {
    pub const ALL: [RequestEventKind; 8] = [
        RequestEventKind::Opened,
        RequestEventKind::Verified,
        RequestEventKind::Paused,
        RequestEventKind::Resumed,
        RequestEventKind::Extended,
        RequestEventKind::Outcome,
        RequestEventKind::Notified,
        RequestEventKind::Downloaded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RequestEventKind::Opened => "opened",
            RequestEventKind::Verified => "verified",
            RequestEventKind::Paused => "paused",
            RequestEventKind::Resumed => "resumed",
            RequestEventKind::Extended => "extended",
            RequestEventKind::Outcome => "outcome",
            RequestEventKind::Notified => "notified",
            RequestEventKind::Downloaded => "downloaded",
        }
    }

    pub fn from_code(code: &str) -> Option<RequestEventKind> {
        RequestEventKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// An event of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequestEvent {
    pub request: String,
    pub kind: RequestEventKind,
    /// The application's JSON document of the event.
    pub body: String,
    pub by: String,
    pub at: Timestamp,
    pub audit_index: u64,
}

/// A stored event: `number` orders the events of every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequestEvent {
    pub number: u64,
    pub event: NewRequestEvent,
}

/// A stored request with its events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub request: NewRequest,
    pub events: Vec<StoredRequestEvent>,
}

/// What a stop stops. The codes are stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopKind {
    /// The use for a purpose, or for every purpose (35条1項).
    Use,
    /// The provision to third parties (35条3項).
    Provision,
}

impl StopKind {
    pub fn code(self) -> &'static str {
        match self {
            StopKind::Use => "use",
            StopKind::Provision => "provision",
        }
    }

    pub fn from_code(code: &str) -> Option<StopKind> {
        [StopKind::Use, StopKind::Provision].into_iter().find(|k| k.code() == code)
    }
}

/// A stop put in force, or lifted, for one subscriber by a request: the gateway reads the
/// latest row per (subscriber, kind, purpose) with every access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseStop {
    pub subscriber: String,
    pub kind: StopKind,
    /// A purpose id, or `*` for every purpose (always `*` for provision).
    pub purpose: String,
    /// In force (`true`) or lifted.
    pub stopped: bool,
    /// The request that put it in force (or whose stop is lifted).
    pub request: String,
    pub by: String,
    pub at: Timestamp,
    pub audit_index: u64,
}

/// The request register.
pub trait RequestStore {
    /// Record a request: a conflict naming the id, with nothing written, when it is taken.
    fn add_request(&self, request: &NewRequest) -> StoreResult<()>;

    /// Add an event; its number. `NotFound` for an unknown request; a conflict, with nothing
    /// written, for a second outcome.
    fn add_request_event(&self, event: &NewRequestEvent) -> StoreResult<u64>;

    /// Every request with its events, in the order received.
    fn requests(&self) -> StoreResult<Vec<StoredRequest>>;

    /// One request with its events; `None` for an unknown id.
    fn request(&self, id: &str) -> StoreResult<Option<StoredRequest>>;

    /// Put stops in force or lift them, all in one transaction: `NotFound` for an unknown
    /// subscriber or request.
    fn add_use_stops(&self, stops: &[UseStop]) -> StoreResult<()>;

    /// Every stop row of `subscriber`, oldest first (the latest per kind and purpose counts).
    fn use_stops(&self, subscriber: &str) -> StoreResult<Vec<UseStop>>;
}
