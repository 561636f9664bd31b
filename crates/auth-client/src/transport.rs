//! One way to call the auth service: through the circuit breaker, with a
//! whole-call timeout, an `x-request-id`, a bounded body, error bodies
//! mapped to [`AuthClientError::Status`], and the outcome recorded for the
//! reachability status and the counters.

use crate::breaker::Breaker;
use crate::clock::Clock;
use crate::error::{AuthClientError, UnavailableKind};
use crate::models::ErrorBody;
use crate::request_id;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Largest accepted response body.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reachability as last observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    Reachable,
    Unreachable { since_ms: i64, last_error: String },
}

/// Counters, read by [`AuthClient::stats`](crate::AuthClient::stats).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub rejected_by_breaker: AtomicU64,
    pub jwks_fetches: AtomicU64,
}

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub clock: std::sync::Arc<dyn Clock>,
    pub breaker: Breaker,
    pub health: Mutex<Health>,
    pub counters: Counters,
}

impl Transport {
    pub(crate) fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_health(&self, ok: Result<(), &AuthClientError>) {
        let mut h = self
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match ok {
            Ok(()) => {
                if *h != Health::Reachable {
                    tracing::info!("auth service reachable");
                }
                *h = Health::Reachable;
            }
            Err(e) => {
                let since_ms = match *h {
                    Health::Unreachable { since_ms, .. } => since_ms,
                    Health::Reachable => {
                        tracing::warn!(error = %e, "auth service unreachable");
                        self.clock.now_ms()
                    }
                };
                *h = Health::Unreachable {
                    since_ms,
                    last_error: e.to_string(),
                };
            }
        }
    }

    /// Sends `req` (for operation `op`) and decodes a 2xx JSON body as `T`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        op: &'static str,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<T, AuthClientError> {
        let answer = self.send(op, req, timeout).await?;
        let status = reqwest::StatusCode::from_u16(answer.status)
            .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_success() {
            return serde_json::from_slice(&answer.body)
                .map_err(|e| AuthClientError::Decode(format!("{op}: {e}")));
        }
        let err = status_error(status, &answer.body);
        tracing::debug!(op, error = %err, "auth service refused the call");
        Err(err)
    }

    /// Sends `req` and returns whatever the service answered, error statuses
    /// included. `Err` only when there was no whole answer (breaker open,
    /// connect failure, timeout, broken or oversized body). A 5xx answer
    /// counts as a failure for the breaker and the status; any other answer
    /// as a success.
    pub(crate) async fn send(
        &self,
        op: &'static str,
        req: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<RawAnswer, AuthClientError> {
        let Some(permit) = self.breaker.try_acquire(self.clock.now_ms()) else {
            self.counters
                .rejected_by_breaker
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(op, "auth service call refused: circuit open");
            return Err(AuthClientError::Unavailable {
                kind: UnavailableKind::CircuitOpen,
                detail: "the circuit breaker is open after repeated failures".into(),
            });
        };
        let id = request_id::outgoing();
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let exchange = async {
            let mut resp = req
                .header(request_id::HEADER, id.as_str())
                .send()
                .await
                .map_err(transport_error)?;
            let status = resp.status();
            let header = |name: reqwest::header::HeaderName| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let retry_after = header(reqwest::header::RETRY_AFTER);
            let content_type = header(reqwest::header::CONTENT_TYPE);
            if resp
                .content_length()
                .is_some_and(|n| n > MAX_BODY_BYTES as u64)
            {
                return Err(AuthClientError::Decode(format!(
                    "{op}: the answer exceeds {MAX_BODY_BYTES} bytes"
                )));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(transport_error)? {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(AuthClientError::Decode(format!(
                        "{op}: the answer exceeds {MAX_BODY_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(RawAnswer {
                status: status.as_u16(),
                retry_after,
                content_type,
                body,
            })
        };
        let outcome = match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(AuthClientError::Unavailable {
                kind: UnavailableKind::Timeout,
                detail: format!("no answer within {timeout:?}"),
            }),
        };
        let err = match outcome {
            Ok(answer) if answer.status >= 500 => {
                let status = reqwest::StatusCode::from_u16(answer.status)
                    .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
                let err = status_error(status, &answer.body);
                self.record_failure(op, &id, &err, permit);
                return Ok(answer);
            }
            Ok(answer) => {
                // The service answered: not a failure, whatever the status.
                permit.success();
                self.set_health(Ok(()));
                return Ok(answer);
            }
            Err(e @ AuthClientError::Decode(_)) => {
                permit.success();
                self.set_health(Ok(()));
                return Err(e);
            }
            Err(e) => e,
        };
        self.record_failure(op, &id, &err, permit);
        Err(err)
    }

    fn record_failure(
        &self,
        op: &'static str,
        id: &str,
        err: &AuthClientError,
        permit: crate::breaker::Permit<'_>,
    ) {
        permit.failure(self.clock.now_ms());
        self.counters.failures.fetch_add(1, Ordering::Relaxed);
        self.set_health(Err(err));
        tracing::debug!(op, request_id = %id, error = %err, "auth service call failed");
    }
}

/// An answer of the auth service, as it came: status, the headers a
/// pass-through keeps, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAnswer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// A reqwest error as [`AuthClientError::Unavailable`], with its whole cause chain.
fn transport_error(e: reqwest::Error) -> AuthClientError {
    let kind = if e.is_connect() {
        UnavailableKind::Connect
    } else if e.is_timeout() {
        UnavailableKind::Timeout
    } else {
        UnavailableKind::Transport
    };
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    AuthClientError::Unavailable { kind, detail }
}

/// An error answer as [`AuthClientError::Status`], reading the `{"error"}` body when there is one.
fn status_error(status: reqwest::StatusCode, body: &[u8]) -> AuthClientError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => AuthClientError::Status {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
        },
        Err(_) => AuthClientError::Status {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            message: status.canonical_reason().unwrap_or("").to_owned(),
        },
    }
}
