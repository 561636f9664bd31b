//! Row decoding and error mapping shared by the SQLite and PostgreSQL stores.
//!
//! Both schemas use the same column names and portable column types (UUIDs as
//! hyphenated TEXT, 64-bit integer timestamps, JSON read back as text through
//! `CAST(... AS TEXT)`), so one `FromRow` struct per table decodes rows from
//! either backend, and one `TryFrom` turns it into the public record type,
//! answering [`StoreError::Corrupt`] for a value the domain type cannot hold.
//!
//! The `*_columns!` macros name each table's selected columns once; they expand
//! to string literals so that `concat!` can build whole statements at compile
//! time.

use super::{
    DatasetRecord, MessageRecord, MessageRole, RunEventRecord, RunRecord, RunStatus, StoreError,
    StoreResult, ThreadRecord,
};
use uuid::Uuid;

/// The columns of a [`ThreadRow`].
macro_rules! thread_columns {
    () => {
        "id, user_id, title, dataset_id, created_at, updated_at"
    };
}

/// The columns of a [`MessageRow`].
macro_rules! message_columns {
    () => {
        "id, thread_id, user_id, role, content, client_msg_id, run_id, created_at"
    };
}

/// The columns of a [`RunRow`] (the report read back as JSON text).
macro_rules! run_columns {
    () => {
        "id, thread_id, user_id, message_id, dataset_id, status, reason, answer_message_id, \
         CAST(report AS TEXT) AS report, last_seq, created_at, finished_at"
    };
}

/// The columns of a [`RunEventRow`] (the payload read back as JSON text).
macro_rules! event_columns {
    () => {
        "run_id, seq, event_type, CAST(payload AS TEXT) AS payload, ts"
    };
}

/// The columns of a [`DatasetRow`] (the import report read back as JSON text).
macro_rules! dataset_columns {
    () => {
        "id, user_id, name, format, records, bytes, path, \
         CAST(import_report AS TEXT) AS import_report, sample, created_at"
    };
}

pub(super) use {dataset_columns, event_columns, message_columns, run_columns, thread_columns};

/// The text form a UUID is stored in (hyphenated, lowercase).
pub(super) fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

fn parse_uuid(column: &'static str, text: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn parse_opt_uuid(column: &'static str, text: Option<String>) -> StoreResult<Option<Uuid>> {
    text.map(|t| parse_uuid(column, &t)).transpose()
}

fn parse_json(column: &'static str, text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Converts every row, failing on the first corrupt one.
pub(super) fn decode_all<R, T>(rows: Vec<R>) -> StoreResult<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Clamps a caller-supplied `LIMIT` to be non-negative: SQLite reads a negative
/// limit as "no limit" and PostgreSQL rejects it; both now read it as 0.
pub(super) fn non_negative(n: i64) -> i64 {
    n.max(0)
}

/// Whether `err` violates the unique index on `messages (user_id, client_msg_id)`.
/// PostgreSQL names the index; SQLite only names the columns in its message
/// ("UNIQUE constraint failed: messages.user_id, messages.client_msg_id").
pub(super) fn is_client_msg_id_conflict(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::Database(db) if db.is_unique_violation()
            && (db.constraint() == Some("messages_client_msg_id_key")
                || db.message().contains("messages.client_msg_id"))
    )
}

/// Maps an error from inserting a ticket: a hash already stored becomes
/// `Conflict("ticket_exists")`, anything else stays a database error.
pub(super) fn map_ticket_insert_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        return StoreError::Conflict("ticket_exists");
    }
    StoreError::Database(err)
}

fn parse_role(text: &str) -> StoreResult<MessageRole> {
    match text {
        "user" => Ok(MessageRole::User),
        "assistant" => Ok(MessageRole::Assistant),
        other => Err(StoreError::Corrupt(format!(
            "messages.role: unknown role {other:?}"
        ))),
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ThreadRow {
    id: String,
    user_id: String,
    title: String,
    dataset_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ThreadRow> for ThreadRecord {
    type Error = StoreError;

    fn try_from(row: ThreadRow) -> StoreResult<Self> {
        Ok(ThreadRecord {
            id: parse_uuid("threads.id", &row.id)?,
            user_id: parse_uuid("threads.user_id", &row.user_id)?,
            title: row.title,
            dataset_id: parse_opt_uuid("threads.dataset_id", row.dataset_id)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    thread_id: String,
    user_id: String,
    role: String,
    content: String,
    client_msg_id: Option<String>,
    run_id: Option<String>,
    created_at: i64,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> StoreResult<Self> {
        Ok(MessageRecord {
            id: parse_uuid("messages.id", &row.id)?,
            thread_id: parse_uuid("messages.thread_id", &row.thread_id)?,
            user_id: parse_uuid("messages.user_id", &row.user_id)?,
            role: parse_role(&row.role)?,
            content: row.content,
            client_msg_id: row.client_msg_id,
            run_id: parse_opt_uuid("messages.run_id", row.run_id)?,
            created_at: row.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RunRow {
    id: String,
    thread_id: String,
    user_id: String,
    message_id: String,
    dataset_id: Option<String>,
    status: String,
    reason: Option<String>,
    answer_message_id: Option<String>,
    report: Option<String>,
    last_seq: i64,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<RunRow> for RunRecord {
    type Error = StoreError;

    fn try_from(row: RunRow) -> StoreResult<Self> {
        let status = RunStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!("runs.status: unknown status {:?}", row.status))
        })?;
        Ok(RunRecord {
            id: parse_uuid("runs.id", &row.id)?,
            thread_id: parse_uuid("runs.thread_id", &row.thread_id)?,
            user_id: parse_uuid("runs.user_id", &row.user_id)?,
            message_id: parse_uuid("runs.message_id", &row.message_id)?,
            dataset_id: parse_opt_uuid("runs.dataset_id", row.dataset_id)?,
            status,
            reason: row.reason,
            answer_message_id: parse_opt_uuid("runs.answer_message_id", row.answer_message_id)?,
            report: row
                .report
                .map(|text| parse_json("runs.report", &text))
                .transpose()?,
            last_seq: row.last_seq,
            created_at: row.created_at,
            finished_at: row.finished_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RunEventRow {
    run_id: String,
    seq: i64,
    event_type: String,
    payload: String,
    ts: i64,
}

impl TryFrom<RunEventRow> for RunEventRecord {
    type Error = StoreError;

    fn try_from(row: RunEventRow) -> StoreResult<Self> {
        Ok(RunEventRecord {
            run_id: parse_uuid("run_events.run_id", &row.run_id)?,
            seq: row.seq,
            event_type: row.event_type,
            payload: parse_json("run_events.payload", &row.payload)?,
            ts: row.ts,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DatasetRow {
    id: String,
    user_id: String,
    name: String,
    format: String,
    records: i64,
    bytes: i64,
    path: String,
    import_report: String,
    sample: bool,
    created_at: i64,
}

impl TryFrom<DatasetRow> for DatasetRecord {
    type Error = StoreError;

    fn try_from(row: DatasetRow) -> StoreResult<Self> {
        Ok(DatasetRecord {
            id: parse_uuid("datasets.id", &row.id)?,
            user_id: parse_uuid("datasets.user_id", &row.user_id)?,
            name: row.name,
            format: row.format,
            records: row.records,
            bytes: row.bytes,
            path: row.path,
            import_report: parse_json("datasets.import_report", &row.import_report)?,
            sample: row.sample,
            created_at: row.created_at,
        })
    }
}

/// A redeemed ticket's owner: `(user_id, session_id)` as stored.
#[derive(sqlx::FromRow)]
pub(super) struct TicketOwnerRow {
    user_id: String,
    session_id: String,
}

impl TicketOwnerRow {
    pub(super) fn decode(self) -> StoreResult<(Uuid, Uuid)> {
        Ok((
            parse_uuid("ws_tickets.user_id", &self.user_id)?,
            parse_uuid("ws_tickets.session_id", &self.session_id)?,
        ))
    }
}
