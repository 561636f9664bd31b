//! The `apex-auth` command line: serve the auth service, or administer it.
//! Shared by the `apex-auth` binary and `apex auth-service` (the child
//! process `apex up` starts).

use crate::clock::SystemClock;
use crate::store::Role;
use crate::{Application, Config, telemetry};
use anyhow::Context as _;
use clap::{Parser, Subcommand};

use secrecy::SecretString;
use std::sync::Arc;

/// The command line.
#[derive(Parser)]
#[command(
    name = "apex-auth",
    version,
    about = "Apex auth service (configuration from APEX_* environment variables; see README)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a user (the first admin, typically). The password is read from
    /// APEX_NEW_USER_PASSWORD, or from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Give the user the admin role.
        #[arg(long)]
        admin: bool,
    },
}

/// Parses the process arguments and runs.
pub fn main() -> anyhow::Result<()> {
    run(Cli::parse())
}

/// Runs a parsed command line on a new multi-threaded runtime.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(run_async(cli))
}

async fn run_async(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_env().context("configuration")?;
    telemetry::init(config.log_json);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Openapi => {
            println!("{}", crate::http::openapi_document());
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::CreateUser { email, name, admin },
        } => {
            let password = match std::env::var("APEX_NEW_USER_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let state = crate::startup::build_state(config, Arc::new(SystemClock), None).await?;
            let role = if admin { Role::Admin } else { Role::User };
            let user = state
                .auth
                .create_user(&email, SecretString::from(password), name.as_deref(), role)
                .await
                .map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
            println!(
                "created {} {} ({})",
                user.role.as_str(),
                user.email,
                user.id
            );
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config)
        .await
        .context("starting the auth service")?;
    tracing::info!(url = %app.base_url(), "apex-auth listening");
    let token = app.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
    app.run_until_stopped().await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
