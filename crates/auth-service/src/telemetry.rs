//! Tracing set-up for the binaries: human-readable or JSON logs, filtered by
//! `APEX_AUTH_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber once, in `main`.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("APEX_AUTH_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("tracing already initialised: {e}");
    }
}
