//! Liveness, readiness (each dependency named with its state), metrics, and
//! the OpenAPI document.

use super::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
}

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = serde_json::Value)))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// 200 when the database answers and the auth service is reachable; 503 naming what is not.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "`{status, checks: [{name, status, ...}]}`", body = serde_json::Value), (status = 503, description = "Not ready: the checks name what is down", body = serde_json::Value)))]
async fn readyz(State(s): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let db_ok = matches!(
        tokio::time::timeout(Duration::from_secs(2), s.store.ping()).await,
        Ok(Ok(()))
    );
    let auth = s.auth.ready().await;
    let feed = s.follower.is_connected();
    let ready = db_ok && auth.is_reachable();
    let mut auth_check = serde_json::json!({ "name": "auth_service", "status": auth.as_str(), "url": s.auth.base_url() });
    if let auth_client::AuthServiceStatus::Unreachable { last_error, .. } = &auth {
        auth_check["error"] = serde_json::Value::String(last_error.clone());
    }
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "checks": [
            { "name": "database", "status": if db_ok { "ok" } else { "unreachable" }, "backend": s.store.backend() },
            auth_check,
            { "name": "revocation_feed", "status": if feed { "following" } else { "disconnected" }, "cursor": s.follower.cursor() },
        ],
    });
    (
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let stats = s.auth.stats();
    let text = format!(
        "# TYPE apex_backend_websocket_connections gauge\napex_backend_websocket_connections {}\n# TYPE apex_backend_revocation_cursor gauge\napex_backend_revocation_cursor {}\n# TYPE apex_backend_jwks_fetches_total counter\napex_backend_jwks_fetches_total {}\n",
        s.connections.count(),
        s.follower.cursor(),
        stats.jwks_fetches,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// This API's OpenAPI document, generated from the handlers' annotations.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, content_type = "application/json", body = serde_json::Value)))]
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
}
