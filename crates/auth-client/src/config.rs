//! The client's configuration: where the auth service is, the service
//! credentials, timeouts, the JWKS refetch window and the circuit breaker.

use secrecy::SecretString;
use std::time::Duration;

/// The largest accepted clock-skew leeway for token expiry.
pub const MAX_LEEWAY: Duration = Duration::from_secs(30);

/// Circuit-breaker settings: the breaker opens after `failure_threshold`
/// consecutive failures (transport errors, timeouts, 5xx; never 4xx), refuses
/// calls for `open_duration`, then lets one trial call through (half-open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    pub failure_threshold: u32,
    pub open_duration: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_duration: Duration::from_secs(10),
        }
    }
}

/// Configuration of an [`AuthClient`](crate::AuthClient).
#[derive(Debug, Clone)]
pub struct AuthClientConfig {
    /// The auth service's base URL, e.g. `http://127.0.0.1:8081` (a trailing `/` is ignored).
    pub base_url: String,
    /// The expected `iss` of access tokens; `None` means the base URL.
    pub issuer: Option<String>,
    /// Service credentials (HTTP Basic) for introspection and the revocation feed.
    pub client_id: String,
    pub client_secret: SecretString,
    /// Whole-call timeout of a request (long-polls get their wait on top).
    pub request_timeout: Duration,
    /// Whole-call timeout of a passed-through account call (login and
    /// register hash a password and may be throttled: seconds, not millis).
    pub account_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// An unknown key id refetches the JWKS at most once per this interval.
    pub jwks_min_refetch_interval: Duration,
    /// Clock-skew allowance on `exp` (at most [`MAX_LEEWAY`]).
    pub leeway: Duration,
    pub breaker: BreakerConfig,
}

impl AuthClientConfig {
    /// A configuration with the defaults: 2 s request timeout, 1 s connect
    /// timeout, 20 s account-call timeout, 5 s JWKS refetch window, 5 s leeway, breaker 5 failures / 10 s.
    pub fn new(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        AuthClientConfig {
            base_url: base_url.into(),
            issuer: None,
            client_id: client_id.into(),
            client_secret,
            request_timeout: Duration::from_secs(2),
            account_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(1),
            jwks_min_refetch_interval: Duration::from_secs(5),
            leeway: Duration::from_secs(5),
            breaker: BreakerConfig::default(),
        }
    }

    /// The base URL without a trailing `/`.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// The expected issuer (the base URL unless set).
    pub fn expected_issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or_else(|| self.base())
    }

    /// Checks the values; [`AuthClient::new`](crate::AuthClient::new) calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let url =
            reqwest::Url::parse(self.base()).map_err(|e| ConfigError::BaseUrl(e.to_string()))?;
        if url.scheme() != "http" {
            return Err(ConfigError::BaseUrl(format!(
                "scheme {:?} is not supported (only http://; no TLS backend is compiled in)",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::BaseUrl("no host".into()));
        }
        if self.client_id.is_empty() || self.client_id.contains(':') {
            return Err(ConfigError::ClientId);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::Leeway(self.leeway));
        }
        if self.breaker.failure_threshold == 0 {
            return Err(ConfigError::BreakerThreshold);
        }
        if self.request_timeout.is_zero()
            || self.account_timeout.is_zero()
            || self.connect_timeout.is_zero()
        {
            return Err(ConfigError::Timeout);
        }
        Ok(())
    }
}

/// A configuration the client refuses.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("auth service base URL is not usable: {0}")]
    BaseUrl(String),
    #[error("the service client id must be non-empty and contain no ':'")]
    ClientId,
    #[error("leeway {0:?} exceeds the maximum of 30 s")]
    Leeway(Duration),
    #[error("the breaker's failure threshold must be at least 1")]
    BreakerThreshold,
    #[error("timeouts must be greater than zero")]
    Timeout,
    #[error("the HTTP client could not be built: {0}")]
    Http(#[source] reqwest::Error),
}
