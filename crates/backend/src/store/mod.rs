//! Persistence for the backend: one [`BackendStore`] interface, two
//! implementations (SQLite, the embedded default, and PostgreSQL), with the
//! backend's OWN database (never the auth service's).
//!
//! The store holds threads, messages, runs and their events, datasets'
//! metadata and WebSocket tickets. Writes that must be atomic are single
//! methods: accepting a message (message + run, idempotent by
//! `client_msg_id`), appending a run event with the next `seq`, finishing a
//! run with its answer. All timestamps are Unix epoch milliseconds.

use async_trait::async_trait;
use std::sync::Arc;
use uuid::Uuid;

/// Errors from the storage layer. Details are for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub title: String,
    /// The dataset the thread talks about, if any.
    pub dataset_id: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    User,
    Assistant,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }
}

/// A message in a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub user_id: Uuid,
    pub role: MessageRole,
    pub content: String,
    /// Client-chosen id making a resend idempotent (user messages only).
    pub client_msg_id: Option<String>,
    /// For a user message: the run it started. For an assistant message: the run that wrote it.
    pub run_id: Option<Uuid>,
    pub created_at: i64,
}

/// State of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "failed" => RunStatus::Failed,
            "cancelled" => RunStatus::Cancelled,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        self != RunStatus::Running
    }
}

/// An agent run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub user_id: Uuid,
    /// The user message that started it.
    pub message_id: Uuid,
    pub dataset_id: Option<Uuid>,
    pub status: RunStatus,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// The assistant message holding the final answer, once written.
    pub answer_message_id: Option<Uuid>,
    /// The structured report (JSON) of a completed run.
    pub report: Option<serde_json::Value>,
    /// Highest event sequence number written (0 before the first event).
    pub last_seq: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A persisted run event. `seq` counts from 1 within a run with no gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct RunEventRecord {
    pub run_id: Uuid,
    pub seq: i64,
    /// `agent_started`, ..., `run_failed`, `run_cancelled`.
    pub event_type: String,
    pub payload: serde_json::Value,
    pub ts: i64,
}

/// Import state of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// Detected or given format (e.g. `apex_jsonl`, `claude_code`).
    pub format: String,
    /// Number of records imported.
    pub records: i64,
    /// Size of the stored file in bytes.
    pub bytes: i64,
    /// Path of the stored normalised file, relative to the data directory.
    pub path: String,
    /// The import report (skipped lines with line numbers, duplicates, ...), JSON.
    pub import_report: serde_json::Value,
    /// True for the generated sample workload.
    pub sample: bool,
    pub created_at: i64,
}

/// Outcome of accepting a user message.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// New message and run written.
    New {
        message: MessageRecord,
        run: RunRecord,
    },
    /// The same `client_msg_id` was already accepted: the original message and run.
    Duplicate {
        message: MessageRecord,
        run: RunRecord,
    },
}

/// What `accept_message` writes.
#[derive(Debug, Clone)]
pub struct NewUserMessage {
    pub message_id: Uuid,
    pub run_id: Uuid,
    pub thread_id: Uuid,
    pub user_id: Uuid,
    pub content: String,
    pub client_msg_id: String,
    pub dataset_id: Option<Uuid>,
    pub now: i64,
    /// A thread to create (with id `thread_id`) in the same transaction, for a
    /// message that starts a new conversation; `None` posts into an existing one.
    pub new_thread: Option<ThreadRecord>,
    /// The user's concurrent-runs limit: when this many of their runs are
    /// `Running`, nothing is written and `Conflict("too_many_runs")` is returned.
    /// `None`: no limit.
    pub max_running: Option<i64>,
}

/// The backend's storage interface.
#[allow(clippy::too_many_arguments)]
#[async_trait]
pub trait BackendStore: Send + Sync + 'static {
    /// "sqlite" or "postgres".
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;
    async fn close(&self);

    // --- threads ---
    async fn create_thread(&self, thread: &ThreadRecord) -> StoreResult<()>;
    /// The thread if it exists AND belongs to `user_id` (others' threads are `None`).
    async fn thread(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<ThreadRecord>>;
    /// A user's threads, most recently updated first; `before` is an `updated_at` cursor (exclusive).
    async fn list_threads(
        &self,
        user_id: Uuid,
        limit: i64,
        before: Option<i64>,
    ) -> StoreResult<Vec<ThreadRecord>>;
    /// Renames and/or re-targets a thread; false if not found for this user.
    async fn update_thread(
        &self,
        user_id: Uuid,
        id: Uuid,
        title: Option<&str>,
        dataset_id: Option<Option<Uuid>>,
        now: i64,
    ) -> StoreResult<bool>;
    /// Deletes a thread with its messages, runs and events; false if not found for this user.
    async fn delete_thread(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool>;

    // --- messages ---
    /// In one transaction: if (user_id, client_msg_id) exists, returns `Duplicate` with the
    /// original message and run; otherwise creates the thread (if `new_thread`), checks the
    /// user's running runs against `max_running` under a per-user lock (so concurrent calls
    /// cannot exceed it), inserts the user message and a `Running` run, and bumps the
    /// thread's `updated_at`. Refusals write nothing.
    async fn accept_message(&self, msg: &NewUserMessage) -> StoreResult<Accepted>;
    /// A thread's messages in order (`created_at`, then id), after the `after` message id's
    /// position when given, at most `limit`. Caller checks thread ownership first.
    async fn messages(
        &self,
        thread_id: Uuid,
        limit: i64,
        after: Option<Uuid>,
    ) -> StoreResult<Vec<MessageRecord>>;

    /// One message of a thread (`None` if it is not in that thread). Caller checks thread
    /// ownership first.
    async fn message(&self, thread_id: Uuid, id: Uuid) -> StoreResult<Option<MessageRecord>>;

    // --- runs ---
    /// The run if it exists and belongs to `user_id`.
    async fn run(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<RunRecord>>;
    /// Number of `Running` runs of a user.
    async fn running_runs(&self, user_id: Uuid) -> StoreResult<i64>;
    /// Every `Running` run (after a restart, these were interrupted).
    async fn all_running_runs(&self) -> StoreResult<Vec<RunRecord>>;
    /// Appends an event with `seq = last_seq + 1` (atomically), returns it. Fails with
    /// `Conflict("run_finished")` if the run is no longer running.
    async fn append_event(
        &self,
        run_id: Uuid,
        event_type: &str,
        payload: &serde_json::Value,
        ts: i64,
    ) -> StoreResult<RunEventRecord>;
    /// Events of a run with `seq > after`, ascending, at most `limit`.
    async fn events(
        &self,
        run_id: Uuid,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<RunEventRecord>>;
    /// In one transaction: inserts the assistant message (if given), sets the run's terminal
    /// status, reason, answer message id, report and `finished_at`, and appends the terminal
    /// event (if given: e.g. `run_failed`/`run_cancelled`) with the next seq, which is returned.
    /// Fails with `Conflict("run_finished")` if the run already finished (nothing written).
    async fn finish_run(
        &self,
        run_id: Uuid,
        status: RunStatus,
        reason: Option<&str>,
        answer: Option<&MessageRecord>,
        report: Option<&serde_json::Value>,
        terminal_event: Option<(&str, &serde_json::Value)>,
        now: i64,
    ) -> StoreResult<Option<RunEventRecord>>;
    /// Stores (or replaces) the structured report of a run, e.g. once it is computed
    /// after the run finished.
    async fn set_run_report(&self, run_id: Uuid, report: &serde_json::Value) -> StoreResult<()>;

    // --- datasets ---
    async fn create_dataset(&self, ds: &DatasetRecord) -> StoreResult<()>;
    async fn dataset(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<DatasetRecord>>;
    /// Newest first.
    async fn list_datasets(&self, user_id: Uuid) -> StoreResult<Vec<DatasetRecord>>;
    /// False if not found for this user. Threads pointing at it get `dataset_id = NULL`.
    async fn delete_dataset(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool>;

    // --- WebSocket tickets ---
    /// Stores a ticket (hash of the opaque string) for a user's session.
    async fn create_ticket(
        &self,
        hash: &[u8; 32],
        user_id: Uuid,
        session_id: Uuid,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Single use: atomically marks the ticket used and returns (user_id, session_id) if it
    /// existed, was unused and `expires_at > now`; otherwise `None`.
    async fn redeem_ticket(&self, hash: &[u8; 32], now: i64) -> StoreResult<Option<(Uuid, Uuid)>>;
    /// Deletes tickets that expired before `now`.
    async fn purge_tickets(&self, now: i64) -> StoreResult<u64>;
}

/// Opens the store named by `database_url` (postgres:// or sqlite:), running migrations.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
) -> StoreResult<Arc<dyn BackendStore>> {
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

mod postgres;
mod rows;
mod sql_impl;
mod sqlite;
pub mod testing;
#[cfg(test)]
mod tests;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
