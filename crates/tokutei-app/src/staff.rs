//! Registering a principal in the staff registry, the one way every front end does it
//! (`tokutei staff add`, `POST /api/v1/staff`): the id, the name and the grants are checked
//! (every service, category and purpose granted must be in the policy in force), the one
//! registering may register staff, and the id is not taken → the `staff_changed` entry
//! (`change=created`) is durable → the principal is stored.

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StoredPrincipal};

use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::limits;
use crate::service::App;

impl App {
    /// Register `new`, audit first. Refused, with nothing written: an invalid field
    /// ([`ActionError::Invalid`]), one acting who is not a manager, an id already taken
    /// ([`ActionError::Conflict`]).
    pub fn register_principal(&self, by: &Acting, new: &NewPrincipal, now: Timestamp) -> ActionResult<StoredPrincipal> {
        if !tokutei_store::staff::valid_principal_id(&new.id) {
            return Err(ActionError::invalid(
                "id",
                format!("`{}` is not a valid principal id: use 1–64 letters, digits, `-`, `_`, `.`", new.id),
            ));
        }
        check_name(&new.display_name)?;
        if let PrincipalKind::System { name } = &new.kind {
            limits::id("kind.name", name).map_err(|_| {
                ActionError::invalid("kind.name", "a system's name is 1–64 characters without white space")
            })?;
        }
        self.check_grants(&new.grants, now)?;
        let actor = self.authorize(by, MANAGERS, "register staff")?;
        if self.stores().principal(&new.id)?.is_some() {
            return Err(ActionError::Conflict(format!("principal `{}` already exists", new.id)));
        }
        let entry = AdminEntry::new(AdminAction::StaffChanged, format!("staff/{}", new.id)).detail("change", "created");
        self.audit_admin(actor, entry, now)?;
        Ok(self.stores().create_principal(&NewPrincipal { created_at: now, ..new.clone() })?)
    }

    /// Check grants against the policy in force: every service, category and purpose must be
    /// in it. Grants of nothing need no policy; any other grants need one in force.
    pub fn check_grants(&self, grants: &Grants, now: Timestamp) -> ActionResult<()> {
        for zone in &grants.zones {
            limits::id("grants.zones", zone)
                .map_err(|_| ActionError::invalid("grants.zones", "a zone is 1–64 characters without white space"))?;
        }
        if grants.data_range.is_empty() && grants.purposes.is_empty() {
            return Ok(());
        }
        let Some((_, policy)) = self.active_policy(now)? else {
            return Err(ActionError::invalid(
                "grants",
                "no policy version is in force to check them against; publish one first",
            ));
        };
        for range in &grants.data_range {
            if policy.service(&range.service).is_none() {
                return Err(ActionError::invalid(
                    "grants.data_range",
                    format!("service `{}` is not in the active policy", range.service),
                ));
            }
            if range.categories.is_empty() {
                return Err(ActionError::invalid(
                    "grants.data_range",
                    format!("the range of service `{}` names no category", range.service),
                ));
            }
            for c in &range.categories {
                if policy.category(c).is_none() {
                    return Err(ActionError::invalid(
                        "grants.data_range",
                        format!("category `{c}` is not in the active policy"),
                    ));
                }
            }
        }
        for p in &grants.purposes {
            if policy.purpose(p).is_none() {
                return Err(ActionError::invalid(
                    "grants.purposes",
                    format!("purpose `{p}` is not in the active policy"),
                ));
            }
        }
        Ok(())
    }
}

/// How people see a principal: 1–200 characters, no control characters.
fn check_name(name: &str) -> ActionResult<()> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return Err(ActionError::invalid("display_name", "is empty"));
    }
    if chars > limits::MAX_NAME_CHARS {
        return Err(ActionError::invalid(
            "display_name",
            format!("has {chars} characters; at most {} are allowed", limits::MAX_NAME_CHARS),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ActionError::invalid("display_name", "holds a control character"));
    }
    Ok(())
}
