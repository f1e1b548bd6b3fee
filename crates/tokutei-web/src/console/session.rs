//! Staff sessions over HTTP: the session cookie (`tokutei_session`: HttpOnly, SameSite=Strict,
//! Path `/admin`, Secure behind TLS), the console language cookie, and the [`StaffSession`]
//! extractor that every console page takes. The session itself — its server-side record by the
//! SHA-256 of the id, its idle and absolute expiry (settings), the CSRF token bound to it — is
//! `tokutei_app::auth`'s; the extractor hands it the cookie.
//!
//! The extractor also enforces the change of a one-time password, for every console route at
//! once: until the person has set their own password, every request other than
//! [`BEFORE_PASSWORD_CHANGE`] is sent to `/admin/password`.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
pub(crate) use tokutei_app::auth::same;
use tokutei_policy::Role;
use tokutei_store::staff::StoredPrincipal;

use crate::{AppError, AppState};

pub(crate) const SESSION_COOKIE: &str = "tokutei_session";
/// The console's language (`ja` or `en`); no personal data.
pub(crate) const LANG_COOKIE: &str = "tokutei_console_lang";

/// What a person with a one-time password may use before changing it: the password page and
/// signing out. Everything else redirects to the password page.
pub(crate) const BEFORE_PASSWORD_CHANGE: &[(&str, &str)] =
    &[("GET", "/admin/password"), ("POST", "/admin/password"), ("POST", "/admin/logout")];

/// The console language a request asks for (the language cookie; Japanese by default).
pub(crate) fn console_lang(headers: &HeaderMap) -> tokutei_policy::Lang {
    match cookie(headers, LANG_COOKIE).as_deref() {
        Some("en") => tokutei_policy::Lang::En,
        _ => tokutei_policy::Lang::Ja,
    }
}

/// A fresh random token (the double-submit CSRF cookies of the public forms): 32 bytes, hex.
pub(crate) fn random_token() -> Result<String, AppError> {
    Ok(tokutei_app::auth::random_token())
}

/// The value of cookie `name` in the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether the request reached us over TLS (directly or through a proxy that says so).
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value.
pub(crate) fn set_cookie(name: &str, value: &str, path: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie that carries a session started by a sign-in.
pub(crate) fn session_cookie(session_id: &str, secure: bool) -> HeaderValue {
    set_cookie(SESSION_COOKIE, session_id, "/admin", None, secure)
}

/// A signed-in member of staff.
#[derive(Debug, Clone)]
pub(crate) struct StaffSession {
    pub principal: StoredPrincipal,
    pub role: Role,
    pub csrf: String,
    pub id_hash: [u8; 32],
    /// The password is a one-time password that must be changed first.
    pub must_change: bool,
    /// The console language chosen with the switch.
    pub lang: tokutei_policy::Lang,
    /// The page asked for, when it can be asked for again with GET (for the language switch).
    pub path: Option<String>,
    /// The client's address: the terminal the person's handling zone is derived from.
    pub terminal: std::net::IpAddr,
}

impl StaffSession {
    /// Refuse unless the role is one of `roles`.
    pub(crate) fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this page is not open to the role `{}`",
                self.role.label(tokutei_policy::Lang::En)
            )))
        }
    }

    /// The person signed in, as the application layer names them.
    pub(crate) fn principal_id(&self) -> tokutei_app::PrincipalId {
        tokutei_app::PrincipalId::known(self.principal.id.clone())
    }

    /// Refuse a form whose CSRF token is not this session's.
    pub(crate) fn check_csrf(&self, presented: &str) -> Result<(), AppError> {
        if same(presented, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::Forbidden("the form has expired; reload the page and try again".into()))
        }
    }
}

/// Why a request has no staff session: anonymous requests go to the sign-in page, people
/// with a one-time password to the password page.
#[derive(Debug)]
pub(crate) enum NoSession {
    SignIn,
    ChangePassword,
    Error(AppError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::SignIn => Redirect::to("/admin/login").into_response(),
            NoSession::ChangePassword => Redirect::to("/admin/password").into_response(),
            NoSession::Error(e) => e.into_response(),
        }
    }
}

impl From<AppError> for NoSession {
    fn from(e: AppError) -> NoSession {
        NoSession::Error(e)
    }
}

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<StaffSession, NoSession> {
        let id = cookie(&parts.headers, SESSION_COOKIE).ok_or(NoSession::SignIn)?;
        let found = state.auth(move |auth| auth.session(&id, Timestamp::now())).await?;
        let Some(tokutei_app::auth::SessionView { id_hash, principal, role, csrf, must_change }) = found else {
            return Err(NoSession::SignIn);
        };
        if must_change && !BEFORE_PASSWORD_CHANGE.contains(&(parts.method.as_str(), parts.uri.path())) {
            return Err(NoSession::ChangePassword);
        }
        let lang = console_lang(&parts.headers);
        let path = (parts.method == axum::http::Method::GET).then(|| parts.uri.path().to_string());
        let crate::limiter::ClientAddr(terminal) = crate::limiter::ClientAddr::of(parts, &state.proxies);
        Ok(StaffSession { principal, role, csrf, id_hash, must_change, lang, path, terminal })
    }
}

/// Clear the session cookie.
pub(crate) fn clear_cookie(secure: bool) -> (axum::http::HeaderName, HeaderValue) {
    (SET_COOKIE, set_cookie(SESSION_COOKIE, "", "/admin", Some(0), secure))
}
