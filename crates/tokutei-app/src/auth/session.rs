//! Sessions of signed-in people, signing out, and changing one's own password.
//!
//! A session is stored by the SHA-256 of its id, with the CSRF token of its forms, an idle
//! expiry (`session_idle_minutes`, moved forward on use at most once a minute) and an absolute
//! limit from its start (`session_absolute_hours`); a session past its absolute limit is
//! deleted when it is next presented. Signing out (`logged_out`) ends this session or every
//! session of the person; a password change (`password_changed`) ends every other session of
//! the person (a stolen cookie, a forgotten browser) and keeps this one. Both are audited
//! before anything ends.

use jiff::{SignedDuration, Timestamp};
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::Role;
use tokutei_store::StoreError;
use tokutei_store::staff::{PrincipalKind, StoredPrincipal};

use super::{Auth, hash_id};
use crate::audit::AdminEntry;
use crate::error::ActionResult;
use crate::ids::PrincipalId;
use crate::settings::Settings;

/// A live session of a person who is not disabled.
#[derive(Clone)]
pub struct SessionView {
    /// The stored name of the session (the SHA-256 of its id).
    pub id_hash: [u8; 32],
    pub principal: StoredPrincipal,
    pub role: Role,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// The password is a one-time password that must be changed first.
    pub must_change: bool,
}

impl std::fmt::Debug for SessionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionView")
            .field("principal", &self.principal.id)
            .field("role", &self.role)
            .field("must_change", &self.must_change)
            .finish_non_exhaustive()
    }
}

/// Why a new password is refused (nothing was changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRefusal {
    /// The new password is the current one.
    Unchanged,
    /// Too short or too plain: why, from `tokutei_crypto::password::weakness`.
    Weak(&'static str),
    /// The current password is not right.
    WrongCurrent,
}

/// What a password change came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// Changed; this many other sessions of the person ended.
    Changed {
        other_sessions: u64,
    },
    Refused(PasswordRefusal),
}

/// The idle and absolute session limits.
fn limits(settings: &Settings) -> (SignedDuration, SignedDuration) {
    (
        SignedDuration::from_mins(i64::from(settings.session_idle_minutes)),
        SignedDuration::from_hours(i64::from(settings.session_absolute_hours)),
    )
}

impl Auth {
    /// The live session whose id (the cookie's value) is `session_id`, at `now`: `None` when
    /// there is none, it expired (past its absolute limit it is deleted), or its person is gone,
    /// disabled or not a person. Its idle expiry moves forward, at most once a minute.
    pub fn session(&self, session_id: &str, now: Timestamp) -> ActionResult<Option<SessionView>> {
        let id_hash = hash_id(session_id);
        let Some(session) = self.stores.session(&id_hash, now)? else { return Ok(None) };
        let (idle, absolute) = limits(&self.settings()?);
        if now > session.created_at + absolute {
            self.stores.delete_session(&id_hash)?;
            return Ok(None);
        }
        let Some(principal) = self.app.stores().principal(&session.principal)? else { return Ok(None) };
        let PrincipalKind::Person { role } = principal.kind else { return Ok(None) };
        if principal.disabled_at.is_some() {
            return Ok(None);
        }
        let must_change = self.stores.credentials(&principal.id)?.is_some_and(|c| c.must_change);
        // Move the idle expiry at most once a minute.
        if session.expires_at.duration_since(now) < idle - SignedDuration::from_mins(1) {
            self.stores.touch_session(&id_hash, now + idle)?;
        }
        Ok(Some(SessionView { id_hash, principal, role, csrf: session.csrf_token, must_change }))
    }

    /// Sign `principal` out of the session `session` (its id hash), or — `everywhere` — out of
    /// every session they have: the `logged_out` entry (`sessions`: `this` or `all`) durable,
    /// then the sessions end. Returns how many ended.
    pub fn sign_out(
        &self,
        principal: &PrincipalId,
        session: &[u8; 32],
        everywhere: bool,
        now: Timestamp,
    ) -> ActionResult<u64> {
        let entry = AdminEntry::new(AdminAction::LoggedOut, format!("staff/{principal}"))
            .detail("sessions", if everywhere { "all" } else { "this" });
        self.app.audit_admin(Actor::Staff(principal.to_string()), entry, now)?;
        if everywhere {
            Ok(self.stores.delete_sessions_of(principal.as_str())?)
        } else {
            self.stores.delete_session(session)?;
            Ok(1)
        }
    }

    /// Change `principal`'s own password from `current` to `new`, signed in with the session
    /// `keep` (its id hash): the new password must differ from the current one and pass the
    /// password policy, and the current one must be right → the `password_changed` entry
    /// durable → the new password stored (failures and lockout cleared) and every other session
    /// of the person ended; `keep` stays.
    pub fn change_password(
        &self,
        principal: &PrincipalId,
        keep: &[u8; 32],
        current: &str,
        new: &str,
        now: Timestamp,
    ) -> ActionResult<PasswordChange> {
        if new == current {
            return Ok(PasswordChange::Refused(PasswordRefusal::Unchanged));
        }
        if let Some(why) = tokutei_crypto::password::weakness(new) {
            return Ok(PasswordChange::Refused(PasswordRefusal::Weak(why)));
        }
        let right = self
            .stores
            .credentials(principal.as_str())?
            .is_some_and(|c| tokutei_crypto::password::verify(current, &c.password_hash));
        if !right {
            return Ok(PasswordChange::Refused(PasswordRefusal::WrongCurrent));
        }
        let hash = tokutei_crypto::password::hash(new).map_err(StoreError::backend)?;
        let entry = AdminEntry::new(AdminAction::PasswordChanged, format!("staff/{principal}"))
            .detail("other_sessions", "ended");
        self.app.audit_admin(Actor::Staff(principal.to_string()), entry, now)?;
        self.stores.set_password(principal.as_str(), &hash, false)?;
        let other_sessions = self.stores.delete_other_sessions(principal.as_str(), keep)?;
        Ok(PasswordChange::Changed { other_sessions })
    }
}
