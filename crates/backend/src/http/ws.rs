//! WebSocket tickets and the upgrade. A ticket is single use, lives 30 s by
//! default, and is the only credential the socket needs (no token in URLs).

use super::AppState;
use super::extract::Authenticated;
use super::views::ts;
use crate::error::ApiError;
use crate::gate::Principal;
use crate::runs::now_ms;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rand::RngCore as _;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/ws/ticket", post(ticket))
        .route("/v1/ws", get(upgrade))
}

async fn ticket(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let ticket = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let expires_at = now_ms() + i64::try_from(s.config.ticket_ttl().as_millis()).unwrap_or(30_000);
    s.store
        .create_ticket(
            &Sha256::digest(ticket.as_bytes()).into(),
            p.user_id,
            p.session_id,
            expires_at,
        )
        .await?;
    Ok(Json(
        serde_json::json!({ "ticket": ticket, "expires_at": ts(expires_at) }),
    ))
}

#[derive(Deserialize)]
struct UpgradeQuery {
    ticket: Option<String>,
}

/// Refuses a bad ticket with 401 before upgrading.
async fn upgrade(
    State(s): State<AppState>,
    q: Result<Query<UpgradeQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ticket = q
        .ok()
        .and_then(|Query(q)| q.ticket)
        .filter(|t| t.len() == 43)
        .ok_or(ApiError::InvalidTicket)?;
    let ws = ws.map_err(|e| ApiError::InvalidRequest(format!("not a WebSocket upgrade: {e}")))?;
    let now = now_ms();
    let (user_id, session_id) = s
        .store
        .redeem_ticket(&Sha256::digest(ticket.as_bytes()).into(), now)
        .await?
        .ok_or(ApiError::InvalidTicket)?;
    // The ticket was issued at most one TTL ago under a then-valid token.
    let issued_at =
        (now - i64::try_from(s.config.ticket_ttl().as_millis()).unwrap_or(30_000)) / 1000;
    let principal = Principal {
        user_id,
        session_id,
        issued_at,
    };
    if s.revocations.is_revoked(&principal) {
        return Err(ApiError::SessionRevoked);
    }
    let conn_id = Uuid::now_v7();
    let limits = s.config.limits;
    let close_rx = s
        .connections
        .register(&principal, conn_id, limits.connections_per_user)
        .ok_or_else(|| {
            ApiError::LimitExceeded(
                "too_many_connections",
                format!(
                    "at most {} connections per user",
                    limits.connections_per_user
                ),
            )
        })?;
    let connections = s.connections.clone();
    Ok(ws
        .on_failed_upgrade(move |_| connections.unregister(session_id, conn_id))
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(limits.max_frame_bytes * 4)
        .max_frame_size(limits.max_frame_bytes * 4)
        .on_upgrade(move |socket| crate::ws::serve(socket, s, principal, conn_id, close_rx)))
}
