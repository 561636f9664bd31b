//! End-to-end tests: the real auth service binary, the backend on port 0,
//! real HTTP and WebSocket; the golden path and its failure modes; what the
//! web UI relies on (sign-in passed through, the UI served from the binary).

mod degraded;
mod golden;
mod harness;
mod limits;
mod openapi;
mod report;
mod restart;
mod web;
