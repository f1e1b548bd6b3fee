//! The one error type at the HTTP boundary: internals are logged with their full chain and
//! never shown; people see a short bilingual message with the right status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::pages;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    /// One field of the input is not acceptable; the field is named in the response.
    #[error("`{field}`: {message}")]
    Invalid { field: &'static str, message: String },
    /// The request conflicts with what is stored (an id taken, a version already published).
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials (API token missing, unknown, expired or revoked).
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Over a rate limit; try again after `retry_after` seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// A request body over the size limit.
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::Internal(message.into())
    }
}

/// The full chain of an error, for the log.
fn chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}

/// By kind, never by message text: not found → 404, conflict → 409, anything else → 500.
impl From<tokutei_store::StoreError> for AppError {
    fn from(err: tokutei_store::StoreError) -> AppError {
        use tokutei_store::StoreError as E;
        match err {
            E::NotFound(_) => AppError::NotFound,
            E::Conflict(m) => AppError::Conflict(m),
            other => AppError::Internal(chain(&other)),
        }
    }
}

/// By kind, never by message text: invalid → 400 naming the field, forbidden → 403, not
/// found → 404, conflict → 409, an unknown principal → 401 (a token or session whose
/// principal is gone), anything else → 500.
impl From<tokutei_app::ActionError> for AppError {
    fn from(err: tokutei_app::ActionError) -> AppError {
        use tokutei_app::ActionError as E;
        match err {
            E::BadRequest(m) => AppError::BadRequest(m),
            E::Invalid { field, message } => AppError::Invalid { field, message },
            E::Unpublishable(preview) => AppError::Invalid {
                field: "source",
                message: format!("the policy file cannot be published: {preview}"),
            },
            E::Forbidden(m) => AppError::Forbidden(m),
            E::NotFound(_) => AppError::NotFound,
            E::Conflict(m) => AppError::Conflict(m),
            E::UnknownPrincipal(_) => AppError::Unauthorized,
            E::Store(store) => store.into(),
            other => AppError::Internal(chain(&other)),
        }
    }
}

impl AppError {
    /// Status and the bilingual message people see; internals are logged here, once.
    fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<String>) {
        let (status, ja, en) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "ページが見つかりません", "Page not found"),
            AppError::BadRequest(_) | AppError::Invalid { .. } => {
                (StatusCode::BAD_REQUEST, "リクエストが正しくありません", "Bad request")
            }
            AppError::Conflict(_) => {
                (StatusCode::CONFLICT, "登録済みの内容と矛盾します", "This conflicts with what is already recorded")
            }
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "認証が必要です", "Authentication required"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "この操作は許可されていません", "This is not allowed"),
            AppError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "短い時間にリクエストが多すぎます。しばらくしてからお試しください",
                "Too many requests in a short time. Please try again in a minute",
            ),
            AppError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "リクエストの本文が大きすぎます", "The request body is too large")
            }
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "このメソッドは使えません", "This method is not allowed here")
            }
            AppError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "本文の形式（Content-Type）に対応していません",
                "This Content-Type is not supported",
            ),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "システムエラーが発生しました。時間をおいて再度お試しください",
                    "Something went wrong on our side. Please try again later",
                )
            }
        };
        let detail = match self {
            AppError::BadRequest(m) | AppError::Forbidden(m) | AppError::Conflict(m) if !m.is_empty() => {
                Some(m.clone())
            }
            AppError::Invalid { .. } => Some(self.to_string()),
            _ => None,
        };
        (status, ja, en, detail)
    }

    /// The input field an invalid request names.
    fn field(&self) -> Option<&'static str> {
        match self {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The error as the JSON API shows it: `{"error": {"status", "ja", "en", "detail",
    /// "field"}}` (`field` names the input an invalid request got wrong, else `null`).
    pub(crate) fn into_json_response(self) -> Response {
        let (status, ja, en, detail) = self.parts();
        let body = serde_json::json!({ "error": {
            "status": status.as_u16(), "ja": ja, "en": en, "detail": detail, "field": self.field()
        } });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        self.retry_after(&mut response);
        response
    }

    /// `Retry-After` on a rate-limited response.
    fn retry_after(&self, response: &mut Response) {
        if let AppError::TooManyRequests { retry_after } = self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after));
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, ja, en, detail) = self.parts();
        let mut response = (status, pages::error_page(status, ja, en, detail.as_deref())).into_response();
        self.retry_after(&mut response);
        response
    }
}
