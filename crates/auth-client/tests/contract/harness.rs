//! Running the real `apex-auth` binary as a child process (killed on drop),
//! and plain-HTTP helpers to register, sign in and sign out users.

use auth_client::AuthClientConfig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{Value, json};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const CLIENT_ID: &str = "apex-backend";
pub const CLIENT_SECRET: &str = "contract-test-service-secret";
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
        let p = std::env::temp_dir().join(format!("apex-auth-client-{}", Uuid::new_v4()));
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

/// A running `apex-auth`; killed (SIGKILL) when dropped.
pub struct AuthProcess {
    child: Option<Child>,
    pub base: String,
    log: PathBuf,
}

impl AuthProcess {
    /// Starts `apex-auth` on `127.0.0.1:port` with `data_dir`, and waits for `/readyz`.
    pub async fn start(data_dir: &Path, port: u16) -> AuthProcess {
        let log = data_dir.join("apex-auth.log");
        let out = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(apex_auth_bin());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("APEX_") || k == "DATABASE_URL" {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .env("APEX_DATA_DIR", data_dir)
            .env("APEX_AUTH_BIND", format!("127.0.0.1:{port}"))
            .env("APEX_AUTH_SERVICE_CLIENT_ID", CLIENT_ID)
            .env("APEX_AUTH_SERVICE_CLIENT_SECRET", CLIENT_SECRET)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn apex-auth");
        let mut p = AuthProcess {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        p.wait_ready().await;
        p
    }

    async fn wait_ready(&mut self) {
        let http = http();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "apex-auth exited with {status} before it was ready:\n{}",
                    self.log_text()
                );
            }
            let ready = http
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
                "apex-auth was not ready within 60 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for AuthProcess {
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

/// The client configuration for `base` with the test's service credentials.
pub fn client_config(base: &str) -> AuthClientConfig {
    AuthClientConfig::new(base, CLIENT_ID, CLIENT_SECRET.into())
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub session_id: Uuid,
    pub access_token: String,
    pub refresh_token: String,
}

fn user_of(body: &Value) -> User {
    User {
        id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
        email: body["user"]["email"].as_str().unwrap().to_owned(),
        session_id: body["session_id"].as_str().unwrap().parse().unwrap(),
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Registers a new user with a unique email.
pub async fn register(base: &str) -> User {
    let email = format!("u{}@example.com", Uuid::new_v4().simple());
    let resp = http()
        .post(format!("{base}/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    user_of(&resp.json().await.unwrap())
}

/// Signs `email` in again: a new session.
pub async fn login(base: &str, email: &str) -> User {
    let resp = http()
        .post(format!("{base}/v1/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    user_of(&resp.json().await.unwrap())
}

/// `POST /v1/logout` with the user's token (revokes the session).
pub async fn logout(base: &str, user: &User) {
    let resp = http()
        .post(format!("{base}/v1/logout"))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

/// `POST /v1/sessions/revoke-all` with the user's token.
pub async fn revoke_all(base: &str, user: &User) {
    let resp = http()
        .post(format!("{base}/v1/sessions/revoke-all"))
        .bearer_auth(&user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

/// A compact JWS of `header` and `claims` signed with `key` (forgeries).
pub fn sign(header: &Value, claims: &Value, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    format!(
        "{input}.{}",
        B64.encode(key.sign(input.as_bytes()).to_bytes())
    )
}

/// The decoded header and claims of a token.
pub fn decode(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = || serde_json::from_slice(&B64.decode(parts.next().unwrap()).unwrap()).unwrap();
    (part(), part())
}

/// Claims like the auth service's, for `iss`, valid for ten minutes from now.
pub fn claims_for(iss: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({"iss": iss, "sub": Uuid::new_v4(), "sid": Uuid::new_v4(), "jti": Uuid::new_v4(),
           "iat": now, "exp": now + 600, "email": "forger@example.com", "role": "admin"})
}

/// Polls `cond` every 20 ms until it holds; fails after 30 s.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
