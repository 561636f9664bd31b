//! The auth service's use cases, independent of HTTP: accounts (register,
//! login), sessions (refresh, logout, revocation), token verification and
//! introspection, the revocation feed, and administration.
//!
//! Handlers call these and map [`ApiError`]s to responses.

mod accounts;
mod admin;
mod feed;
mod live_sessions;
mod sessions;
mod tokens;

pub use admin::AuditView;
pub use feed::{FeedEvent, FeedPage};
pub use live_sessions::{LiveSessions, SYNC_INTERVAL as LIVE_SESSION_SYNC_INTERVAL};
pub use sessions::{AuthContext, SessionView};
pub use tokens::Introspection;

use crate::clock::{SharedClock, rfc3339};
use crate::config::Config;
use crate::domain::keys::KeyManager;
use crate::domain::password::PasswordHasher;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store::{AuthStore, NewAuditEvent, UserRecord};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::watch;
use uuid::Uuid;

/// Who is calling, as recorded on sessions and in the audit log.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: crate::store::Role,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        UserView {
            id: u.id,
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// Answer of register, login and refresh.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub user: UserView,
    pub access_token: String,
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Access-token lifetime in seconds.
    pub expires_in: u64,
    pub session_id: Uuid,
}

/// What a revocation ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Revoked {
    Session(Uuid),
    /// Every session of the user.
    User(Uuid),
}

/// Everything the use cases need, passed in (no globals).
pub struct AuthService {
    pub(crate) store: Arc<dyn AuthStore>,
    pub(crate) config: Arc<Config>,
    pub(crate) hasher: PasswordHasher,
    pub(crate) keys: Arc<KeyManager>,
    pub(crate) clock: SharedClock,
    pub(crate) metrics: Arc<Metrics>,
    /// The issuer (`iss`), i.e. the public base URL.
    pub(crate) issuer: String,
    /// Latest revocation-feed cursor written by this process, to wake long-polls.
    pub(crate) revoked: watch::Sender<i64>,
    /// Sessions known to be live (introspection and bearer authentication).
    pub(crate) live: LiveSessions,
}

impl AuthService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn AuthStore>,
        config: Arc<Config>,
        hasher: PasswordHasher,
        keys: Arc<KeyManager>,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        issuer: String,
    ) -> Self {
        let (revoked, _) = watch::channel(0);
        AuthService {
            store,
            config,
            hasher,
            keys,
            clock,
            metrics,
            issuer,
            revoked,
            live: LiveSessions::default(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn store(&self) -> &Arc<dyn AuthStore> {
        &self.store
    }

    pub fn keys(&self) -> &KeyManager {
        &self.keys
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Appends to the audit log; a failure is logged, never hidden, but does not fail the request.
    pub(crate) async fn audit(
        &self,
        event: &str,
        user_id: Option<Uuid>,
        session_id: Option<Uuid>,
        client: &ClientInfo,
        detail: serde_json::Value,
    ) {
        let rec = NewAuditEvent {
            at: self.now_ms(),
            event: event.to_owned(),
            user_id,
            session_id,
            ip: client.ip.clone(),
            detail,
        };
        if let Err(e) = self.store.append_audit(&rec).await {
            tracing::error!(error = %e, event, "audit log write failed");
        }
    }

    /// After a revocation: forgets the revoked sessions in the live-session
    /// cache (before the request that revoked is answered), then wakes
    /// revocation-feed followers.
    pub(crate) async fn notify_revocation(&self, revoked: Revoked) {
        match revoked {
            Revoked::Session(id) => self.live.evict_session(id),
            Revoked::User(id) => self.live.evict_user(id),
        }
        match self.store.latest_revocation_cursor().await {
            Ok(c) => {
                self.revoked.send_replace(c);
            }
            Err(e) => tracing::warn!(error = %e, "could not read the revocation cursor"),
        }
    }

    pub(crate) fn ttl_ms(d: std::time::Duration) -> i64 {
        i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
    }
}

impl From<crate::domain::password::HashError> for ApiError {
    fn from(e: crate::domain::password::HashError) -> Self {
        match e {
            crate::domain::password::HashError::Overloaded => ApiError::Overloaded {
                retry_after_secs: 1,
            },
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::domain::keys::KeyError> for ApiError {
    fn from(e: crate::domain::keys::KeyError) -> Self {
        ApiError::internal(e)
    }
}
