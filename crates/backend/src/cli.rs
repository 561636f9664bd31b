//! The `apex-backend` command line, shared by the `apex-backend` binary and
//! `apex backend` (the child process `apex up` starts).

use crate::{Application, Config};
use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The command line (configuration comes from the environment; see README).
#[derive(Parser)]
#[command(
    name = "apex-backend",
    version,
    about = "Apex backend (configuration from APEX_* environment variables; see README)"
)]
pub struct Cli {}

/// Parses the process arguments and runs.
pub fn main() -> anyhow::Result<()> {
    run(Cli::parse())
}

/// Runs the backend until SIGINT or SIGTERM.
pub fn run(_cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env().context("configuration")?;
    let filter = EnvFilter::try_from_env("APEX_BACKEND_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(async move {
            let app = Application::build(config)
                .await
                .context("starting the backend")?;
            tracing::info!(port = app.port(), "apex-backend listening");
            let token = app.shutdown_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                token.cancel();
            });
            app.run_until_stopped().await?;
            Ok(())
        })
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
