//! Project automation, run as `cargo xtask <command>`:
//!
//! - `tidy`: repository rules (every Rust module starts with `//!` docs; no
//!   backup or merge-leftover files; no `todo!`/`unimplemented!`/`dbg!` in
//!   crate sources).
//! - `crate-graph`: proves the service boundary from `cargo metadata`: no
//!   crate of the auth service is in the backend's dependency tree, and no
//!   backend crate is in the auth service's.
//! - `ui [--check]`: the web UI's vendored libraries in `ui/vendor/` from the
//!   lockfile (npm ci, copy, licence notices); `--check` fails when the
//!   committed ones differ.

mod graph;
mod tidy;
mod ui;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    let result = match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(&root),
        Some("crate-graph") => graph::run(&root),
        Some("ui") => ui::run(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <tidy|crate-graph|ui [--check]>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
