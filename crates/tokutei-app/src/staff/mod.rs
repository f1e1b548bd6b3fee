//! The staff registry's actions, one function each, whichever front end calls them
//! (`tokutei staff …`, `POST /api/v1/staff`, the console as it gains pages): the input and the
//! one acting are checked ([`App::authorize`] with [`crate::MANAGERS`]), the principal acted
//! on exists and may be changed → the entry (subject `staff/<id>`) is durable → the registry
//! changes. A refusal or a failing ledger changes nothing.
//!
//! - [`registry`]: registering a principal, replacing its grants, disabling it (never
//!   oneself, never the last active chief manager), and the read-only views (`staff list`,
//!   `staff show`);
//! - [`training`]: recording a completed course;
//! - [`credentials`]: a one-time password (every session of the person ends), a TOTP second
//!   factor (sealed through [`crate::KeyAccess::seal_secret`], never stored in clear), and the
//!   first chief manager of `init` and `demo`;
//! - [`tokens`]: API tokens, issued (shown once) and revoked.
//!
//! Every change is `staff_changed` with a `change` detail (`created`, `grants`, `training`,
//! `disabled`, `totp_enrolled`, `token_issued`, `token_revoked`) and the principal's
//! `version` after the change where the change makes one (the stored version + 1: every
//! change bumps it by one); a password is `password_changed`.

pub mod credentials;
pub mod registry;
pub mod tokens;
pub mod training;

use tokutei_ledger::AdminAction;
use tokutei_policy::Role;
use tokutei_store::staff::{PrincipalKind, StoredPrincipal};

use crate::acting::Acting;

use crate::App;
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;

pub use credentials::{CHIEF_ID, ChiefSetup, TotpEnrolment};
pub use registry::StaffMember;

/// The `staff_changed` entry about `id` with its `change` detail.
fn changed(id: &str, change: &str) -> AdminEntry {
    AdminEntry::new(AdminAction::StaffChanged, subject(id)).detail("change", change)
}

/// Whether `p` is a chief manager (統括管理者).
fn is_chief(p: &StoredPrincipal) -> bool {
    matches!(p.kind, PrincipalKind::Person { role: Role::ChiefManager })
}

/// The subject of every entry about the principal `id`.
fn subject(id: &str) -> String {
    format!("staff/{id}")
}

/// A principal named in an action that does not exist.
fn not_found(id: &str) -> ActionError {
    ActionError::NotFound(format!("principal `{id}`"))
}

impl App {
    /// Only a chief manager acts on a chief manager — their grants, credentials, tokens,
    /// disabling, or registering one: a responsible person cannot take over or lock out the
    /// account above theirs ([`ActionError::Forbidden`]). The deployment's own setup may.
    fn guard_chief(&self, by: &Acting, target: &StoredPrincipal) -> ActionResult<()> {
        if is_chief(target) && matches!(by, Acting::Person(_)) {
            self.authorize(by, &[Role::ChiefManager], "act on a chief manager")?;
        }
        Ok(())
    }

    /// The principal `id` names ([`ActionError::NotFound`] when the registry has none).
    fn staff_target(&self, id: &PrincipalId) -> ActionResult<StoredPrincipal> {
        self.stores().principal(id.as_str())?.ok_or_else(|| not_found(id.as_str()))
    }

    /// As [`App::staff_target`], refusing a disabled principal: disabling is final, so it
    /// gains no grants, training, credentials or tokens ([`ActionError::Conflict`]).
    fn enabled_target(&self, id: &PrincipalId) -> ActionResult<StoredPrincipal> {
        let principal = self.staff_target(id)?;
        if principal.disabled_at.is_some() {
            return Err(ActionError::Conflict(format!("`{id}` is disabled")));
        }
        Ok(principal)
    }

    /// As [`App::enabled_target`], refusing a system (`why`: what only people have).
    fn enabled_person(&self, id: &PrincipalId, why: &str) -> ActionResult<StoredPrincipal> {
        let principal = self.enabled_target(id)?;
        if let PrincipalKind::System { .. } = principal.kind {
            return Err(ActionError::invalid("id", format!("`{id}` is a system; {why}")));
        }
        Ok(principal)
    }
}
