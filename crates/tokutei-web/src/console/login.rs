//! Signing in and out, and changing one's password.
//!
//! Sign-in: staff id, password and — for the chief manager, responsible persons and auditors —
//! a TOTP code. The form carries a CSRF token also set as a cookie (double submit). Five
//! failures in a row lock the account for 15 minutes (both are settings); every success,
//! failure and lockout is an audit entry. Messages never say which of id, password or code
//! was wrong.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::{SignedDuration, Timestamp};
use maud::html;
use serde::Deserialize;
use tokutei_ledger::{Actor, AdminAction};
use tokutei_policy::Role;
use tokutei_store::staff::PrincipalKind;

use super::session::{self, StaffSession, cookie, over_tls, random_token, same, set_cookie};
use super::{Console, console_page, console_page_in};
use crate::{AppError, AppState};

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
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let secure = over_tls(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.csrf, &expected) {
        return Err(AppError::Forbidden("the sign-in form has expired; reload the page".into()));
    }
    let id = form.id.trim().to_string();
    if id.is_empty() || id.len() > 64 {
        return refused(
            session::console_lang(&headers),
            secure,
            "IDまたはパスワードが正しくありません / The id or password is not right",
        );
    }
    let now = Timestamp::now();
    // Failures in a row before the account locks, and for how long (settings).
    let settings = state.settings().await?;
    let lock_after = settings.lockout_attempts;
    let lock_for = SignedDuration::from_mins(i64::from(settings.lockout_minutes));
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
            let second_ok = if needs_totp(role) {
                credentials
                    .totp_secret
                    .as_deref()
                    .is_some_and(|secret| tokutei_crypto::totp::check(secret, &code, now.as_second().max(0) as u64))
            } else {
                true
            };
            if password_ok && second_ok {
                b.clear_failures(&principal_id)?;
                return Ok(Some(Attempt::Success { role, must_change: credentials.must_change }));
            }
            let count = b.record_failure(&principal_id, lock_after, now + lock_for)?;
            Ok(Some(Attempt::Refused { locked_now: count == lock_after }))
        })
        .await?;
    match attempt {
        Some(Attempt::Success { role, must_change }) => {
            let cookie = session::start(&state, &id, secure).await?;
            state
                .audit_admin(
                    Actor::Staff(id.clone()),
                    AdminAction::LoginSucceeded,
                    format!("staff/{id}"),
                    vec![("role".into(), role.label(tokutei_policy::Lang::En).into())],
                )
                .await?;
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
            refused(
                session::console_lang(&headers),
                secure,
                "IDまたはパスワード、確認コードが正しくないか、ロックされています / The id, password or code is not right, or the account is locked",
            )
        }
        None => {
            // Unknown ids are audited too (as the id typed, never the password).
            state
                .audit_admin(
                    Actor::System("console".into()),
                    AdminAction::LoginFailed,
                    format!("staff/{id}"),
                    vec![("known".into(), "no".into())],
                )
                .await?;
            refused(
                session::console_lang(&headers),
                secure,
                "IDまたはパスワード、確認コードが正しくないか、ロックされています / The id, password or code is not right, or the account is locked",
            )
        }
    }
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
    let (who, current, new) = (id.clone(), zeroize::Zeroizing::new(form.current), zeroize::Zeroizing::new(form.new));
    let changed = state
        .blocking(move |b| {
            let Some(credentials) = b.credentials(&who)? else { return Ok(false) };
            if !tokutei_crypto::password::verify(&current, &credentials.password_hash) {
                return Ok(false);
            }
            let hash =
                tokutei_crypto::password::hash(&new).map_err(|e| tokutei_store::StoreError::Conflict(e.to_string()))?;
            b.set_password(&who, &hash, false)?;
            Ok(true)
        })
        .await?;
    if !changed {
        let page = console_page(
            Some(Console::of(&staff)),
            "パスワードの変更",
            password_form(&staff, Some("現在のパスワードが正しくありません / The current password is not right")),
        );
        return Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response());
    }
    state.audit_admin(Actor::Staff(id.clone()), AdminAction::PasswordChanged, format!("staff/{id}"), vec![]).await?;
    Ok(Redirect::to("/admin/").into_response())
}
