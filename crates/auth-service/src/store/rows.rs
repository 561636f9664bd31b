//! Row decoding and error mapping shared by the SQLite and PostgreSQL stores.
//!
//! Both schemas use the same column names and portable column types (UUIDs as
//! hyphenated TEXT, 64-bit integer timestamps, binary blobs, JSON read back as
//! text), so one `FromRow` struct per table decodes rows from either backend,
//! and one `TryFrom` turns it into the public record type, answering
//! [`StoreError::Corrupt`] for a value the domain type cannot hold.

use super::{
    AuditRecord, RefreshContext, RefreshTokenRecord, RevocationKind, RevocationRecord, Role,
    SessionRecord, SigningKeyRecord, StoreError, StoreResult, ThrottleRecord, UserRecord,
};
use uuid::Uuid;

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

/// Converts every row, failing on the first corrupt one.
pub(super) fn decode_all<R, T>(rows: Vec<R>) -> StoreResult<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Clamps a caller-supplied `LIMIT`/`OFFSET` to be non-negative: SQLite reads a
/// negative limit as "no limit" and PostgreSQL rejects it; both now read it as 0.
pub(super) fn non_negative(n: i64) -> i64 {
    n.max(0)
}

/// Maps an error from a statement that inserts into `users`: a violation of the
/// unique email constraint becomes `Conflict("email_taken")`, anything else stays
/// a database error. PostgreSQL names the constraint; SQLite only names the
/// column in its message ("UNIQUE constraint failed: users.email").
pub(super) fn map_user_insert_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
        && (db.constraint() == Some("users_email_key") || db.message().contains("users.email"))
    {
        return StoreError::Conflict("email_taken");
    }
    StoreError::Database(err)
}

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    id: String,
    email: String,
    name: Option<String>,
    password_hash: String,
    role: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    fn try_from(row: UserRow) -> StoreResult<Self> {
        let role = Role::parse(&row.role).ok_or_else(|| {
            StoreError::Corrupt(format!("users.role: unknown role {:?}", row.role))
        })?;
        Ok(UserRecord {
            id: parse_uuid("users.id", &row.id)?,
            email: row.email,
            name: row.name,
            password_hash: row.password_hash,
            role,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    id: String,
    user_id: String,
    created_at: i64,
    last_used_at: i64,
    expires_at: i64,
    user_agent: Option<String>,
    ip: Option<String>,
    revoked_at: Option<i64>,
    revoke_reason: Option<String>,
}

impl TryFrom<SessionRow> for SessionRecord {
    type Error = StoreError;

    fn try_from(row: SessionRow) -> StoreResult<Self> {
        Ok(SessionRecord {
            id: parse_uuid("sessions.id", &row.id)?,
            user_id: parse_uuid("sessions.user_id", &row.user_id)?,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
            ip: row.ip,
            revoked_at: row.revoked_at,
            revoke_reason: row.revoke_reason,
        })
    }
}

/// A refresh token joined with its session and user (columns prefixed `t_`, `s_`, `u_`).
#[derive(sqlx::FromRow)]
pub(super) struct RefreshContextRow {
    t_hash: Vec<u8>,
    t_created_at: i64,
    t_expires_at: i64,
    t_rotated_at: Option<i64>,
    s_id: String,
    s_created_at: i64,
    s_last_used_at: i64,
    s_expires_at: i64,
    s_user_agent: Option<String>,
    s_ip: Option<String>,
    s_revoked_at: Option<i64>,
    s_revoke_reason: Option<String>,
    u_id: String,
    u_email: String,
    u_name: Option<String>,
    u_password_hash: String,
    u_role: String,
    u_created_at: i64,
    u_updated_at: i64,
}

impl TryFrom<RefreshContextRow> for RefreshContext {
    type Error = StoreError;

    fn try_from(row: RefreshContextRow) -> StoreResult<Self> {
        let user = UserRecord::try_from(UserRow {
            id: row.u_id,
            email: row.u_email,
            name: row.u_name,
            password_hash: row.u_password_hash,
            role: row.u_role,
            created_at: row.u_created_at,
            updated_at: row.u_updated_at,
        })?;
        let session = SessionRecord::try_from(SessionRow {
            id: row.s_id,
            user_id: user.id.hyphenated().to_string(),
            created_at: row.s_created_at,
            last_used_at: row.s_last_used_at,
            expires_at: row.s_expires_at,
            user_agent: row.s_user_agent,
            ip: row.s_ip,
            revoked_at: row.s_revoked_at,
            revoke_reason: row.s_revoke_reason,
        })?;
        let token = RefreshTokenRecord::try_from(RefreshTokenRow {
            hash: row.t_hash,
            session_id: session.id.hyphenated().to_string(),
            created_at: row.t_created_at,
            expires_at: row.t_expires_at,
            rotated_at: row.t_rotated_at,
        })?;
        Ok(RefreshContext {
            token,
            session,
            user,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RefreshTokenRow {
    hash: Vec<u8>,
    session_id: String,
    created_at: i64,
    expires_at: i64,
    rotated_at: Option<i64>,
}

impl TryFrom<RefreshTokenRow> for RefreshTokenRecord {
    type Error = StoreError;

    fn try_from(row: RefreshTokenRow) -> StoreResult<Self> {
        let hash = <[u8; 32]>::try_from(row.hash.as_slice()).map_err(|_| {
            StoreError::Corrupt(format!(
                "refresh_tokens.hash: {} bytes, expected 32",
                row.hash.len()
            ))
        })?;
        Ok(RefreshTokenRecord {
            hash,
            session_id: parse_uuid("refresh_tokens.session_id", &row.session_id)?,
            created_at: row.created_at,
            expires_at: row.expires_at,
            rotated_at: row.rotated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RevocationRow {
    cursor: i64,
    kind: String,
    user_id: String,
    session_id: Option<String>,
    revoked_at: i64,
    reason: String,
}

impl TryFrom<RevocationRow> for RevocationRecord {
    type Error = StoreError;

    fn try_from(row: RevocationRow) -> StoreResult<Self> {
        let kind = match row.kind.as_str() {
            "session" => RevocationKind::Session,
            "user" => RevocationKind::User,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "revocations.kind: unknown kind {other:?}"
                )));
            }
        };
        Ok(RevocationRecord {
            cursor: row.cursor,
            kind,
            user_id: parse_uuid("revocations.user_id", &row.user_id)?,
            session_id: parse_opt_uuid("revocations.session_id", row.session_id)?,
            revoked_at: row.revoked_at,
            reason: row.reason,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ThrottleRow {
    key: String,
    failures: i64,
    last_failure_at: i64,
}

impl From<ThrottleRow> for ThrottleRecord {
    fn from(row: ThrottleRow) -> Self {
        ThrottleRecord {
            key: row.key,
            failures: row.failures,
            last_failure_at: row.last_failure_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct SigningKeyRow {
    kid: String,
    public_key: Vec<u8>,
    private_key_encrypted: Vec<u8>,
    created_at: i64,
    activates_at: i64,
    retires_at: i64,
    expires_at: i64,
}

impl From<SigningKeyRow> for SigningKeyRecord {
    fn from(row: SigningKeyRow) -> Self {
        SigningKeyRecord {
            kid: row.kid,
            public_key: row.public_key,
            private_key_encrypted: row.private_key_encrypted,
            created_at: row.created_at,
            activates_at: row.activates_at,
            retires_at: row.retires_at,
            expires_at: row.expires_at,
        }
    }
}

/// An audit row; `detail` is the JSON document as text (PostgreSQL selects
/// `detail::text`, SQLite stores text).
#[derive(sqlx::FromRow)]
pub(super) struct AuditRow {
    id: i64,
    at: i64,
    event: String,
    user_id: Option<String>,
    session_id: Option<String>,
    ip: Option<String>,
    detail: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> StoreResult<Self> {
        let detail = serde_json::from_str(&row.detail)
            .map_err(|e| StoreError::Corrupt(format!("audit_log.detail: {e}")))?;
        Ok(AuditRecord {
            id: row.id,
            at: row.at,
            event: row.event,
            user_id: parse_opt_uuid("audit_log.user_id", row.user_id)?,
            session_id: parse_opt_uuid("audit_log.session_id", row.session_id)?,
            ip: row.ip,
            detail,
        })
    }
}
