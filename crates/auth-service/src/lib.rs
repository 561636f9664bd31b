//! Apex auth service: accounts, passwords, sessions, signing keys and tokens.
//!
//! A library plus the thin `apex-auth` binary. [`Application::build`] opens
//! the store, prepares keys and binds the listener; tests build it on port 0
//! with a fresh database. Nothing here is shared with the backend, which
//! talks to this service only over HTTP.

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod metrics;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use config::Config;
pub use startup::Application;
