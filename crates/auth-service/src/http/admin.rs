//! Admin endpoints (admin role only).

use super::AppState;
use super::extract::{Authenticated, Client, JsonBody};
use crate::error::{ApiError, ErrorBody};
use crate::service::{AuditView, UserView};
use crate::store::Role;
use axum::extract::{Path, Query, State};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/users", get(users))
        .route("/v1/admin/users/{id}/role", put(set_role))
        .route("/v1/admin/audit", get(audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Page {
    /// 1..=500, default 100.
    pub limit: Option<i64>,
    pub offset: Option<i64>,
    /// Audit: only entries with an id below this.
    pub before: Option<i64>,
}

fn page(
    q: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Page, ApiError> {
    let Query(p) = q.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    if p.limit.is_some_and(|l| !(1..=500).contains(&l)) || p.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::InvalidRequest(
            "limit must be 1..=500 and offset >= 0".into(),
        ));
    }
    Ok(p)
}

/// Users, oldest first.
#[utoipa::path(get, path = "/v1/admin/users", tag = "admin", security(("bearer" = [])), params(Page),
    responses((status = 200, body = Vec<UserView>), (status = 403, body = ErrorBody)))]
pub async fn users(
    State(s): State<AppState>,
    Authenticated(ctx): Authenticated,
    q: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let p = page(q)?;
    Ok(Json(
        s.auth
            .admin_users(&ctx, p.limit.unwrap_or(100), p.offset.unwrap_or(0))
            .await?,
    ))
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", security(("bearer" = [])), params(Page),
    responses((status = 200, body = Vec<AuditView>), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(s): State<AppState>,
    Authenticated(ctx): Authenticated,
    q: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let p = page(q)?;
    Ok(Json(
        s.auth
            .admin_audit(&ctx, p.limit.unwrap_or(100), p.before)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    pub role: Role,
}

/// Changes a user's role (audited).
#[utoipa::path(put, path = "/v1/admin/users/{id}/role", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = RoleRequest,
    responses((status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_role(
    State(s): State<AppState>,
    Client(client): Client,
    Authenticated(ctx): Authenticated,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RoleRequest>,
) -> Result<Json<UserView>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::NotFound)?;
    Ok(Json(
        s.auth.admin_set_role(&ctx, id, req.role, &client).await?,
    ))
}
