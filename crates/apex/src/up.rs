//! `apex up`: a small process supervisor for the two services (auth service
//! and backend), each a separate process with its own database. Once the
//! backend is ready it prints the web UI's URL (the backend serves the UI).

use anyhow::Context as _;
use base64::Engine as _;
use rand::RngCore as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// One supervised service.
struct Service {
    name: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Checked after start to announce readiness.
    ready_url: String,
}

/// Starts the services and supervises them until Ctrl-C.
pub fn run(data_dir: PathBuf) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("APEX_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let data_dir = data_dir
        .canonicalize()
        .context("resolving the data directory")?;
    let service_secret = local_secret(&data_dir.join("service-secret"))
        .context("preparing the local service secret")?;
    let auth_bind = std::env::var("APEX_AUTH_BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let auth_url = format!("http://{auth_bind}");
    let backend_bind =
        std::env::var("APEX_BACKEND_BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let backend_url = format!("http://{backend_bind}");
    let data = data_dir.display().to_string();
    let services = vec![
        Service {
            name: "auth",
            args: vec!["auth-service".into(), "serve".into()],
            env: vec![
                ("APEX_DATA_DIR".into(), data.clone()),
                ("APEX_AUTH_BIND".into(), auth_bind.clone()),
                ("APEX_AUTH_SERVICE_CLIENT_ID".into(), "apex-backend".into()),
                (
                    "APEX_AUTH_SERVICE_CLIENT_SECRET".into(),
                    service_secret.clone(),
                ),
            ],
            ready_url: format!("{auth_url}/readyz"),
        },
        Service {
            name: "backend",
            args: vec!["backend".into()],
            env: vec![
                ("APEX_DATA_DIR".into(), data.clone()),
                ("APEX_BACKEND_BIND".into(), backend_bind.clone()),
                ("APEX_BACKEND_AUTH_URL".into(), auth_url.clone()),
                (
                    "APEX_BACKEND_SERVICE_CLIENT_ID".into(),
                    "apex-backend".into(),
                ),
                ("APEX_BACKEND_SERVICE_CLIENT_SECRET".into(), service_secret),
            ],
            ready_url: format!("{backend_url}/readyz"),
        },
    ];
    let exe = std::env::current_exe().context("locating the apex executable")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        for service in services {
            tasks.push(tokio::spawn(supervise(exe.clone(), service, shutdown.clone())));
        }
        let banner = {
            let auth_url = auth_url.clone();
            tokio::spawn(async move {
                if wait_ready(&format!("{backend_url}/readyz"), Duration::from_secs(90)).await {
                    println!("Apex is running at {backend_url}/ (open the web UI in a browser)\n  auth service: {auth_url}\n  data directory: {data}\nPress Ctrl-C to stop.");
                } else {
                    eprintln!("apex: the backend did not become ready within 90 s; see the logs above");
                }
            })
        };
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        eprintln!("apex: stopping...");
        banner.abort();
        shutdown.cancel();
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    })
}

/// Runs one child, restarting it with exponential backoff when it exits unexpectedly.
async fn supervise(exe: PathBuf, service: Service, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let started = Instant::now();
        let mut child = match spawn(&exe, &service) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(service = service.name, error = %e, "could not start");
                return;
            }
        };
        tracing::info!(
            service = service.name,
            pid = child.id(),
            "started; readiness at {}",
            service.ready_url
        );
        tokio::select! {
            status = child.wait() => {
                if shutdown.is_cancelled() {
                    return;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_millis(500);
                }
                tracing::warn!(service = service.name, ?status, "exited; restarting in {backoff:?}");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            _ = shutdown.cancelled() => {
                stop(&mut child, service.name).await;
                return;
            }
        }
    }
}

fn spawn(exe: &Path, service: &Service) -> std::io::Result<Child> {
    Command::new(exe)
        .args(&service.args)
        .envs(service.env.iter().cloned())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
}

/// SIGTERM, then SIGKILL after 10 seconds.
async fn stop(child: &mut Child, name: &str) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    match tokio::time::timeout(Duration::from_secs(10), child.wait()).await {
        Ok(_) => tracing::info!(service = name, "stopped"),
        Err(_) => {
            tracing::warn!(service = name, "did not stop in 10 s; killing");
            let _ = child.kill().await;
        }
    }
}

async fn wait_ready(url: &str, within: Duration) -> bool {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if http
            .get(url)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Reads or creates (0600) the random secret the services share locally.
fn local_secret(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut raw);
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            f.write_all(secret.as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}
