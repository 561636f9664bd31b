//! PostgreSQL backend, for deployments that share one user base between
//! several replicas.
//!
//! Transactions run at the default READ COMMITTED level. The compare-and-set
//! updates (`... WHERE rotated_at IS NULL`, `... WHERE revoked_at IS NULL`)
//! are safe there: a second concurrent updater waits for the first's row lock
//! and then re-checks the condition against the committed row.
//!
//! The revocation feed needs one more guarantee: a follower reads
//! `cursor > after`, so a row must never become visible after a row with a
//! higher cursor. Identity values are handed out at insert time but become
//! visible at commit, in any order; every transaction that appends to the feed
//! therefore first takes a transaction-scoped advisory lock, so feed rows are
//! numbered and committed one transaction at a time.

use super::StoreResult;
use super::sql_impl::{SqlDialect, impl_auth_store};
use sqlx::postgres::{PgConnection, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Key of the advisory lock that serialises appends to the revocation feed
/// (the ASCII bytes of "apexrevo").
const REVOCATION_FEED_LOCK: i64 = 0x6170_6578_7265_766f;

/// The PostgreSQL implementation of [`AuthStore`](super::AuthStore).
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db`) with a pool of
    /// up to `max_connections` connections and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

impl SqlDialect for PostgresStore {
    type Db = Postgres;

    const BACKEND: &'static str = "postgres";
    // JSONB goes in as text cast to `jsonb` and comes out cast back to text, so
    // sqlx's `json` feature is not needed.
    const INSERT_AUDIT: &'static str = "INSERT INTO audit_log \
        (at, event, user_id, session_id, ip, detail) VALUES ($1, $2, $3, $4, $5, $6::jsonb)";
    const SELECT_AUDIT: &'static str = "SELECT id, at, event, user_id, session_id, ip, \
        detail::text AS detail FROM audit_log WHERE ($2::bigint IS NULL OR id < $2) \
        ORDER BY id DESC LIMIT $1";

    /// The refresh-token rotation as one statement: data-modifying CTEs chain the
    /// compare-and-set, the insert and the session's slide, so it is atomic
    /// without a transaction round trip. Binds `$1 now, $2 old hash, $3 new hash,
    /// $4 session id, $5 new created_at, $6 new expires_at, $7 ip, $8 user agent`;
    /// returns the session's id when the rotation happened, no row otherwise.
    const ROTATE_REFRESH_TOKEN: &'static str = "WITH rotated AS ( \
            UPDATE refresh_tokens SET rotated_at = $1 \
            WHERE hash = $2 AND rotated_at IS NULL RETURNING session_id \
        ), added AS ( \
            INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
            SELECT $3, $4, $5, $6 FROM rotated RETURNING session_id \
        ) \
        UPDATE sessions SET last_used_at = $1, expires_at = $6, \
            ip = COALESCE($7, ip), user_agent = COALESCE($8, user_agent) \
        WHERE id = (SELECT session_id FROM added) RETURNING id";

    fn write_pool(&self) -> &sqlx::Pool<Self::Db> {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    async fn lock_revocation_feed(conn: &mut PgConnection) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REVOCATION_FEED_LOCK)
            .execute(conn)
            .await?;
        Ok(())
    }
}

impl_auth_store!(PostgresStore);
