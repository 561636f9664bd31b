//! [`AuthClient`]: local token verification with the cached JWKS, and the
//! calls to the auth service (JWKS, discovery, introspection, revocation
//! feed), each with a timeout, through the circuit breaker, recorded in the
//! reachability status the backend's `/readyz` reports.

use crate::breaker::{Breaker, BreakerState};
use crate::clock::{Clock, SystemClock, millis, system_time};
use crate::config::{AuthClientConfig, ConfigError};
use crate::error::{AuthClientError, UnavailableKind, VerifyError};
use crate::jwks::{FetchState, KeyCache};
use crate::models::{Discovery, Introspection, Jwks, RevocationPage};
use crate::transport::{Counters, Health, Transport};
use crate::verify::{self, VerifiedToken};
use ed25519_dalek::VerifyingKey;
use secrecy::{ExposeSecret as _, SecretString};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The longest wait the revocation feed accepts.
const MAX_FEED_WAIT: Duration = Duration::from_secs(30);

/// Whether the auth service answers, for readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthServiceStatus {
    /// The last call got an answer (any status below 500).
    Reachable,
    /// The last call failed (or none was made yet); `since` is when the
    /// current run of failures began (the client's creation when none was made).
    Unreachable {
        since: SystemTime,
        last_error: String,
    },
}

impl AuthServiceStatus {
    pub fn is_reachable(&self) -> bool {
        matches!(self, AuthServiceStatus::Reachable)
    }

    /// `reachable` or `unreachable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthServiceStatus::Reachable => "reachable",
            AuthServiceStatus::Unreachable { .. } => "unreachable",
        }
    }
}

/// Counters since the client was built (shared by its clones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthClientStats {
    /// HTTP requests sent (calls the breaker refused are not sent).
    pub requests: u64,
    /// Requests that failed (transport error, timeout, 5xx).
    pub failures: u64,
    /// Calls refused by the open breaker without a request.
    pub rejected_by_breaker: u64,
    /// JWKS requests sent.
    pub jwks_fetches: u64,
    /// Keys in the cache.
    pub cached_keys: usize,
    pub breaker: BreakerState,
}

/// The auth service's client. Cheap to clone (an `Arc` inside); clones share
/// the key cache, the breaker, the status and the counters.
#[derive(Clone)]
pub struct AuthClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    issuer: String,
    client_id: String,
    client_secret: SecretString,
    request_timeout: Duration,
    account_timeout: Duration,
    min_refetch_ms: i64,
    leeway_secs: i64,
    transport: Transport,
    keys: KeyCache,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("base", &self.inner.base)
            .field("issuer", &self.inner.issuer)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

impl AuthClient {
    /// A client on the system clock. Makes no request: the JWKS is fetched
    /// on the first verification (or [`AuthClient::ready`]).
    pub fn new(config: AuthClientConfig) -> Result<AuthClient, ConfigError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A client reading the time from `clock` (token expiry, refetch window, breaker).
    pub fn with_clock(
        config: AuthClientConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<AuthClient, ConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .no_proxy()
            .user_agent(concat!("apex-auth-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ConfigError::Http)?;
        let created = clock.now_ms();
        Ok(AuthClient {
            inner: Arc::new(Inner {
                base: config.base().to_owned(),
                issuer: config.expected_issuer().to_owned(),
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                request_timeout: config.request_timeout,
                account_timeout: config.account_timeout,
                min_refetch_ms: millis(config.jwks_min_refetch_interval),
                leeway_secs: i64::try_from(config.leeway.as_secs()).unwrap_or(0),
                transport: Transport {
                    http,
                    clock,
                    breaker: Breaker::new(config.breaker),
                    health: Mutex::new(Health::Unreachable {
                        since_ms: created,
                        last_error: "not contacted yet".into(),
                    }),
                    counters: Counters::default(),
                },
                keys: KeyCache::default(),
            }),
        })
    }

    /// A client whose key cache starts with `jwks` (for the configured
    /// issuer), as if fetched: for benchmarks and tests that sign tokens
    /// locally. Unknown key ids still refetch from `base_url`.
    pub fn with_static_jwks(
        config: AuthClientConfig,
        clock: Arc<dyn Clock>,
        jwks: &Jwks,
    ) -> Result<AuthClient, ConfigError> {
        let client = Self::with_clock(config, clock)?;
        client.inner.keys.install(&client.inner.issuer, jwks);
        Ok(client)
    }

    /// The auth service's base URL (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Whole-call timeout of a passed-through account call.
    pub(crate) fn account_timeout(&self) -> Duration {
        self.inner.account_timeout
    }

    /// The expected `iss` of tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    fn now_ms(&self) -> i64 {
        self.inner.transport.clock.now_ms()
    }

    /// Verifies an access token locally: EdDSA only, a `kid` of the cached
    /// JWKS (an unknown one refetches the JWKS at most once per refetch
    /// window, single-flight), the signature, the issuer, the expiry (with
    /// the leeway). Makes no request while the key is cached.
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        let parsed = verify::parse(token)?;
        // Checked before any key lookup, so foreign tokens never trigger a refetch.
        if parsed.claims.iss != self.inner.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        let key = match self.inner.keys.get(&self.inner.issuer, &parsed.kid) {
            Some(key) => key,
            None => self.refetched_key(&parsed.kid).await?,
        };
        verify::check(
            parsed,
            &key,
            self.now_ms().div_euclid(1000),
            self.inner.leeway_secs,
        )
    }

    /// The key `kid` after at most one refetch shared with concurrent callers.
    async fn refetched_key(&self, kid: &str) -> Result<VerifyingKey, VerifyError> {
        let inner = &self.inner;
        let seen = inner.keys.generation();
        let mut state = inner.keys.fetch.lock().await;
        if let Some(key) = inner.keys.get(&inner.issuer, kid) {
            return Ok(key);
        }
        let mut failure = None;
        // A fetch that finished while we waited for the lock answers for us too.
        if inner.keys.generation() == seen {
            let now = self.now_ms();
            let due = state
                .last_refetch_ms
                .is_none_or(|t| now < t || now - t >= inner.min_refetch_ms);
            if due {
                tracing::debug!(kid, "unknown key id: refetching the JWKS");
                if let Err(e) = self.fetch_keys(&mut state).await {
                    failure = Some(e);
                }
                if let Some(key) = inner.keys.get(&inner.issuer, kid) {
                    return Ok(key);
                }
            }
        }
        drop(state);
        if inner.keys.installed() {
            Err(VerifyError::UnknownKey(kid.chars().take(64).collect()))
        } else {
            Err(VerifyError::Unavailable(failure.map_or_else(
                || "the JWKS has not been fetched yet".to_owned(),
                |e| e.to_string(),
            )))
        }
    }

    /// Fetches the JWKS and installs it; the caller holds the fetch lock.
    async fn fetch_keys(&self, state: &mut FetchState) -> Result<Jwks, AuthClientError> {
        let inner = &self.inner;
        state.last_refetch_ms = Some(self.now_ms());
        inner
            .transport
            .counters
            .jwks_fetches
            .fetch_add(1, Ordering::Relaxed);
        let req = inner
            .transport
            .http
            .get(format!("{}/.well-known/jwks.json", inner.base));
        let result = inner
            .transport
            .call::<Jwks>("jwks", req, inner.request_timeout)
            .await;
        match &result {
            Ok(jwks) => {
                let n = inner.keys.install(&inner.issuer, jwks);
                tracing::info!(keys = n, "auth service JWKS fetched");
            }
            Err(
                e @ AuthClientError::Unavailable {
                    kind: UnavailableKind::CircuitOpen,
                    ..
                },
            ) => tracing::debug!(error = %e, "auth service JWKS fetch refused; cached keys kept"),
            Err(e) => {
                tracing::warn!(error = %e, "auth service JWKS fetch failed; cached keys kept")
            }
        }
        inner.keys.fetch_finished();
        result
    }

    /// Fetches the JWKS (`/.well-known/jwks.json`) and replaces the cached
    /// keys with it; on failure the cache is unchanged.
    pub async fn jwks(&self) -> Result<Jwks, AuthClientError> {
        let mut state = self.inner.keys.fetch.lock().await;
        self.fetch_keys(&mut state).await
    }

    /// The discovery document (`/.well-known/openid-configuration`).
    pub async fn discovery(&self) -> Result<Discovery, AuthClientError> {
        let inner = &self.inner;
        let req = inner
            .transport
            .http
            .get(format!("{}/.well-known/openid-configuration", inner.base));
        inner
            .transport
            .call("discovery", req, inner.request_timeout)
            .await
    }

    /// RFC 7662 introspection of an access or refresh token (a request: use
    /// it where revocation must be known now; [`AuthClient::verify`] otherwise).
    /// Wrong service credentials answer `Status { status: 401, code: "invalid_client" }`.
    pub async fn introspect(&self, token: &str) -> Result<Introspection, AuthClientError> {
        let inner = &self.inner;
        let req = inner
            .transport
            .http
            .post(format!("{}/v1/introspect", inner.base))
            .basic_auth(&inner.client_id, Some(inner.client_secret.expose_secret()))
            .form(&[("token", token)]);
        inner
            .transport
            .call("introspect", req, inner.request_timeout)
            .await
    }

    /// One page of the revocation feed after `after`; when there is none yet
    /// the service holds the request up to `wait` (capped at 30 s) and answers
    /// as soon as a revocation is written. The timeout is `wait` plus the
    /// request timeout.
    pub async fn revocations(
        &self,
        after: i64,
        wait: Duration,
    ) -> Result<RevocationPage, AuthClientError> {
        let inner = &self.inner;
        let wait = wait.min(MAX_FEED_WAIT);
        let req = inner
            .transport
            .http
            .get(format!("{}/v1/revocations", inner.base))
            .basic_auth(&inner.client_id, Some(inner.client_secret.expose_secret()))
            .query(&[
                ("after", after.max(0).to_string()),
                ("wait", wait.as_secs().to_string()),
            ]);
        inner
            .transport
            .call("revocations", req, inner.request_timeout + wait)
            .await
    }

    /// Reachability as last observed (no request). `Unreachable` until the
    /// first call answers.
    pub fn status(&self) -> AuthServiceStatus {
        match self.inner.transport.health() {
            Health::Reachable => AuthServiceStatus::Reachable,
            Health::Unreachable {
                since_ms,
                last_error,
            } => AuthServiceStatus::Unreachable {
                since: system_time(since_ms),
                last_error,
            },
        }
    }

    /// Readiness for the backend's `/readyz`: when no JWKS is cached yet or
    /// the service was last seen unreachable, fetches the JWKS now (through
    /// the breaker, so a down service is not hammered), then reports the
    /// status. `Reachable` therefore also means the keys are cached.
    pub async fn ready(&self) -> AuthServiceStatus {
        if !self.inner.keys.installed() || !self.status().is_reachable() {
            // The outcome is recorded in the status read below.
            let _ = self.jwks().await;
        }
        match self.status() {
            AuthServiceStatus::Reachable if !self.inner.keys.installed() => {
                AuthServiceStatus::Unreachable {
                    since: system_time(self.now_ms()),
                    last_error: "the JWKS has not been fetched yet".into(),
                }
            }
            s => s,
        }
    }

    /// Counters and the breaker's state.
    pub fn stats(&self) -> AuthClientStats {
        let c = &self.inner.transport.counters;
        AuthClientStats {
            requests: c.requests.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            rejected_by_breaker: c.rejected_by_breaker.load(Ordering::Relaxed),
            jwks_fetches: c.jwks_fetches.load(Ordering::Relaxed),
            cached_keys: self.inner.keys.key_count(),
            breaker: self.inner.transport.breaker.state(self.now_ms()),
        }
    }
}
