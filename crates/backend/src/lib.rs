//! Apex backend: threads, messages, agent runs, usage datasets and the
//! WebSocket gateway. It reaches the auth service only over HTTP (through
//! `auth-client`); no auth-service crate is in its dependency graph.
//!
//! [`Application::build`] opens the backend's own store, recovers runs a
//! previous process left unfinished, starts following the auth service's
//! revocation feed (without waiting for the auth service), and binds the
//! listener; tests build it on port 0.

pub mod bus;
pub mod cli;
pub mod config;
pub mod datasets;
pub mod error;
pub mod export;
pub mod gate;
pub mod http;
pub mod protocol;
pub mod runs;
pub mod startup;
pub mod store;
pub mod ws;

pub use config::Config;
pub use startup::Application;
