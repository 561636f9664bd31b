-- One row per user who started a run: `accept_message` locks it (an upsert)
-- before counting the user's running runs, so the concurrent-runs limit holds
-- under concurrent accepts. See ../postgres/0002_run_slots.sql.

CREATE TABLE run_slots (
    user_id    TEXT    NOT NULL PRIMARY KEY,
    touched_at INTEGER NOT NULL
) STRICT;
