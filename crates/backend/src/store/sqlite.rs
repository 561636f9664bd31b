//! SQLite backend, the embedded default: one database file in WAL mode under
//! the data directory.
//!
//! Every write transaction starts with `BEGIN IMMEDIATE`, taking the
//! database's single write lock up front. A deferred transaction that reads and
//! then writes can fail with `SQLITE_BUSY` when another connection wrote in
//! between (the busy timeout does not help there); an immediate one waits up
//! to the busy timeout for the lock instead. Holding that lock for the whole
//! transaction is what makes `append_event`'s sequence numbers gap-free and
//! `accept_message`'s duplicate check race-free here. Readers are never
//! blocked (WAL).

use super::StoreResult;
use super::sql_impl::{SqlDialect, impl_backend_store};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a writer waits for the write lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`BackendStore`](super::BackendStore).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database named by `url` (`sqlite:///abs/path/backend.db`,
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
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            SqlitePoolOptions::new().max_connections(max_connections.max(1))
        };
        let pool = pool_options.connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
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

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

// JSON columns are TEXT (checked with `json_valid`): the bound text goes in as is.
impl_backend_store!(SqliteStore, json_param = "");
