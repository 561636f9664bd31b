//! The HTTP adapter: routers split by feature (the API, sign-in passed
//! through to the auth service, the web UI), merged once with the one
//! [`AppState`]; request ids (propagated to the auth service), tracing, body
//! limits and panic catching around all of them.

mod account;
mod datasets;
pub mod extract;
mod openapi;
mod ops;
mod runs;
mod threads;
mod ui;
pub mod views;
mod ws;

use crate::bus::EventBus;
use crate::config::Config;
use crate::datasets::DatasetCache;
use crate::error::ApiError;
use crate::gate::{Connections, Revocations};
use crate::runs::RunManager;
use crate::store::BackendStore;
use crate::ws::UserLimits;
use auth_client::{AuthClient, FollowerState};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

/// JSON bodies are small; uploads stream with their own limit.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// The one state every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn BackendStore>,
    pub bus: Arc<dyn EventBus>,
    pub runs: Arc<RunManager>,
    pub datasets: Arc<DatasetCache>,
    pub catalogue: Arc<pricing::Catalogue>,
    pub auth: AuthClient,
    pub follower: FollowerState,
    pub revocations: Arc<Revocations>,
    pub connections: Arc<Connections>,
    pub user_limits: Arc<UserLimits>,
    pub shutdown: CancellationToken,
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let uploads = datasets::router().layer(DefaultBodyLimit::disable());
    let api = Router::new()
        .merge(threads::router())
        .merge(runs::router())
        .merge(ws::router())
        .merge(ops::router())
        .merge(account::router())
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES));
    Router::new()
        .merge(api)
        .merge(uploads)
        .merge(ui::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        .layer(middleware::from_fn(request_scope))
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Makes the request id the one the auth client sends to the auth service.
async fn request_scope(req: Request, next: Next) -> Response {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|r| r.header_value().to_str().ok())
        .map(str::to_owned);
    match id {
        Some(id) => auth_client::request_id::scope(id, next.run(req)).await,
        None => next.run(req).await,
    }
}
