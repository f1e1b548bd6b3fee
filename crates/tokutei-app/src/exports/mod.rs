//! Export requests (持出し申請) and their approval, the one way every front end files and
//! approves them (`tokutei exports request`, `tokutei exports approve`). An export through
//! the gateway is allowed only under an approved request in force that covers it.
//!
//! Filing: the purpose and every category are in the policy in force, the subscribers
//! covered are named (at most [`MAX_SUBSCRIBERS`]) or the request covers every subscriber, the
//! approval is asked for 1–[`MAX_DAYS`] days, the id is not taken, and the requester — the
//! one acting — is in the staff registry (a person of any role, or a system) → the
//! `export_requested` entry (`export/<id>`, the purpose in the details) is durable → the
//! request is stored.
//!
//! Approval: an approval is always a person's — a chief manager or a responsible person, not
//! disabled, and not the requester; the request exists, is not approved yet and has not
//! lapsed → the `export_approved` entry (`export/<id>`, the requester in the details) is
//! durable → the approval is stored.
//!
//! Carrying out: [`artefact`] produces the approved export as a document encrypted to its
//! recipient (through the gateway, audited like any export) and hands it over once;
//! [`media`] keeps external media refused unless an exception of its register is in force.

pub mod artefact;
pub mod media;

use std::collections::BTreeSet;

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_store::staff::{ExportRequest, NewExportRequest};

pub use artefact::{Downloaded, ExportState, ExportView, Produce, Produced};
pub use media::{Medium, NewGrant};

use crate::App;
use crate::acting::{ALL_ROLES, Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::{CategoryId, ExportId, PurposeId, SubscriberId};
use crate::limits::{self, MAX_CATEGORIES, MAX_SUBSCRIBERS};

/// The longest an approval may stay in force, in days.
pub const MAX_DAYS: u32 = 90;

/// An export request, as a front end received it. The requester is the one acting.
#[derive(Debug, Clone)]
pub struct NewExport {
    pub id: ExportId,
    pub purpose: PurposeId,
    pub categories: Vec<CategoryId>,
    /// The subscribers covered; `None` is every subscriber (a bulk provision).
    pub subscribers: Option<Vec<SubscriberId>>,
    /// Why (shown to the approver; ids and business words, no personal data).
    pub reason: String,
    /// The third party receiving the data, when the export is a provision.
    pub recipient: Option<String>,
    /// Days the approval stays in force, from the request: 1–[`MAX_DAYS`].
    pub days: u32,
}

impl App {
    /// File `new` as `by`'s request at `now`, audit first. Refused, with nothing written: an
    /// invalid field ([`ActionError::Invalid`]), one acting who is not in the registry or is
    /// disabled, an id already taken ([`ActionError::Conflict`]).
    pub fn request_export(&self, by: &Acting, new: &NewExport, now: Timestamp) -> ActionResult<ExportRequest> {
        check_export(new)?;
        let Some((_, policy)) = self.active_policy(now)? else {
            return Err(ActionError::invalid("purpose", "no policy version is in force; publish one first"));
        };
        if policy.purpose(new.purpose.as_str()).is_none() {
            return Err(ActionError::invalid("purpose", format!("`{}` is not in the active policy", new.purpose)));
        }
        if let Some(unknown) = new.categories.iter().find(|c| policy.category(c.as_str()).is_none()) {
            return Err(ActionError::invalid("categories", format!("`{unknown}` is not in the active policy")));
        }
        let actor = self.authorize_or_system(by, ALL_ROLES, "request an export")?;
        if self.stores().export_request(new.id.as_str())?.is_some() {
            return Err(ActionError::Conflict(format!("export request `{}` already exists", new.id)));
        }
        let request = NewExportRequest {
            id: new.id.to_string(),
            requested_by: actor.id().to_string(),
            purpose: new.purpose.to_string(),
            categories: new.categories.iter().map(ToString::to_string).collect(),
            subscribers: new.subscribers.as_ref().map(|s| s.iter().map(ToString::to_string).collect()),
            reason: new.reason.clone(),
            recipient: new.recipient.clone(),
            requested_at: now,
            valid_until: now + jiff::SignedDuration::from_hours(24 * i64::from(new.days)),
        };
        let entry = AdminEntry::new(AdminAction::ExportRequested, format!("export/{}", new.id))
            .detail("purpose", &request.purpose);
        self.audit_admin(actor, entry, now)?;
        self.stores().create_export_request(&request)?;
        Ok(ExportRequest { request, approved_by: None, approved_at: None })
    }

    /// Approve request `id` as `by` at `now`, audit first. Refused, with nothing written: one
    /// acting who is not a person with a manager's role, is disabled, or filed the request
    /// ([`ActionError::Forbidden`]); an unknown request ([`ActionError::NotFound`]); a request
    /// already approved or lapsed ([`ActionError::Conflict`]).
    pub fn approve_export(&self, by: &Acting, id: &ExportId, now: Timestamp) -> ActionResult<ExportRequest> {
        if let Acting::Setup(name) = by {
            return Err(ActionError::Forbidden(format!("`{name}` is not a person; an approval is always a person's")));
        }
        let actor = self.authorize(by, MANAGERS, "approve an export")?;
        let Some(found) = self.stores().export_request(id.as_str())? else {
            return Err(ActionError::NotFound(format!("export request `{id}`")));
        };
        if let Some(approver) = &found.approved_by {
            return Err(ActionError::Conflict(format!("export request `{id}` was already approved by `{approver}`")));
        }
        if found.request.requested_by == actor.id() {
            return Err(ActionError::Forbidden(format!(
                "`{}` filed export request `{id}`; someone else approves it",
                actor.id()
            )));
        }
        if found.request.valid_until < now {
            return Err(ActionError::Conflict(format!("export request `{id}` has lapsed; file a new one")));
        }
        let entry = AdminEntry::new(AdminAction::ExportApproved, format!("export/{id}"))
            .detail("requested_by", &found.request.requested_by);
        let approver = actor.id().to_string();
        self.audit_admin(actor, entry, now)?;
        Ok(self.stores().approve_export(id.as_str(), &approver, now)?)
    }

    /// Every export request, newest first.
    pub fn export_requests(&self) -> ActionResult<Vec<ExportRequest>> {
        Ok(self.stores().export_requests()?)
    }
}

/// The fields of `new` that need no store: the counts, the days, the free text, no id twice.
fn check_export(new: &NewExport) -> ActionResult<()> {
    if new.categories.is_empty() {
        return Err(ActionError::invalid("categories", "name at least one category"));
    }
    if new.categories.len() > MAX_CATEGORIES {
        return Err(ActionError::invalid(
            "categories",
            format!("a request may name at most {MAX_CATEGORIES} categories, got {}", new.categories.len()),
        ));
    }
    if let Some(twice) = named_twice(&new.categories) {
        return Err(ActionError::invalid("categories", format!("`{twice}` is named twice")));
    }
    if let Some(subscribers) = &new.subscribers {
        if subscribers.is_empty() {
            return Err(ActionError::invalid("subscribers", "name the subscribers covered, or cover every subscriber"));
        }
        if subscribers.len() > MAX_SUBSCRIBERS {
            return Err(ActionError::invalid(
                "subscribers",
                format!("a request may name at most {MAX_SUBSCRIBERS} subscribers, got {}", subscribers.len()),
            ));
        }
        if let Some(twice) = named_twice(subscribers) {
            return Err(ActionError::invalid("subscribers", format!("`{twice}` is named twice")));
        }
    }
    if !(1..=MAX_DAYS).contains(&new.days) {
        return Err(ActionError::invalid(
            "days",
            format!("an approval stays in force 1–{MAX_DAYS} days, got {}", new.days),
        ));
    }
    limits::name("reason", &new.reason)
        .map_err(|_| ActionError::invalid("reason", "a reason is 1–200 characters, no control character"))?;
    if let Some(recipient) = &new.recipient {
        limits::name("recipient", recipient)
            .map_err(|_| ActionError::invalid("recipient", "a recipient is 1–200 characters, no control character"))?;
    }
    Ok(())
}

/// The first id named twice.
fn named_twice<T: AsRef<str>>(ids: &[T]) -> Option<&str> {
    let mut seen = BTreeSet::new();
    ids.iter().map(AsRef::as_ref).find(|id| !seen.insert(*id))
}
