//! Signing in: staff id, password and — for the chief manager, responsible persons and
//! auditors — a TOTP code.
//!
//! Attempts are rate-limited per client address and per id typed before any password is
//! checked (settings `signin_rate_per_client`, `signin_rate_per_id`). `lockout_attempts`
//! failures in a row lock the account for `lockout_minutes` (settings); a failure after the
//! lock has run out starts a new run. A TOTP secret is sealed at rest and opened through
//! [`KeyAccess`](crate::KeyAccess); each time step is accepted once (RFC 6238 §5.2), so a
//! code seen once cannot be replayed. The code is looked at only after the password: a wrong
//! password spends no step.
//!
//! Every success, failure and lockout of a known person is an audit entry, durable before
//! the failures are cleared and the session created, or before the failure is counted.
//! Refusals that name no known person — unknown ids, systems, people without credentials,
//! rate-limited attempts — are counted per window and only the first of each window is
//! written (with the previous window's count), so they cannot grow the ledger without bound;
//! the typed id of an unknown person is never written (it may be a mistyped password).

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::Role;
use tokutei_store::auth::{Credentials, Session, TotpSecret};
use tokutei_store::staff::PrincipalKind;

use super::ratelimit::{self, Key, WINDOW, window_of};
use super::{Auth, hash_id, needs_totp, random_token, same};
use crate::audit::AdminEntry;
use crate::error::ActionResult;
use crate::ids::PrincipalId;

/// One sign-in attempt, as typed.
pub struct SignIn {
    /// The staff id as typed (surrounding white space is ignored).
    pub id: String,
    pub password: zeroize::Zeroizing<String>,
    /// The authenticator code as typed (empty when none).
    pub totp_code: String,
    /// The client address the attempt came from (for its rate limit).
    pub client: IpAddr,
    pub now: Timestamp,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn").field("client", &self.client).field("now", &self.now).finish_non_exhaustive()
    }
}

/// A session just started: the id to set as the cookie (shown once; only its hash is
/// stored), the CSRF token of its forms, and whether the password must change first.
pub struct NewSession {
    pub session_id: zeroize::Zeroizing<String>,
    pub csrf: String,
    pub principal: PrincipalId,
    pub role: Role,
    pub must_change: bool,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("principal", &self.principal)
            .field("role", &self.role)
            .field("must_change", &self.must_change)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in was refused. People are told only whether the id had a usable shape (and
/// never which of id, password or code was wrong); the reason is for the server's own use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Empty, or longer than an id can be: refused before anything is looked up or written.
    MalformedId,
    /// No principal with this id.
    UnknownId,
    /// A system: systems do not sign in.
    NotAPerson,
    /// A person without a password.
    NoCredentials,
    Disabled,
    /// Locked after too many failures, and the lock has not run out.
    Locked,
    WrongPassword,
    /// The right password, but no code, a wrong code, or a code already used.
    WrongCode,
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn(NewSession),
    /// Refused; `locked_now`: this failure locked the account.
    Refused {
        reason: Refusal,
        locked_now: bool,
    },
    /// Over a rate limit: try again after this many seconds (nothing was checked).
    Limited {
        retry_after: u64,
    },
}

/// A person of the registry who may try to sign in.
struct Person {
    id: PrincipalId,
    role: Role,
    disabled: bool,
    credentials: Credentials,
}

/// Why a refusal names no known person (the ledger's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unattributed {
    UnknownId,
    RateLimited,
}

impl Unattributed {
    fn code(self) -> &'static str {
        match self {
            Unattributed::UnknownId => "unknown_id",
            Unattributed::RateLimited => "rate_limited",
        }
    }
}

impl Auth {
    /// Sign in (see the module documentation). `Ok` is the outcome, whatever it is; `Err` is
    /// a failure of the store or the ledger (a failing ledger signs no one in and counts no
    /// failure).
    pub fn sign_in(&self, attempt: &SignIn) -> ActionResult<SignInOutcome> {
        let now = attempt.now;
        let id = attempt.id.trim();
        let settings = self.settings()?;
        // Rate limits first, before any password hash is computed: per client and per id typed.
        let limits = [
            (Key::SigninClient(attempt.client).bucket(), settings.signin_rate_per_client),
            (Key::SigninId(id).bucket(), settings.signin_rate_per_id),
        ];
        if let Some(retry_after) = ratelimit::check(self.stores.as_ref(), &limits, now)? {
            self.unattributed(Unattributed::RateLimited, now)?;
            return Ok(SignInOutcome::Limited { retry_after });
        }
        if id.is_empty() || id.len() > crate::limits::MAX_ID_CHARS {
            return Ok(refused(Refusal::MalformedId));
        }
        let person = match PrincipalId::parse(id) {
            Ok(id) => self.person(id)?,
            Err(_) => Err(Refusal::UnknownId),
        };
        let Person { id, role, disabled, credentials } = match person {
            Ok(person) => person,
            Err(reason) => {
                self.unattributed(Unattributed::UnknownId, now)?;
                return Ok(refused(reason));
            }
        };
        if disabled {
            self.audit_failure(&id, now)?;
            return Ok(refused(Refusal::Disabled));
        }
        if credentials.locked_until.is_some_and(|until| until > now) {
            self.audit_failure(&id, now)?;
            return Ok(refused(Refusal::Locked));
        }
        let verdict = if !tokutei_crypto::password::verify(&attempt.password, &credentials.password_hash) {
            Err(Refusal::WrongPassword)
        } else if needs_totp(role) && !self.second_factor(&id, credentials.totp.as_ref(), &attempt.totp_code, now)? {
            Err(Refusal::WrongCode)
        } else {
            Ok(())
        };
        match verdict {
            Ok(()) => {
                let entry = AdminEntry::new(AdminAction::LoginSucceeded, format!("staff/{id}"))
                    .detail("role", role.label(tokutei_policy::Lang::En));
                self.app.audit_admin(Actor::Staff(id.to_string()), entry, now)?;
                self.stores.clear_failures(id.as_str())?;
                let (session_id, csrf) = self.start_session(&id, now, settings.session_idle_minutes)?;
                Ok(SignInOutcome::SignedIn(NewSession {
                    session_id,
                    csrf,
                    principal: id,
                    role,
                    must_change: credentials.must_change,
                }))
            }
            Err(reason) => {
                let locked_now =
                    self.fail(&id, &credentials, settings.lockout_attempts, settings.lockout_minutes, now)?;
                Ok(SignInOutcome::Refused { reason, locked_now })
            }
        }
    }

    /// The person `id` with their credentials, or why there is none to check.
    fn person(&self, id: PrincipalId) -> ActionResult<Result<Person, Refusal>> {
        let Some(principal) = self.app.stores().principal(id.as_str())? else { return Ok(Err(Refusal::UnknownId)) };
        let PrincipalKind::Person { role } = principal.kind else { return Ok(Err(Refusal::NotAPerson)) };
        let Some(credentials) = self.stores.credentials(id.as_str())? else {
            return Ok(Err(Refusal::NoCredentials));
        };
        Ok(Ok(Person { id, role, disabled: principal.disabled_at.is_some(), credentials }))
    }

    /// A refused attempt of a known person: `login_failed` (and `locked_out` when this failure
    /// locks the account) durable, then the failure counted. Whether it locks is read from the
    /// credentials; should another attempt have been counted in between so that this one
    /// locked after all, its `locked_out` entry follows the count. Returns whether it locked.
    fn fail(
        &self,
        id: &PrincipalId,
        credentials: &Credentials,
        lock_after: u32,
        lock_minutes: u32,
        now: Timestamp,
    ) -> ActionResult<bool> {
        let lock_for = SignedDuration::from_mins(i64::from(lock_minutes));
        // As the store counts: a lock that has run out starts a new run with this failure.
        let next = if credentials.locked_until.is_some() { 1 } else { credentials.failed_attempts.saturating_add(1) };
        let locks = next >= lock_after;
        self.audit_failure(id, now)?;
        if locks {
            self.audit_lockout(id, lock_for, now)?;
        }
        let count = self.stores.record_failure(id.as_str(), lock_after, now, now + lock_for)?;
        let locked_late = !locks && count == lock_after;
        if locked_late {
            self.audit_lockout(id, lock_for, now)?;
        }
        Ok(locks || locked_late)
    }

    fn audit_failure(&self, id: &PrincipalId, now: Timestamp) -> ActionResult<u64> {
        self.app.audit_admin(
            Actor::Staff(id.to_string()),
            AdminEntry::new(AdminAction::LoginFailed, format!("staff/{id}")),
            now,
        )
    }

    fn audit_lockout(&self, id: &PrincipalId, lock_for: SignedDuration, now: Timestamp) -> ActionResult<u64> {
        let entry =
            AdminEntry::new(AdminAction::LockedOut, format!("staff/{id}")).detail("minutes", lock_for.as_mins());
        self.app.audit_admin(Actor::System("console".into()), entry, now)
    }

    /// Store a new session of `id` (idle expiry from now); its id and CSRF token.
    fn start_session(
        &self,
        id: &PrincipalId,
        now: Timestamp,
        idle_minutes: u32,
    ) -> ActionResult<(zeroize::Zeroizing<String>, String)> {
        let session_id = zeroize::Zeroizing::new(random_token());
        let csrf = random_token();
        self.stores.create_session(&Session {
            id_hash: hash_id(&session_id),
            principal: id.to_string(),
            csrf_token: csrf.clone(),
            created_at: now,
            expires_at: now + SignedDuration::from_mins(i64::from(idle_minutes)),
        })?;
        Ok((session_id, csrf))
    }

    /// Whether `code` is a fresh TOTP code of the person's sealed secret: it matches a step
    /// within one of now, and that step is later than the last one accepted (which it then
    /// becomes, atomically in the store).
    fn second_factor(
        &self,
        principal: &PrincipalId,
        totp: Option<&TotpSecret>,
        code: &str,
        now: Timestamp,
    ) -> ActionResult<bool> {
        let secret = match totp {
            Some(TotpSecret::Sealed(sealed)) => {
                match self.app.keys().open_secret(&crate::totp_owner(principal.as_str()), sealed) {
                    Ok(secret) => secret,
                    Err(e) => {
                        tracing::error!(error = %e, "a TOTP secret does not open");
                        return Ok(false);
                    }
                }
            }
            Some(TotpSecret::Clear(_)) => {
                tracing::warn!("a TOTP secret is still stored in clear; restart `tokutei serve` to seal it");
                return Ok(false);
            }
            None => return Ok(false),
        };
        let Some(step) = matched_step(&secret, code, now) else { return Ok(false) };
        // `false`: the code of a step already accepted — a replay.
        Ok(self.stores.accept_totp_step(principal.as_str(), step)?)
    }

    /// Count a refused sign-in that names no known person; only the first of a window is
    /// written to the ledger, with the count of the window before it.
    fn unattributed(&self, reason: Unattributed, now: Timestamp) -> ActionResult<()> {
        let window = window_of(now);
        let bucket = Key::SigninUnattributed.bucket();
        let counts = self.stores.hit(&[bucket], window, window - WINDOW)?;
        if counts.first() != Some(&1) {
            return Ok(());
        }
        let previous = self.stores.hits(&bucket, window - WINDOW)?;
        if reason == Unattributed::RateLimited {
            tracing::warn!(previous_window_refusals = previous, "sign-in attempts over the rate limit");
        }
        let entry = AdminEntry::new(AdminAction::LoginFailed, "console/login")
            .detail("known", "no")
            .detail("reason", reason.code())
            .detail("window_start", window)
            .detail("previous_window_refusals", previous);
        self.app.audit_admin(Actor::System("console".into()), entry, now).map(|_| ())
    }
}

fn refused(reason: Refusal) -> SignInOutcome {
    SignInOutcome::Refused { reason, locked_now: false }
}

/// The time step (30 s, RFC 6238) within one of `now` whose code is `code`.
fn matched_step(secret: &[u8], code: &str, now: Timestamp) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = now.as_second().max(0) as u64 / 30;
    let steps = [step.checked_sub(1), Some(step), step.checked_add(1)];
    steps.into_iter().flatten().find(|s| {
        s.checked_mul(30)
            .and_then(|t| tokutei_crypto::totp::code_at(secret, t).ok())
            .is_some_and(|expected| same(&expected, code))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_matches_the_step_before_now_and_after_but_no_other() {
        let secret = b"12345678901234567890";
        let now = Timestamp::from_second(1_780_000_000).unwrap();
        let step = now.as_second() as u64 / 30;
        let code = |s: u64| tokutei_crypto::totp::code_at(secret, s * 30).unwrap();
        let cases = [
            (code(step), Some(step)),
            (code(step - 1), Some(step - 1)),
            (code(step + 1), Some(step + 1)),
            (format!(" {} ", code(step)), Some(step)),
            (code(step - 2), None),
            (code(step + 2), None),
            (String::new(), None),
            ("12345".into(), None),
            ("1234567".into(), None),
            ("12a456".into(), None),
        ];
        for (typed, expected) in cases {
            // A code of another step may collide with this one's by chance (1 in 10⁶): skip.
            if expected.is_none() && [step - 1, step, step + 1].iter().any(|s| code(*s) == typed.trim()) {
                continue;
            }
            assert_eq!(matched_step(secret, &typed, now), expected, "{typed:?}");
        }
    }
}
