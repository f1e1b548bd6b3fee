//! The console's credentials of a person: a one-time password given by a manager (changed at
//! the first sign-in; every session of the person ends), a TOTP second factor (required for
//! managers and auditors; the secret sealed through [`KeyAccess::seal_secret`] for
//! [`totp_owner`], never stored in clear), and the first chief manager that `init` and `demo`
//! set up with both, before anyone could sign in.
//!
//! [`KeyAccess::seal_secret`]: crate::KeyAccess::seal_secret

use jiff::Timestamp;
use tokutei_ledger::AdminAction;
use tokutei_policy::Role;
use tokutei_store::staff::{Grants, NewPrincipal, PrincipalKind, StoredPrincipal};
use zeroize::Zeroizing;

use super::{changed, subject};
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::audit::AdminEntry;
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::key_access::totp_owner;

/// The id of the first chief manager `init` and `demo` set up.
pub const CHIEF_ID: &str = "chief";

/// The name the first chief manager is shown by.
const CHIEF_NAME: &str = "統括管理者 / chief manager";

/// The issuer an authenticator app shows beside the account.
const TOTP_ISSUER: &str = "tokutei";

/// Why only people get console credentials.
const PEOPLE_ONLY: &str = "systems use API tokens, not the console";

/// A TOTP enrolment, shown once: the `otpauth://` URI an authenticator app enrols from and
/// the secret in base32.
pub struct TotpEnrolment {
    pub uri: Zeroizing<String>,
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment").finish_non_exhaustive()
    }
}

/// The first chief manager, as `init` and `demo` print it once.
pub struct ChiefSetup {
    pub principal: StoredPrincipal,
    pub password: Zeroizing<String>,
    pub totp: TotpEnrolment,
}

impl std::fmt::Debug for ChiefSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChiefSetup").field("principal", &self.principal.id).finish_non_exhaustive()
    }
}

/// A failure of the randomness or the hashing behind a credential of `id`.
fn credential_error(id: &PrincipalId, error: impl std::fmt::Display) -> ActionError {
    ActionError::Key { subscriber: subject(id.as_str()), message: error.to_string() }
}

impl App {
    /// Give the person `id` a one-time password (a reset by a manager, or the first one);
    /// returns it, to be shown once. Audit first (`password_changed`, `one_time=yes`,
    /// `sessions=ended`); then the password is set, to be changed at the first sign-in, and
    /// every session of `id` ends. Refused, with nothing written: one acting who is not a
    /// manager, an unknown principal ([`ActionError::NotFound`]), a system
    /// ([`ActionError::Invalid`]), a disabled person ([`ActionError::Conflict`]).
    pub fn reset_password(&self, by: &Acting, id: &PrincipalId, now: Timestamp) -> ActionResult<Zeroizing<String>> {
        let actor = self.authorize(by, MANAGERS, "reset passwords")?;
        let person = self.enabled_person(id, PEOPLE_ONLY)?;
        self.guard_chief(by, &person)?;
        let password = Zeroizing::new(tokutei_crypto::password::one_time().map_err(|e| credential_error(id, e))?);
        let hash = tokutei_crypto::password::hash(&password).map_err(|e| credential_error(id, e))?;
        let entry = AdminEntry::new(AdminAction::PasswordChanged, subject(id.as_str()))
            .detail("one_time", "yes")
            .detail("sessions", "ended");
        self.audit_admin(actor, entry, now)?;
        self.stores().set_password(id.as_str(), &hash, true)?;
        self.stores().delete_sessions_of(id.as_str())?;
        Ok(password)
    }

    /// Enrol a new TOTP secret for the person `id` (replacing any earlier one), sealed for
    /// [`totp_owner`]; returns the enrolment, to be shown once. Audit first
    /// (`change=totp_enrolled`). Refused, with nothing written: one acting who is not a
    /// manager, an unknown principal ([`ActionError::NotFound`]), a system
    /// ([`ActionError::Invalid`]), a disabled person or one without a password yet
    /// ([`ActionError::Conflict`]), a key access that cannot seal ([`ActionError::Key`]).
    pub fn enrol_totp(&self, by: &Acting, id: &PrincipalId, now: Timestamp) -> ActionResult<TotpEnrolment> {
        let actor = self.authorize(by, MANAGERS, "enrol second factors")?;
        let person = self.enabled_person(id, PEOPLE_ONLY)?;
        self.guard_chief(by, &person)?;
        if self.stores().credentials(id.as_str())?.is_none() {
            return Err(ActionError::Conflict(format!("`{id}` has no password yet; give one first")));
        }
        let secret = Zeroizing::new(tokutei_crypto::totp::new_secret().map_err(|e| credential_error(id, e))?);
        let owner = totp_owner(id.as_str());
        let sealed = self
            .keys()
            .seal_secret(&owner, &secret)
            .map_err(|message| ActionError::Key { subscriber: owner.clone(), message })?;
        let (uri, base32) =
            tokutei_crypto::totp::enrolment(&secret, id.as_str(), TOTP_ISSUER).map_err(|e| credential_error(id, e))?;
        let enrolment = TotpEnrolment { uri: Zeroizing::new(uri), secret: Zeroizing::new(base32) };
        self.audit_admin(actor, changed(id.as_str(), "totp_enrolled"), now)?;
        self.stores().set_totp(id.as_str(), &sealed)?;
        Ok(enrolment)
    }

    /// The deployment's first chief manager ([`CHIEF_ID`]) with a one-time password and a
    /// TOTP enrolment, set up by `setup` (`init`, `demo`) before anyone could sign in: three
    /// entries as that system (`created`, the password, `totp_enrolled`), each durable before
    /// its change. Refused ([`ActionError::Conflict`]) once the registry has a chief manager.
    pub fn set_up_chief(&self, setup: &'static str, now: Timestamp) -> ActionResult<ChiefSetup> {
        let chief = |p: &StoredPrincipal| matches!(p.kind, PrincipalKind::Person { role: Role::ChiefManager });
        if self.stores().principals()?.iter().any(chief) {
            return Err(ActionError::Conflict("the deployment already has a chief manager".into()));
        }
        let by = Acting::Setup(setup);
        let principal = self.register_principal(
            &by,
            &NewPrincipal {
                id: CHIEF_ID.into(),
                display_name: CHIEF_NAME.into(),
                kind: PrincipalKind::Person { role: Role::ChiefManager },
                grants: Grants::default(),
                created_at: now,
            },
            now,
        )?;
        let id = PrincipalId::known(principal.id.clone());
        let password = self.reset_password(&by, &id, now)?;
        let totp = self.enrol_totp(&by, &id, now)?;
        Ok(ChiefSetup { principal, password, totp })
    }
}
