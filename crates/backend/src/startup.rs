//! Building and running the backend: open its own store, recover interrupted
//! runs, start following the auth service's revocations (without waiting for
//! it: the backend starts and serves while the auth service is down), bind
//! the listener (port 0 in tests).

use crate::bus::InProcessBus;
use crate::config::{Config, LlmConfig};
use crate::datasets::DatasetCache;
use crate::gate::{CloseOrder, Connections, Revocations};
use crate::http::{AppState, router};
use crate::protocol::close;
use crate::runs::RunManager;
use crate::store;
use crate::ws::UserLimits;
use agents::{LanguageModel, NoModel, Supervisor};
use auth_client::{
    AuthClient, AuthClientConfig, RevocationEvent, RevocationFollower, RevocationKind,
};
use axum::serve::ListenerExt as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot create {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("auth client configuration: {0}")]
    AuthClient(#[from] auth_client::ConfigError),
    #[error("price overrides: {0}")]
    Prices(#[from] pricing::PricingError),
    #[error("language model: {0}")]
    Llm(#[from] agents::LlmError),
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    follower: RevocationFollower,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let dir = config.backend_dir();
        let datasets_dir = dir.join("datasets");
        std::fs::create_dir_all(&datasets_dir).map_err(|source| StartupError::DataDir {
            path: datasets_dir.display().to_string(),
            source,
        })?;
        let store = store::connect(&config.database_url, config.database_max_connections).await?;
        let shutdown = CancellationToken::new();
        let bus = Arc::new(InProcessBus::new(config.limits.connection_queue));
        let mut catalogue = pricing::Catalogue::embedded();
        if let Some(path) = &config.prices_file {
            catalogue = catalogue.with_overrides(path)?;
        }
        let catalogue = Arc::new(catalogue);
        let model: Arc<dyn LanguageModel> = match &config.llm {
            LlmConfig::None => Arc::new(NoModel),
            LlmConfig::OpenAiCompatible {
                base_url,
                api_key,
                model,
            } => {
                let mut c = agents::OpenAiConfig::new(base_url.clone(), model.clone());
                c.api_key = api_key.clone();
                Arc::new(agents::OpenAiCompatible::new(c)?)
            }
            LlmConfig::Anthropic {
                base_url,
                api_key,
                model,
            } => {
                let mut c = agents::AnthropicConfig::new(api_key.clone(), model.clone());
                c.base_url = base_url.clone();
                Arc::new(agents::Anthropic::new(c)?)
            }
        };
        let datasets = Arc::new(DatasetCache::new(store.clone(), datasets_dir, 4));
        let runs = Arc::new(RunManager::new(
            store.clone(),
            bus.clone(),
            Arc::new(Supervisor::new(model)),
            catalogue.clone(),
            datasets.clone(),
            shutdown.clone(),
            config.run_event_delay,
        ));
        runs.recover_interrupted().await?;

        let mut ac = AuthClientConfig::new(
            config.auth_url.clone(),
            config.service_client_id.clone(),
            config.service_client_secret.clone(),
        );
        ac.issuer = Some(config.issuer());
        let auth = AuthClient::new(ac)?;
        let revocations = Arc::new(Revocations::default());
        let connections = Arc::new(Connections::default());
        let follower = {
            let (revocations, connections) = (revocations.clone(), connections.clone());
            RevocationFollower::spawn(
                auth.clone(),
                0,
                move |ev: RevocationEvent| apply_revocation(&revocations, &connections, &ev),
                shutdown.clone(),
            )
        };
        let addr = config.bind;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?
            .port();
        let state = AppState {
            config: Arc::new(config),
            store,
            bus,
            runs,
            datasets,
            catalogue,
            auth,
            follower: follower.state(),
            revocations,
            connections,
            user_limits: Arc::new(UserLimits::default()),
            shutdown,
        };
        Ok(Application {
            listener,
            port,
            state,
            follower,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.state.shutdown.clone()
    }

    /// Serves until the shutdown token is cancelled.
    pub async fn run_until_stopped(self) -> Result<(), StartupError> {
        let state = self.state.clone();
        let maintenance = tokio::spawn(maintenance(state.clone()));
        let shutdown = state.shutdown.clone();
        // No Nagle delay: run events are small frames written one after another, and
        // with Nagle each one after the first waits for the client's delayed ACK (~40 ms).
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let served = axum::serve(
            listener,
            router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
        state.shutdown.cancel();
        maintenance.abort();
        drop(self.follower);
        served.map_err(StartupError::Serve)
    }
}

/// Applies one revocation: refuse the session's tokens from now on and close its sockets.
fn apply_revocation(revocations: &Revocations, connections: &Connections, ev: &RevocationEvent) {
    let at = chrono::DateTime::parse_from_rfc3339(&ev.revoked_at)
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|_| crate::runs::now_ms());
    let order = CloseOrder {
        code: close::SESSION_REVOKED,
        reason: "session_revoked",
    };
    let closed = match (ev.kind, ev.session_id) {
        (RevocationKind::Session, Some(sid)) => {
            revocations.revoke_session(sid, at);
            connections.close_session(sid, &order)
        }
        _ => {
            revocations.revoke_user(ev.user_id, at);
            connections.close_user(ev.user_id, &order)
        }
    };
    tracing::info!(cursor = ev.cursor, user = %ev.user_id, closed, reason = %ev.reason, "revocation applied");
}

/// Ticket purge and revocation pruning, every minute.
async fn maintenance(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = crate::runs::now_ms();
        state.revocations.prune(now);
        if let Err(e) = state.store.purge_tickets(now).await {
            tracing::warn!(error = %e, "ticket purge failed");
        }
    }
}
