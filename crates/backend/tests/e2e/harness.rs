//! The real `apex-auth` binary as a child process (killed on drop), the
//! backend built in-process on port 0 against it, and HTTP/WebSocket helpers.

use backend::{Application, Config};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

pub const CLIENT_ID: &str = "apex-backend";
pub const CLIENT_SECRET: &str = "e2e-test-service-secret-0123";
pub const PASSWORD: &str = "correct horse battery staple";

/// The `apex-auth` binary: `APEX_AUTH_BIN`, or next to this test's target dir.
pub fn apex_auth_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("APEX_AUTH_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "APEX_AUTH_BIN={} is not a file; build it with `cargo build -p auth-service --bin apex-auth`",
            p.display()
        );
        return p;
    }
    // .../target/debug/deps/contract-xxxx -> .../target/debug/apex-auth
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in <target>/<profile>/deps");
    let bin = profile_dir.join(format!("apex-auth{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the auth service binary {} is missing: run `cargo build -p auth-service --bin apex-auth` \
         first, with the same CARGO_TARGET_DIR as the tests (or set APEX_AUTH_BIN)",
        bin.display()
    );
    bin
}

/// A port that was free a moment ago (bound on port 0, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("apex-e2e-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A service binary run as a child process (`apex-auth` or `apex-backend`) with its
/// output in a log file; killed (SIGKILL) when dropped.
pub struct ServiceProcess {
    name: &'static str,
    child: Option<Child>,
    pub base: String,
    log: PathBuf,
}

/// The real auth service.
pub type AuthProcess = ServiceProcess;
/// The real backend.
pub type BackendProcess = ServiceProcess;

impl ServiceProcess {
    /// Runs `cmd` (its `APEX_*` environment cleared first, then `env` set) serving on
    /// `127.0.0.1:port`, logging into `log`.
    fn spawn_with(
        name: &'static str,
        mut cmd: Command,
        env: &[(&str, String)],
        port: u16,
        log: PathBuf,
    ) -> ServiceProcess {
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("APEX_") || k == "DATABASE_URL" {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        ServiceProcess {
            name,
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// Starts `apex-auth` on `127.0.0.1:port` with `data_dir`, and waits for `/readyz`.
    pub async fn start(data_dir: &Path, port: u16) -> ServiceProcess {
        let env = [
            ("APEX_DATA_DIR", data_dir.display().to_string()),
            ("APEX_AUTH_BIND", format!("127.0.0.1:{port}")),
            ("APEX_AUTH_SERVICE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("APEX_AUTH_SERVICE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ];
        let log = data_dir.join("apex-auth.log");
        let mut p = Self::spawn_with("apex-auth", Command::new(apex_auth_bin()), &env, port, log);
        p.wait_ready().await;
        p
    }

    /// Starts `apex-backend` on `127.0.0.1:port` with `data_dir` and `database_url`, against
    /// the auth service at `auth_base`, plus `extra` environment; does not wait for it.
    pub fn spawn_backend(
        data_dir: &Path,
        port: u16,
        database_url: &str,
        auth_base: &str,
        extra: &[(&str, &str)],
    ) -> ServiceProcess {
        let mut env = vec![
            ("APEX_DATA_DIR", data_dir.display().to_string()),
            ("APEX_BACKEND_BIND", format!("127.0.0.1:{port}")),
            ("APEX_BACKEND_DATABASE_URL", database_url.to_owned()),
            ("APEX_BACKEND_AUTH_URL", auth_base.to_owned()),
            ("APEX_BACKEND_SERVICE_CLIENT_ID", CLIENT_ID.to_owned()),
            (
                "APEX_BACKEND_SERVICE_CLIENT_SECRET",
                CLIENT_SECRET.to_owned(),
            ),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let cmd = Command::new(env!("CARGO_BIN_EXE_apex-backend"));
        let log = data_dir.join(format!("apex-backend-{port}.log"));
        Self::spawn_with("apex-backend", cmd, &env, port, log)
    }

    /// Waits until `/readyz` answers 200 (for the backend: its database and the auth
    /// service are reachable); panics with the log if the process exits first.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                self.is_running(),
                "{} exited before it was ready:\n{}",
                self.name,
                self.log_text()
            );
            let ready = http()
                .get(format!("{}/readyz", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} was not ready within 60 s:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: none of the service's shutdown code runs. Reaps the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh data directory with the auth service running on a free port.
pub struct TestAuth {
    // Field order: the process dies before its directory is removed.
    pub process: AuthProcess,
    _dir: TempDir,
}

impl TestAuth {
    pub async fn start() -> TestAuth {
        let dir = TempDir::new();
        let port = free_port();
        let process = AuthProcess::start(dir.path(), port).await;
        TestAuth { process, _dir: dir }
    }

    pub fn base(&self) -> &str {
        &self.process.base
    }
}

/// The backend on port 0 against `auth_base`, with a fresh database.
pub struct TestBackend {
    pub base: String,
    _db: backend::store::testing::TestDatabase,
    #[allow(dead_code)]
    pub state: backend::http::AppState,
    shutdown: tokio_util::sync::CancellationToken,
    _dir: TempDir,
}

impl Drop for TestBackend {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the backend on a fresh database: SQLite, or PostgreSQL with `APEX_TEST_DB=postgres`.
pub async fn start_backend(auth_base: &str) -> TestBackend {
    start_backend_with(auth_base, |_| {}).await
}

/// As [`start_backend`], with the configuration adjusted by `adjust` first.
pub async fn start_backend_with(auth_base: &str, adjust: impl FnOnce(&mut Config)) -> TestBackend {
    let db = backend::store::testing::TestDatabase::from_env()
        .await
        .expect("test database (is PostgreSQL running?)");
    let dir = TempDir::new();
    let mut cfg = Config::local(dir.path());
    cfg.bind = "127.0.0.1:0".parse().unwrap();
    cfg.auth_url = auth_base.to_owned();
    cfg.service_client_id = CLIENT_ID.into();
    cfg.service_client_secret = CLIENT_SECRET.into();
    cfg.database_url = db.url().to_owned();
    adjust(&mut cfg);
    let app = Application::build(cfg).await.expect("backend builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    TestBackend {
        base,
        _db: db,
        state,
        shutdown,
        _dir: dir,
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_proxy()
        .build()
        .unwrap()
}

/// Registers a fresh user; returns (access token, session id).
pub async fn register(auth_base: &str) -> (String, String) {
    let email = format!("e2e-{}@example.com", Uuid::new_v4().simple());
    let resp = http()
        .post(format!("{auth_base}/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["session_id"].as_str().unwrap().to_owned(),
    )
}

pub async fn post(base: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http().post(format!("{base}{path}")).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let resp = http()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Gets a ticket and opens the WebSocket; returns it after `connection_ready`.
pub async fn connect(base: &str, token: &str) -> Socket {
    let (status, t) = post(base, "/v1/ws/ticket", token, None).await;
    assert_eq!(status, 200, "{t}");
    let url = format!(
        "{}/v1/ws?ticket={}",
        base.replace("http://", "ws://"),
        t["ticket"].as_str().unwrap()
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    let ready = next_json(&mut ws).await;
    assert_eq!(ready["type"], "connection_ready", "{ready}");
    assert_eq!(ready["protocol"], 1);
    ws
}

pub async fn send(ws: &mut Socket, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON text frame (pings skipped), within 60 s.
pub async fn next_json(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("a frame within 60 s")
            .expect("socket open")
            .expect("frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(c) => panic!("socket closed: {c:?}"),
            _ => continue,
        }
    }
}

/// Collects run events until the run ends (supervisor's agent_completed, run_failed or run_cancelled).
pub async fn collect_run(ws: &mut Socket, run_id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let v = next_json(ws).await;
        if v["run_id"] != run_id || v.get("seq").is_none() {
            continue;
        }
        let done = matches!(v["type"].as_str(), Some("run_failed" | "run_cancelled"))
            || (v["type"] == "agent_completed" && v["payload"]["agent"] == "supervisor");
        events.push(v);
        if done {
            return events;
        }
    }
}
