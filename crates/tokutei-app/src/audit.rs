//! The one shape of an administrative audit entry, whichever front end called the action:
//! the actor ([`Actor::Staff`] for a person or a token's principal, [`Actor::System`] for the
//! deployment's own steps), the action, the subject it concerns (`staff/<id>`,
//! `export/<id>`, `policy/v<n>`, `inquiry/<receipt>`, or a subscriber's bare id — what
//! `audit query --subscriber` finds), a digest of what the change commits to when there is
//! one (never in the details), and the details as key–value pairs of ids and codes — never a
//! name, a contact or a value.
//!
//! Every administrative action appends its entry here and waits until it is durable before
//! it changes anything; a failing ledger is [`ActionError::Audit`] and nothing changed.

use jiff::Timestamp;
use tokutei_ledger::{Actor, AdminAction, AdminEvent, Entry};
use tokutei_store::ledger::LedgerStore;

use crate::App;
use crate::error::{ActionError, ActionResult};

/// One administrative entry, before it is appended.
#[derive(Debug, Clone)]
pub(crate) struct AdminEntry {
    pub action: AdminAction,
    pub subject: String,
    pub digest: Option<[u8; 32]>,
    pub details: Vec<(String, String)>,
}

impl AdminEntry {
    pub(crate) fn new(action: AdminAction, subject: impl Into<String>) -> AdminEntry {
        AdminEntry { action, subject: subject.into(), digest: None, details: Vec::new() }
    }

    pub(crate) fn digest(mut self, digest: [u8; 32]) -> AdminEntry {
        self.digest = Some(digest);
        self
    }

    pub(crate) fn detail(mut self, key: &str, value: impl ToString) -> AdminEntry {
        self.details.push((key.to_string(), value.to_string()));
        self
    }

    /// The ledger entry: `actor`'s at `at` (to append several in one durable batch).
    pub(crate) fn entry(self, actor: Actor, at: Timestamp) -> Entry {
        let event =
            AdminEvent { action: self.action, subject: self.subject, digest: self.digest, details: self.details };
        Entry::admin(at, actor, event)
    }

    /// Append it as `actor`'s at `at` and wait until it is durable; its ledger index.
    pub(crate) fn append(self, ledger: &dyn LedgerStore, actor: Actor, at: Timestamp) -> ActionResult<u64> {
        Ok(ledger.append(&self.entry(actor, at)).map_err(ActionError::Audit)?.index)
    }
}

impl App {
    /// Append `entry` as `actor`'s at `at`, durable before the caller changes anything.
    pub(crate) fn audit_admin(&self, actor: Actor, entry: AdminEntry, at: Timestamp) -> ActionResult<u64> {
        entry.append(self.ledger().as_ref(), actor, at)
    }
}
