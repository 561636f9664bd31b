//! Integration tests of the auth service over real HTTP on port 0, each with a
//! fresh database: SQLite by default, PostgreSQL with `APEX_TEST_DB=postgres`.

mod admin;
mod bad_input;
mod cli;
mod feed;
mod helpers;
mod keys;
mod login;
mod ops;
mod refresh;
mod sessions;
mod throttle;
mod tokens;
