-- One row per user who started a run: `accept_message` locks it (an upsert,
-- which holds the row lock until commit) before counting the user's running
-- runs, so two concurrent accepts of one user cannot both pass the
-- concurrent-runs limit. See ../sqlite/0002_run_slots.sql.

CREATE TABLE run_slots (
    user_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    touched_at BIGINT NOT NULL
);
