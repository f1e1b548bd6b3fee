//! API tokens of a principal: issued for 1–366 days (the text shown once; only its hash is
//! stored, [`crate::tokens`]), listed, and revoked.

use jiff::{SignedDuration, Timestamp};
use tokutei_store::staff::StoredToken;

use super::changed;
use crate::App;
use crate::acting::{Acting, MANAGERS};
use crate::error::{ActionError, ActionResult};
use crate::ids::PrincipalId;
use crate::limits;
use crate::tokens::Issued;

/// The longest a token may live, in days.
pub const MAX_TOKEN_DAYS: u32 = 366;

impl App {
    /// Issue an API token for `id`, valid for `days` days from `now`; the text is in the
    /// result, to be shown once. Audit first (`change=token_issued`, `token`: its public id).
    /// Refused, with nothing written: `days` outside 1–366 ([`ActionError::Invalid`] naming
    /// `days`), one acting who is not a manager, an unknown principal
    /// ([`ActionError::NotFound`]), a disabled one ([`ActionError::Conflict`]).
    pub fn issue_token(&self, by: &Acting, id: &PrincipalId, days: u32, now: Timestamp) -> ActionResult<Issued> {
        if !(1..=MAX_TOKEN_DAYS).contains(&days) {
            return Err(ActionError::invalid("days", format!("a token lives 1–{MAX_TOKEN_DAYS} days, not {days}")));
        }
        let actor = self.authorize(by, MANAGERS, "issue API tokens")?;
        let principal = self.enabled_target(id)?;
        self.guard_chief(by, &principal)?;
        let expires_at = now + SignedDuration::from_hours(24 * i64::from(days));
        let issued = crate::tokens::issue(id.as_str(), now, expires_at);
        self.audit_admin(actor, changed(id.as_str(), "token_issued").detail("token", &issued.token.id), now)?;
        self.stores().add_token(&issued.token)?;
        Ok(issued)
    }

    /// Revoke the token whose public id is `token`: it stops working on the next request.
    /// Audit first (subject its principal, `change=token_revoked`, `token`); the token as
    /// revoked. Refused, with nothing written: one acting who is not a manager, an unknown
    /// token ([`ActionError::NotFound`]), one already revoked ([`ActionError::Conflict`]).
    pub fn revoke_token(&self, by: &Acting, token: &str, now: Timestamp) -> ActionResult<StoredToken> {
        limits::id("token", token)
            .map_err(|_| ActionError::invalid("token", "a token id is 1–64 characters without white space"))?;
        let actor = self.authorize(by, MANAGERS, "revoke API tokens")?;
        let stored = self.stores().token(token)?.ok_or_else(|| ActionError::NotFound(format!("token `{token}`")))?;
        if stored.revoked_at.is_some() {
            return Err(ActionError::Conflict(format!("token `{token}` is already revoked")));
        }
        if let Some(owner) = self.stores().principal(&stored.principal)? {
            self.guard_chief(by, &owner)?;
        }
        self.audit_admin(actor, changed(&stored.principal, "token_revoked").detail("token", token), now)?;
        self.stores().revoke_token(token, now)?;
        Ok(StoredToken { revoked_at: Some(now), ..stored })
    }

    /// The tokens of `id`, newest first (never a secret); [`ActionError::NotFound`] when the
    /// registry has no such principal.
    pub fn staff_tokens(&self, id: &PrincipalId) -> ActionResult<Vec<StoredToken>> {
        self.staff_target(id)?;
        Ok(self.stores().tokens(id.as_str())?)
    }
}
