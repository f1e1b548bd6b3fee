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

impl From<tokutei_store::StoreError> for AppError {
    fn from(err: tokutei_store::StoreError) -> AppError {
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        AppError::Internal(message)
    }
}

impl AppError {
    /// Status and the bilingual message people see; internals are logged here, once.
    fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<&str>) {
        let (status, ja, en) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "ページが見つかりません", "Page not found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "リクエストが正しくありません", "Bad request"),
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
            AppError::BadRequest(m) | AppError::Forbidden(m) if !m.is_empty() => Some(m.as_str()),
            _ => None,
        };
        (status, ja, en, detail)
    }

    /// The error as the JSON API shows it: `{"error": {"status", "ja", "en", "detail"}}`.
    pub(crate) fn into_json_response(self) -> Response {
        let (status, ja, en, detail) = self.parts();
        let body = serde_json::json!({ "error": { "status": status.as_u16(), "ja": ja, "en": en, "detail": detail } });
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
        let mut response = (status, pages::error_page(status, ja, en, detail)).into_response();
        self.retry_after(&mut response);
        response
    }
}
