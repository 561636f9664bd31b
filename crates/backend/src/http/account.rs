//! Sign-in for the web UI, on the backend's own origin: `/v1/auth/*` passes
//! register, login, refresh, logout and me through to the auth service over
//! HTTP (`auth-client`), without reading the credentials. The refresh token
//! never reaches JavaScript: it is taken out of the auth service's answer and
//! kept in an `HttpOnly`, `SameSite=Strict` cookie scoped to `/v1/auth`; the
//! page holds only the short-lived access token, in memory.
//!
//! The auth service's error answers keep their status, body and
//! `Retry-After`; when it gives no answer the caller gets 503
//! `auth_unavailable`.

use super::AppState;
use crate::config::Environment;
use crate::error::ApiError;
use auth_client::{AccountCall, AccountRequest, RawAnswer};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::net::SocketAddr;

/// The refresh-token cookie.
pub const REFRESH_COOKIE: &str = "apex_refresh";
/// The only path the cookie is sent to.
const COOKIE_PATH: &str = "/v1/auth";
/// The cookie's lifetime; the auth service enforces the token's own.
const COOKIE_MAX_AGE_SECS: u64 = 30 * 24 * 3600;
/// Header a refresh must carry: a cross-site form cannot set it, and a
/// cross-origin script cannot send it without a CORS preflight we never grant.
pub const CLIENT_HEADER: &str = "x-apex-client";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .route("/v1/auth/refresh", post(refresh))
        .route("/v1/auth/logout", post(logout))
        .route("/v1/auth/me", get(me))
}

/// Who is calling, as the auth service should see it.
struct Caller {
    ip: Option<std::net::IpAddr>,
    user_agent: Option<String>,
    bearer: Option<String>,
}

impl Caller {
    fn new(headers: &HeaderMap, peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Caller {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Caller {
            ip: peer.map(|Extension(ConnectInfo(addr))| addr.ip()),
            user_agent: text(header::USER_AGENT),
            bearer: text(header::AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer ").map(str::to_owned)),
        }
    }

    fn request(self, json_body: Option<Vec<u8>>, with_bearer: bool) -> AccountRequest {
        AccountRequest {
            json_body,
            bearer: if with_bearer { self.bearer } else { None },
            client_ip: self.ip,
            user_agent: self.user_agent,
        }
    }
}

async fn register(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    credentials(&s, AccountCall::Register, peer, &headers, body).await
}

async fn login(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    credentials(&s, AccountCall::Login, peer, &headers, body).await
}

/// Register or login: the JSON body goes to the auth service unread.
async fn credentials(
    s: &AppState,
    what: AccountCall,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(headers)?;
    let req = Caller::new(headers, peer).request(Some(body.to_vec()), false);
    let answer = call(s, what, req).await?;
    token_answer(s, answer)
}

/// Exchanges the cookie's refresh token for a new pair; a refused token clears the cookie.
async fn refresh(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !headers.contains_key(CLIENT_HEADER) {
        return Err(ApiError::InvalidRequest(format!(
            "a refresh must carry the {CLIENT_HEADER} header"
        )));
    }
    let token = refresh_cookie(&headers).ok_or(ApiError::NoSession)?;
    let body = serde_json::to_vec(&serde_json::json!({ "refresh_token": token }))
        .map_err(ApiError::internal)?;
    let req = Caller::new(&headers, peer).request(Some(body), false);
    let answer = call(&s, AccountCall::Refresh, req).await?;
    if answer.status == 401 {
        let mut resp = passed_through(answer)?;
        set_cookie(&mut resp, &clear_cookie(&s))?;
        return Ok(resp);
    }
    token_answer(&s, answer)
}

/// Revokes the session at the auth service and clears the cookie, whatever the outcome.
async fn logout(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = Caller::new(&headers, peer);
    let mut resp = if caller.bearer.is_some() {
        passed_through(call(&s, AccountCall::Logout, caller.request(None, true)).await?)?
    } else {
        StatusCode::NO_CONTENT.into_response()
    };
    set_cookie(&mut resp, &clear_cookie(&s))?;
    Ok(resp)
}

async fn me(
    State(s): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = Caller::new(&headers, peer);
    if caller.bearer.is_none() {
        return Err(ApiError::MissingToken);
    }
    passed_through(call(&s, AccountCall::Me, caller.request(None, true)).await?)
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType("application/json"))
    }
}

async fn call(s: &AppState, what: AccountCall, req: AccountRequest) -> Result<RawAnswer, ApiError> {
    s.auth.account(what, req).await.map_err(|e| {
        tracing::warn!(error = %e, "account call not passed through");
        if e.is_unavailable() {
            ApiError::AuthUnavailable
        } else {
            ApiError::AuthBadAnswer
        }
    })
}

/// A success answer carrying tokens: the refresh token moves into the
/// cookie and out of the body; anything else passes through.
fn token_answer(s: &AppState, answer: RawAnswer) -> Result<Response, ApiError> {
    if !(200..300).contains(&answer.status) {
        return passed_through(answer);
    }
    let mut body: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|_| ApiError::AuthBadAnswer)?;
    let token = body
        .as_object_mut()
        .and_then(|o| o.remove("refresh_token"))
        .and_then(|t| t.as_str().map(str::to_owned))
        .ok_or(ApiError::AuthBadAnswer)?;
    let status = StatusCode::from_u16(answer.status).map_err(|_| ApiError::AuthBadAnswer)?;
    let mut resp = (status, axum::Json(body)).into_response();
    set_cookie(&mut resp, &session_cookie(s, &token))?;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The auth service's answer as it was: status, body, `Retry-After`. An
/// error answer whose body is not the `{"error"}` shape becomes 502.
fn passed_through(answer: RawAnswer) -> Result<Response, ApiError> {
    let status = StatusCode::from_u16(answer.status).map_err(|_| ApiError::AuthBadAnswer)?;
    if !status.is_success() {
        let coded = serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .is_some_and(|v| v["error"]["code"].is_string());
        if !coded {
            return Err(ApiError::AuthBadAnswer);
        }
    }
    let mut resp = Response::builder().status(status);
    if let Some(ct) = answer.content_type.filter(|_| !answer.body.is_empty()) {
        resp = resp.header(header::CONTENT_TYPE, ct);
    }
    if let Some(ra) = answer.retry_after {
        resp = resp.header(header::RETRY_AFTER, ra);
    }
    resp.header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(answer.body))
        .map_err(|_| ApiError::AuthBadAnswer)
}

fn refresh_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == REFRESH_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

fn cookie_attributes(s: &AppState, max_age: u64) -> String {
    let secure = if s.config.environment == Environment::Production {
        "; Secure"
    } else {
        ""
    };
    format!("; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

fn session_cookie(s: &AppState, token: &str) -> String {
    format!(
        "{REFRESH_COOKIE}={token}{}",
        cookie_attributes(s, COOKIE_MAX_AGE_SECS)
    )
}

fn clear_cookie(s: &AppState) -> String {
    format!("{REFRESH_COOKIE}={}", cookie_attributes(s, 0))
}

fn set_cookie(resp: &mut Response, cookie: &str) -> Result<(), ApiError> {
    let value = HeaderValue::from_str(cookie).map_err(|_| ApiError::AuthBadAnswer)?;
    resp.headers_mut().append(header::SET_COOKIE, value);
    Ok(())
}
