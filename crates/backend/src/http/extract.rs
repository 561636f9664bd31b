//! Extractors: JSON bodies with coded rejections, and the bearer-token
//! principal (verified locally with the auth service's keys, refused when its
//! session was revoked).

use super::AppState;
use crate::error::ApiError;
use crate::gate::Principal;
use auth_client::VerifyError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

/// A JSON body; every rejection becomes a coded 4xx.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::UnsupportedMediaType("application/json"))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ApiError::InvalidJson(e.body_text())),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::InvalidRequest(e.body_text())),
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::InvalidRequest(other.body_text())),
        }
    }
}

/// The caller, from `Authorization: Bearer <access token>`.
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::MissingToken)?;
        let value = value
            .to_str()
            .map_err(|_| ApiError::InvalidToken("malformed_header"))?;
        let (scheme, token) = value
            .split_once(' ')
            .ok_or(ApiError::InvalidToken("malformed_header"))?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::InvalidToken("malformed_header"));
        }
        let verified = state.auth.verify(token.trim()).await.map_err(|e| match e {
            VerifyError::Expired => ApiError::TokenExpired,
            VerifyError::Unavailable(_) => ApiError::AuthUnavailable,
            other => ApiError::InvalidToken(other.code()),
        })?;
        let principal = Principal {
            user_id: verified.user_id,
            session_id: verified.session_id,
            issued_at: verified.iat,
        };
        if state.revocations.is_revoked(&principal) {
            return Err(ApiError::SessionRevoked);
        }
        Ok(Authenticated(principal))
    }
}
