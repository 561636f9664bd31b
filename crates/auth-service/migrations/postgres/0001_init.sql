-- Auth service schema, PostgreSQL flavour (see ../sqlite/0001_init.sql for the twin).
-- Timestamps are Unix epoch milliseconds; UUIDs are stored as their hyphenated text
-- in both backends so that one row decoder serves both.

CREATE TABLE users (
    id            TEXT   NOT NULL PRIMARY KEY,
    email         TEXT   NOT NULL,
    name          TEXT,
    password_hash TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('user', 'admin')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE INDEX users_created_at_idx ON users (created_at, id);

CREATE TABLE sessions (
    id            TEXT   NOT NULL PRIMARY KEY,
    user_id       TEXT   NOT NULL REFERENCES users (id),
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    user_agent    TEXT,
    ip            TEXT,
    revoked_at    BIGINT,
    revoke_reason TEXT
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash       BYTEA  NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    session_id TEXT   NOT NULL REFERENCES sessions (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- The revocation feed. Writers serialise on an advisory lock before inserting
-- (see postgres.rs), so cursors become visible in increasing order. No foreign
-- keys: the feed outlives purged sessions.
CREATE TABLE revocations (
    cursor     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       TEXT   NOT NULL CHECK (kind IN ('session', 'user')),
    user_id    TEXT   NOT NULL,
    session_id TEXT,
    revoked_at BIGINT NOT NULL,
    reason     TEXT   NOT NULL
);

CREATE TABLE throttle (
    key             TEXT   NOT NULL PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid                   TEXT   NOT NULL PRIMARY KEY,
    public_key            BYTEA  NOT NULL,
    private_key_encrypted BYTEA  NOT NULL,
    created_at            BIGINT NOT NULL,
    activates_at          BIGINT NOT NULL,
    retires_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL
);

-- No foreign keys: the audit trail outlives the rows it mentions.
CREATE TABLE audit_log (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         BIGINT NOT NULL,
    event      TEXT   NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    ip         TEXT,
    detail     JSONB  NOT NULL
);

CREATE INDEX audit_log_user_id_idx ON audit_log (user_id);
