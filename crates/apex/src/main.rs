//! `apex`: one command for running Apex locally.
//!
//! `apex up` starts each service as its own child process (this same
//! executable re-run as `apex auth-service ...`), with its own database under
//! the data directory, restarts a crashed child with backoff, and stops them
//! on Ctrl-C. The services never share a process or a database.
//!
//! `apex analyze FILE...` runs the optimisation agents offline on usage
//! files (module `analyze`).

mod analyze;
mod up;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "apex",
    version,
    about = "Apex: AI workload optimisation, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Apex locally: start the services, print the URL, stop on Ctrl-C.
    Up {
        /// Where databases and local secrets live.
        #[arg(long, env = "APEX_DATA_DIR", default_value = "apex-data")]
        data_dir: PathBuf,
    },
    /// Run the auth service in this process (what `apex up` starts as a child), or administer it.
    #[command(name = "auth-service")]
    AuthService(auth_service::cli::Cli),
    /// Run the backend in this process (what `apex up` starts as a child).
    Backend(backend::cli::Cli),
    /// Analyse usage files offline: where the money goes and what to change.
    Analyze(analyze::AnalyzeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up { data_dir } => up::run(data_dir),
        Command::AuthService(args) => auth_service::cli::run(args),
        Command::Backend(args) => backend::cli::run(args),
        Command::Analyze(args) => return analyze::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("apex: {e:#}");
            ExitCode::FAILURE
        }
    }
}
