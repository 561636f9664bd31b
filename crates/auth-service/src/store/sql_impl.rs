//! The one SQL implementation of [`AuthStore`](super::AuthStore), stamped out
//! for each backend by [`impl_auth_store!`].
//!
//! SQLite and PostgreSQL share almost every statement: both accept `$N`
//! placeholders, `RETURNING`, `ON CONFLICT ... DO UPDATE`, and the schemas use
//! the same column names and portable types. Writing the logic once keeps the
//! two backends from drifting apart. Generic code over `sqlx::Database` would
//! need a wall of higher-ranked bounds, so a macro expands the same body for
//! each concrete store instead; what genuinely differs is supplied by the
//! backend through [`SqlDialect`].
//!
//! Transactions that must be atomic (read-then-write, or several writes) start
//! with [`SqlDialect::begin_write`]. Failing paths drop the transaction, which
//! rolls it back, so a `Conflict` writes nothing.

use super::StoreResult;
use std::future::Future;

/// What a backend supplies to the shared implementation.
pub(super) trait SqlDialect {
    type Db: sqlx::Database;

    /// The name reported by `AuthStore::backend`.
    const BACKEND: &'static str;
    /// Inserts an audit row; binds `$1 at, $2 event, $3 user_id, $4 session_id,
    /// $5 ip, $6 detail` (detail as JSON text).
    const INSERT_AUDIT: &'static str;
    /// Selects audit rows (columns of `AuditRow`, `detail` as text), newest first;
    /// binds `$1 limit, $2 before` (nullable, exclusive).
    const SELECT_AUDIT: &'static str;

    /// Begins a transaction that will write, taking the write lock up front where
    /// the backend needs that to avoid lock-upgrade failures.
    fn begin_write(
        &self,
    ) -> impl Future<Output = StoreResult<sqlx::Transaction<'static, Self::Db>>> + Send;

    /// `AuthStore::rotate_refresh_token` in one round trip: the compare-and-set
    /// on the old token (`UPDATE ... WHERE rotated_at IS NULL`), the insert of
    /// the new one and the session's slide, atomically, writing nothing when
    /// the old token was already rotated (or is unknown). Of two concurrent
    /// callers, the second waits for the first's lock and then matches no row.
    /// Binds as [`bind_rotation`] does; returns a row when the rotation happened.
    const ROTATE_REFRESH_TOKEN: &'static str;

    /// The pool that writes go through.
    fn write_pool(&self) -> &sqlx::Pool<Self::Db>;

    /// Called inside a write transaction right before a revocation feed row is
    /// inserted; held until commit, it makes cursors become visible in
    /// increasing order.
    fn lock_revocation_feed(
        conn: &mut <Self::Db as sqlx::Database>::Connection,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Binds the parameters of a backend's one-round-trip rotation statement:
/// `$1 now, $2 old hash, $3 new hash, $4 session id, $5 new created_at,
/// $6 new expires_at, $7 ip, $8 user agent`.
pub(super) fn bind_rotation<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    old: &'q [u8; 32],
    new: &'q super::NewRefreshToken,
    now: i64,
    ip: Option<&'q str>,
    user_agent: Option<&'q str>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(now)
        .bind(&old[..])
        .bind(&new.hash[..])
        .bind(super::rows::uuid_text(new.session_id))
        .bind(new.created_at)
        .bind(new.expires_at)
        .bind(ip)
        .bind(user_agent)
}

/// Implements `AuthStore` for `$store`, a struct with a `pool: sqlx::Pool<_>`
/// field that implements [`SqlDialect`].
macro_rules! impl_auth_store {
    ($store:ty) => {
        // A block scopes these imports to the expansion; the impls inside it
        // apply crate-wide as usual.
        const _: () = {
            use $crate::store::rows;
            use $crate::store::sql_impl::SqlDialect;
            use $crate::store::{
                AuditRecord, AuthStore, NewAuditEvent, NewRefreshToken, NewSession,
                RefreshContext, RefreshTokenRecord, RevocationKind, RevocationRecord, Role, RotateOutcome,
                SessionRecord, SigningKeyRecord, StoreResult, ThrottleRecord, UserRecord,
            };
            use async_trait::async_trait;
            use uuid::Uuid;

            /// A connection of the backend's database.
            type Conn = <<$store as SqlDialect>::Db as sqlx::Database>::Connection;

            /// Statements used by more than one `AuthStore` method.
            impl $store {
                async fn insert_user(conn: &mut Conn, user: &UserRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO users \
                         (id, email, name, password_hash, role, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(rows::uuid_text(user.id))
                    .bind(&user.email)
                    .bind(user.name.as_deref())
                    .bind(&user.password_hash)
                    .bind(user.role.as_str())
                    .bind(user.created_at)
                    .bind(user.updated_at)
                    .execute(conn)
                    .await
                    .map_err(rows::map_user_insert_error)?;
                    Ok(())
                }

                async fn insert_session(conn: &mut Conn, session: &NewSession) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO sessions \
                         (id, user_id, created_at, last_used_at, expires_at, user_agent, ip) \
                         VALUES ($1, $2, $3, $3, $4, $5, $6)",
                    )
                    .bind(rows::uuid_text(session.id))
                    .bind(rows::uuid_text(session.user_id))
                    .bind(session.now)
                    .bind(session.expires_at)
                    .bind(session.user_agent.as_deref())
                    .bind(session.ip.as_deref())
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                async fn insert_refresh_token(
                    conn: &mut Conn,
                    token: &NewRefreshToken,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&token.hash[..])
                    .bind(rows::uuid_text(token.session_id))
                    .bind(token.created_at)
                    .bind(token.expires_at)
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                /// Marks a session used at `now` and moves its expiry; `ip` and
                /// `user_agent` replace the stored ones only when given.
                async fn slide_session(
                    conn: &mut Conn,
                    session_id: Uuid,
                    now: i64,
                    expires_at: i64,
                    ip: Option<&str>,
                    user_agent: Option<&str>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "UPDATE sessions SET last_used_at = $1, expires_at = $2, \
                         ip = COALESCE($3, ip), user_agent = COALESCE($4, user_agent) \
                         WHERE id = $5",
                    )
                    .bind(now)
                    .bind(expires_at)
                    .bind(ip)
                    .bind(user_agent)
                    .bind(rows::uuid_text(session_id))
                    .execute(conn)
                    .await?;
                    Ok(())
                }

                async fn append_revocation(
                    conn: &mut Conn,
                    kind: RevocationKind,
                    user_id: &str,
                    session_id: Option<&str>,
                    revoked_at: i64,
                    reason: &str,
                ) -> StoreResult<()> {
                    <$store as SqlDialect>::lock_revocation_feed(conn).await?;
                    sqlx::query(
                        "INSERT INTO revocations (kind, user_id, session_id, revoked_at, reason) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(kind.as_str())
                    .bind(user_id)
                    .bind(session_id)
                    .bind(revoked_at)
                    .bind(reason)
                    .execute(conn)
                    .await?;
                    Ok(())
                }
            }

            #[async_trait]
            impl AuthStore for $store {
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

                // --- users ---

                async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
                    let mut conn = self.pool.acquire().await?;
                    Self::insert_user(&mut conn, user).await
                }

                async fn create_user_with_session(
                    &self,
                    user: &UserRecord,
                    session: &NewSession,
                    refresh: &NewRefreshToken,
                ) -> StoreResult<()> {
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    Self::insert_user(&mut tx, user).await?;
                    Self::insert_session(&mut tx, session).await?;
                    Self::insert_refresh_token(&mut tx, refresh).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
                    sqlx::query_as::<_, rows::UserRow>(
                        "SELECT id, email, name, password_hash, role, created_at, updated_at \
                         FROM users WHERE email = $1",
                    )
                    .bind(email)
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn user_by_id(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
                    sqlx::query_as::<_, rows::UserRow>(
                        "SELECT id, email, name, password_hash, role, created_at, updated_at \
                         FROM users WHERE id = $1",
                    )
                    .bind(rows::uuid_text(id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn list_users(
                    &self,
                    limit: i64,
                    offset: i64,
                ) -> StoreResult<Vec<UserRecord>> {
                    let found = sqlx::query_as::<_, rows::UserRow>(
                        "SELECT id, email, name, password_hash, role, created_at, updated_at \
                         FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",
                    )
                    .bind(rows::non_negative(limit))
                    .bind(rows::non_negative(offset))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                async fn set_role(&self, id: Uuid, role: Role, now: i64) -> StoreResult<bool> {
                    let updated =
                        sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                            .bind(role.as_str())
                            .bind(now)
                            .bind(rows::uuid_text(id))
                            .execute(&self.pool)
                            .await?
                            .rows_affected();
                    Ok(updated > 0)
                }

                // --- sessions and refresh tokens ---

                async fn create_session(
                    &self,
                    session: &NewSession,
                    refresh: &NewRefreshToken,
                ) -> StoreResult<()> {
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    Self::insert_session(&mut tx, session).await?;
                    Self::insert_refresh_token(&mut tx, refresh).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn session(&self, id: Uuid) -> StoreResult<Option<SessionRecord>> {
                    sqlx::query_as::<_, rows::SessionRow>(
                        "SELECT id, user_id, created_at, last_used_at, expires_at, user_agent, ip, \
                         revoked_at, revoke_reason FROM sessions WHERE id = $1",
                    )
                    .bind(rows::uuid_text(id))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn active_sessions(
                    &self,
                    user_id: Uuid,
                    now: i64,
                ) -> StoreResult<Vec<SessionRecord>> {
                    let found = sqlx::query_as::<_, rows::SessionRow>(
                        "SELECT id, user_id, created_at, last_used_at, expires_at, user_agent, ip, \
                         revoked_at, revoke_reason FROM sessions \
                         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                         ORDER BY created_at DESC, id DESC",
                    )
                    .bind(rows::uuid_text(user_id))
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                async fn refresh_token(
                    &self,
                    hash: &[u8; 32],
                ) -> StoreResult<Option<RefreshTokenRecord>> {
                    sqlx::query_as::<_, rows::RefreshTokenRow>(
                        "SELECT hash, session_id, created_at, expires_at, rotated_at \
                         FROM refresh_tokens WHERE hash = $1",
                    )
                    .bind(&hash[..])
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                async fn refresh_context(
                    &self,
                    hash: &[u8; 32],
                ) -> StoreResult<Option<RefreshContext>> {
                    sqlx::query_as::<_, rows::RefreshContextRow>(
                        "SELECT t.hash AS t_hash, t.created_at AS t_created_at, \
                         t.expires_at AS t_expires_at, t.rotated_at AS t_rotated_at, \
                         s.id AS s_id, s.created_at AS s_created_at, \
                         s.last_used_at AS s_last_used_at, s.expires_at AS s_expires_at, \
                         s.user_agent AS s_user_agent, s.ip AS s_ip, \
                         s.revoked_at AS s_revoked_at, s.revoke_reason AS s_revoke_reason, \
                         u.id AS u_id, u.email AS u_email, u.name AS u_name, \
                         u.password_hash AS u_password_hash, u.role AS u_role, \
                         u.created_at AS u_created_at, u.updated_at AS u_updated_at \
                         FROM refresh_tokens t \
                         JOIN sessions s ON s.id = t.session_id \
                         JOIN users u ON u.id = s.user_id \
                         WHERE t.hash = $1",
                    )
                    .bind(&hash[..])
                    .fetch_optional(&self.pool)
                    .await?
                    .map(TryFrom::try_from)
                    .transpose()
                }

                /// `new.session_id` must be the old token's session.
                async fn rotate_refresh_token(
                    &self,
                    old: &[u8; 32],
                    new: &NewRefreshToken,
                    now: i64,
                    ip: Option<&str>,
                    user_agent: Option<&str>,
                ) -> StoreResult<RotateOutcome> {
                    let mut conn = <$store as SqlDialect>::write_pool(self).acquire().await?;
                    let result = $crate::store::sql_impl::bind_rotation(
                        sqlx::query(<$store as SqlDialect>::ROTATE_REFRESH_TOKEN),
                        old,
                        new,
                        now,
                        ip,
                        user_agent,
                    )
                    .fetch_all(&mut *conn)
                    .await;
                    match result {
                        Ok(slid) if slid.is_empty() => Ok(RotateOutcome::AlreadyRotated),
                        Ok(_) => Ok(RotateOutcome::Rotated),
                        Err(e) => {
                            // A batch that opened its own transaction (SQLite's) must not
                            // go back to the pool inside it. Where none is open (a
                            // failed `BEGIN`, PostgreSQL's single statement) this is
                            // harmless.
                            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                                tracing::debug!(error = %rollback, "rollback after a failed rotation");
                            }
                            Err(e.into())
                        }
                    }
                }

                async fn add_refresh_token(
                    &self,
                    new: &NewRefreshToken,
                    now: i64,
                ) -> StoreResult<()> {
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    Self::insert_refresh_token(&mut tx, new).await?;
                    Self::slide_session(&mut tx, new.session_id, now, new.expires_at, None, None)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn revoke_session(
                    &self,
                    id: Uuid,
                    now: i64,
                    reason: &str,
                ) -> StoreResult<bool> {
                    let session_id = rows::uuid_text(id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let user_id: Option<String> = sqlx::query_scalar(
                        "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
                         WHERE id = $3 AND revoked_at IS NULL RETURNING user_id",
                    )
                    .bind(now)
                    .bind(reason)
                    .bind(&session_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(user_id) = user_id else {
                        tx.rollback().await?;
                        return Ok(false);
                    };
                    Self::append_revocation(
                        &mut tx,
                        RevocationKind::Session,
                        &user_id,
                        Some(&session_id),
                        now,
                        reason,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                /// The `User` feed row is written only when at least one session
                /// was revoked: a user without live sessions has nothing a follower
                /// must cut off, and an empty revoke must not grow the feed.
                async fn revoke_user_sessions(
                    &self,
                    user_id: Uuid,
                    now: i64,
                    reason: &str,
                ) -> StoreResult<u64> {
                    let user_id = rows::uuid_text(user_id);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let revoked = sqlx::query(
                        "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
                         WHERE user_id = $3 AND revoked_at IS NULL",
                    )
                    .bind(now)
                    .bind(reason)
                    .bind(&user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if revoked == 0 {
                        tx.rollback().await?;
                        return Ok(0);
                    }
                    Self::append_revocation(
                        &mut tx,
                        RevocationKind::User,
                        &user_id,
                        None,
                        now,
                        reason,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(revoked)
                }

                /// Also deletes the tokens of every session it deletes (whatever
                /// their own expiry), so the foreign key never blocks the purge.
                async fn purge_expired(&self, now: i64, keep_ms: i64) -> StoreResult<u64> {
                    let cutoff = now.saturating_sub(keep_ms);
                    let mut tx = <$store as SqlDialect>::begin_write(self).await?;
                    let tokens = sqlx::query(
                        "DELETE FROM refresh_tokens WHERE expires_at < $1 \
                         OR session_id IN (SELECT id FROM sessions WHERE expires_at < $1)",
                    )
                    .bind(cutoff)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                        .bind(cutoff)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(tokens + sessions)
                }

                // --- revocation feed ---

                async fn revocations_after(
                    &self,
                    after: i64,
                    limit: i64,
                ) -> StoreResult<Vec<RevocationRecord>> {
                    let found = sqlx::query_as::<_, rows::RevocationRow>(
                        "SELECT cursor, kind, user_id, session_id, revoked_at, reason \
                         FROM revocations WHERE cursor > $1 ORDER BY cursor LIMIT $2",
                    )
                    .bind(after)
                    .bind(rows::non_negative(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }

                async fn latest_revocation_cursor(&self) -> StoreResult<i64> {
                    let cursor: i64 =
                        sqlx::query_scalar("SELECT COALESCE(MAX(cursor), 0) FROM revocations")
                            .fetch_one(&self.pool)
                            .await?;
                    Ok(cursor)
                }

                // --- throttling ---

                async fn throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
                    let row = sqlx::query_as::<_, rows::ThrottleRow>(
                        "SELECT key, failures, last_failure_at FROM throttle WHERE key = $1",
                    )
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                    Ok(row.map(Into::into))
                }

                async fn throttle_failure(
                    &self,
                    key: &str,
                    now: i64,
                ) -> StoreResult<ThrottleRecord> {
                    let row = sqlx::query_as::<_, rows::ThrottleRow>(
                        "INSERT INTO throttle (key, failures, last_failure_at) VALUES ($1, 1, $2) \
                         ON CONFLICT (key) DO UPDATE SET failures = throttle.failures + 1, \
                         last_failure_at = excluded.last_failure_at \
                         RETURNING key, failures, last_failure_at",
                    )
                    .bind(key)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(row.into())
                }

                async fn throttle_clear(&self, key: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM throttle WHERE key = $1")
                        .bind(key)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                // --- signing keys ---

                async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO signing_keys (kid, public_key, private_key_encrypted, \
                         created_at, activates_at, retires_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(&key.kid)
                    .bind(&key.public_key[..])
                    .bind(&key.private_key_encrypted[..])
                    .bind(key.created_at)
                    .bind(key.activates_at)
                    .bind(key.retires_at)
                    .bind(key.expires_at)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
                    let found = sqlx::query_as::<_, rows::SigningKeyRow>(
                        "SELECT kid, public_key, private_key_encrypted, created_at, activates_at, \
                         retires_at, expires_at FROM signing_keys ORDER BY activates_at, kid",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(found.into_iter().map(Into::into).collect())
                }

                async fn delete_expired_signing_keys(&self, now: i64) -> StoreResult<u64> {
                    let deleted = sqlx::query("DELETE FROM signing_keys WHERE expires_at < $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    Ok(deleted)
                }

                // --- audit ---

                async fn append_audit(&self, event: &NewAuditEvent) -> StoreResult<()> {
                    sqlx::query(<$store as SqlDialect>::INSERT_AUDIT)
                        .bind(event.at)
                        .bind(&event.event)
                        .bind(event.user_id.map(rows::uuid_text))
                        .bind(event.session_id.map(rows::uuid_text))
                        .bind(event.ip.as_deref())
                        .bind(event.detail.to_string())
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn audit_events(
                    &self,
                    limit: i64,
                    before: Option<i64>,
                ) -> StoreResult<Vec<AuditRecord>> {
                    let found = sqlx::query_as::<_, rows::AuditRow>(
                        <$store as SqlDialect>::SELECT_AUDIT,
                    )
                    .bind(rows::non_negative(limit))
                    .bind(before)
                    .fetch_all(&self.pool)
                    .await?;
                    rows::decode_all(found)
                }
            }
        };
    };
}

pub(super) use impl_auth_store;
