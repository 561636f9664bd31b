-- Auth service schema, SQLite flavour (see ../postgres/0001_init.sql for the twin).
-- Timestamps are Unix epoch milliseconds; UUIDs are stored as their hyphenated text.
-- STRICT tables make SQLite reject values of the wrong type instead of coercing them.

CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    name          TEXT,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
) STRICT;

CREATE INDEX users_created_at_idx ON users (created_at, id);

CREATE TABLE sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    revoked_at    INTEGER,
    revoke_reason TEXT
) STRICT;

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    session_id TEXT    NOT NULL REFERENCES sessions (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- The revocation feed. AUTOINCREMENT guarantees a cursor is never reused, even
-- after the newest row is deleted. No foreign keys: the feed outlives purged sessions.
CREATE TABLE revocations (
    cursor     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL CHECK (kind IN ('session', 'user')),
    user_id    TEXT    NOT NULL,
    session_id TEXT,
    revoked_at INTEGER NOT NULL,
    reason     TEXT    NOT NULL
) STRICT;

CREATE TABLE throttle (
    key             TEXT    NOT NULL PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL
) STRICT;

CREATE TABLE signing_keys (
    kid                   TEXT    NOT NULL PRIMARY KEY,
    public_key            BLOB    NOT NULL,
    private_key_encrypted BLOB    NOT NULL,
    created_at            INTEGER NOT NULL,
    activates_at          INTEGER NOT NULL,
    retires_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL
) STRICT;

-- No foreign keys: the audit trail outlives the rows it mentions.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    ip         TEXT,
    detail     TEXT    NOT NULL CHECK (json_valid(detail))
) STRICT;

CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);
