//! The HTTP adapter: routers split by feature, merged once with the state;
//! request ids, tracing, body limits, latency metrics and panic catching
//! applied around all of them. Handlers stay thin: they extract, call the
//! service, and map errors through [`ApiError`].

mod account;
mod admin;
mod auth;
mod discovery;
pub mod extract;
mod openapi;
mod ops;
mod service_api;

use crate::config::Config;
use crate::error::ApiError;
use crate::metrics::{Metrics, RequestLabels};
use crate::service::AuthService;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use openapi::document as openapi_document;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The one state every handler receives.
#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<AuthService>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(auth::router())
        .merge(account::router())
        .merge(discovery::router())
        .merge(service_api::router())
        .merge(admin::router())
        .merge(ops::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), record_latency))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("handler panicked".into()).into_response()))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

async fn record_latency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    let status = resp.status();
    state
        .metrics
        .request_duration
        .get_or_create(&RequestLabels {
            method,
            route,
            status: status.as_u16(),
        })
        .observe(start.elapsed().as_secs_f64());
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!("request ended in 500");
    }
    resp
}
