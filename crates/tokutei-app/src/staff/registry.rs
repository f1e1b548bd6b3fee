//! The registry itself: registering a principal, the one way every front end does it
//! (`tokutei staff add`, `POST /api/v1/staff`: the id, the name and the grants are checked —
//! every service, category and purpose granted must be in the policy in force —, the one
//! registering may register staff, and the id is not taken → `change=created` durable → the
//! principal is stored); replacing its grants; disabling it; and what `staff list` and
//! `staff show` read.

use jiff::Timestamp;
use serde::Serialize;
use tokutei_policy::Role;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StoredPrincipal, StoredToken};

use super::changed;
use super::is_chief;
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::limits;

/// One principal as `staff show` shows it: the registry's row and its tokens (never a secret).
#[derive(Debug, Clone, Serialize)]
pub struct StaffMember {
    pub principal: StoredPrincipal,
    /// Newest first.
    pub tokens: Vec<StoredToken>,
}

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
        if matches!(new.kind, PrincipalKind::Person { role: Role::ChiefManager }) && matches!(by, Acting::Person(_)) {
            self.authorize(by, &[Role::ChiefManager], "register a chief manager")?;
        }
        if self.stores().principal(&new.id)?.is_some() {
            return Err(ActionError::Conflict(format!("principal `{}` already exists", new.id)));
        }
        self.audit_admin(actor, changed(&new.id, "created"), now)?;
        Ok(self.stores().create_principal(&NewPrincipal { created_at: now, ..new.clone() })?)
    }

    /// Replace the grants of `id` with `grants` (checked as [`App::register_principal`] checks
    /// them), audit first; the principal's new version. Refused, with nothing written: invalid
    /// grants, one acting who is not a manager, an unknown ([`ActionError::NotFound`]) or
    /// disabled ([`ActionError::Conflict`]) principal.
    pub fn change_grants(&self, by: &Acting, id: &PrincipalId, grants: &Grants, now: Timestamp) -> ActionResult<u64> {
        self.check_grants(grants, now)?;
        let actor = self.authorize(by, MANAGERS, "change grants")?;
        let principal = self.enabled_target(id)?;
        self.guard_chief(by, &principal)?;
        let version = principal.version + 1;
        self.audit_admin(actor, changed(id.as_str(), "grants").detail("version", version), now)?;
        Ok(self.stores().set_grants(id.as_str(), grants)?)
    }

    /// Disable `id`: it can no longer act, sign in or use its tokens. Audit first; the
    /// principal's new version. Refused, with nothing written: one acting who is not a
    /// manager, a person disabling themself ([`ActionError::Forbidden`]), an unknown
    /// principal ([`ActionError::NotFound`]), one already disabled, and the last active chief
    /// manager — the deployment would have no one left to name another
    /// ([`ActionError::Conflict`]).
    pub fn disable_principal(&self, by: &Acting, id: &PrincipalId, now: Timestamp) -> ActionResult<u64> {
        let actor = self.authorize(by, MANAGERS, "disable staff")?;
        if matches!(by, Acting::Person(me) if me == id.as_str()) {
            return Err(ActionError::Forbidden(format!("`{id}` cannot disable themself")));
        }
        let principal = self.staff_target(id)?;
        if principal.disabled_at.is_some() {
            return Err(ActionError::Conflict(format!("`{id}` is already disabled")));
        }
        if is_chief(&principal) {
            let others =
                self.stores().principals()?.iter().filter(|p| p.id != principal.id && is_active_chief(p)).count();
            if others == 0 {
                return Err(ActionError::Conflict(format!(
                    "`{id}` is the last active chief manager; register another before disabling this one"
                )));
            }
        }
        self.guard_chief(by, &principal)?;
        let version = principal.version + 1;
        self.audit_admin(actor, changed(id.as_str(), "disabled").detail("version", version), now)?;
        Ok(self.stores().disable_principal(id.as_str(), now)?)
    }

    /// Every principal of the registry, in id order.
    pub fn staff_list(&self) -> ActionResult<Vec<StoredPrincipal>> {
        Ok(self.stores().principals()?)
    }

    /// One principal with its tokens ([`ActionError::NotFound`] when there is none).
    pub fn staff_member(&self, id: &PrincipalId) -> ActionResult<StaffMember> {
        let principal = self.staff_target(id)?;
        let tokens = self.stores().tokens(id.as_str())?;
        Ok(StaffMember { principal, tokens })
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

fn is_active_chief(p: &StoredPrincipal) -> bool {
    is_chief(p) && p.disabled_at.is_none()
}
