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

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, ja, en) = match &self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "ページが見つかりません", "Page not found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "リクエストが正しくありません", "Bad request"),
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "システムエラーが発生しました。時間をおいて再度お試しください",
                    "Something went wrong on our side. Please try again later",
                )
            }
        };
        let detail = match &self {
            AppError::BadRequest(m) => Some(m.as_str()),
            _ => None,
        };
        (status, pages::error_page(status, ja, en, detail)).into_response()
    }
}
