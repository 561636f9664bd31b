//! Endpoints for service clients (the backend): introspection and the
//! revocation feed. Both need service credentials (HTTP Basic).

use super::AppState;
use super::extract::{FormBody, ServiceClient};
use crate::error::{ApiError, ErrorBody};
use crate::service::{FeedPage, Introspection};
use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/introspect", post(introspect))
        .route("/v1/revocations", get(revocations))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct IntrospectForm {
    pub token: String,
    /// `access_token` or `refresh_token` (a hint only).
    pub token_type_hint: Option<String>,
}

/// RFC 7662 token introspection.
#[utoipa::path(post, path = "/v1/introspect", tag = "service", security(("basic" = [])),
    request_body(content = IntrospectForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = Introspection), (status = 401, body = ErrorBody, description = "invalid_client")))]
pub async fn introspect(
    State(s): State<AppState>,
    _client: ServiceClient,
    FormBody(form): FormBody<IntrospectForm>,
) -> Result<Json<Introspection>, ApiError> {
    let _ = form.token_type_hint;
    Ok(Json(s.auth.introspect(&form.token).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct FeedQuery {
    /// Cursor of the last event seen (0 for the start).
    #[serde(default)]
    pub after: i64,
    /// Seconds to wait for an event when there is none (long-poll), at most 30.
    #[serde(default)]
    pub wait: u64,
}

/// Revoked sessions and users since the cursor; long-polls when `wait` is given.
#[utoipa::path(get, path = "/v1/revocations", tag = "service", security(("basic" = [])), params(FeedQuery),
    responses((status = 200, body = FeedPage), (status = 401, body = ErrorBody, description = "invalid_client")))]
pub async fn revocations(
    State(s): State<AppState>,
    _client: ServiceClient,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FeedPage>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    if q.after < 0 {
        return Err(ApiError::InvalidRequest("after must be >= 0".into()));
    }
    Ok(Json(
        s.auth
            .revocations(q.after, Duration::from_secs(q.wait.min(30)))
            .await?,
    ))
}
