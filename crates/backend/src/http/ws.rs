//! WebSocket tickets and the upgrade. A ticket is single use, lives 30 s by
//! default, and is the only credential the socket needs (no token in URLs).

use super::AppState;
use super::extract::Authenticated;
use super::views::ts;
use crate::error::{ApiError, ErrorBody};
use crate::gate::Principal;
use crate::runs::now_ms;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

/// Each socket's read buffer, allocated up front. Client frames are small (a message, a
/// resume); a larger one (up to the frame limit) is read in pieces of this size into a
/// buffer reserved for it. Most of an idle socket's memory (see BENCHMARKS.md).
const READ_BUFFER_BYTES: usize = 1024;

/// A WebSocket ticket.
#[derive(Serialize, utoipa::ToSchema)]
struct TicketView {
    /// Opaque; pass it as `?ticket=` to `GET /v1/ws` within its lifetime.
    ticket: String,
    /// RFC 3339.
    expires_at: String,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/ws/ticket", post(ticket))
        .route("/v1/ws", get(upgrade))
}

/// A single-use WebSocket ticket.
#[utoipa::path(post, path = "/v1/ws/ticket", tag = "websocket", security(("bearer" = [])), responses((status = 200, body = TicketView), (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody), (status = 503, description = "The auth service is unreachable", body = ErrorBody)))]
async fn ticket(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
) -> Result<Json<TicketView>, ApiError> {
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
    Ok(Json(TicketView {
        ticket,
        expires_at: ts(expires_at),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UpgradeQuery {
    /// From `POST /v1/ws/ticket`; single use.
    ticket: Option<String>,
}

/// Refuses a bad ticket with 401 before upgrading.
#[utoipa::path(get, path = "/v1/ws", tag = "websocket", params(UpgradeQuery), responses((status = 101, description = "Switching to the WebSocket protocol"), (status = 401, description = "Missing, expired or used ticket (`invalid_ticket`)", body = ErrorBody), (status = 429, description = "Too many connections of this user", body = ErrorBody)))]
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
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(limits.max_frame_bytes * 4)
        .max_frame_size(limits.max_frame_bytes * 4)
        .on_upgrade(move |socket| crate::ws::serve(socket, s, principal, conn_id, close_rx)))
}
