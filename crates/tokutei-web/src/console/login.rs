//! Signing in and out, and changing one's password.
//!
//! Sign-in: staff id, password and — for the chief manager, responsible persons and auditors —
//! a TOTP code. The form carries a CSRF token also set as a cookie (double submit). Attempts
//! are rate-limited per client address and per id typed before any password is checked (429
//! over the limit; settings `signin_rate_per_client`, `signin_rate_per_id`). Five failures in
//! a row lock the account for 15 minutes (both are settings); a failure after the lock has run
//! out starts a new run. A TOTP secret is sealed at rest and opened through `KeyAccess`; each
//! time step is accepted once (RFC 6238 §5.2), so a code seen once cannot be replayed.
//!
//! Every success, failure and lockout of a known person is an audit entry. Refusals that name
//! no known person — unknown ids, rate-limited attempts — are counted per window and only the
//! first of each window is written (with the previous window's count), so they cannot grow the
//! ledger without bound; the typed id of an unknown person is never written (it may be a
//! mistyped password). Messages never say which of id, password or code was wrong.
//!
//! A password change ends every other session of the person.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use maud::html;
use serde::Deserialize;
use tokutei_app::KeyAccess;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::Role;
use tokutei_store::StoreResult;
use tokutei_store::auth::TotpSecret;
use tokutei_store::staff::PrincipalKind;

use super::session::{self, StaffSession, cookie, over_tls, random_token, same, set_cookie};
use super::{Console, console_page, console_page_in};
use crate::limiter::{self, ClientAddr, Key};
use crate::{AppError, AppState, Backend};

const LOGIN_CSRF_COOKIE: &str = "tokutei_login_csrf";

/// Roles that must present a second factor.
pub(crate) fn needs_totp(role: Role) -> bool {
    matches!(role, Role::ChiefManager | Role::ResponsiblePerson | Role::Auditor)
}

fn login_form(csrf: &str, message: Option<&str>) -> maud::Markup {
    html! {
        h1 { "スタッフ用ログイン" span.en lang="en" { "Staff sign-in" } }
        @if let Some(m) = message {
            p.error role="alert" { (m) }
        }
        form #login-form method="post" action="/admin/login" {
            input type="hidden" name="csrf" value=(csrf);
            p {
                label for="id" { "取扱者ID " span lang="en" { "Staff id" } }
                input #id name="id" type="text" autocomplete="username" required;
            }
            p {
                label for="password" { "パスワード " span lang="en" { "Password" } }
                input #password name="password" type="password" autocomplete="current-password" required;
            }
            p {
                label for="totp" { "確認コード（統括管理者・責任者・監査） " span lang="en" { "Authenticator code (managers and auditors)" } }
                input #totp name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}";
            }
            p { button #sign-in type="submit" { "ログイン / Sign in" } }
        }
    }
}

pub(crate) async fn login_page(headers: HeaderMap) -> Result<Response, AppError> {
    let csrf = random_token()?;
    let page = console_page_in(session::console_lang(&headers), None, "ログイン / Sign in", login_form(&csrf, None));
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &csrf, "/admin/login", Some(600), over_tls(&headers));
    Ok(([(SET_COOKIE, cookie)], page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    id: String,
    password: String,
    #[serde(default)]
    totp: String,
}

/// What a sign-in attempt came to.
enum Attempt {
    Success { role: Role, must_change: bool },
    Refused { locked_now: bool },
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let secure = over_tls(&headers);
    let lang = session::console_lang(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, &expected) {
        return Err(AppError::Forbidden("the sign-in form has expired; reload the page".into()));
    }
    let id = form.id.trim().to_string();
    let now = Timestamp::now();
    let settings = state.settings().await?;
    // Rate limits first, before any password hash is computed: per client and per id typed.
    let limits = [
        (Key::SigninClient(client), settings.signin_rate_per_client),
        (Key::SigninId(&id), settings.signin_rate_per_id),
    ]
    .map(|(k, n)| (k.bucket(), n));
    let limited = state.blocking(move |b| limiter::check(b, &limits, now)).await?;
    if let Some(retry_after) = limited {
        audit_unattributed(&state, "rate_limited", now).await?;
        return too_many(lang, secure, retry_after);
    }
    if id.is_empty() || id.len() > 64 {
        return refused(lang, secure, "IDまたはパスワードが正しくありません / The id or password is not right");
    }
    // Failures in a row before the account locks, and for how long (settings).
    let lock_after = settings.lockout_attempts;
    let lock_for = SignedDuration::from_mins(i64::from(settings.lockout_minutes));
    let keys = state.access.as_ref().map(|service| service.keys().clone());
    let (principal_id, password, code) = (id.clone(), zeroize::Zeroizing::new(form.password), form.totp);
    let attempt = state
        .blocking(move |b| {
            let Some(principal) = b.principal(&principal_id)? else { return Ok(None) };
            let PrincipalKind::Person { role } = principal.kind else { return Ok(None) };
            let Some(credentials) = b.credentials(&principal_id)? else { return Ok(None) };
            if principal.disabled_at.is_some() {
                return Ok(Some(Attempt::Refused { locked_now: false }));
            }
            if credentials.locked_until.is_some_and(|until| until > now) {
                return Ok(Some(Attempt::Refused { locked_now: false }));
            }
            let password_ok = tokutei_crypto::password::verify(&password, &credentials.password_hash);
            // The code is looked at only after the password: a wrong password spends no step.
            let ok = password_ok
                && (!needs_totp(role)
                    || second_factor(b, keys.as_deref(), &principal_id, credentials.totp.as_ref(), &code, now)?);
            if ok {
                b.clear_failures(&principal_id)?;
                return Ok(Some(Attempt::Success { role, must_change: credentials.must_change }));
            }
            let count = b.record_failure(&principal_id, lock_after, now, now + lock_for)?;
            Ok(Some(Attempt::Refused { locked_now: count == lock_after }))
        })
        .await?;
    let refusal = "IDまたはパスワード、確認コードが正しくないか、ロックされています / The id, password or code is not right, or the account is locked";
    match attempt {
        Some(Attempt::Success { role, must_change }) => {
            state
                .audit_admin(
                    Actor::Staff(id.clone()),
                    AdminAction::LoginSucceeded,
                    format!("staff/{id}"),
                    vec![("role".into(), role.label(tokutei_policy::Lang::En).into())],
                )
                .await?;
            let cookie = session::start(&state, &id, secure).await?;
            let to = if must_change { "/admin/password" } else { "/admin/" };
            Ok(([(SET_COOKIE, cookie)], Redirect::to(to)).into_response())
        }
        Some(Attempt::Refused { locked_now }) => {
            state
                .audit_admin(Actor::Staff(id.clone()), AdminAction::LoginFailed, format!("staff/{id}"), vec![])
                .await?;
            if locked_now {
                state
                    .audit_admin(
                        Actor::System("console".into()),
                        AdminAction::LockedOut,
                        format!("staff/{id}"),
                        vec![("minutes".into(), lock_for.as_mins().to_string())],
                    )
                    .await?;
            }
            refused(lang, secure, refusal)
        }
        None => {
            audit_unattributed(&state, "unknown_id", now).await?;
            refused(lang, secure, refusal)
        }
    }
}

/// Whether `code` is a fresh TOTP code of the person's sealed secret: it matches a step
/// within one of now, and that step is later than the last one accepted (which it then
/// becomes, atomically in the store).
fn second_factor(
    b: &dyn Backend,
    keys: Option<&dyn KeyAccess>,
    principal: &str,
    totp: Option<&TotpSecret>,
    code: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let secret = match totp {
        Some(TotpSecret::Sealed(sealed)) => {
            let Some(keys) = keys else {
                tracing::error!("no key access: a TOTP secret cannot be opened");
                return Ok(false);
            };
            match keys.open_secret(&tokutei_app::totp_owner(principal), sealed) {
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
    b.accept_totp_step(principal, step)
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

/// Record a refused sign-in that names no known person (`reason`: `unknown_id`,
/// `rate_limited`). Counted per window; only the first of a window is written to the ledger,
/// with the count of the window before it.
async fn audit_unattributed(state: &AppState, reason: &'static str, now: Timestamp) -> Result<(), AppError> {
    let window = limiter::window_of(now);
    let (first, previous) = state
        .blocking(move |b| {
            let bucket = Key::SigninUnattributed.bucket();
            let counts = b.hit(&[bucket], window, window - limiter::WINDOW)?;
            if counts.first() != Some(&1) {
                return Ok((false, 0));
            }
            Ok((true, b.hits(&bucket, window - limiter::WINDOW)?))
        })
        .await?;
    if !first {
        return Ok(());
    }
    if reason == "rate_limited" {
        tracing::warn!(previous_window_refusals = previous, "sign-in attempts over the rate limit");
    }
    state
        .audit_admin(
            Actor::System("console".into()),
            AdminAction::LoginFailed,
            "console/login".into(),
            vec![
                ("known".into(), "no".into()),
                ("reason".into(), reason.into()),
                ("window_start".into(), window.to_string()),
                ("previous_window_refusals".into(), previous.to_string()),
            ],
        )
        .await
}

/// The sign-in page again with 429 and `Retry-After`.
fn too_many(lang: tokutei_policy::Lang, secure: bool, retry_after: u64) -> Result<Response, AppError> {
    let mut response = refused(
        lang,
        secure,
        "ログインの試行が多すぎます。1分ほどおいてからお試しください / Too many sign-in attempts; try again in a minute",
    )?;
    *response.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(retry_after));
    Ok(response)
}

fn refused(lang: tokutei_policy::Lang, secure: bool, message: &str) -> Result<Response, AppError> {
    let csrf = random_token()?;
    let page = console_page_in(lang, None, "ログイン / Sign in", login_form(&csrf, Some(message)));
    let cookie = set_cookie(LOGIN_CSRF_COOKIE, &csrf, "/admin/login", Some(600), secure);
    Ok((axum::http::StatusCode::UNAUTHORIZED, [(SET_COOKIE, cookie)], page).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
    /// `everywhere`: end every session of this person.
    #[serde(default)]
    scope: String,
}

pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    staff: StaffSession,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    staff.check_csrf(&form.csrf)?;
    let id = staff.principal.id.clone();
    let everywhere = form.scope == "everywhere";
    let (hash, who) = (staff.id_hash, id.clone());
    let ended = state
        .blocking(move |b| if everywhere { b.delete_sessions_of(&who) } else { b.delete_session(&hash).map(|()| 1) })
        .await?;
    state
        .audit_admin(
            Actor::Staff(id.clone()),
            AdminAction::LoggedOut,
            format!("staff/{id}"),
            vec![("sessions".into(), ended.to_string())],
        )
        .await?;
    Ok(([session::clear_cookie(over_tls(&headers))], Redirect::to("/admin/login")).into_response())
}

fn password_form(staff: &StaffSession, message: Option<&str>) -> maud::Markup {
    html! {
        h1 { (super::bi(staff.lang, "パスワードの変更", "Change your password")) }
        @if staff.must_change {
            p.note { "初回ログインです。新しいパスワードを設定してください。" span lang="en" { " This is a one-time password: set your own first." } }
        }
        @if let Some(m) = message { p.error role="alert" { (m) } }
        form method="post" action="/admin/password" {
            input type="hidden" name="csrf" value=(staff.csrf);
            p {
                label for="current" { "現在のパスワード " span lang="en" { "Current password" } }
                input #current name="current" type="password" autocomplete="current-password" required;
            }
            p {
                label for="new" { "新しいパスワード（12文字以上） " span lang="en" { "New password (12 characters or more)" } }
                input #new name="new" type="password" autocomplete="new-password" minlength="12" required;
            }
            p {
                label for="confirm" { "新しいパスワード（確認） " span lang="en" { "New password again" } }
                input #confirm name="confirm" type="password" autocomplete="new-password" minlength="12" required;
            }
            p { button type="submit" { "変更する / Change" } }
        }
    }
}

pub(crate) async fn password_page(staff: StaffSession) -> Result<Response, AppError> {
    Ok(console_page(Some(Console::of(&staff)), "パスワードの変更", password_form(&staff, None)).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    staff: StaffSession,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    staff.check_csrf(&form.csrf)?;
    let problem = if form.new != form.confirm {
        Some("確認用のパスワードが一致しません / The two new passwords differ")
    } else if form.new == form.current {
        Some("新しいパスワードは現在のものと別にしてください / Choose a password different from the current one")
    } else {
        tokutei_crypto::password::weakness(&form.new)
    };
    if let Some(problem) = problem {
        let page = console_page(Some(Console::of(&staff)), "パスワードの変更", password_form(&staff, Some(problem)));
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    }
    let id = staff.principal.id.clone();
    // Check the current password and hash the new one; then the audit entry; then the change.
    let (who, current, new) = (id.clone(), zeroize::Zeroizing::new(form.current), zeroize::Zeroizing::new(form.new));
    let hash = state
        .blocking(move |b| {
            let Some(credentials) = b.credentials(&who)? else { return Ok(None) };
            if !tokutei_crypto::password::verify(&current, &credentials.password_hash) {
                return Ok(None);
            }
            tokutei_crypto::password::hash(&new).map(Some).map_err(tokutei_store::StoreError::backend)
        })
        .await?;
    let Some(hash) = hash else {
        let page = console_page(
            Some(Console::of(&staff)),
            "パスワードの変更",
            password_form(&staff, Some("現在のパスワードが正しくありません / The current password is not right")),
        );
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    };
    state
        .audit_admin(
            Actor::Staff(id.clone()),
            AdminAction::PasswordChanged,
            format!("staff/{id}"),
            vec![("other_sessions".into(), "ended".into())],
        )
        .await?;
    // Whoever else holds a session of this person (a stolen cookie, a forgotten browser) is
    // signed out; this session stays.
    let (who, keep) = (id.clone(), staff.id_hash);
    let ended = state
        .blocking(move |b| {
            b.set_password(&who, &hash, false)?;
            b.delete_other_sessions(&who, &keep)
        })
        .await?;
    tracing::info!(ended, "password changed; other sessions ended");
    Ok(Redirect::to("/admin/").into_response())
}
