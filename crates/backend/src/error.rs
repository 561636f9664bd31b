//! The backend's one error type: every error leaves as
//! `{"error": {"code", "message"}}` with a stable snake_case code; internal
//! details are logged, never sent.

use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("Content-Type must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("the request body exceeds the limit")]
    PayloadTooLarge,
    #[error("a bearer access token is required")]
    MissingToken,
    #[error("the access token is not valid: {0}")]
    InvalidToken(&'static str),
    #[error("the access token has expired")]
    TokenExpired,
    #[error("the session has been revoked")]
    SessionRevoked,
    #[error("the WebSocket ticket is missing, expired or already used")]
    InvalidTicket,
    #[error("the auth service is unreachable; sign-in cannot be verified right now")]
    AuthUnavailable,
    #[error("not signed in: there is no session cookie; sign in again")]
    NoSession,
    #[error("the auth service gave an answer that could not be passed on")]
    AuthBadAnswer,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    LimitExceeded(&'static str, String),
    #[error("the dataset could not be imported: {0}")]
    ImportFailed(String),
    #[error("the run has not finished yet")]
    RunNotFinished,
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::MissingToken => "missing_token",
            ApiError::InvalidToken(_) => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::SessionRevoked => "session_revoked",
            ApiError::InvalidTicket => "invalid_ticket",
            ApiError::AuthUnavailable => "auth_unavailable",
            ApiError::NoSession => "no_session",
            ApiError::AuthBadAnswer => "auth_bad_answer",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::LimitExceeded(code, _) => code,
            ApiError::ImportFailed(_) => "import_failed",
            ApiError::RunNotFinished => "run_not_finished",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MissingToken
            | ApiError::InvalidToken(_)
            | ApiError::TokenExpired
            | ApiError::SessionRevoked
            | ApiError::NoSession
            | ApiError::InvalidTicket => StatusCode::UNAUTHORIZED,
            ApiError::AuthBadAnswer => StatusCode::BAD_GATEWAY,
            ApiError::AuthUnavailable | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::LimitExceeded(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ImportFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RunNotFinished => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(e))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(sqlx::Error::PoolTimedOut) => ApiError::Unavailable,
            other => ApiError::internal(other),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, source = ?e.source(), "internal error")
            }
            _ => tracing::debug!(code = self.code(), "request refused"),
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED && !matches!(self, ApiError::InvalidTicket) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(
            self,
            ApiError::LimitExceeded(..) | ApiError::AuthUnavailable
        ) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        resp
    }
}
