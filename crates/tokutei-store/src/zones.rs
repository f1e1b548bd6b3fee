//! Handling zones (取扱区域) and the entry/exit log (入退室記録) of the people who work in them.
//!
//! A zone is registered with the client networks of its terminals; the log holds one row per
//! badge event, as the badge system reported it (or as its file was imported), each with the
//! ledger index of its audit entry. Rows of the log are never changed or deleted (triggers on
//! both backends); a zone is replaced whole when its register entry changes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::StoreResult;

/// One handling zone of the register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandlingZone {
    /// The zone's id (what grants and the audit name).
    pub id: String,
    /// How people call it (`本社 特定利用者情報取扱室`).
    pub name: String,
    /// Where it is (a building, a floor).
    pub site: String,
    /// The client networks of its terminals, as CIDR text (`10.20.0.0/24`), in the order given.
    pub networks: Vec<String>,
    /// Whether information that is secrecy of communications (通信の秘密) may be handled there.
    pub secrecy: bool,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
    /// The ledger index of the entry that registered or last changed it.
    pub audit_index: u64,
}

/// Whether a person went in or came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceKind {
    Enter,
    Exit,
}

impl PresenceKind {
    pub fn code(self) -> &'static str {
        match self {
            PresenceKind::Enter => "enter",
            PresenceKind::Exit => "exit",
        }
    }

    pub fn from_code(code: &str) -> Option<PresenceKind> {
        match code {
            "enter" => Some(PresenceKind::Enter),
            "exit" => Some(PresenceKind::Exit),
            _ => None,
        }
    }
}

/// One badge event to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPresence {
    pub person: String,
    pub zone: String,
    pub kind: PresenceKind,
    /// When the badge was read.
    pub at: Timestamp,
    /// Who reported it: the badge system's principal id (or the person who imported its file).
    pub source: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

/// One stored badge event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresenceEvent {
    /// The row's id, in the order events were recorded.
    pub id: u64,
    pub person: String,
    pub zone: String,
    pub kind: PresenceKind,
    pub at: Timestamp,
    pub source: String,
    pub recorded_at: Timestamp,
    pub audit_index: u64,
}

/// Which events of the log to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresenceFilter {
    pub person: Option<String>,
    pub zone: Option<String>,
}

pub trait ZoneStore: Send + Sync {
    /// Register `zone`, or replace the zone of its id whole (keeping its `registered_at`).
    fn put_zone(&self, zone: &HandlingZone) -> StoreResult<()>;

    /// Every zone of the register, by id.
    fn zones(&self) -> StoreResult<Vec<HandlingZone>>;

    /// Store badge events, all or nothing.
    fn add_presence(&self, events: &[NewPresence]) -> StoreResult<()>;

    /// For each zone `person` has an event in, the latest one at or before `now` (by badge
    /// time, then by the order recorded), by zone id.
    fn latest_presence(&self, person: &str, now: Timestamp) -> StoreResult<Vec<PresenceEvent>>;

    /// The newest `limit` events matching `filter`, newest first (by badge time, then id).
    fn presence_log(&self, filter: &PresenceFilter, limit: usize) -> StoreResult<Vec<PresenceEvent>>;
}
