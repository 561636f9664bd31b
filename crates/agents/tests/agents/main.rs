//! The agents crate's integration tests: one binary, modules by subject.

mod llm;
mod server;
mod supervisor;
