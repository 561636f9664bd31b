//! Published keys and discovery metadata.

use super::AppState;
use crate::domain::keys::Jwks;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
}

/// The public signing keys (current, next, and retired ones still needed).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery", responses((status = 200, body = Jwks)))]
pub async fn jwks(State(s): State<AppState>) -> impl IntoResponse {
    let jwks = s.auth.keys().jwks(s.auth.now_ms());
    ([(header::CACHE_CONTROL, "public, max-age=300")], Json(jwks))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Discovery {
    pub issuer: String,
    pub jwks_uri: String,
    pub introspection_endpoint: String,
    pub revocation_feed: String,
    pub token_endpoint: String,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
}

/// Discovery document.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery", responses((status = 200, body = Discovery)))]
pub async fn openid_configuration(State(s): State<AppState>) -> Json<Discovery> {
    let base = s.auth.issuer();
    Json(Discovery {
        issuer: base.to_owned(),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        introspection_endpoint: format!("{base}/v1/introspect"),
        revocation_feed: format!("{base}/v1/revocations"),
        token_endpoint: format!("{base}/v1/token/refresh"),
        id_token_signing_alg_values_supported: vec!["EdDSA"],
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic"],
    })
}
