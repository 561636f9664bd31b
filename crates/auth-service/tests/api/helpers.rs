//! Spawning the app on port 0 with a fresh database, and small HTTP helpers.

use auth_service::Application;
use auth_service::clock::ManualClock;
use auth_service::config::{Config, ServiceClient};
use auth_service::http::AppState;
use auth_service::store::testing::{TestBackend, TestDatabase};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const SERVICE_ID: &str = "apex-backend";
pub const SERVICE_SECRET: &str = "integration-test-service-secret";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    pub config: Config,
    pub data_dir: PathBuf,
    shutdown: CancellationToken,
    _db: Option<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn test_config(database_url: &str) -> Config {
    let data_dir = std::env::temp_dir().join(format!("apex-auth-it-{}", uuid::Uuid::new_v4()));
    let mut c = Config::local(&data_dir);
    c.bind = "127.0.0.1:0".parse().unwrap();
    c.database_url = database_url.to_owned();
    c.database_max_connections = 4;
    c.service_clients = vec![ServiceClient {
        id: SERVICE_ID.into(),
        secret: SERVICE_SECRET.into(),
    }];
    c
}

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDatabase::create(TestBackend::from_env())
        .await
        .expect("test database (is PostgreSQL running?)");
    let mut config = test_config(db.url());
    adjust(&mut config);
    let mut app = spawn_config(config, ManualClock::new()).await;
    app._db = Some(db);
    app
}

/// Starts an app on an existing configuration and clock (e.g. a second instance on the same database).
pub async fn spawn_config(config: Config, clock: ManualClock) -> TestApp {
    let data_dir = config.data_dir.clone();
    let app = Application::build_with_clock(config.clone(), Arc::new(clock.clone()))
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    TestApp {
        base,
        http,
        clock,
        state,
        config,
        data_dir,
        shutdown,
        _db: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        split(resp).await
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> (StatusCode, Value) {
        split(
            self.http
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn post_bearer(&self, path: &str, token: &str) -> (StatusCode, Value) {
        split(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn register(&self, email: &str) -> Value {
        let (status, body) = self
            .post_json(
                "/v1/register",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post_json("/v1/login", json!({"email": email, "password": password}))
            .await
    }

    pub async fn refresh(&self, refresh_token: &str) -> (StatusCode, Value) {
        self.post_json(
            "/v1/token/refresh",
            json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    pub async fn introspect(&self, token: &str) -> Value {
        let resp = self
            .http
            .post(self.url("/v1/introspect"))
            .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        let (status, body) = split(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn feed(&self, after: i64, wait: u64) -> Value {
        let resp = self
            .http
            .get(self.url(&format!("/v1/revocations?after={after}&wait={wait}")))
            .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
            .send()
            .await
            .unwrap();
        let (status, body) = split(resp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

/// Status and JSON body (`Value::Null` for an empty body).
pub async fn split(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "non-JSON body with {status}: {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, body)
}

/// Asserts the standard error shape and returns its code.
pub fn error_code(body: &Value) -> &str {
    let err = body
        .get("error")
        .unwrap_or_else(|| panic!("no error object in {body}"));
    assert!(
        err.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "error without message: {body}"
    );
    err.get("code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no code in {body}"))
}

pub fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::new_v4().simple())
}
