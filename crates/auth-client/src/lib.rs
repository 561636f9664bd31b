//! `auth-client`: the backend's only way to the auth service, over HTTP.
//!
//! It depends on no crate of the auth service; it keeps its own small models
//! of the auth API's responses ([`models`], a tolerant reader: unknown fields
//! are ignored, optional fields are optional).
//!
//! - [`AuthClient::verify`] verifies an access token **locally** with the
//!   auth service's published keys (JWKS), cached by (issuer, key id). An
//!   unknown key id triggers at most one JWKS refetch per
//!   [`AuthClientConfig::jwks_min_refetch_interval`], shared by concurrent
//!   callers (single flight). Cached keys stay usable while the auth service
//!   is down.
//! - [`AuthClient::introspect`], [`AuthClient::revocations`],
//!   [`AuthClient::discovery`], [`AuthClient::jwks`] call the service; every
//!   call has a timeout and goes through one circuit breaker
//!   ([`BreakerConfig`]); [`AuthClient::status`] / [`AuthClient::ready`]
//!   report whether the service is reachable, for the backend's `/readyz`.
//! - [`AuthClient::account`] passes a browser's account calls (register,
//!   login, refresh, logout, me) through unchanged, for a backend that
//!   serves the web UI on its own origin.
//! - [`RevocationFollower`] long-polls the revocation feed and hands each
//!   event, once and in cursor order, to a [`RevocationSink`].
//! - Every request carries `x-request-id`: the id of the enclosing
//!   [`request_id::scope`] (a task-local the backend's middleware sets), or
//!   a fresh UUID when there is none.
//!
//! Time is a parameter ([`Clock`]): token expiry, the refetch window and the
//! breaker's open duration are read from it, so tests move a [`ManualClock`]
//! instead of sleeping.
//!
//! Only `http://` base URLs are usable with the workspace's `reqwest`
//! features (no TLS backend is compiled in); the auth service is reached on
//! a private network or loopback.

mod account;
mod breaker;
mod client;
mod clock;
mod config;
mod error;
mod follower;
mod jwks;
pub mod models;
pub mod request_id;
mod transport;
mod verify;

pub use account::{AccountCall, AccountRequest};
pub use breaker::BreakerState;
pub use client::{AuthClient, AuthClientStats, AuthServiceStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AuthClientConfig, BreakerConfig, ConfigError, MAX_LEEWAY};
pub use error::{AuthClientError, UnavailableKind, VerifyError};
pub use follower::{FollowerConfig, FollowerState, RevocationFollower, RevocationSink, SinkClosed};
pub use models::{
    Discovery, Introspection, Jwk, Jwks, RevocationEvent, RevocationKind, RevocationPage,
};
pub use transport::RawAnswer;
pub use verify::VerifiedToken;
