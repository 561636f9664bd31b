//! Contract tests: the real auth service binary (`apex-auth`, run as a child
//! process on a free port with a fresh data directory) against the real
//! client, covering every call the backend makes, plus resilience (service
//! absent, killed, restarted) and the wire details (request ids, error
//! mapping, timeouts) against a small fake server.
//!
//! Build the binary first, with the same `CARGO_TARGET_DIR`:
//! `cargo build -p auth-service --bin apex-auth && cargo test -p auth-client`
//! (or point `APEX_AUTH_BIN` at it).

mod fake;
mod follower;
mod harness;
mod introspect;
mod resilience;
mod verify;
