//! Who carries out an administrative action, and whether they may.
//!
//! Every front end names the one acting the same way: the console and the API by the signed-in
//! person or the token's principal, the CLI by `--by`. [`Acting::Person`] is checked against
//! the staff registry (a person, not disabled, with a role the action needs) and audited as
//! [`Actor::Staff`]; [`Acting::Setup`] is the deployment's own first steps (`init`, `demo`),
//! before anyone could sign in, audited as [`Actor::System`].

use tokutei_ledger::Actor;
use tokutei_policy::{Lang, Role};
use tokutei_store::staff::{PrincipalKind, StaffStore};

use crate::App;
use crate::error::{ActionError, ActionResult};

/// The roles that publish policy versions, register staff, change settings and answer
/// inquiries: the chief manager (統括管理者) and the responsible persons (責任者).
pub const MANAGERS: &[Role] = &[Role::ChiefManager, Role::ResponsiblePerson];

/// The roles that oversee: the managers and the auditors (監査担当), who read registers and
/// inquiries but change nothing.
pub const OVERSIGHT: &[Role] = &[Role::ChiefManager, Role::ResponsiblePerson, Role::Auditor];

/// Every role a person can have.
pub const ALL_ROLES: &[Role] = &[Role::ChiefManager, Role::ResponsiblePerson, Role::Handler, Role::Auditor];

/// The one carrying out an administrative action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acting {
    /// A principal of the staff registry, by id (checked before anything is written).
    Person(String),
    /// The deployment setting itself up (`init`, `demo`), before any person exists to act;
    /// and the command line when no `--by` names one (`policy publish --data DIR FILE`, the
    /// fixed interface): audited as that system, never as a person.
    Setup(&'static str),
}

impl App {
    /// The ledger actor of `by`, once `by` may do `what` (see [`authorize`]).
    pub(crate) fn authorize(&self, by: &Acting, roles: &[Role], what: &str) -> ActionResult<Actor> {
        authorize(self.stores().as_ref(), by, roles, what)
    }
}

/// The ledger actor of `by`, once `by` may do `what`: a person in the registry, not disabled,
/// whose role is one of `roles` (or the deployment setting itself up). Refusals change nothing:
/// an unknown id is [`ActionError::UnknownPrincipal`], anyone else [`ActionError::Forbidden`].
pub fn authorize(staff: &(impl StaffStore + ?Sized), by: &Acting, roles: &[Role], what: &str) -> ActionResult<Actor> {
    let id = match by {
        Acting::Setup(name) => return Ok(Actor::System((*name).to_string())),
        Acting::Person(id) => id,
    };
    let principal = staff.principal(id)?.ok_or_else(|| ActionError::UnknownPrincipal(id.clone()))?;
    if principal.disabled_at.is_some() {
        return Err(ActionError::Forbidden(format!("`{id}` is disabled and cannot {what}")));
    }
    match principal.kind {
        PrincipalKind::Person { role } if roles.contains(&role) => Ok(Actor::Staff(principal.id)),
        PrincipalKind::Person { role } => {
            let may: Vec<&str> = roles.iter().map(|r| r.label(Lang::En)).collect();
            Err(ActionError::Forbidden(format!(
                "`{id}` has the role {}; only {} may {what}",
                role.label(Lang::En),
                may.join(", ")
            )))
        }
        PrincipalKind::System { .. } => {
            Err(ActionError::Forbidden(format!("`{id}` is a system; only a person can {what}")))
        }
    }
}

impl App {
    /// As [`Self::authorize`], for an action a system of the registry may carry out as well as
    /// a person (a member site feeding the choices it received, the CRM changing a contract):
    /// a system, not disabled, is audited as [`Actor::System`] under its id.
    pub(crate) fn authorize_or_system(&self, by: &Acting, roles: &[Role], what: &str) -> ActionResult<Actor> {
        if let Acting::Person(id) = by
            && let Some(principal) = self.stores().principal(id)?
            && matches!(principal.kind, PrincipalKind::System { .. })
        {
            if principal.disabled_at.is_some() {
                return Err(ActionError::Forbidden(format!("`{id}` is disabled and cannot {what}")));
            }
            return Ok(Actor::System(principal.id));
        }
        self.authorize(by, roles, what)
    }
}
