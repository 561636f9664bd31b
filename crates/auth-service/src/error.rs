//! The service's one error type. Every error leaves as
//! `{"error": {"code", "message"}}` with a stable snake_case code; internal
//! details are logged, never sent.

use crate::store::StoreError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Errors a request can end in.
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
    #[error("that email is not valid: {0}")]
    InvalidEmail(&'static str),
    #[error("that name is not valid: {0}")]
    InvalidName(&'static str),
    #[error("{0}")]
    WeakPassword(&'static str),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("too many failed attempts; retry after {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("the server is busy; retry shortly")]
    Overloaded { retry_after_secs: u64 },
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    #[error("the refresh token has expired")]
    RefreshTokenExpired,
    #[error("this refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("the session has been revoked")]
    SessionRevoked,
    #[error("a bearer access token is required")]
    MissingToken,
    #[error("the access token is not valid")]
    InvalidToken,
    #[error("the access token has expired")]
    TokenExpired,
    #[error("service client authentication failed")]
    InvalidClient,
    #[error("this action needs the admin role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidRequest(_) => "invalid_request",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::InvalidEmail(_) => "invalid_email",
            ApiError::InvalidName(_) => "invalid_name",
            ApiError::WeakPassword(_) => "weak_password",
            ApiError::EmailTaken => "email_taken",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::Throttled { .. } => "too_many_attempts",
            ApiError::Overloaded { .. } => "overloaded",
            ApiError::InvalidRefreshToken => "invalid_refresh_token",
            ApiError::RefreshTokenExpired => "refresh_token_expired",
            ApiError::RefreshTokenReused => "refresh_token_reused",
            ApiError::SessionRevoked => "session_revoked",
            ApiError::MissingToken => "missing_token",
            ApiError::InvalidToken => "invalid_token",
            ApiError::TokenExpired => "token_expired",
            ApiError::InvalidClient => "invalid_client",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::InvalidEmail(_) | ApiError::InvalidName(_) | ApiError::WeakPassword(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::EmailTaken => StatusCode::CONFLICT,
            ApiError::InvalidCredentials
            | ApiError::InvalidRefreshToken
            | ApiError::RefreshTokenExpired
            | ApiError::RefreshTokenReused
            | ApiError::SessionRevoked
            | ApiError::MissingToken
            | ApiError::InvalidToken
            | ApiError::TokenExpired
            | ApiError::InvalidClient => StatusCode::UNAUTHORIZED,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded { .. } | ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Wraps any internal failure; the detail is logged, the client sees `internal`.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::Internal(Box::new(e))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict("email_taken") => ApiError::EmailTaken,
            StoreError::Database(sqlx::Error::PoolTimedOut) => ApiError::Unavailable,
            other => ApiError::internal(other),
        }
    }
}

/// The wire form of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %e, source = ?e.source(), "internal error")
            }
            ApiError::Unavailable => tracing::warn!("dependency unavailable"),
            _ => tracing::debug!(code = self.code(), "request refused"),
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.to_string(),
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        let retry = match self {
            ApiError::Throttled { retry_after_secs }
            | ApiError::Overloaded { retry_after_secs } => Some(retry_after_secs.max(1)),
            _ => None,
        };
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED
            && matches!(
                self,
                ApiError::MissingToken | ApiError::InvalidToken | ApiError::TokenExpired
            )
        {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, ApiError::InvalidClient) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"apex-auth\""),
            );
        }
        resp
    }
}
