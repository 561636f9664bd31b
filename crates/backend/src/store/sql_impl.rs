//! The one SQL implementation of [`BackendStore`](super::BackendStore), stamped
//! out for each backend by [`impl_backend_store!`].
//!
//! SQLite and PostgreSQL share almost every statement: both accept `$N`
//! placeholders, `RETURNING`, partial indexes and `CAST`, and the schemas use
//! the same column names and portable types. Writing the logic once keeps the
//! two backends from drifting apart. Generic code over `sqlx::Database` would
//! need a wall of higher-ranked bounds, so a macro expands the same body for
//! each concrete store instead. What genuinely differs is supplied by the
//! backend: the write transaction through [`SqlDialect`], and the cast that
//! turns a bound JSON text into the column's type (`::jsonb` in PostgreSQL,
//! nothing in SQLite) as a literal the macro splices into its statements.
//!
//! Concurrency: transactions that must be atomic start with
//! [`SqlDialect::begin_write`]; failing paths drop or roll back the
//! transaction, so a `Conflict` writes nothing. In SQLite that transaction
//! holds the database's single write lock, which serialises every writer. In
//! PostgreSQL (READ COMMITTED) the guarantees come from row locks:
//!
//! - `append_event` and `finish_run` claim the run row with
//!   `UPDATE runs ... WHERE status = 'running' RETURNING last_seq`: a second
//!   writer of the same run waits for the first to commit, then re-evaluates
//!   the condition and the increment against the committed row, so `seq`s are
//!   gap-free and nothing is appended after the run finished;
//! - `accept_message` checks for an earlier message with the same
//!   `(user_id, client_msg_id)`, then inserts; when a concurrent call commits
//!   the same id in between, the unique index refuses the second insert and
//!   the violation becomes a re-read of the winner's message and run;
//! - with a `max_running` limit, `accept_message` first upserts the user's
//!   `run_slots` row, which locks it until commit, and only then counts the
//!   user's running runs: a concurrent accept of the same user waits for the
//!   first to commit, and its count (a new snapshot per statement) includes
//!   the first one's run. The lock is always taken before the thread's, so it
//!   adds no lock cycle;
//! - `delete_thread` locks the thread, then its runs, before deleting, so a
//!   concurrent append or accept either commits first (and is deleted with the
//!   thread) or finds the thread or run gone afterwards. No writer holds a run
//!   while waiting for a conflicting lock on its thread (`finish_run` takes only
//!   the KEY SHARE lock of the answer's foreign key, which the thread lock
//!   `delete_thread` holds while it waits for the runs does not block), so
//!   these writers cannot deadlock;
//! - `redeem_ticket` is one `UPDATE ... WHERE used_at IS NULL`: the loser of
//!   two concurrent redeems waits for the winner and then matches no row.

use super::StoreResult;
use std::future::Future;

/// What a backend supplies to the shared implementation (besides the JSON cast).
pub(super) trait SqlDialect {
    type Db: sqlx::Database;

    /// The name reported by `BackendStore::backend`.
    const BACKEND: &'static str;

    /// Begins a transaction that will write, taking the write lock up front where
    /// the backend needs that to avoid lock-upgrade failures.
    fn begin_write(
        &self,
    ) -> impl Future<Output = StoreResult<sqlx::Transaction<'static, Self::Db>>> + Send;
}

/// Implements `BackendStore` for `$store`, a struct with a `pool: sqlx::Pool<_>`
/// field that implements [`SqlDialect`]. `json_param` is appended to every
/// placeholder bound to a JSON column (the value is bound as JSON text).
macro_rules! impl_backend_store {
    ($store:ty, json_param = $json:literal) => {
        // A block scopes these imports to the expansion; the impls inside it
        // apply crate-wide as usual.
        const _: () = {
            use $crate::store::rows::{
                self, dataset_columns, event_columns, message_columns, run_columns,
                thread_columns,
            };
            use $crate::store::sql_impl::SqlDialect;
            use $crate::store::{
                Accepted, BackendStore, DatasetRecord, MessageRecord, MessageRole,
                NewUserMessage, RunEventRecord, RunRecord, RunStatus, StoreError, StoreResult,
                ThreadRecord,
            };
            use async_trait::async_trait;
            use uuid::Uuid;

            /// A connection of the backend's database.
            type Conn = <<$store as SqlDialect>::Db as sqlx::Database>::Connection;

            /// Statements used by more than one `BackendStore` method.
            impl $store {
                async fn insert_thread(
                    conn: &mut Conn,
                    thread: &ThreadRecord,
                ) -> Result<(), sqlx::Error> {
                    sqlx::query(
                        "INSERT INTO threads \
                         (id, user_id, title, dataset_id, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(rows::uuid_text(thread.id))
                    .bind(rows::uuid_text(thread.user_id))
                    .bind(&thread.title)
                    .bind(thread.dataset_id.map(rows::uuid_text))
                    .bind(thread.created_at)
                    .bind(thread.updated_at)
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                async fn insert_message(
                    conn: &mut Conn,
                    message: &MessageRecord,
                ) -> Result<(), sqlx::Error> {
                    sqlx::query(
                        "INSERT INTO messages (id, thread_id, user_id, role, content, \
                         client_msg_id, run_id, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(rows::uuid_text(message.id))
                    .bind(rows::uuid_text(message.thread_id))
                    .bind(rows::uuid_text(message.user_id))
                    .bind(message.role.as_str())
                    .bind(&message.content)
                    .bind(message.client_msg_id.as_deref())
                    .bind(message.run_id.map(rows::uuid_text))
                    .bind(message.created_at)
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                /// The message accepted earlier for `(user_id, client_msg_id)` and
                /// the run it started, if any.
                async fn accepted_before(
                    conn: &mut Conn,
                    user_id: &str,
                    client_msg_id: &str,
                ) -> StoreResult<Option<Accepted>> {
                    let found = sqlx::query_as::<_, rows::MessageRow>(concat!(
                        "SELECT ",
                        message_columns!(),
                        " FROM messages WHERE user_id = $1 AND client_msg_id = $2"
                    ))
                    .bind(user_id)
                    .bind(client_msg_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                    let Some(message) = found.map(MessageRecord::try_from).transpose()? else {
                        return Ok(None);
                    };
                    let run_id = message.run_id.ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "messages.run_id: user message {} has no run",
                            message.id
                        ))
                    })?;
                    let run = Self::run_by_id(conn, &rows::uuid_text(run_id))
                        .await?
                        .ok_or_else(|| {
                            StoreError::Corrupt(format!(
                                "messages.run_id: run {run_id} of message {} is missing",
                                message.id
                            ))
                        })?;
                    Ok(Some(Accepted::Duplicate { message, run }))
                }

                async fn run_by_id(conn: &mut Conn, id: &str) -> StoreResult<Option<RunRecord>> {
                    sqlx::query_as::<_, rows::RunRow>(concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE id = $1"
                    ))
                    .bind(id)
                    .fetch_optional(conn)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                /// Why a run could not be claimed for writing: it finished, or it
                /// does not exist.
                async fn not_running(conn: &mut Conn, id: &str) -> StoreResult<StoreError> {
                    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE id = $1")
                        .bind(id)
                        .fetch_one(conn)
                        .await?;
                    Ok(StoreError::Conflict(if found > 0 {
                        "run_finished"
                    } else {
                        "run_not_found"
                    }))
                }

                async fn insert_event(
                    conn: &mut Conn,
                    run_id: Uuid,
                    seq: i64,
                    event_type: &str,
                    payload: &serde_json::Value,
                    ts: i64,
                ) -> StoreResult<RunEventRecord> {
                    sqlx::query(concat!(
                        "INSERT INTO run_events (run_id, seq, event_type, payload, ts) \
                         VALUES ($1, $2, $3, $4",
                        $json,
                        ", $5)"
                    ))
                    .bind(rows::uuid_text(run_id))
                    .bind(seq)
                    .bind(event_type)
                    .bind(payload.to_string())
                    .bind(ts)
                    .execute(conn)
                    .await?;
                    Ok(RunEventRecord {
                        run_id,
                        seq,
                        event_type: event_type.to_owned(),
                        payload: payload.clone(),
                        ts,
                    })
                }
            }

            #[async_trait]
            impl BackendStore for $store {
                fn backend(&self) -> &'static str {
                    <$store as SqlDialect>::BACKEND
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                }

                async fn close(&self) {
                    self.pool.close().await;
                }

                // --- threads ---

                async fn create_thread(&self, thread: &ThreadRecord) -> StoreResult<()> {
                    let mut conn = self.pool.acquire().await?;
                    Ok(Self::insert_thread(&mut conn, thread).await?)
                }

                async fn thread(
                    &self,
                    user_id: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<ThreadRecord>> {
                    sqlx::query_as::<_, rows::ThreadRow>(concat!(
                        "SELECT ",
                        thread_columns!(),
                        " FROM threads WHERE id = $1 AND user_id = $2"
                    ))
                    .bind(rows::uuid_text(id))
                    .bind(rows::uuid_text(user_id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn list_threads(
                    &self,
                    user_id: Uuid,
                    limit: i64,
                    before: Option<i64>,
                ) -> StoreResult<Vec<ThreadRecord>> {
                    let found = sqlx::query_as::<_, rows::ThreadRow>(concat!(
                        "SELECT ",
                        thread_columns!(),
                        " FROM threads WHERE user_id = $1 \
                         AND (CAST($2 AS BIGINT) IS NULL OR updated_at < $2) \
                         ORDER BY updated_at DESC, id DESC LIMIT $3"
                    ))
                    .bind(rows::uuid_text(user_id))
                    .bind(before)
                    .bind(rows::non_negative(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                /// `title: None` keeps the title; `dataset_id: None` keeps the
                /// dataset, `Some(None)` clears it. `updated_at` becomes `now`.
                async fn update_thread(
                    &self,
                    user_id: Uuid,
                    id: Uuid,
                    title: Option<&str>,
                    dataset_id: Option<Option<Uuid>>,
                    now: i64,
                ) -> StoreResult<bool> {
                    let updated = sqlx::query(
                        "UPDATE threads SET title = COALESCE($1, title), \
                         dataset_id = CASE WHEN $2 THEN $3 ELSE dataset_id END, \
                         updated_at = $4 WHERE id = $5 AND user_id = $6",
                    )
                    .bind(title)
                    .bind(dataset_id.is_some())
                    .bind(dataset_id.flatten().map(rows::uuid_text))
                    .bind(now)
                    .bind(rows::uuid_text(id))
                    .bind(rows::uuid_text(user_id))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                    Ok(updated > 0)
                }

                /// Locks the thread, then its runs (waiting for any append or
                /// finish in flight), then deletes events, runs, messages and
                /// the thread, in that order (the foreign keys' order).
                async fn delete_thread(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
                    let id = rows::uuid_text(id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let owned = sqlx::query(
                        "UPDATE threads SET updated_at = updated_at WHERE id = $1 AND user_id = $2",
                    )
                    .bind(&id)
                    .bind(rows::uuid_text(user_id))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if owned == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    sqlx::query("UPDATE runs SET last_seq = last_seq WHERE thread_id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    for statement in [
                        "DELETE FROM run_events WHERE run_id IN \
                         (SELECT id FROM runs WHERE thread_id = $1)",
                        "DELETE FROM runs WHERE thread_id = $1",
                        "DELETE FROM messages WHERE thread_id = $1",
                        "DELETE FROM threads WHERE id = $1",
                    ] {
                        sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }

                // --- messages ---

                /// Fails with `Conflict("thread_not_found")` (nothing written) when
                /// the thread does not exist or belongs to another user, and with
                /// `Conflict("too_many_runs")` (nothing written, not even the new
                /// thread) when the user's running runs reached `max_running`.
                async fn accept_message(&self, msg: &NewUserMessage) -> StoreResult<Accepted> {
                    let user_id = rows::uuid_text(msg.user_id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    if let Some(earlier) =
                        Self::accepted_before(&mut tx, &user_id, &msg.client_msg_id).await?
                    {
                        tx.rollback().await?;
                        return Ok(earlier);
                    }
                    if let Some(limit) = msg.max_running {
                        // The per-user row lock serialises the count-then-insert of
                        // one user's concurrent accepts (PostgreSQL: the upsert locks
                        // the row until commit; SQLite: the write lock already does).
                        sqlx::query(
                            "INSERT INTO run_slots (user_id, touched_at) VALUES ($1, $2) \
                             ON CONFLICT (user_id) DO UPDATE SET touched_at = excluded.touched_at",
                        )
                        .bind(&user_id)
                        .bind(msg.now)
                        .execute(&mut *tx)
                        .await?;
                        let running: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM runs WHERE user_id = $1 AND status = 'running'",
                        )
                        .bind(&user_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        if running >= limit {
                            tx.rollback().await?;
                            return Err(StoreError::Conflict("too_many_runs"));
                        }
                    }
                    if let Some(thread) = &msg.new_thread {
                        Self::insert_thread(&mut tx, thread).await?;
                    }
                    let owned = sqlx::query(
                        "UPDATE threads SET updated_at = \
                         CASE WHEN updated_at < $1 THEN $1 ELSE updated_at END \
                         WHERE id = $2 AND user_id = $3",
                    )
                    .bind(msg.now)
                    .bind(rows::uuid_text(msg.thread_id))
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if owned == 0 {
                        tx.rollback().await?;
                        return Err(StoreError::Conflict("thread_not_found"));
                    }
                    let message = MessageRecord {
                        id: msg.message_id,
                        thread_id: msg.thread_id,
                        user_id: msg.user_id,
                        role: MessageRole::User,
                        content: msg.content.clone(),
                        client_msg_id: Some(msg.client_msg_id.clone()),
                        run_id: Some(msg.run_id),
                        created_at: msg.now,
                    };
                    match Self::insert_message(&mut tx, &message).await {
                        Ok(()) => {}
                        Err(err) if rows::is_client_msg_id_conflict(&err) => {
                            // A concurrent call with the same id committed between our
                            // check and our insert (PostgreSQL only: SQLite's write lock
                            // serialises the whole transaction): answer with its rows.
                            tx.rollback().await?;
                            let mut conn = self.pool.acquire().await?;
                            return Self::accepted_before(&mut conn, &user_id, &msg.client_msg_id)
                                .await?
                                .ok_or(StoreError::Database(err));
                        }
                        Err(err) => return Err(err.into()),
                    }
                    sqlx::query(
                        "INSERT INTO runs (id, thread_id, user_id, message_id, dataset_id, \
                         status, last_seq, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
                    )
                    .bind(rows::uuid_text(msg.run_id))
                    .bind(rows::uuid_text(msg.thread_id))
                    .bind(&user_id)
                    .bind(rows::uuid_text(msg.message_id))
                    .bind(msg.dataset_id.map(rows::uuid_text))
                    .bind(RunStatus::Running.as_str())
                    .bind(msg.now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    let run = RunRecord {
                        id: msg.run_id,
                        thread_id: msg.thread_id,
                        user_id: msg.user_id,
                        message_id: msg.message_id,
                        dataset_id: msg.dataset_id,
                        status: RunStatus::Running,
                        reason: None,
                        answer_message_id: None,
                        report: None,
                        last_seq: 0,
                        created_at: msg.now,
                        finished_at: None,
                    };
                    Ok(Accepted::New { message, run })
                }

                /// An `after` id that is not a message of this thread yields no
                /// messages.
                async fn messages(
                    &self,
                    thread_id: Uuid,
                    limit: i64,
                    after: Option<Uuid>,
                ) -> StoreResult<Vec<MessageRecord>> {
                    let found = sqlx::query_as::<_, rows::MessageRow>(concat!(
                        "SELECT ",
                        message_columns!(),
                        " FROM messages m WHERE m.thread_id = $1 \
                         AND (CAST($2 AS TEXT) IS NULL OR EXISTS (\
                         SELECT 1 FROM messages c WHERE c.id = $2 AND c.thread_id = $1 \
                         AND (m.created_at > c.created_at \
                         OR (m.created_at = c.created_at AND m.id > c.id)))) \
                         ORDER BY m.created_at, m.id LIMIT $3"
                    ))
                    .bind(rows::uuid_text(thread_id))
                    .bind(after.map(rows::uuid_text))
                    .bind(rows::non_negative(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                async fn message(
                    &self,
                    thread_id: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<MessageRecord>> {
                    sqlx::query_as::<_, rows::MessageRow>(concat!(
                        "SELECT ",
                        message_columns!(),
                        " FROM messages m WHERE m.id = $1 AND m.thread_id = $2"
                    ))
                    .bind(rows::uuid_text(id))
                    .bind(rows::uuid_text(thread_id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                // --- runs ---

                async fn run(&self, user_id: Uuid, id: Uuid) -> StoreResult<Option<RunRecord>> {
                    sqlx::query_as::<_, rows::RunRow>(concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE id = $1 AND user_id = $2"
                    ))
                    .bind(rows::uuid_text(id))
                    .bind(rows::uuid_text(user_id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn running_runs(&self, user_id: Uuid) -> StoreResult<i64> {
                    let count: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM runs WHERE user_id = $1 AND status = $2",
                    )
                    .bind(rows::uuid_text(user_id))
                    .bind(RunStatus::Running.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(count)
                }

                /// Oldest first.
                async fn all_running_runs(&self) -> StoreResult<Vec<RunRecord>> {
                    let found = sqlx::query_as::<_, rows::RunRow>(concat!(
                        "SELECT ",
                        run_columns!(),
                        " FROM runs WHERE status = 'running' ORDER BY created_at, id"
                    ))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                /// Fails with `Conflict("run_not_found")` for an unknown run.
                async fn append_event(
                    &self,
                    run_id: Uuid,
                    event_type: &str,
                    payload: &serde_json::Value,
                    ts: i64,
                ) -> StoreResult<RunEventRecord> {
                    let id = rows::uuid_text(run_id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let seq: Option<i64> = sqlx::query_scalar(
                        "UPDATE runs SET last_seq = last_seq + 1 \
                         WHERE id = $1 AND status = 'running' RETURNING last_seq",
                    )
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(seq) = seq else {
                        let refused = Self::not_running(&mut tx, &id).await?;
                        tx.rollback().await?;
                        return Err(refused);
                    };
                    let event =
                        Self::insert_event(&mut tx, run_id, seq, event_type, payload, ts).await?;
                    tx.commit().await?;
                    Ok(event)
                }

                async fn events(
                    &self,
                    run_id: Uuid,
                    after: i64,
                    limit: i64,
                ) -> StoreResult<Vec<RunEventRecord>> {
                    let found = sqlx::query_as::<_, rows::RunEventRow>(concat!(
                        "SELECT ",
                        event_columns!(),
                        " FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
                    ))
                    .bind(rows::uuid_text(run_id))
                    .bind(after)
                    .bind(rows::non_negative(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                /// Also fails with `Conflict("status_not_terminal")` for
                /// `RunStatus::Running` and `Conflict("run_not_found")` for an
                /// unknown run, writing nothing. `report: None` keeps a report
                /// stored earlier by `set_run_report`.
                async fn finish_run(
                    &self,
                    run_id: Uuid,
                    status: RunStatus,
                    reason: Option<&str>,
                    answer: Option<&MessageRecord>,
                    report: Option<&serde_json::Value>,
                    terminal_event: Option<(&str, &serde_json::Value)>,
                    now: i64,
                ) -> StoreResult<Option<RunEventRecord>> {
                    if !status.is_terminal() {
                        return Err(StoreError::Conflict("status_not_terminal"));
                    }
                    let id = rows::uuid_text(run_id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let last_seq: Option<i64> = sqlx::query_scalar(concat!(
                        "UPDATE runs SET status = $1, reason = $2, \
                         report = COALESCE($3",
                        $json,
                        ", report), finished_at = $4, last_seq = last_seq + $5 \
                         WHERE id = $6 AND status = 'running' RETURNING last_seq"
                    ))
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(report.map(|r| r.to_string()))
                    .bind(now)
                    .bind(i64::from(terminal_event.is_some()))
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(last_seq) = last_seq else {
                        let refused = Self::not_running(&mut tx, &id).await?;
                        tx.rollback().await?;
                        return Err(refused);
                    };
                    if let Some(answer) = answer {
                        Self::insert_message(&mut tx, answer).await?;
                        sqlx::query("UPDATE runs SET answer_message_id = $1 WHERE id = $2")
                            .bind(rows::uuid_text(answer.id))
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    let event = match terminal_event {
                        Some((event_type, payload)) => Some(
                            Self::insert_event(&mut tx, run_id, last_seq, event_type, payload, now)
                                .await?,
                        ),
                        None => None,
                    };
                    tx.commit().await?;
                    Ok(event)
                }

                /// Fails with `Conflict("run_not_found")` for an unknown run.
                async fn set_run_report(
                    &self,
                    run_id: Uuid,
                    report: &serde_json::Value,
                ) -> StoreResult<()> {
                    let updated = sqlx::query(concat!(
                        "UPDATE runs SET report = $1",
                        $json,
                        " WHERE id = $2"
                    ))
                    .bind(report.to_string())
                    .bind(rows::uuid_text(run_id))
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
                    if updated == 0 {
                        return Err(StoreError::Conflict("run_not_found"));
                    }
                    Ok(())
                }

                // --- datasets ---

                async fn create_dataset(&self, ds: &DatasetRecord) -> StoreResult<()> {
                    sqlx::query(concat!(
                        "INSERT INTO datasets (id, user_id, name, format, records, bytes, path, \
                         import_report, sample, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8",
                        $json,
                        ", $9, $10)"
                    ))
                    .bind(rows::uuid_text(ds.id))
                    .bind(rows::uuid_text(ds.user_id))
                    .bind(&ds.name)
                    .bind(&ds.format)
                    .bind(ds.records)
                    .bind(ds.bytes)
                    .bind(&ds.path)
                    .bind(ds.import_report.to_string())
                    .bind(ds.sample)
                    .bind(ds.created_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn dataset(
                    &self,
                    user_id: Uuid,
                    id: Uuid,
                ) -> StoreResult<Option<DatasetRecord>> {
                    sqlx::query_as::<_, rows::DatasetRow>(concat!(
                        "SELECT ",
                        dataset_columns!(),
                        " FROM datasets WHERE id = $1 AND user_id = $2"
                    ))
                    .bind(rows::uuid_text(id))
                    .bind(rows::uuid_text(user_id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn list_datasets(&self, user_id: Uuid) -> StoreResult<Vec<DatasetRecord>> {
                    let found = sqlx::query_as::<_, rows::DatasetRow>(concat!(
                        "SELECT ",
                        dataset_columns!(),
                        " FROM datasets WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
                    ))
                    .bind(rows::uuid_text(user_id))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                async fn delete_dataset(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
                    let id = rows::uuid_text(id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let deleted = sqlx::query("DELETE FROM datasets WHERE id = $1 AND user_id = $2")
                        .bind(&id)
                        .bind(rows::uuid_text(user_id))
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if deleted == 0 {
                        tx.rollback().await?;
                        return Ok(false);
                    }
                    sqlx::query("UPDATE threads SET dataset_id = NULL WHERE dataset_id = $1")
                        .bind(&id)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                // --- WebSocket tickets ---

                /// Fails with `Conflict("ticket_exists")` if the hash is already stored.
                async fn create_ticket(
                    &self,
                    hash: &[u8; 32],
                    user_id: Uuid,
                    session_id: Uuid,
                    expires_at: i64,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO ws_tickets (hash, user_id, session_id, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&hash[..])
                    .bind(rows::uuid_text(user_id))
                    .bind(rows::uuid_text(session_id))
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await
                    .map_err(rows::map_ticket_insert_error)?;
                    Ok(())
                }

                async fn redeem_ticket(
                    &self,
                    hash: &[u8; 32],
                    now: i64,
                ) -> StoreResult<Option<(Uuid, Uuid)>> {
                    sqlx::query_as::<_, rows::TicketOwnerRow>(
                        "UPDATE ws_tickets SET used_at = $1 \
                         WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING user_id, session_id",
                    )
                    .bind(now)
                    .bind(&hash[..])
                    .fetch_optional(&self.pool)
                    .await?
                    .map(rows::TicketOwnerRow::decode)
                    .transpose()
                }

                async fn purge_tickets(&self, now: i64) -> StoreResult<u64> {
                    let deleted = sqlx::query("DELETE FROM ws_tickets WHERE expires_at < $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    Ok(deleted)
                }
            }
        };
    };
}

pub(super) use impl_backend_store;
