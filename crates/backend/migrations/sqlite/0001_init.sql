-- Backend schema, SQLite flavour (see ../postgres/0001_init.sql for the twin and
-- the notes on foreign keys). The backend's own database: no table is shared
-- with the auth service.
-- Timestamps are Unix epoch milliseconds; UUIDs are stored as their hyphenated
-- lowercase text; JSON documents as TEXT checked with json_valid.
-- STRICT tables make SQLite reject values of the wrong type instead of coercing them.

CREATE TABLE threads (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    dataset_id TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX threads_user_id_idx ON threads (user_id, updated_at DESC, id DESC);
CREATE INDEX threads_dataset_id_idx ON threads (dataset_id) WHERE dataset_id IS NOT NULL;

CREATE TABLE messages (
    id            TEXT    NOT NULL PRIMARY KEY,
    thread_id     TEXT    NOT NULL REFERENCES threads (id),
    user_id       TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
    content       TEXT    NOT NULL,
    client_msg_id TEXT,
    run_id        TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX messages_thread_id_idx ON messages (thread_id, created_at, id);
-- Makes a resent `user_message` idempotent (accept_message relies on it).
CREATE UNIQUE INDEX messages_client_msg_id_key ON messages (user_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE runs (
    id                TEXT    NOT NULL PRIMARY KEY,
    thread_id         TEXT    NOT NULL REFERENCES threads (id),
    user_id           TEXT    NOT NULL,
    message_id        TEXT    NOT NULL REFERENCES messages (id),
    dataset_id        TEXT,
    status            TEXT    NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    reason            TEXT,
    answer_message_id TEXT REFERENCES messages (id),
    report            TEXT CHECK (report IS NULL OR json_valid(report)),
    last_seq          INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at        INTEGER NOT NULL,
    finished_at       INTEGER
) STRICT;

CREATE INDEX runs_user_id_status_idx ON runs (user_id, status);
CREATE INDEX runs_thread_id_idx ON runs (thread_id);
CREATE INDEX runs_running_idx ON runs (created_at) WHERE status = 'running';

CREATE TABLE run_events (
    run_id     TEXT    NOT NULL REFERENCES runs (id),
    seq        INTEGER NOT NULL CHECK (seq > 0),
    event_type TEXT    NOT NULL,
    payload    TEXT    NOT NULL CHECK (json_valid(payload)),
    ts         INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE datasets (
    id            TEXT    NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    records       INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    path          TEXT    NOT NULL,
    import_report TEXT    NOT NULL CHECK (json_valid(import_report)),
    sample        INTEGER NOT NULL CHECK (sample IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX datasets_user_id_idx ON datasets (user_id, created_at DESC);

-- One-time WebSocket tickets, stored only as SHA-256 hashes.
CREATE TABLE ws_tickets (
    hash       BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX ws_tickets_expires_at_idx ON ws_tickets (expires_at);
