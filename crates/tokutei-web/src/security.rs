//! Security headers on every response: a strict Content-Security-Policy (no inline script or
//! style, no other origins, no framing), no MIME sniffing, no referrer leaks; HSTS when the
//! server is told it is reached over HTTPS (`tokutei serve --hsts`); and `Cache-Control:
//! no-store` on everything that may carry personal data — the console, the API, the
//! inquiry form, the subscriber's own page and preference page — so no browser or proxy keeps a copy.
//!
//! Also here: errors under `/api/` are always the API's JSON error shape, including the ones
//! the framework answers by itself (a body over the size limit, a wrong method, an unknown
//! path).

use axum::extract::{Request, State};
use axum::http::header;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::{AppError, AppState};

pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Paths whose responses may carry personal data: never stored by a cache.
fn private(path: &str) -> bool {
    path == "/admin"
        || path.starts_with("/admin/")
        || path.starts_with("/api/")
        || path == "/inquiry"
        || path.starts_with("/inquiry/")
        || path == "/en/inquiry"
        || path.starts_with("/en/inquiry/")
        || path == "/my"
        || path.starts_with("/my/")
        || path == "/en/my"
        || path.starts_with("/en/my/")
        || path == "/preferences"
        || path.starts_with("/preferences/")
        || path == "/en/preferences"
        || path.starts_with("/en/preferences/")
}

pub(crate) async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    if path.starts_with("/api/") {
        response = api_error_as_json(response);
    }
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if private(&path) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(max_age) = state.hsts_max_age
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={max_age}"))
    {
        h.insert(header::STRICT_TRANSPORT_SECURITY, value);
    }
    response
}

/// An error response under `/api/` that is not JSON (the framework's own: 413 for a body over
/// the limit, 405, 404 from the fallback…) as the API's JSON error, with the same status.
fn api_error_as_json(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let retry = response.headers().get(header::RETRY_AFTER).cloned();
    let error = match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::UNAUTHORIZED => AppError::Unauthorized,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => AppError::TooManyRequests { retry_after: 60 },
        StatusCode::FORBIDDEN => AppError::Forbidden(String::new()),
        s if s.is_client_error() => AppError::BadRequest(String::new()),
        s => AppError::internal(format!("status {s} without a JSON body under /api/")),
    };
    let mut out = error.into_json_response();
    *out.status_mut() = status;
    if let Some(retry) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, retry);
    }
    out
}
