//! The pages and forms of signing in and out, and of changing one's password.
//!
//! Sign-in: staff id, password and — for the chief manager, responsible persons and auditors —
//! a TOTP code. The form carries a CSRF token also set as a cookie (double submit). The rules
//! — rate limits before any password is checked, lockout, TOTP steps accepted once, an audit
//! entry for every success, failure, lockout, sign-out and password change — are
//! `tokutei_app::auth`'s; these handlers check the form's CSRF token, call it, and set the
//! cookie or render the answer: 429 with `Retry-After` over a rate limit, 401 with one message
//! for every refusal (it never says which of id, password or code was wrong).

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::html;
use serde::Deserialize;
use tokutei_app::auth::{PasswordChange, PasswordRefusal, Refusal, SignIn, SignInOutcome};

use super::session::{self, StaffSession, cookie, over_tls, random_token, same, set_cookie};
use super::{Console, console_page, console_page_in};
use crate::limiter::ClientAddr;
use crate::{AppError, AppState};

const LOGIN_CSRF_COOKIE: &str = "tokutei_login_csrf";

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

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    id: String,
    password: String,
    #[serde(default)]
    totp: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginForm([redacted])")
    }
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
    let attempt = SignIn {
        id: form.id,
        password: zeroize::Zeroizing::new(form.password),
        totp_code: form.totp,
        client,
        now: Timestamp::now(),
    };
    match state.auth(move |auth| auth.sign_in(&attempt)).await? {
        SignInOutcome::SignedIn(session) => {
            let cookie = session::session_cookie(&session.session_id, secure);
            let to = if session.must_change { "/admin/password" } else { "/admin/" };
            Ok(([(SET_COOKIE, cookie)], Redirect::to(to)).into_response())
        }
        SignInOutcome::Refused { reason: Refusal::MalformedId, .. } => {
            refused(lang, secure, "IDまたはパスワードが正しくありません / The id or password is not right")
        }
        SignInOutcome::Refused { .. } => refused(
            lang,
            secure,
            "IDまたはパスワード、確認コードが正しくないか、ロックされています / The id, password or code is not right, or the account is locked",
        ),
        SignInOutcome::Limited { retry_after } => too_many(lang, secure, retry_after),
    }
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
    let (who, session, everywhere) = (staff.principal_id(), staff.id_hash, form.scope == "everywhere");
    state.auth(move |auth| auth.sign_out(&who, &session, everywhere, Timestamp::now())).await?;
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

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm([redacted])")
    }
}

pub(crate) async fn change_password(
    State(state): State<AppState>,
    staff: StaffSession,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    staff.check_csrf(&form.csrf)?;
    let again = |problem: &str| {
        let page = console_page(Some(Console::of(&staff)), "パスワードの変更", password_form(&staff, Some(problem)));
        Ok((axum::http::StatusCode::BAD_REQUEST, page).into_response())
    };
    if form.new != form.confirm {
        return again("確認用のパスワードが一致しません / The two new passwords differ");
    }
    let (who, keep) = (staff.principal_id(), staff.id_hash);
    let (current, new) = (zeroize::Zeroizing::new(form.current), zeroize::Zeroizing::new(form.new));
    let changed = state.auth(move |auth| auth.change_password(&who, &keep, &current, &new, Timestamp::now())).await?;
    match changed {
        PasswordChange::Changed { other_sessions } => {
            tracing::info!(ended = other_sessions, "password changed; other sessions ended");
            Ok(Redirect::to("/admin/").into_response())
        }
        PasswordChange::Refused(PasswordRefusal::Unchanged) => {
            again("新しいパスワードは現在のものと別にしてください / Choose a password different from the current one")
        }
        PasswordChange::Refused(PasswordRefusal::Weak(why)) => again(why),
        PasswordChange::Refused(PasswordRefusal::WrongCurrent) => {
            again("現在のパスワードが正しくありません / The current password is not right")
        }
    }
}
