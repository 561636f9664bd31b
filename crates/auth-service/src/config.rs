//! Typed configuration: defaults, then an optional TOML file
//! (`APEX_AUTH_CONFIG`), then environment variables. Unknown keys in the file
//! and unknown `APEX_AUTH_*` variables are rejected, and production mode
//! (`APEX_ENV=production`) refuses unsafe settings.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The development-only service secret `apex up` and tests may use; refused in production.
pub const DEV_SERVICE_SECRET: &str = "apex-local-development-secret";

/// Deployment mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Local,
    Production,
}

/// A service client (the backend) allowed to call introspection and the revocation feed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceClient {
    pub id: String,
    pub secret: SecretString,
}

/// Argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Params {
    /// Memory in KiB (OWASP minimum: 19456 = 19 MiB).
    pub memory_kib: u32,
    /// Iterations (OWASP minimum with 19 MiB: 2).
    pub iterations: u32,
    pub parallelism: u32,
}

impl Argon2Params {
    /// OWASP's minimum recommendation for Argon2id.
    pub const OWASP_MIN: Argon2Params = Argon2Params {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };
}

/// Login throttling policy.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    /// Failures per account allowed with no delay.
    pub free_failures: u32,
    /// Failures per account after which logins are refused with 429.
    pub lock_after: u32,
    /// A client address may fail this many times more than an account before each step applies.
    pub ip_multiplier: u32,
    /// First lockout length; doubles with each further failure, up to `max_lock_secs`.
    pub base_lock_secs: u64,
    pub max_lock_secs: u64,
    /// Failures older than this no longer count.
    pub window_secs: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 3,
            lock_after: 8,
            ip_multiplier: 5,
            base_lock_secs: 30,
            max_lock_secs: 900,
            window_secs: 900,
        }
    }
}

/// The auth service's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    /// Address to listen on; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Public base URL (issuer); defaults to `http://<bound address>`.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    /// 32-byte master key (base64) encrypting private signing keys at rest.
    pub master_key: Option<SecretString>,
    pub service_clients: Vec<ServiceClient>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub refresh_grace: Duration,
    pub key_rotation_interval: Duration,
    /// How long before it signs a new key is published in the JWKS.
    pub key_publish_ahead: Duration,
    pub argon2: Argon2Params,
    /// Concurrent password hashes (defaults to the number of cores).
    pub hash_concurrency: usize,
    /// Hash requests allowed to wait; beyond this, logins are refused with 503.
    pub hash_queue: usize,
    pub throttle: ThrottleConfig,
    /// Trust `X-Forwarded-For` for the client address (only behind a proxy you control).
    pub trust_forwarded_for: bool,
    pub log_json: bool,
}

/// Configuration errors.
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

/// The file form of the configuration: every key optional, unknown keys rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    environment: Option<Environment>,
    bind: Option<SocketAddr>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_max_connections: Option<u32>,
    master_key: Option<SecretString>,
    service_clients: Option<Vec<ServiceClient>>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_secs: Option<u64>,
    refresh_grace_secs: Option<u64>,
    key_rotation_secs: Option<u64>,
    key_publish_ahead_secs: Option<u64>,
    argon2: Option<Argon2Params>,
    hash_concurrency: Option<usize>,
    hash_queue: Option<usize>,
    throttle: Option<ThrottleConfig>,
    trust_forwarded_for: Option<bool>,
    log_json: Option<bool>,
}

/// Environment variables this service reads (besides `APEX_ENV`, `APEX_DATA_DIR`, `DATABASE_URL`).
pub const ENV_KEYS: &[&str] = &[
    "APEX_AUTH_CONFIG",
    "APEX_AUTH_BIND",
    "APEX_AUTH_PUBLIC_URL",
    "APEX_AUTH_DATABASE_URL",
    "APEX_AUTH_DATABASE_MAX_CONNECTIONS",
    "APEX_AUTH_MASTER_KEY",
    "APEX_AUTH_SERVICE_CLIENT_ID",
    "APEX_AUTH_SERVICE_CLIENT_SECRET",
    "APEX_AUTH_ACCESS_TOKEN_TTL_SECS",
    "APEX_AUTH_REFRESH_TOKEN_TTL_SECS",
    "APEX_AUTH_REFRESH_GRACE_SECS",
    "APEX_AUTH_KEY_ROTATION_SECS",
    "APEX_AUTH_KEY_PUBLISH_AHEAD_SECS",
    "APEX_AUTH_ARGON2_MEMORY_KIB",
    "APEX_AUTH_ARGON2_ITERATIONS",
    "APEX_AUTH_ARGON2_PARALLELISM",
    "APEX_AUTH_HASH_CONCURRENCY",
    "APEX_AUTH_HASH_QUEUE",
    "APEX_AUTH_TRUST_FORWARDED_FOR",
    "APEX_AUTH_LOG_JSON",
    "APEX_AUTH_LOG",
];

impl Config {
    /// Local defaults rooted at `data_dir` (SQLite file, generated master key, dev service secret).
    pub fn local(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        let db = data_dir.join("auth").join("auth.db");
        Config {
            environment: Environment::Local,
            bind: SocketAddr::from(([127, 0, 0, 1], 8081)),
            public_url: None,
            database_url: format!("sqlite://{}", db.display()),
            data_dir,
            database_max_connections: 8,
            master_key: None,
            service_clients: vec![ServiceClient {
                id: "apex-backend".into(),
                secret: DEV_SERVICE_SECRET.into(),
            }],
            access_token_ttl: Duration::from_secs(600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_grace: Duration::from_secs(10),
            key_rotation_interval: Duration::from_secs(7 * 24 * 3600),
            key_publish_ahead: Duration::from_secs(3600),
            argon2: Argon2Params::OWASP_MIN,
            hash_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            hash_queue: 64,
            throttle: ThrottleConfig::default(),
            trust_forwarded_for: false,
            log_json: false,
        }
    }

    /// Reads the configuration from the process environment (and the file it names).
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads the configuration from the given variables (testable without touching the process env).
    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<Config, ConfigError> {
        for key in vars.keys() {
            if key.starts_with("APEX_AUTH_") && !ENV_KEYS.contains(&key.as_str()) {
                return Err(ConfigError::UnknownVariable(key.clone()));
            }
        }
        let file = match vars.get("APEX_AUTH_CONFIG") {
            Some(path) => read_file(Path::new(path))?,
            None => FileConfig::default(),
        };
        let data_dir = vars
            .get("APEX_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("apex-data"));
        let mut c = Config::local(data_dir);
        // file layer
        if let Some(v) = file.environment {
            c.environment = v
        }
        if let Some(v) = file.bind {
            c.bind = v
        }
        if file.public_url.is_some() {
            c.public_url = file.public_url
        }
        if let Some(v) = file.database_url {
            c.database_url = v
        }
        if let Some(v) = file.database_max_connections {
            c.database_max_connections = v
        }
        if file.master_key.is_some() {
            c.master_key = file.master_key
        }
        if let Some(v) = file.service_clients {
            c.service_clients = v
        }
        if let Some(v) = file.access_token_ttl_secs {
            c.access_token_ttl = Duration::from_secs(v)
        }
        if let Some(v) = file.refresh_token_ttl_secs {
            c.refresh_token_ttl = Duration::from_secs(v)
        }
        if let Some(v) = file.refresh_grace_secs {
            c.refresh_grace = Duration::from_secs(v)
        }
        if let Some(v) = file.key_rotation_secs {
            c.key_rotation_interval = Duration::from_secs(v)
        }
        if let Some(v) = file.key_publish_ahead_secs {
            c.key_publish_ahead = Duration::from_secs(v)
        }
        if let Some(v) = file.argon2 {
            c.argon2 = v
        }
        if let Some(v) = file.hash_concurrency {
            c.hash_concurrency = v
        }
        if let Some(v) = file.hash_queue {
            c.hash_queue = v
        }
        if let Some(v) = file.throttle {
            c.throttle = v
        }
        if let Some(v) = file.trust_forwarded_for {
            c.trust_forwarded_for = v
        }
        if let Some(v) = file.log_json {
            c.log_json = v
        }
        // environment layer
        let get = |k: &str| vars.get(k).map(String::as_str);
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
        if let Some(v) = get("APEX_AUTH_BIND") {
            c.bind = parse("APEX_AUTH_BIND", v)?
        }
        if let Some(v) = get("APEX_AUTH_PUBLIC_URL") {
            c.public_url = Some(v.trim_end_matches('/').to_owned())
        }
        if let Some(v) = get("APEX_AUTH_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
            c.database_url = v.to_owned()
        }
        if let Some(v) = get("APEX_AUTH_DATABASE_MAX_CONNECTIONS") {
            c.database_max_connections = parse("APEX_AUTH_DATABASE_MAX_CONNECTIONS", v)?
        }
        if let Some(v) = get("APEX_AUTH_MASTER_KEY") {
            c.master_key = Some(v.into())
        }
        match (
            get("APEX_AUTH_SERVICE_CLIENT_ID"),
            get("APEX_AUTH_SERVICE_CLIENT_SECRET"),
        ) {
            (id, Some(secret)) => {
                c.service_clients = vec![ServiceClient {
                    id: id.unwrap_or("apex-backend").to_owned(),
                    secret: secret.into(),
                }]
            }
            (Some(id), None) => {
                for client in &mut c.service_clients {
                    client.id = id.to_owned()
                }
            }
            (None, None) => {}
        }
        let secs = |k: &'static str| -> Result<Option<Duration>, ConfigError> {
            get(k)
                .map(|v| parse::<u64>(k, v).map(Duration::from_secs))
                .transpose()
        };
        if let Some(v) = secs("APEX_AUTH_ACCESS_TOKEN_TTL_SECS")? {
            c.access_token_ttl = v
        }
        if let Some(v) = secs("APEX_AUTH_REFRESH_TOKEN_TTL_SECS")? {
            c.refresh_token_ttl = v
        }
        if let Some(v) = secs("APEX_AUTH_REFRESH_GRACE_SECS")? {
            c.refresh_grace = v
        }
        if let Some(v) = secs("APEX_AUTH_KEY_ROTATION_SECS")? {
            c.key_rotation_interval = v
        }
        if let Some(v) = secs("APEX_AUTH_KEY_PUBLISH_AHEAD_SECS")? {
            c.key_publish_ahead = v
        }
        if let Some(v) = get("APEX_AUTH_ARGON2_MEMORY_KIB") {
            c.argon2.memory_kib = parse("APEX_AUTH_ARGON2_MEMORY_KIB", v)?
        }
        if let Some(v) = get("APEX_AUTH_ARGON2_ITERATIONS") {
            c.argon2.iterations = parse("APEX_AUTH_ARGON2_ITERATIONS", v)?
        }
        if let Some(v) = get("APEX_AUTH_ARGON2_PARALLELISM") {
            c.argon2.parallelism = parse("APEX_AUTH_ARGON2_PARALLELISM", v)?
        }
        if let Some(v) = get("APEX_AUTH_HASH_CONCURRENCY") {
            c.hash_concurrency = parse("APEX_AUTH_HASH_CONCURRENCY", v)?
        }
        if let Some(v) = get("APEX_AUTH_HASH_QUEUE") {
            c.hash_queue = parse("APEX_AUTH_HASH_QUEUE", v)?
        }
        if let Some(v) = get("APEX_AUTH_TRUST_FORWARDED_FOR") {
            c.trust_forwarded_for = parse_bool("APEX_AUTH_TRUST_FORWARDED_FOR", v)?
        }
        if let Some(v) = get("APEX_AUTH_LOG_JSON") {
            c.log_json = parse_bool("APEX_AUTH_LOG_JSON", v)?
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks ranges, and refuses unsafe settings in production.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ttl = self.access_token_ttl.as_secs();
        if !(300..=900).contains(&ttl) {
            return Err(invalid(
                "access_token_ttl",
                format!("must be 300..=900 seconds (5 to 15 minutes), got {ttl}"),
            ));
        }
        if self.refresh_token_ttl < self.access_token_ttl {
            return Err(invalid(
                "refresh_token_ttl",
                "must be at least the access token lifetime".into(),
            ));
        }
        if self.refresh_grace > Duration::from_secs(60) {
            return Err(invalid(
                "refresh_grace",
                "must be at most 60 seconds".into(),
            ));
        }
        if self.key_rotation_interval < self.access_token_ttl * 2 {
            return Err(invalid(
                "key_rotation",
                "must be at least twice the access token lifetime".into(),
            ));
        }
        let a = self.argon2;
        if a.memory_kib < Argon2Params::OWASP_MIN.memory_kib
            || a.iterations < Argon2Params::OWASP_MIN.iterations
            || a.parallelism == 0
        {
            return Err(invalid(
                "argon2",
                format!("below OWASP's minimum (19456 KiB, 2 iterations, parallelism >= 1): {a:?}"),
            ));
        }
        if self.hash_concurrency == 0 {
            return Err(invalid("hash_concurrency", "must be at least 1".into()));
        }
        if self
            .service_clients
            .iter()
            .any(|c| c.id.is_empty() || c.secret.expose_secret().len() < 16)
        {
            return Err(invalid(
                "service_clients",
                "each client needs an id and a secret of at least 16 characters".into(),
            ));
        }
        if let Some(key) = &self.master_key {
            crate::domain::keys::MasterKey::parse(key)
                .map_err(|e| invalid("APEX_AUTH_MASTER_KEY", e.to_string()))?;
        }
        if self.environment == Environment::Production {
            if self.master_key.is_none() {
                return Err(ConfigError::UnsafeProduction(
                    "APEX_AUTH_MASTER_KEY is not set".into(),
                ));
            }
            if self
                .service_clients
                .iter()
                .any(|c| c.secret.expose_secret() == DEV_SERVICE_SECRET)
            {
                return Err(ConfigError::UnsafeProduction(
                    "a service client uses the default development secret".into(),
                ));
            }
            if self.service_clients.is_empty() {
                return Err(ConfigError::UnsafeProduction(
                    "no service client configured".into(),
                ));
            }
        }
        Ok(())
    }

    /// Directory for this service's files (master key, SQLite database).
    pub fn auth_dir(&self) -> PathBuf {
        self.data_dir.join("auth")
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

fn parse<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    v.trim()
        .parse()
        .map_err(|e: T::Err| invalid(key, format!("{v:?}: {e}")))
}

fn parse_bool(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, format!("{v:?} is not a boolean"))),
    }
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
    fn defaults_are_local_and_safe() {
        let c = Config::from_vars(vars(&[("APEX_DATA_DIR", "/tmp/x")])).unwrap();
        assert_eq!(c.environment, Environment::Local);
        assert_eq!(c.access_token_ttl, Duration::from_secs(600));
        assert_eq!(c.argon2, Argon2Params::OWASP_MIN);
        assert!(c.database_url.starts_with("sqlite://"));
    }

    #[test]
    fn unknown_variable_is_rejected() {
        let err = Config::from_vars(vars(&[("APEX_AUTH_MASTERKEY", "x")])).unwrap_err();
        assert!(matches!(err, ConfigError::UnknownVariable(k) if k == "APEX_AUTH_MASTERKEY"));
    }

    #[test]
    fn unknown_file_key_is_rejected() {
        let path =
            std::env::temp_dir().join(format!("apex-auth-cfg-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, "bind = \"127.0.0.1:1\"\nbogus = 1\n").unwrap();
        let err =
            Config::from_vars(vars(&[("APEX_AUTH_CONFIG", path.to_str().unwrap())])).unwrap_err();
        assert!(matches!(err, ConfigError::ParseFile { .. }), "{err}");
        std::fs::remove_file(path).ok();
    }

    const KEY: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn production_refuses_missing_master_key_and_default_secret() {
        let err = Config::from_vars(vars(&[
            ("APEX_ENV", "production"),
            (
                "APEX_AUTH_SERVICE_CLIENT_SECRET",
                "a-real-secret-of-enough-length",
            ),
        ]))
        .unwrap_err();
        assert!(matches!(err, ConfigError::UnsafeProduction(_)), "{err}");
        let err = Config::from_vars(vars(&[
            ("APEX_ENV", "production"),
            ("APEX_AUTH_MASTER_KEY", KEY),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::UnsafeProduction(m) if m.contains("development secret"))
        );
        let ok = Config::from_vars(vars(&[
            ("APEX_ENV", "production"),
            ("APEX_AUTH_MASTER_KEY", KEY),
            (
                "APEX_AUTH_SERVICE_CLIENT_SECRET",
                "a-real-secret-of-enough-length",
            ),
        ]));
        assert!(ok.is_ok());
    }

    #[test]
    fn weak_argon2_and_bad_ttl_are_rejected() {
        assert!(Config::from_vars(vars(&[("APEX_AUTH_ARGON2_MEMORY_KIB", "4096")])).is_err());
        assert!(Config::from_vars(vars(&[("APEX_AUTH_ACCESS_TOKEN_TTL_SECS", "3600")])).is_err());
        assert!(Config::from_vars(vars(&[("APEX_AUTH_HASH_QUEUE", "many")])).is_err());
        assert!(Config::from_vars(vars(&[("APEX_AUTH_MASTER_KEY", "AAAA")])).is_err());
    }
}
