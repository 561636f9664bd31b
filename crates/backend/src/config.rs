//! Typed configuration: defaults, then an optional TOML file
//! (`APEX_BACKEND_CONFIG`), then environment variables. Unknown keys in the
//! file and unknown `APEX_BACKEND_*` variables are rejected; production mode
//! refuses the development service secret.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The development-only service secret (the auth service's default); refused in production.
pub const DEV_SERVICE_SECRET: &str = "apex-local-development-secret";

/// The longest accepted pause after each run event.
pub const MAX_RUN_EVENT_DELAY: Duration = Duration::from_secs(5);

/// Per-user and per-connection limits (in the file, keys left out keep their defaults).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_frame_bytes: usize,
    pub messages_per_minute: u32,
    pub concurrent_runs: u32,
    pub connections_per_user: u32,
    /// Events queued for one socket before it is closed as a slow consumer.
    pub connection_queue: usize,
    /// Errors a client may cause in a minute before its socket is closed.
    pub abuse_errors_per_minute: u32,
    pub ticket_ttl_secs: u64,
    pub heartbeat_secs: u64,
    /// Largest dataset upload.
    pub max_upload_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            messages_per_minute: 30,
            concurrent_runs: 3,
            connections_per_user: 10,
            connection_queue: 256,
            abuse_errors_per_minute: 20,
            ticket_ttl_secs: 30,
            heartbeat_secs: 20,
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
        }
    }
}

/// Which language model the agents use.
#[derive(Debug, Clone)]
pub enum LlmConfig {
    /// Rules and templates (the default).
    None,
    OpenAiCompatible {
        base_url: String,
        api_key: Option<SecretString>,
        model: String,
    },
    Anthropic {
        base_url: String,
        api_key: SecretString,
        model: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Production,
}

/// The backend's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    /// Base URL of the auth service.
    pub auth_url: String,
    /// Expected token issuer (defaults to `auth_url`).
    pub auth_issuer: Option<String>,
    pub service_client_id: String,
    pub service_client_secret: SecretString,
    pub limits: Limits,
    pub llm: LlmConfig,
    /// User price overrides for the catalogue.
    pub prices_file: Option<PathBuf>,
    pub log_json: bool,
    /// Pause after each run event (0 by default). For tests and demos that
    /// must see a run in progress (reload, stop); not a production setting.
    pub run_event_delay: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    ParseFile {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("unknown environment variable {0} (see README: Configuration)")]
    UnknownVariable(String),
    #[error("invalid value for {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("refusing to start in production: {0}")]
    UnsafeProduction(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    auth_url: Option<String>,
    auth_issuer: Option<String>,
    service_client_id: Option<String>,
    service_client_secret: Option<SecretString>,
    limits: Option<Limits>,
    prices_file: Option<PathBuf>,
    log_json: Option<bool>,
    run_event_delay_ms: Option<u64>,
}

/// Variables this service reads (besides `APEX_ENV`, `APEX_DATA_DIR`, `APEX_LLM_*`).
pub const ENV_KEYS: &[&str] = &[
    "APEX_BACKEND_CONFIG",
    "APEX_BACKEND_BIND",
    "APEX_BACKEND_DATABASE_URL",
    "APEX_BACKEND_DATABASE_MAX_CONNECTIONS",
    "APEX_BACKEND_AUTH_URL",
    "APEX_BACKEND_AUTH_ISSUER",
    "APEX_BACKEND_SERVICE_CLIENT_ID",
    "APEX_BACKEND_SERVICE_CLIENT_SECRET",
    "APEX_BACKEND_PRICES_FILE",
    "APEX_BACKEND_LOG_JSON",
    "APEX_BACKEND_LOG",
    "APEX_BACKEND_RUN_EVENT_DELAY_MS",
];

const LLM_KEYS: &[&str] = &[
    "APEX_LLM_PROVIDER",
    "APEX_LLM_BASE_URL",
    "APEX_LLM_API_KEY",
    "APEX_LLM_MODEL",
];

impl Config {
    /// Local defaults rooted at `data_dir`.
    pub fn local(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        let db = data_dir.join("backend").join("backend.db");
        Config {
            environment: Environment::Local,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: format!("sqlite://{}", db.display()),
            data_dir,
            database_max_connections: 8,
            auth_url: "http://127.0.0.1:8081".into(),
            auth_issuer: None,
            service_client_id: "apex-backend".into(),
            service_client_secret: DEV_SERVICE_SECRET.into(),
            limits: Limits::default(),
            llm: LlmConfig::None,
            prices_file: None,
            log_json: false,
            run_event_delay: Duration::ZERO,
        }
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        for key in vars.keys() {
            let known = ENV_KEYS.contains(&key.as_str()) || LLM_KEYS.contains(&key.as_str());
            if (key.starts_with("APEX_BACKEND_") || key.starts_with("APEX_LLM_")) && !known {
                return Err(ConfigError::UnknownVariable(key.clone()));
            }
        }
        let file = match vars.get("APEX_BACKEND_CONFIG") {
            Some(path) => read_file(Path::new(path))?,
            None => FileConfig::default(),
        };
        let get = |k: &str| vars.get(k).map(String::as_str);
        let data_dir = get("APEX_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("apex-data"));
        let mut c = Config::local(data_dir);
        if let Some(v) = file.bind {
            c.bind = v;
        }
        if let Some(v) = file.database_url {
            c.database_url = v;
        }
        if let Some(v) = file.database_max_connections {
            c.database_max_connections = v;
        }
        if let Some(v) = file.auth_url {
            c.auth_url = v;
        }
        if file.auth_issuer.is_some() {
            c.auth_issuer = file.auth_issuer;
        }
        if let Some(v) = file.service_client_id {
            c.service_client_id = v;
        }
        if let Some(v) = file.service_client_secret {
            c.service_client_secret = v;
        }
        if let Some(v) = file.limits {
            c.limits = v;
        }
        if file.prices_file.is_some() {
            c.prices_file = file.prices_file;
        }
        if let Some(v) = file.log_json {
            c.log_json = v;
        }
        if let Some(v) = file.run_event_delay_ms {
            c.run_event_delay = Duration::from_millis(v);
        }
        if let Some(v) = get("APEX_ENV") {
            c.environment = match v {
                "local" | "development" => Environment::Local,
                "production" => Environment::Production,
                other => {
                    return Err(invalid(
                        "APEX_ENV",
                        format!("expected local or production, got {other:?}"),
                    ));
                }
            };
        }
        if let Some(v) = get("APEX_BACKEND_BIND") {
            c.bind = v
                .parse()
                .map_err(|e| invalid("APEX_BACKEND_BIND", format!("{v:?}: {e}")))?;
        }
        if let Some(v) = get("APEX_BACKEND_DATABASE_URL") {
            c.database_url = v.to_owned();
        }
        if let Some(v) = get("APEX_BACKEND_DATABASE_MAX_CONNECTIONS") {
            c.database_max_connections = v.parse().map_err(|e| {
                invalid(
                    "APEX_BACKEND_DATABASE_MAX_CONNECTIONS",
                    format!("{v:?}: {e}"),
                )
            })?;
        }
        if let Some(v) = get("APEX_BACKEND_AUTH_URL") {
            c.auth_url = v.trim_end_matches('/').to_owned();
        }
        if let Some(v) = get("APEX_BACKEND_AUTH_ISSUER") {
            c.auth_issuer = Some(v.trim_end_matches('/').to_owned());
        }
        if let Some(v) = get("APEX_BACKEND_SERVICE_CLIENT_ID") {
            c.service_client_id = v.to_owned();
        }
        if let Some(v) = get("APEX_BACKEND_SERVICE_CLIENT_SECRET") {
            c.service_client_secret = v.into();
        }
        if let Some(v) = get("APEX_BACKEND_PRICES_FILE") {
            c.prices_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("APEX_BACKEND_RUN_EVENT_DELAY_MS") {
            let ms: u64 = v
                .parse()
                .map_err(|e| invalid("APEX_BACKEND_RUN_EVENT_DELAY_MS", format!("{v:?}: {e}")))?;
            c.run_event_delay = Duration::from_millis(ms);
        }
        if let Some(v) = get("APEX_BACKEND_LOG_JSON") {
            c.log_json = matches!(v, "1" | "true" | "yes" | "on");
        }
        c.llm = match get("APEX_LLM_PROVIDER").unwrap_or("none") {
            "none" => LlmConfig::None,
            "openai" => LlmConfig::OpenAiCompatible {
                base_url: get("APEX_LLM_BASE_URL")
                    .unwrap_or("https://api.openai.com/v1")
                    .trim_end_matches('/')
                    .to_owned(),
                api_key: get("APEX_LLM_API_KEY").map(SecretString::from),
                model: get("APEX_LLM_MODEL")
                    .ok_or_else(|| {
                        invalid(
                            "APEX_LLM_MODEL",
                            "required with APEX_LLM_PROVIDER=openai".into(),
                        )
                    })?
                    .to_owned(),
            },
            "anthropic" => LlmConfig::Anthropic {
                base_url: get("APEX_LLM_BASE_URL")
                    .unwrap_or("https://api.anthropic.com")
                    .trim_end_matches('/')
                    .to_owned(),
                api_key: get("APEX_LLM_API_KEY")
                    .map(SecretString::from)
                    .ok_or_else(|| {
                        invalid(
                            "APEX_LLM_API_KEY",
                            "required with APEX_LLM_PROVIDER=anthropic".into(),
                        )
                    })?,
                model: get("APEX_LLM_MODEL")
                    .unwrap_or("claude-sonnet-4-5")
                    .to_owned(),
            },
            other => {
                return Err(invalid(
                    "APEX_LLM_PROVIDER",
                    format!("expected none, openai or anthropic, got {other:?}"),
                ));
            }
        };
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        if l.max_frame_bytes < 1024
            || l.concurrent_runs == 0
            || l.connections_per_user == 0
            || l.connection_queue < 16
            || l.ticket_ttl_secs == 0
        {
            return Err(invalid("limits", format!("out of range: {l:?}")));
        }
        if self.run_event_delay > MAX_RUN_EVENT_DELAY {
            return Err(invalid(
                "APEX_BACKEND_RUN_EVENT_DELAY_MS",
                format!("at most {} ms", MAX_RUN_EVENT_DELAY.as_millis()),
            ));
        }
        if self.service_client_secret.expose_secret().len() < 16 {
            return Err(invalid(
                "APEX_BACKEND_SERVICE_CLIENT_SECRET",
                "must be at least 16 characters".into(),
            ));
        }
        if self.environment == Environment::Production
            && self.service_client_secret.expose_secret() == DEV_SERVICE_SECRET
        {
            return Err(ConfigError::UnsafeProduction(
                "the service client secret is the development default".into(),
            ));
        }
        Ok(())
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> String {
        self.auth_issuer
            .clone()
            .unwrap_or_else(|| self.auth_url.clone())
    }

    /// Directory for this service's files.
    pub fn backend_dir(&self) -> PathBuf {
        self.data_dir.join("backend")
    }

    pub fn ticket_ttl(&self) -> Duration {
        Duration::from_secs(self.limits.ticket_ttl_secs)
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| ConfigError::ParseFile {
        path: path.into(),
        source,
    })
}

fn invalid(key: &'static str, reason: String) -> ConfigError {
    ConfigError::Invalid { key, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_and_rejections() {
        let c = Config::from_vars(vars(&[])).unwrap();
        assert_eq!(c.limits.max_frame_bytes, 65_536);
        assert_eq!(c.limits.messages_per_minute, 30);
        assert_eq!(c.limits.concurrent_runs, 3);
        assert_eq!(c.limits.connections_per_user, 10);
        assert!(matches!(c.llm, LlmConfig::None));
        assert_eq!(c.run_event_delay, Duration::ZERO);
        let paced = Config::from_vars(vars(&[("APEX_BACKEND_RUN_EVENT_DELAY_MS", "250")])).unwrap();
        assert_eq!(paced.run_event_delay, Duration::from_millis(250));
        assert!(Config::from_vars(vars(&[("APEX_BACKEND_RUN_EVENT_DELAY_MS", "9000")])).is_err());
        assert!(Config::from_vars(vars(&[("APEX_BACKEND_RUN_EVENT_DELAY_MS", "soon")])).is_err());
        assert!(matches!(
            Config::from_vars(vars(&[("APEX_BACKEND_BINDD", "x")])),
            Err(ConfigError::UnknownVariable(_))
        ));
        assert!(matches!(
            Config::from_vars(vars(&[("APEX_ENV", "production")])),
            Err(ConfigError::UnsafeProduction(_))
        ));
        assert!(
            Config::from_vars(vars(&[("APEX_LLM_PROVIDER", "openai")])).is_err(),
            "model required"
        );
        assert!(Config::from_vars(vars(&[("APEX_LLM_PROVIDER", "skynet")])).is_err());
    }

    #[test]
    fn a_file_may_set_some_limits_and_keep_the_other_defaults() {
        let path = std::env::temp_dir().join(format!("apex-backend-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(
            &path,
            "run_event_delay_ms = 7\n[limits]\nconcurrent_runs = 5\n",
        )
        .unwrap();
        let c = Config::from_vars(vars(&[("APEX_BACKEND_CONFIG", path.to_str().unwrap())]));
        std::fs::remove_file(&path).unwrap();
        let c = c.unwrap();
        assert_eq!(c.limits.concurrent_runs, 5);
        assert_eq!(c.limits.messages_per_minute, 30, "a default");
        assert_eq!(c.run_event_delay, Duration::from_millis(7));
    }
}
