//! Building and running the application: open the store, load or generate
//! the master key, rotate keys, bind the listener (port 0 in tests), and run
//! background maintenance until shutdown.

use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, Environment};
use crate::domain::keys::{KeyManager, MasterKey, RotationPolicy};
use crate::domain::password::PasswordHasher;
use crate::http::{AppState, router};
use crate::metrics::Metrics;
use crate::service::AuthService;
use crate::store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Start-up failures.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("keys: {0}")]
    Keys(#[from] crate::domain::keys::KeyError),
    #[error("password hasher: {0}")]
    Hasher(#[from] crate::domain::password::HashError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// A built, bound, not yet running application.
pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    shutdown: CancellationToken,
}

impl Application {
    /// Builds with the system clock.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds with the given clock (tests move time).
    pub async fn build_with_clock(
        config: Config,
        clock: SharedClock,
    ) -> Result<Application, StartupError> {
        let addr = config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;
        let mut config = config;
        // The issuer is the public URL; without one configured it is the bound address.
        config
            .public_url
            .get_or_insert_with(|| format!("http://{local}"));
        let state = build_state(config, clock, None).await?;
        Ok(Application {
            listener,
            port: local.port(),
            state,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The issuer and base URL.
    pub fn base_url(&self) -> &str {
        self.state.auth.issuer()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// A token that stops the server gracefully when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let maintenance = tokio::spawn(maintenance(self.state.clone(), self.shutdown.clone()));
        let live_sync = tokio::spawn(follow_revocations(
            self.state.clone(),
            self.shutdown.clone(),
        ));
        let app = router(self.state.clone());
        let shutdown = self.shutdown.clone();
        let served = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        self.shutdown.cancel();
        maintenance.abort();
        live_sync.abort();
        served.map_err(StartupError::Serve)
    }
}

/// Opens everything the service needs. `master_override` lets a CLI command reuse this.
pub async fn build_state(
    config: Config,
    clock: SharedClock,
    master_override: Option<MasterKey>,
) -> Result<AppState, StartupError> {
    let dir = config.auth_dir();
    std::fs::create_dir_all(&dir).map_err(|source| StartupError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    #[cfg(unix)]
    {
        // The directory holds password hashes and the master key: owner only.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(
            |source| StartupError::DataDir {
                path: dir.display().to_string(),
                source,
            },
        )?;
    }
    let store = store::connect(&config.database_url, config.database_max_connections).await?;
    let master = match (master_override, &config.master_key) {
        (Some(m), _) => m,
        (None, Some(k)) => MasterKey::parse(k)?,
        (None, None) => {
            debug_assert!(
                config.environment == Environment::Local,
                "validated: production has a master key"
            );
            MasterKey::load_or_generate(&dir.join("master.key"))?
        }
    };
    let policy = RotationPolicy {
        interval: config.key_rotation_interval,
        publish_ahead: config.key_publish_ahead,
        access_token_ttl: config.access_token_ttl,
    };
    let keys = Arc::new(KeyManager::new(store.clone(), master, policy));
    keys.rotate(clock.now_ms()).await?;
    let hasher = PasswordHasher::new(config.argon2, config.hash_concurrency, config.hash_queue)?;
    let metrics = Arc::new(Metrics::new());
    let issuer = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind));
    let config = Arc::new(config);
    let auth = Arc::new(AuthService::new(
        store,
        config.clone(),
        hasher,
        keys,
        clock,
        metrics.clone(),
        issuer,
    ));
    auth.init_live_sessions().await?;
    Ok(AppState {
        auth,
        config,
        metrics,
    })
}

/// Applies revocations written by other replicas to the live-session cache.
async fn follow_revocations(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(crate::service::LIVE_SESSION_SYNC_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = state.auth.sync_live_sessions().await {
            tracing::warn!(error = %e, "could not read the revocation feed for the session cache");
        }
    }
}

/// Key rotation and purging of expired sessions, every minute.
async fn maintenance(state: AppState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = state.auth.now_ms();
        if let Err(e) = state.auth.keys().rotate(now).await {
            tracing::error!(error = %e, "key rotation failed");
        }
        match state
            .auth
            .store()
            .purge_expired(now, 24 * 3600 * 1000)
            .await
        {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions and tokens purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
    }
}
