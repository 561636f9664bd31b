//! SQLite backend, the embedded default: one database file in WAL mode.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, taking the
//! database's single write lock up front. A deferred transaction that reads and
//! then writes can fail with `SQLITE_BUSY` when another connection wrote in
//! between (the busy timeout does not help there); an immediate one waits up
//! to the busy timeout for the lock instead. Readers are never blocked (WAL).

use super::StoreResult;
use super::sql_impl::{SqlDialect, impl_auth_store};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the write lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`AuthStore`](super::AuthStore).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Write transactions go through this one-connection pool, so they queue
    /// in order instead of sleeping on SQLite's lock (and timing out under load).
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens the database named by `url` (`sqlite:///abs/path/auth.db`,
    /// `sqlite://relative.db` or `sqlite::memory:`), creating the file if it is
    /// missing (its directory must exist), and runs the migrations.
    ///
    /// A file database uses WAL with `synchronous=NORMAL`, foreign keys and a
    /// 5 s busy timeout, with up to `max_connections` connections. An in-memory
    /// database lives only as long as a connection to it, so it gets exactly one
    /// connection that is never recycled, whatever `max_connections` says.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let in_memory = is_in_memory(url);
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if in_memory {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            MIGRATOR.run(&pool).await?;
            return Ok(Self {
                writer: pool.clone(),
                pool,
            });
        }
        options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }

    /// The connection pool, for tests that inspect the database directly.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// Whether `url` names an in-memory database (`sqlite::memory:`,
/// `sqlite://:memory:` or `?mode=memory`).
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl SqlDialect for SqliteStore {
    type Db = Sqlite;

    const BACKEND: &'static str = "sqlite";
    const INSERT_AUDIT: &'static str = "INSERT INTO audit_log \
        (at, event, user_id, session_id, ip, detail) VALUES ($1, $2, $3, $4, $5, $6)";
    const SELECT_AUDIT: &'static str = "SELECT id, at, event, user_id, session_id, ip, detail \
        FROM audit_log WHERE ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $1";

    /// The refresh-token rotation as one batch on the writer connection: one
    /// round trip to the connection's thread instead of five. `changes()` is the
    /// row count of the previous statement, so the insert happens only when the
    /// compare-and-set matched and the slide only when the insert happened.
    /// Binds `$1 now, $2 old hash, $3 new hash, $4 session id, $5 new created_at,
    /// $6 new expires_at, $7 ip, $8 user agent` (numbered parameters bind by
    /// number in every statement of the batch); returns the session's id when
    /// the rotation happened, no row otherwise. All of the batch's statements
    /// run (`fetch_all`), so the `COMMIT` is never skipped.
    const ROTATE_REFRESH_TOKEN: &'static str = "BEGIN IMMEDIATE; \
        UPDATE refresh_tokens SET rotated_at = $1 WHERE hash = $2 AND rotated_at IS NULL; \
        INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
            SELECT $3, $4, $5, $6 WHERE changes() = 1; \
        UPDATE sessions SET last_used_at = $1, expires_at = $6, \
            ip = COALESCE($7, ip), user_agent = COALESCE($8, user_agent) \
            WHERE id = $4 AND changes() = 1 RETURNING id; \
        COMMIT";

    fn write_pool(&self) -> &sqlx::Pool<Self::Db> {
        &self.writer
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn lock_revocation_feed(_conn: &mut SqliteConnection) -> StoreResult<()> {
        // `BEGIN IMMEDIATE` already holds the database's only write lock, so
        // feed rows are inserted and committed one transaction at a time.
        Ok(())
    }
}

impl_auth_store!(SqliteStore);
