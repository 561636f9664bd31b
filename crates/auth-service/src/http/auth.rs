//! Registration, login, token refresh and logout.

use super::AppState;
use super::extract::{Authenticated, Client, JsonBody};
use crate::error::{ApiError, ErrorBody};
use crate::service::TokenResponse;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use secrecy::SecretString;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/register", post(register))
        .route("/v1/login", post(login))
        .route("/v1/token/refresh", post(refresh))
        .route("/v1/logout", post(logout))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: SecretString,
    pub name: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: SecretString,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/v1/register", request_body = RegisterRequest, tag = "auth",
    responses((status = 201, body = TokenResponse), (status = 409, body = ErrorBody, description = "email_taken"),
              (status = 422, body = ErrorBody, description = "invalid_email, weak_password, invalid_name")))]
pub async fn register(
    State(s): State<AppState>,
    Client(client): Client,
    JsonBody(req): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), ApiError> {
    let tokens = s
        .auth
        .register(&req.email, req.password, req.name.as_deref(), &client)
        .await?;
    Ok((StatusCode::CREATED, Json(tokens)))
}

/// Signs in with email and password.
#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest, tag = "auth",
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody, description = "invalid_credentials"),
              (status = 429, body = ErrorBody, description = "too_many_attempts, with Retry-After"), (status = 503, body = ErrorBody, description = "overloaded")))]
pub async fn login(
    State(s): State<AppState>,
    Client(client): Client,
    JsonBody(req): JsonBody<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(s.auth.login(&req.email, req.password, &client).await?))
}

/// Exchanges a refresh token for a new pair (the old one stops working).
#[utoipa::path(post, path = "/v1/token/refresh", request_body = RefreshRequest, tag = "auth",
    responses((status = 200, body = TokenResponse),
              (status = 401, body = ErrorBody, description = "invalid_refresh_token, refresh_token_expired, refresh_token_reused, session_revoked")))]
pub async fn refresh(
    State(s): State<AppState>,
    Client(client): Client,
    JsonBody(req): JsonBody<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    Ok(Json(s.auth.refresh(&req.refresh_token, &client).await?))
}

/// Revokes the caller's session.
#[utoipa::path(post, path = "/v1/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    Client(client): Client,
    Authenticated(ctx): Authenticated,
) -> Result<StatusCode, ApiError> {
    s.auth.logout(&ctx, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
