-- Backend schema, PostgreSQL flavour (see ../sqlite/0001_init.sql for the twin).
-- The backend's own database: no table is shared with the auth service.
-- Timestamps are Unix epoch milliseconds. UUIDs are stored as their hyphenated
-- lowercase text in both backends, so that one row decoder serves both; primary
-- keys, which break ordering ties, compare bytewise (COLLATE "C") as in SQLite.
-- JSON documents are JSONB here and TEXT in SQLite.
--
-- Users live in the auth service's database, so `user_id` columns carry no
-- foreign key. `dataset_id` columns carry none either: a run keeps naming the
-- dataset it analysed after the dataset is deleted, and deleting a dataset sets
-- its threads' `dataset_id` to NULL explicitly (see delete_dataset).

CREATE TABLE threads (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id    TEXT   NOT NULL,
    title      TEXT   NOT NULL,
    dataset_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE INDEX threads_user_id_idx ON threads (user_id, updated_at DESC, id DESC);
CREATE INDEX threads_dataset_id_idx ON threads (dataset_id) WHERE dataset_id IS NOT NULL;

-- `run_id` has no foreign key: a user message and its run reference each other,
-- and the run (inserted second) carries the enforced direction.
CREATE TABLE messages (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    thread_id     TEXT   NOT NULL REFERENCES threads (id),
    user_id       TEXT   NOT NULL,
    role          TEXT   NOT NULL CHECK (role IN ('user', 'assistant')),
    content       TEXT   NOT NULL,
    client_msg_id TEXT,
    run_id        TEXT,
    created_at    BIGINT NOT NULL
);

CREATE INDEX messages_thread_id_idx ON messages (thread_id, created_at, id);
-- Makes a resent `user_message` idempotent (accept_message relies on it).
CREATE UNIQUE INDEX messages_client_msg_id_key ON messages (user_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;

CREATE TABLE runs (
    id                TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    thread_id         TEXT   NOT NULL REFERENCES threads (id),
    user_id           TEXT   NOT NULL,
    message_id        TEXT   NOT NULL REFERENCES messages (id),
    dataset_id        TEXT,
    status            TEXT   NOT NULL
        CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
    reason            TEXT,
    answer_message_id TEXT REFERENCES messages (id),
    report            JSONB,
    last_seq          BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT
);

CREATE INDEX runs_user_id_status_idx ON runs (user_id, status);
CREATE INDEX runs_thread_id_idx ON runs (thread_id);
CREATE INDEX runs_running_idx ON runs (created_at) WHERE status = 'running';

CREATE TABLE run_events (
    run_id     TEXT   NOT NULL REFERENCES runs (id),
    seq        BIGINT NOT NULL CHECK (seq > 0),
    event_type TEXT   NOT NULL,
    payload    JSONB  NOT NULL,
    ts         BIGINT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE datasets (
    id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    user_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    records       BIGINT  NOT NULL,
    bytes         BIGINT  NOT NULL,
    path          TEXT    NOT NULL,
    import_report JSONB   NOT NULL,
    sample        BOOLEAN NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE INDEX datasets_user_id_idx ON datasets (user_id, created_at DESC);

-- One-time WebSocket tickets, stored only as SHA-256 hashes.
CREATE TABLE ws_tickets (
    hash       BYTEA  NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id    TEXT   NOT NULL,
    session_id TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE INDEX ws_tickets_expires_at_idx ON ws_tickets (expires_at);
