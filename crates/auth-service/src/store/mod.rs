//! Persistence for the auth service: one [`AuthStore`] interface, two
//! implementations (SQLite, the embedded default, and PostgreSQL).
//!
//! The store holds data and offers atomic primitives (compare-and-set on a
//! refresh token, revocation plus feed row in one transaction); the policy
//! (grace windows, throttling curves, key rotation) lives in the services
//! that call it. All timestamps are Unix epoch milliseconds (`i64`) so both
//! databases store them the same way.

mod postgres;
mod rows;
mod sql_impl;
mod sqlite;
pub mod testing;
#[cfg(test)]
mod tests;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;

/// Errors from the storage layer. Details are for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint was violated (e.g. an email already taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be decoded (corrupt row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A user's role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    /// Normalised (trimmed, NFC-free ASCII-lowercased domain and local part) email.
    pub email: String,
    pub name: Option<String>,
    /// PHC string of the Argon2id hash.
    pub password_hash: String,
    pub role: Role,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A stored session (one sign-in on one device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub created_at: i64,
    pub last_used_at: i64,
    /// Sliding expiry: pushed forward on every refresh.
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
}

/// A refresh token, stored only as the SHA-256 of the opaque token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub hash: [u8; 32],
    pub session_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set when this token was exchanged for a new one.
    pub rotated_at: Option<i64>,
}

/// A refresh token with its session and that session's user: what a refresh
/// or a refresh-token introspection needs, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshContext {
    pub token: RefreshTokenRecord,
    pub session: SessionRecord,
    pub user: UserRecord,
}

/// What a session row is created with.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// What a refresh token row is created with.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub hash: [u8; 32],
    pub session_id: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Kind of revocation in the feed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RevocationKind {
    /// One session was revoked (`session_id` set).
    Session,
    /// Every session of a user was revoked (`session_id` empty).
    User,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::Session => "session",
            RevocationKind::User => "user",
        }
    }
}

/// One entry of the revocation feed. `cursor` grows strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    pub cursor: i64,
    pub kind: RevocationKind,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub revoked_at: i64,
    pub reason: String,
}

/// Throttling state for one key (`acct:<email>` or `ip:<addr>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    pub key: String,
    /// Consecutive failures since the last success or reset.
    pub failures: i64,
    pub last_failure_at: i64,
}

/// A signing key. The private key is stored encrypted (AEAD with the master
/// key); the store never sees it in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    /// Raw 32-byte Ed25519 public key.
    pub public_key: Vec<u8>,
    /// Nonce || ciphertext of the 32-byte private seed.
    pub private_key_encrypted: Vec<u8>,
    pub created_at: i64,
    /// From this instant the key may sign (it is published before).
    pub activates_at: i64,
    /// From this instant the key no longer signs.
    pub retires_at: i64,
    /// From this instant the key leaves the JWKS (every token it signed has expired).
    pub expires_at: i64,
}

/// An audit event to append.
#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub at: i64,
    /// Stable event name, e.g. `login_succeeded`, `refresh_token_reused`.
    pub event: String,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    /// Free-form JSON detail (never secrets).
    pub detail: serde_json::Value,
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub event: String,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

/// Result of a compare-and-set rotation of a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented token was current; it is now marked rotated and the new one stored.
    Rotated,
    /// The presented token had already been rotated (by a concurrent caller); nothing written.
    AlreadyRotated,
}

/// The auth service's storage interface.
#[async_trait]
pub trait AuthStore: Send + Sync + 'static {
    /// Backend name for logs and `/readyz` ("sqlite" or "postgres").
    fn backend(&self) -> &'static str;

    /// Cheap round trip (`SELECT 1`).
    async fn ping(&self) -> StoreResult<()>;

    /// Closes the pool: later calls fail (shutdown, and tests of an unreachable database).
    async fn close(&self);

    // --- users ---

    /// Inserts a user. `StoreError::Conflict("email_taken")` if the email exists.
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()>;
    /// Inserts a user, a session and its first refresh token in one transaction.
    /// `StoreError::Conflict("email_taken")` if the email exists (nothing written).
    async fn create_user_with_session(
        &self,
        user: &UserRecord,
        session: &NewSession,
        refresh: &NewRefreshToken,
    ) -> StoreResult<()>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>>;
    /// Users ordered by `created_at`, then id.
    async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<Vec<UserRecord>>;
    /// Sets a user's role; false if no such user.
    async fn set_role(&self, id: Uuid, role: Role, now: i64) -> StoreResult<bool>;

    // --- sessions and refresh tokens ---

    /// Inserts a session and its first refresh token in one transaction.
    async fn create_session(
        &self,
        session: &NewSession,
        refresh: &NewRefreshToken,
    ) -> StoreResult<()>;
    async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>>;
    /// Sessions of a user that are not revoked and not expired at `now`, newest first.
    async fn active_sessions(&self, user_id: Uuid, now: i64) -> StoreResult<Vec<SessionRecord>>;
    async fn refresh_token(&self, hash: &[u8; 32]) -> StoreResult<Option<RefreshTokenRecord>>;
    /// The token with its session and user, in one read; `None` when the token is unknown.
    async fn refresh_context(&self, hash: &[u8; 32]) -> StoreResult<Option<RefreshContext>>;
    /// In one transaction: if the token `old` is not yet rotated, mark it rotated at `now`,
    /// insert `new`, and slide the session (`last_used_at = now`, `expires_at = new.expires_at`,
    /// and `ip`/`user_agent` when given). Otherwise write nothing and answer `AlreadyRotated`.
    async fn rotate_refresh_token(
        &self,
        old: &[u8; 32],
        new: &NewRefreshToken,
        now: i64,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> StoreResult<RotateOutcome>;
    /// Inserts one more refresh token for an existing session (grace-window reuse) and slides it
    /// like `rotate_refresh_token` does.
    async fn add_refresh_token(&self, new: &NewRefreshToken, now: i64) -> StoreResult<()>;
    /// Revokes a session if it is not already revoked, and appends a `Session` row to the
    /// revocation feed, in one transaction. False if the session was missing or already revoked.
    async fn revoke_session(&self, id: Uuid, now: i64, reason: &str) -> StoreResult<bool>;
    /// Revokes every unrevoked session of a user and appends one `User` row to the feed, in one
    /// transaction. Returns how many sessions were revoked.
    async fn revoke_user_sessions(&self, user_id: Uuid, now: i64, reason: &str)
    -> StoreResult<u64>;
    /// Deletes refresh tokens and sessions that expired before `now` minus `keep_ms`. Returns rows deleted.
    async fn purge_expired(&self, now: i64, keep_ms: i64) -> StoreResult<u64>;

    // --- revocation feed ---

    /// Feed entries with `cursor > after`, ascending, at most `limit`.
    async fn revocations_after(&self, after: i64, limit: i64)
    -> StoreResult<Vec<RevocationRecord>>;
    /// The highest cursor (0 when the feed is empty).
    async fn latest_revocation_cursor(&self) -> StoreResult<i64>;

    // --- throttling ---

    async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>>;
    /// Atomically increments the failure count of `key` (creating it), sets `last_failure_at`,
    /// and returns the new state.
    async fn throttle_failure(&self, key: &str, now: i64) -> StoreResult<ThrottleRecord>;
    /// Forgets `key` (after a successful login).
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;

    // --- signing keys ---

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// All signing keys, ordered by `activates_at`.
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Deletes keys whose `expires_at` is before `now`. Returns how many.
    async fn delete_expired_signing_keys(&self, now: i64) -> StoreResult<u64>;

    // --- audit ---

    async fn append_audit(&self, event: &NewAuditEvent) -> StoreResult<()>;
    /// Newest first; only ids below `before` when given.
    async fn audit_events(&self, limit: i64, before: Option<i64>) -> StoreResult<Vec<AuditRecord>>;
}

/// Opens the store named by `database_url`: `postgres://` or `postgresql://` opens
/// PostgreSQL, `sqlite:` opens SQLite (file created, WAL). Runs migrations.
pub async fn connect(database_url: &str, max_connections: u32) -> StoreResult<Arc<dyn AuthStore>> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            PostgresStore::connect(database_url, max_connections).await?,
        ))
    } else {
        Ok(Arc::new(
            SqliteStore::connect(database_url, max_connections).await?,
        ))
    }
}
