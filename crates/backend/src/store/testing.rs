//! Test support: fresh, isolated databases for this crate's unit tests and its
//! integration tests (`tests/`). The service itself never uses this module.
//!
//! The backend is chosen by the environment: `APEX_TEST_DB=postgres` selects
//! PostgreSQL, on the server named by `APEX_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); anything else selects SQLite.
//! When PostgreSQL is selected and cannot be reached, creating a database
//! fails: a test must never quietly fall back to SQLite.
//!
//! Each SQLite database is a new file under the system temporary directory;
//! each PostgreSQL database is `CREATE DATABASE apex_backend_test_<uuid>` on
//! that server (a prefix of its own, so the auth service's test runs and this
//! crate's never sweep each other's databases). [`TestDatabase`] removes its
//! database when dropped; [`fresh_database_url`] hands the database over and
//! leaves it behind (its PostgreSQL databases are swept by a later run once an
//! hour old).

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

/// Environment variable selecting the backend (`postgres` or anything else).
pub const TEST_DB_ENV: &str = "APEX_TEST_DB";
/// Environment variable naming the PostgreSQL server (any database on it).
pub const POSTGRES_URL_ENV: &str = "APEX_TEST_POSTGRES_URL";
/// The server used when [`POSTGRES_URL_ENV`] is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Prefix of every test database name on the PostgreSQL server.
const PG_NAME_PREFIX: &str = "apex_backend_test_";
/// Left-behind PostgreSQL test databases older than this are dropped.
const PG_SWEEP_AGE: Duration = Duration::from_secs(3600);

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    Postgres,
}

impl TestBackend {
    /// `Postgres` when `APEX_TEST_DB=postgres`, otherwise `Sqlite`.
    pub fn from_env() -> Self {
        match std::env::var(TEST_DB_ENV).as_deref() {
            Ok("postgres") => TestBackend::Postgres,
            _ => TestBackend::Sqlite,
        }
    }
}

/// Why a test database could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TestDbError {
    #[error("invalid PostgreSQL test server URL {url:?}: {source}")]
    BadUrl {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("PostgreSQL test server {url:?} failed (is it running?): {source}")]
    Postgres {
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

/// A fresh, empty database (no schema yet: `store::connect` migrates it),
/// removed when this value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    cleanup: Option<Cleanup>,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase {
        server: Box<PgConnectOptions>,
        name: String,
    },
}

impl TestDatabase {
    /// Creates a database on `backend`.
    pub async fn create(backend: TestBackend) -> Result<Self, TestDbError> {
        match backend {
            TestBackend::Sqlite => Ok(Self::sqlite()),
            TestBackend::Postgres => Self::postgres().await,
        }
    }

    /// Creates a database on the backend chosen by `APEX_TEST_DB`.
    pub async fn from_env() -> Result<Self, TestDbError> {
        Self::create(TestBackend::from_env()).await
    }

    /// Names a new SQLite file under the temporary directory (created on first
    /// connect).
    pub fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("apex-backend-test-{}.db", Uuid::new_v4().simple()));
        Self {
            url: format!("sqlite://{}", path.display()),
            cleanup: Some(Cleanup::SqliteFile(path)),
        }
    }

    /// Creates a new database on the PostgreSQL test server, first dropping
    /// test databases left behind more than an hour ago.
    pub async fn postgres() -> Result<Self, TestDbError> {
        let server_url =
            std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let server =
            PgConnectOptions::from_str(&server_url).map_err(|source| TestDbError::BadUrl {
                url: server_url.clone(),
                source,
            })?;
        let failed = |source| TestDbError::Postgres {
            url: server_url.clone(),
            source,
        };

        let mut conn = server.connect().await.map_err(failed)?;
        sweep_stale_databases(&mut conn).await;
        // A v7 UUID starts with its creation time, which the sweep reads back.
        let name = format!("{PG_NAME_PREFIX}{}", Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .map_err(failed)?;
        // Closing is best-effort: the database exists either way.
        let _ = conn.close().await;

        let url = server.clone().database(&name).to_url_lossy().to_string();
        Ok(Self {
            url,
            cleanup: Some(Cleanup::PostgresDatabase {
                server: Box::new(server),
                name,
            }),
        })
    }

    /// The URL to pass to `store::connect`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Gives up ownership: the database is no longer removed on drop.
    pub fn into_url(mut self) -> String {
        self.cleanup = None;
        std::mem::take(&mut self.url)
    }
}

impl Drop for TestDatabase {
    /// Removes the database, best-effort. A PostgreSQL database is dropped
    /// `WITH (FORCE)` (closing the store's pooled connections) from a helper
    /// thread with its own runtime, since `drop` cannot await.
    fn drop(&mut self) {
        match self.cleanup.take() {
            None => {}
            Some(Cleanup::SqliteFile(path)) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Some(Cleanup::PostgresDatabase { server, name }) => {
                let dropper = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime
                        .block_on(drop_database(&server, &name))
                        .map_err(std::io::Error::other)
                });
                match dropper.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("warning: could not drop test database: {e}"),
                    Err(_) => eprintln!("warning: the thread dropping a test database panicked"),
                }
            }
        }
    }
}

async fn drop_database(server: &PgConnectOptions, name: &str) -> Result<(), sqlx::Error> {
    let mut conn = server.connect().await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

/// Drops `apex_backend_test_*` databases created more than [`PG_SWEEP_AGE`] ago (by
/// the timestamp in their v7 UUID). Best-effort: a database still in use or
/// already gone is skipped.
async fn sweep_stale_databases(conn: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'apex\\_backend\\_test\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    let Some(cutoff) = SystemTime::now().checked_sub(PG_SWEEP_AGE) else {
        return;
    };
    let cutoff_secs = cutoff.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    for name in names {
        let created_secs = name
            .strip_prefix(PG_NAME_PREFIX)
            .and_then(|id| Uuid::try_parse(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| ts.to_unix().0);
        if created_secs.is_some_and(|secs| secs < cutoff_secs) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// The URL of a fresh, empty database on the backend chosen by `APEX_TEST_DB`
/// (see the module docs). The database is not removed afterwards; prefer
/// [`TestDatabase::from_env`] where the test can hold the guard.
///
/// # Panics
///
/// When PostgreSQL is selected and the database cannot be created: a test
/// asked to run on PostgreSQL must fail rather than skip.
pub async fn fresh_database_url() -> String {
    match TestDatabase::from_env().await {
        Ok(db) => db.into_url(),
        Err(e) => panic!("cannot create a test database: {e}"),
    }
}
