//! Extractors that turn every malformed request into an [`ApiError`] with a
//! stable code: JSON and form bodies, bearer tokens, service-client Basic
//! credentials, and the caller's address and user agent.

use super::AppState;
use crate::error::ApiError;
use crate::service::{AuthContext, ClientInfo};
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use base64::Engine as _;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use subtle::ConstantTimeEq as _;

/// A JSON body; every rejection becomes a coded 4xx.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("application/json")
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::InvalidJson(
            e.body_text()
                .replace("Failed to parse the request body as JSON: ", ""),
        ),
        JsonRejection::JsonDataError(e) => ApiError::InvalidRequest(e.body_text().replace(
            "Failed to deserialize the JSON body into the target type: ",
            "",
        )),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::InvalidRequest(other.body_text()),
    }
}

/// A form-encoded body (introspection).
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for FormBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(FormBody(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "application/x-www-form-urlencoded",
            )),
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::InvalidRequest(other.body_text())),
        }
    }
}

/// The caller's address and user agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.split(',').next())
                    .map(|s| s.trim().to_owned())
            })
            .flatten()
            .filter(|s| s.parse::<std::net::IpAddr>().is_ok());
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().filter(|c| !c.is_control()).take(512).collect());
        Ok(Client(ClientInfo {
            ip: forwarded.or(peer),
            user_agent,
        }))
    }
}

/// The raw bearer token of the request.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingToken)?;
    let value = value.to_str().map_err(|_| ApiError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::InvalidToken);
    }
    Ok(token.trim())
}

/// A caller with a valid access token of a live session.
pub struct Authenticated(pub AuthContext);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        Ok(Authenticated(state.auth.authenticate(token).await?))
    }
}

/// A configured service client, authenticated by HTTP Basic (secret compared in constant time).
pub struct ServiceClient(pub String);

impl FromRequestParts<AppState> for ServiceClient {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::InvalidClient)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(ApiError::InvalidClient)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(ApiError::InvalidClient);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| ApiError::InvalidClient)?;
        let decoded = String::from_utf8(decoded).map_err(|_| ApiError::InvalidClient)?;
        let (id, secret) = decoded.split_once(':').ok_or(ApiError::InvalidClient)?;
        // Compare against every client so timing does not reveal which ids exist.
        let mut matched = None;
        for c in &state.config.service_clients {
            let id_ok = c.id.as_bytes().ct_eq(id.as_bytes());
            let secret_ok = c.secret.expose_secret().as_bytes().ct_eq(secret.as_bytes());
            if bool::from(id_ok & secret_ok) {
                matched = Some(c.id.clone());
            }
        }
        matched.map(ServiceClient).ok_or(ApiError::InvalidClient)
    }
}
