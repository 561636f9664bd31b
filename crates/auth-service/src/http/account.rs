//! The signed-in user and their sessions.

use super::AppState;
use super::extract::{Authenticated, Client};
use crate::error::{ApiError, ErrorBody};
use crate::service::SessionView;
use crate::service::UserView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/sessions", get(sessions))
        .route("/v1/sessions/{id}", delete(revoke_session))
        .route("/v1/sessions/revoke-all", post(revoke_all))
}

/// The caller.
#[utoipa::path(get, path = "/v1/me", tag = "account", security(("bearer" = [])), responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn me(
    State(s): State<AppState>,
    Authenticated(ctx): Authenticated,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(s.auth.me(&ctx).await?))
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/v1/sessions", tag = "account", security(("bearer" = [])), responses((status = 200, body = Vec<SessionView>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(s): State<AppState>,
    Authenticated(ctx): Authenticated,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    Ok(Json(s.auth.list_sessions(&ctx).await?))
}

/// Revokes one of the caller's sessions (404 for anyone else's).
#[utoipa::path(delete, path = "/v1/sessions/{id}", tag = "account", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn revoke_session(
    State(s): State<AppState>,
    Client(client): Client,
    Authenticated(ctx): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    s.auth.revoke_own_session(&ctx, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of the caller.
#[utoipa::path(post, path = "/v1/sessions/revoke-all", tag = "account", security(("bearer" = [])), responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn revoke_all(
    State(s): State<AppState>,
    Client(client): Client,
    Authenticated(ctx): Authenticated,
) -> Result<StatusCode, ApiError> {
    s.auth.revoke_all(&ctx, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
