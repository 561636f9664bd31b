//! PostgreSQL backend, for deployments where several backend replicas share
//! one database.
//!
//! Transactions run at the default READ COMMITTED level. Atomicity under
//! concurrency comes from row locks taken by the first `UPDATE` of each write
//! transaction (the run row for `append_event` and `finish_run`, the thread
//! row for `accept_message` and `delete_thread`): a second writer of the same
//! row waits for the first to commit and then re-evaluates its `WHERE` clause
//! and its increments against the committed row. See `sql_impl` for each
//! method's reasoning.

use super::StoreResult;
use super::sql_impl::{SqlDialect, impl_backend_store};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The PostgreSQL implementation of [`BackendStore`](super::BackendStore).
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

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

// JSON columns are JSONB: the bound text is cast (and so validated) on the way in,
// and read back with `CAST(... AS TEXT)`, so sqlx's `json` feature is not needed.
impl_backend_store!(PostgresStore, json_param = "::jsonb");
