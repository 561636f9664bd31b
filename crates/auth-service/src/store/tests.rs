//! Conformance suite for [`AuthStore`]: every case runs against SQLite (a new
//! temporary file each) and against PostgreSQL (a new database each).
//!
//! The PostgreSQL variants run when `APEX_TEST_DB=postgres` and return early
//! otherwise; when selected they fail, never skip, if the server is
//! unreachable. Run both with:
//!
//! ```text
//! cargo test -p auth-service store::
//! APEX_TEST_DB=postgres cargo test -p auth-service store::
//! ```

use super::testing::{TestBackend, TestDatabase};
use super::{
    AuthStore, NewAuditEvent, NewRefreshToken, NewSession, RevocationKind, Role, RotateOutcome,
    SessionRecord, SigningKeyRecord, SqliteStore, StoreError, UserRecord, connect,
};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// A fixed "now" (2023-11-14T22:13:20Z); tests never read the clock.
const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

// --- harness ---

fn postgres_selected() -> bool {
    TestBackend::from_env() == TestBackend::Postgres
}

/// Runs `case` against a fresh store on `backend`; the database is removed afterwards.
async fn run_on<F, Fut>(backend: TestBackend, case: F)
where
    F: FnOnce(Arc<dyn AuthStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = TestDatabase::create(backend)
        .await
        .expect("create test database");
    let store = connect(db.url(), 4).await.expect("connect and migrate");
    let expected = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    };
    assert_eq!(store.backend(), expected);
    case(store).await;
}

/// Declares each case twice: `sqlite::<case>` and `postgres::<case>`.
macro_rules! conformance_suite {
    ($($case:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run_on(super::TestBackend::Sqlite, super::$case).await;
                }
            )+
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if !super::postgres_selected() {
                        return;
                    }
                    super::run_on(super::TestBackend::Postgres, super::$case).await;
                }
            )+
        }
    };
}

conformance_suite!(
    ping_answers,
    user_create_and_lookup,
    user_email_conflict,
    user_with_session_conflict_writes_nothing,
    user_with_session_creates_all_three,
    list_users_orders_and_pages,
    set_role_updates_role,
    session_requires_existing_user,
    active_sessions_exclude_revoked_and_expired,
    refresh_context_joins_session_and_user,
    failed_rotation_writes_nothing_and_the_store_stays_usable,
    rotate_refresh_token_compare_and_set,
    concurrent_rotations_exactly_one_wins,
    add_refresh_token_slides_session,
    revoke_session_writes_one_feed_row,
    concurrent_revoke_session_revokes_once,
    revoke_user_sessions_writes_one_feed_row,
    revocations_after_paginates,
    throttle_counts_and_clears,
    concurrent_throttle_failures_all_count,
    signing_keys_insert_list_delete_expired,
    audit_append_and_page,
    purge_expired_deletes_tokens_then_sessions,
);

// --- fixtures ---

fn user(email: &str, created_at: i64) -> UserRecord {
    UserRecord {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        name: Some(format!("Name of {email}")),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: Role::User,
        created_at,
        updated_at: created_at,
    }
}

fn new_session(user_id: Uuid, now: i64, expires_at: i64) -> NewSession {
    NewSession {
        id: Uuid::new_v4(),
        user_id,
        now,
        expires_at,
        user_agent: Some("test-agent/1.0".to_owned()),
        ip: Some("192.0.2.1".to_owned()),
    }
}

/// A random 32-byte token hash.
fn random_hash() -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    hash[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    hash
}

fn token(session_id: Uuid, created_at: i64, expires_at: i64) -> NewRefreshToken {
    NewRefreshToken {
        hash: random_hash(),
        session_id,
        created_at,
        expires_at,
    }
}

/// Creates a user with one session (expiring at `expires_at`) and its first token.
async fn user_with_session(
    store: &dyn AuthStore,
    email: &str,
    expires_at: i64,
) -> (UserRecord, NewSession, NewRefreshToken) {
    let u = user(email, NOW);
    let s = new_session(u.id, NOW, expires_at);
    let t = token(s.id, NOW, expires_at);
    store
        .create_user_with_session(&u, &s, &t)
        .await
        .expect("create user with session");
    (u, s, t)
}

async fn add_session(
    store: &dyn AuthStore,
    user_id: Uuid,
    created_at: i64,
    expires_at: i64,
) -> NewSession {
    let s = new_session(user_id, created_at, expires_at);
    store
        .create_session(&s, &token(s.id, created_at, expires_at))
        .await
        .expect("create session");
    s
}

async fn session(store: &dyn AuthStore, id: Uuid) -> SessionRecord {
    store
        .session(id)
        .await
        .expect("read session")
        .expect("session exists")
}

fn signing_key(kid: &str, activates_at: i64, expires_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        public_key: vec![7; 32],
        private_key_encrypted: (0..60).collect(),
        created_at: activates_at - HOUR,
        activates_at,
        retires_at: activates_at + DAY,
        expires_at,
    }
}

fn assert_strictly_increasing(cursors: &[i64]) {
    assert!(
        cursors.windows(2).all(|w| w[0] < w[1]),
        "cursors not strictly increasing: {cursors:?}"
    );
}

// --- cases ---

async fn ping_answers(store: Arc<dyn AuthStore>) {
    store.ping().await.expect("ping");
}

async fn user_create_and_lookup(store: Arc<dyn AuthStore>) {
    let mut u = user("ada@example.com", NOW);
    u.name = None;
    store.create_user(&u).await.expect("create user");

    assert_eq!(
        store.user_by_email("ada@example.com").await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(store.user_by_id(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.user_by_id(Uuid::new_v4()).await.unwrap(), None);
}

async fn user_email_conflict(store: Arc<dyn AuthStore>) {
    let first = user("grace@example.com", NOW);
    store.create_user(&first).await.expect("create first");

    let second = user("grace@example.com", NOW + 1);
    let err = store
        .create_user(&second)
        .await
        .expect_err("duplicate email must fail");
    assert!(
        matches!(err, StoreError::Conflict("email_taken")),
        "got {err:?}"
    );
    assert_eq!(store.user_by_id(second.id).await.unwrap(), None);
    assert_eq!(
        store.user_by_email("grace@example.com").await.unwrap(),
        Some(first)
    );
}

async fn user_with_session_conflict_writes_nothing(store: Arc<dyn AuthStore>) {
    let (existing, _, _) = user_with_session(store.as_ref(), "linus@example.com", NOW + DAY).await;

    let dup = user("linus@example.com", NOW + 1);
    let s = new_session(dup.id, NOW + 1, NOW + DAY);
    let t = token(s.id, NOW + 1, NOW + DAY);
    let err = store
        .create_user_with_session(&dup, &s, &t)
        .await
        .expect_err("duplicate email must fail");
    assert!(
        matches!(err, StoreError::Conflict("email_taken")),
        "got {err:?}"
    );

    assert_eq!(store.user_by_id(dup.id).await.unwrap(), None);
    assert_eq!(
        store.session(s.id).await.unwrap(),
        None,
        "no session row may be written"
    );
    assert_eq!(
        store.refresh_token(&t.hash).await.unwrap(),
        None,
        "no token row may be written"
    );
    assert_eq!(
        store
            .user_by_email("linus@example.com")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(existing.id)
    );
    assert_eq!(store.list_users(10, 0).await.unwrap().len(), 1);
}

async fn user_with_session_creates_all_three(store: Arc<dyn AuthStore>) {
    let (u, s, t) = user_with_session(store.as_ref(), "barbara@example.com", NOW + DAY).await;

    assert_eq!(store.user_by_id(u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(
        session(store.as_ref(), s.id).await,
        SessionRecord {
            id: s.id,
            user_id: u.id,
            created_at: NOW,
            last_used_at: NOW,
            expires_at: NOW + DAY,
            user_agent: s.user_agent.clone(),
            ip: s.ip.clone(),
            revoked_at: None,
            revoke_reason: None,
        }
    );
    let stored = store
        .refresh_token(&t.hash)
        .await
        .unwrap()
        .expect("token stored");
    assert_eq!(stored.hash, t.hash);
    assert_eq!(stored.session_id, s.id);
    assert_eq!(
        (stored.created_at, stored.expires_at, stored.rotated_at),
        (NOW, NOW + DAY, None)
    );
    assert_eq!(store.refresh_token(&random_hash()).await.unwrap(), None);
}

async fn list_users_orders_and_pages(store: Arc<dyn AuthStore>) {
    // Inserted out of order; two share a created_at and are ordered by id.
    let c = user("c@example.com", NOW + 2);
    let a = user("a@example.com", NOW);
    let b1 = user("b1@example.com", NOW + 1);
    let b2 = user("b2@example.com", NOW + 1);
    for u in [&c, &a, &b1, &b2] {
        store.create_user(u).await.unwrap();
    }
    let (b_low, b_high) = if b1.id.to_string() < b2.id.to_string() {
        (&b1, &b2)
    } else {
        (&b2, &b1)
    };
    let expected = vec![a.id, b_low.id, b_high.id, c.id];

    let ids = |users: Vec<UserRecord>| users.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_users(10, 0).await.unwrap()), expected);
    assert_eq!(ids(store.list_users(2, 0).await.unwrap()), expected[..2]);
    assert_eq!(ids(store.list_users(2, 2).await.unwrap()), expected[2..]);
    assert_eq!(
        ids(store.list_users(2, 4).await.unwrap()),
        Vec::<Uuid>::new()
    );
    assert_eq!(
        ids(store.list_users(-1, 0).await.unwrap()),
        Vec::<Uuid>::new()
    );
}

async fn set_role_updates_role(store: Arc<dyn AuthStore>) {
    let u = user("root@example.com", NOW);
    store.create_user(&u).await.unwrap();

    assert!(store.set_role(u.id, Role::Admin, NOW + 5).await.unwrap());
    let stored = store.user_by_id(u.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.role, stored.updated_at, stored.created_at),
        (Role::Admin, NOW + 5, NOW)
    );

    assert!(
        !store
            .set_role(Uuid::new_v4(), Role::Admin, NOW)
            .await
            .unwrap()
    );
}

async fn session_requires_existing_user(store: Arc<dyn AuthStore>) {
    let s = new_session(Uuid::new_v4(), NOW, NOW + DAY);
    let err = store
        .create_session(&s, &token(s.id, NOW, NOW + DAY))
        .await
        .expect_err("foreign key");
    assert!(matches!(err, StoreError::Database(_)), "got {err:?}");
    assert_eq!(store.session(s.id).await.unwrap(), None);
}

async fn active_sessions_exclude_revoked_and_expired(store: Arc<dyn AuthStore>) {
    let (u, first, _) = user_with_session(store.as_ref(), "sessions@example.com", NOW + DAY).await;
    let second = add_session(store.as_ref(), u.id, NOW + 1, NOW + DAY).await;
    let revoked = add_session(store.as_ref(), u.id, NOW + 2, NOW + DAY).await;
    let expired = add_session(store.as_ref(), u.id, NOW + 3, NOW + 10).await;
    let newest = add_session(store.as_ref(), u.id, NOW + 4, NOW + DAY).await;
    let other_user = user("other@example.com", NOW);
    store.create_user(&other_user).await.unwrap();
    add_session(store.as_ref(), other_user.id, NOW + 5, NOW + DAY).await;
    assert!(
        store
            .revoke_session(revoked.id, NOW + 5, "logout")
            .await
            .unwrap()
    );

    // `expired` expires exactly at NOW + 10: no longer active then.
    let active = store.active_sessions(u.id, NOW + 10).await.unwrap();
    let ids: Vec<Uuid> = active.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![newest.id, second.id, first.id]);
    assert!(
        active
            .iter()
            .all(|s| s.user_id == u.id && s.revoked_at.is_none())
    );

    let before_expiry: Vec<Uuid> = store
        .active_sessions(u.id, NOW + 9)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        before_expiry,
        vec![newest.id, expired.id, second.id, first.id]
    );
    assert!(
        store
            .active_sessions(Uuid::new_v4(), NOW)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn refresh_context_joins_session_and_user(store: Arc<dyn AuthStore>) {
    let (u, s, t) = user_with_session(store.as_ref(), "context@example.com", NOW + DAY).await;
    let ctx = store
        .refresh_context(&t.hash)
        .await
        .unwrap()
        .expect("known token");
    assert_eq!(ctx.user, u);
    assert_eq!(ctx.session, session(store.as_ref(), s.id).await);
    assert_eq!(
        Some(ctx.token),
        store.refresh_token(&t.hash).await.unwrap(),
        "the joined token row is the token row"
    );

    // A rotated token still resolves (reuse detection needs it), with the rotation visible.
    let next = token(s.id, NOW + HOUR, NOW + DAY);
    store
        .rotate_refresh_token(&t.hash, &next, NOW + HOUR, None, None)
        .await
        .unwrap();
    let old = store.refresh_context(&t.hash).await.unwrap().unwrap();
    assert_eq!(old.token.rotated_at, Some(NOW + HOUR));
    assert_eq!(old.session.last_used_at, NOW + HOUR);

    // A revoked session is returned as revoked, not hidden.
    store
        .revoke_session(s.id, NOW + 2 * HOUR, "logout")
        .await
        .unwrap();
    let revoked = store.refresh_context(&next.hash).await.unwrap().unwrap();
    assert_eq!(revoked.session.revoked_at, Some(NOW + 2 * HOUR));

    assert_eq!(store.refresh_context(&random_hash()).await.unwrap(), None);
}

async fn failed_rotation_writes_nothing_and_the_store_stays_usable(store: Arc<dyn AuthStore>) {
    let (_, s, old) = user_with_session(store.as_ref(), "rollback@example.com", NOW + DAY).await;
    let taken = token(s.id, NOW, NOW + DAY);
    store.add_refresh_token(&taken, NOW).await.unwrap();
    let before = session(store.as_ref(), s.id).await;

    // The new token's hash collides with an existing one: the insert fails mid-rotation.
    let clash = NewRefreshToken {
        hash: taken.hash,
        ..token(s.id, NOW + HOUR, NOW + 2 * DAY)
    };
    let failed = store
        .rotate_refresh_token(&old.hash, &clash, NOW + HOUR, Some("203.0.113.1"), None)
        .await;
    assert!(failed.is_err(), "a primary-key clash fails the rotation");
    assert_eq!(
        store
            .refresh_token(&old.hash)
            .await
            .unwrap()
            .unwrap()
            .rotated_at,
        None,
        "the compare-and-set was rolled back"
    );
    assert_eq!(session(store.as_ref(), s.id).await, before, "no slide");

    // The writer is not left inside the failed transaction.
    for _ in 0..3 {
        store
            .append_audit(&NewAuditEvent {
                at: NOW,
                event: "after_rollback".into(),
                user_id: None,
                session_id: None,
                ip: None,
                detail: json!({}),
            })
            .await
            .unwrap();
    }
    let next = token(s.id, NOW + HOUR, NOW + 2 * DAY);
    assert_eq!(
        store
            .rotate_refresh_token(&old.hash, &next, NOW + HOUR, None, None)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_eq!(
        session(store.as_ref(), s.id).await.expires_at,
        NOW + 2 * DAY
    );
}

async fn rotate_refresh_token_compare_and_set(store: Arc<dyn AuthStore>) {
    let (_, s, old) = user_with_session(store.as_ref(), "rotate@example.com", NOW + DAY).await;

    let new = token(s.id, NOW + HOUR, NOW + HOUR + DAY);
    let outcome = store
        .rotate_refresh_token(&old.hash, &new, NOW + HOUR, Some("198.51.100.7"), None)
        .await;
    assert_eq!(outcome.unwrap(), RotateOutcome::Rotated);

    let old_row = store.refresh_token(&old.hash).await.unwrap().unwrap();
    assert_eq!(old_row.rotated_at, Some(NOW + HOUR));
    let new_row = store.refresh_token(&new.hash).await.unwrap().unwrap();
    assert_eq!(
        (new_row.session_id, new_row.rotated_at, new_row.expires_at),
        (s.id, None, NOW + HOUR + DAY)
    );
    let slid = session(store.as_ref(), s.id).await;
    assert_eq!(
        (slid.last_used_at, slid.expires_at),
        (NOW + HOUR, NOW + HOUR + DAY)
    );
    assert_eq!(
        slid.ip.as_deref(),
        Some("198.51.100.7"),
        "ip replaced when given"
    );
    assert_eq!(
        slid.user_agent, s.user_agent,
        "user agent kept when not given"
    );

    // Presenting the old token again: nothing is written.
    let again = token(s.id, NOW + 2 * HOUR, NOW + 2 * HOUR + DAY);
    let outcome = store
        .rotate_refresh_token(
            &old.hash,
            &again,
            NOW + 2 * HOUR,
            Some("203.0.113.9"),
            Some("x"),
        )
        .await;
    assert_eq!(outcome.unwrap(), RotateOutcome::AlreadyRotated);
    assert_eq!(store.refresh_token(&again.hash).await.unwrap(), None);
    assert_eq!(
        store
            .refresh_token(&old.hash)
            .await
            .unwrap()
            .unwrap()
            .rotated_at,
        Some(NOW + HOUR)
    );
    assert_eq!(session(store.as_ref(), s.id).await, slid);

    // The new token rotates in turn.
    let third = token(s.id, NOW + 3 * HOUR, NOW + 3 * HOUR + DAY);
    let outcome = store
        .rotate_refresh_token(&new.hash, &third, NOW + 3 * HOUR, None, Some("agent/2"))
        .await;
    assert_eq!(outcome.unwrap(), RotateOutcome::Rotated);
    let slid = session(store.as_ref(), s.id).await;
    assert_eq!(slid.user_agent.as_deref(), Some("agent/2"));
    assert_eq!(slid.ip.as_deref(), Some("198.51.100.7"));
}

async fn concurrent_rotations_exactly_one_wins(store: Arc<dyn AuthStore>) {
    const CONTENDERS: usize = 8;
    let (_, s, mut current) =
        user_with_session(store.as_ref(), "race@example.com", NOW + DAY).await;

    for round in 0..5 {
        let now = NOW + (round + 1) * HOUR;
        let tasks: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let store = store.clone();
                let old = current.hash;
                let new = token(s.id, now, now + DAY);
                tokio::spawn(async move {
                    let outcome = store
                        .rotate_refresh_token(&old, &new, now, None, None)
                        .await
                        .expect("rotate");
                    (outcome, new)
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for task in tasks {
            let (outcome, new) = task.await.expect("task");
            match outcome {
                RotateOutcome::Rotated => winners.push(new),
                RotateOutcome::AlreadyRotated => losers.push(new),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one rotation must win"
        );
        for loser in &losers {
            assert_eq!(
                store.refresh_token(&loser.hash).await.unwrap(),
                None,
                "a loser wrote its token"
            );
        }
        current = winners.remove(0);
        assert!(store.refresh_token(&current.hash).await.unwrap().is_some());
    }
}

async fn add_refresh_token_slides_session(store: Arc<dyn AuthStore>) {
    let (_, s, first) =
        user_with_session(store.as_ref(), "grace-window@example.com", NOW + DAY).await;

    let extra = token(s.id, NOW + HOUR, NOW + 2 * DAY);
    store
        .add_refresh_token(&extra, NOW + HOUR)
        .await
        .expect("add token");

    let stored = store.refresh_token(&extra.hash).await.unwrap().unwrap();
    assert_eq!(
        (stored.session_id, stored.rotated_at, stored.expires_at),
        (s.id, None, NOW + 2 * DAY)
    );
    assert!(store.refresh_token(&first.hash).await.unwrap().is_some());
    let slid = session(store.as_ref(), s.id).await;
    assert_eq!(
        (slid.last_used_at, slid.expires_at),
        (NOW + HOUR, NOW + 2 * DAY)
    );
    assert_eq!(
        (slid.ip, slid.user_agent),
        (s.ip, s.user_agent),
        "ip and agent untouched"
    );

    // The token's session must exist.
    let orphan = token(Uuid::new_v4(), NOW, NOW + DAY);
    assert!(store.add_refresh_token(&orphan, NOW).await.is_err());
    assert_eq!(store.refresh_token(&orphan.hash).await.unwrap(), None);
}

async fn revoke_session_writes_one_feed_row(store: Arc<dyn AuthStore>) {
    let (u, s, _) = user_with_session(store.as_ref(), "revoke@example.com", NOW + DAY).await;
    assert_eq!(store.latest_revocation_cursor().await.unwrap(), 0);

    assert!(store.revoke_session(s.id, NOW + 5, "logout").await.unwrap());
    let revoked = session(store.as_ref(), s.id).await;
    assert_eq!(
        (revoked.revoked_at, revoked.revoke_reason.as_deref()),
        (Some(NOW + 5), Some("logout"))
    );

    let feed = store.revocations_after(0, 100).await.unwrap();
    assert_eq!(feed.len(), 1);
    let row = &feed[0];
    assert_eq!(
        (
            row.kind,
            row.user_id,
            row.session_id,
            row.revoked_at,
            row.reason.as_str()
        ),
        (RevocationKind::Session, u.id, Some(s.id), NOW + 5, "logout")
    );
    assert!(row.cursor > 0);
    assert_eq!(store.latest_revocation_cursor().await.unwrap(), row.cursor);

    // Already revoked, or missing: false and no feed row.
    assert!(!store.revoke_session(s.id, NOW + 6, "again").await.unwrap());
    assert!(
        !store
            .revoke_session(Uuid::new_v4(), NOW + 6, "missing")
            .await
            .unwrap()
    );
    assert_eq!(store.revocations_after(0, 100).await.unwrap().len(), 1);
    assert_eq!(
        session(store.as_ref(), s.id).await.revoke_reason.as_deref(),
        Some("logout")
    );
}

async fn concurrent_revoke_session_revokes_once(store: Arc<dyn AuthStore>) {
    let (_, s, _) = user_with_session(store.as_ref(), "double-logout@example.com", NOW + DAY).await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .revoke_session(s.id, NOW + i, "logout")
                    .await
                    .expect("revoke")
            })
        })
        .collect();
    let mut revoked = 0;
    for task in tasks {
        revoked += usize::from(task.await.expect("task"));
    }
    assert_eq!(revoked, 1);
    assert_eq!(store.revocations_after(0, 100).await.unwrap().len(), 1);
}

async fn revoke_user_sessions_writes_one_feed_row(store: Arc<dyn AuthStore>) {
    let (u, first, _) =
        user_with_session(store.as_ref(), "everywhere@example.com", NOW + DAY).await;
    let second = add_session(store.as_ref(), u.id, NOW + 1, NOW + DAY).await;
    let already = add_session(store.as_ref(), u.id, NOW + 2, NOW + DAY).await;
    let (bystander, bystander_session, _) =
        user_with_session(store.as_ref(), "by@example.com", NOW + DAY).await;
    assert!(
        store
            .revoke_session(already.id, NOW + 3, "logout")
            .await
            .unwrap()
    );

    assert_eq!(
        store
            .revoke_user_sessions(u.id, NOW + 4, "password_changed")
            .await
            .unwrap(),
        2
    );
    for id in [first.id, second.id] {
        let s = session(store.as_ref(), id).await;
        assert_eq!(
            (s.revoked_at, s.revoke_reason.as_deref()),
            (Some(NOW + 4), Some("password_changed"))
        );
    }
    let untouched = session(store.as_ref(), already.id).await;
    assert_eq!(
        (untouched.revoked_at, untouched.revoke_reason.as_deref()),
        (Some(NOW + 3), Some("logout"))
    );
    assert_eq!(
        session(store.as_ref(), bystander_session.id)
            .await
            .revoked_at,
        None
    );
    assert!(
        store
            .active_sessions(u.id, NOW + 5)
            .await
            .unwrap()
            .is_empty()
    );

    let feed = store.revocations_after(0, 100).await.unwrap();
    assert_eq!(feed.len(), 2);
    assert_eq!(
        (feed[0].kind, feed[0].session_id),
        (RevocationKind::Session, Some(already.id))
    );
    assert_eq!(
        (
            feed[1].kind,
            feed[1].user_id,
            feed[1].session_id,
            feed[1].reason.as_str()
        ),
        (RevocationKind::User, u.id, None, "password_changed")
    );
    assert_strictly_increasing(&feed.iter().map(|r| r.cursor).collect::<Vec<_>>());

    // Nothing left to revoke: 0, and the feed does not grow.
    assert_eq!(
        store
            .revoke_user_sessions(u.id, NOW + 6, "again")
            .await
            .unwrap(),
        0
    );
    let no_sessions = user("lonely@example.com", NOW);
    store.create_user(&no_sessions).await.unwrap();
    assert_eq!(
        store
            .revoke_user_sessions(no_sessions.id, NOW + 6, "admin")
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.revocations_after(0, 100).await.unwrap().len(), 2);

    assert_eq!(
        store
            .revoke_user_sessions(bystander.id, NOW + 7, "admin")
            .await
            .unwrap(),
        1
    );
    let feed = store.revocations_after(0, 100).await.unwrap();
    assert_eq!(feed.len(), 3);
    assert_eq!(
        (feed[2].kind, feed[2].user_id),
        (RevocationKind::User, bystander.id)
    );
    assert_strictly_increasing(&feed.iter().map(|r| r.cursor).collect::<Vec<_>>());
    assert_eq!(
        store.latest_revocation_cursor().await.unwrap(),
        feed[2].cursor
    );
}

async fn revocations_after_paginates(store: Arc<dyn AuthStore>) {
    assert!(store.revocations_after(0, 10).await.unwrap().is_empty());
    assert_eq!(store.latest_revocation_cursor().await.unwrap(), 0);

    let (u, first, _) = user_with_session(store.as_ref(), "feed@example.com", NOW + DAY).await;
    let mut expected_sessions = vec![first.id];
    for i in 1..7 {
        expected_sessions.push(
            add_session(store.as_ref(), u.id, NOW + i, NOW + DAY)
                .await
                .id,
        );
    }
    for (i, id) in expected_sessions.iter().enumerate() {
        assert!(
            store
                .revoke_session(*id, NOW + 10 + i as i64, &format!("reason-{i}"))
                .await
                .unwrap()
        );
    }

    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        let page = store.revocations_after(cursor, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        cursor = last.cursor;
        seen.extend(page);
    }
    assert_eq!(
        seen.iter()
            .map(|r| r.session_id.unwrap())
            .collect::<Vec<_>>(),
        expected_sessions
    );
    assert_eq!(
        seen.iter().map(|r| r.reason.clone()).collect::<Vec<_>>(),
        (0..7).map(|i| format!("reason-{i}")).collect::<Vec<_>>()
    );
    let cursors: Vec<i64> = seen.iter().map(|r| r.cursor).collect();
    assert_strictly_increasing(&cursors);
    assert_eq!(
        store.latest_revocation_cursor().await.unwrap(),
        *cursors.last().unwrap()
    );

    // Resuming from the middle, and past the end.
    let tail = store.revocations_after(cursors[3], 100).await.unwrap();
    assert_eq!(
        tail.iter().map(|r| r.cursor).collect::<Vec<_>>(),
        cursors[4..]
    );
    assert!(
        store
            .revocations_after(cursors[6], 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.revocations_after(0, 0).await.unwrap().is_empty());
}

async fn throttle_counts_and_clears(store: Arc<dyn AuthStore>) {
    let key = "acct:mallory@example.com";
    assert_eq!(store.throttle(key).await.unwrap(), None);

    for n in 1..=3 {
        let state = store.throttle_failure(key, NOW + n).await.unwrap();
        assert_eq!(
            (state.key.as_str(), state.failures, state.last_failure_at),
            (key, n, NOW + n)
        );
    }
    assert_eq!(
        store.throttle(key).await.unwrap().map(|t| t.failures),
        Some(3)
    );

    let other = store.throttle_failure("ip:192.0.2.7", NOW).await.unwrap();
    assert_eq!(other.failures, 1);

    store.throttle_clear(key).await.unwrap();
    assert_eq!(store.throttle(key).await.unwrap(), None);
    assert_eq!(
        store
            .throttle("ip:192.0.2.7")
            .await
            .unwrap()
            .map(|t| t.failures),
        Some(1)
    );
    assert_eq!(
        store
            .throttle_failure(key, NOW + 10)
            .await
            .unwrap()
            .failures,
        1
    );
    store
        .throttle_clear("never-seen")
        .await
        .expect("clearing an unknown key is fine");
}

async fn concurrent_throttle_failures_all_count(store: Arc<dyn AuthStore>) {
    const ATTEMPTS: i64 = 32;
    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .throttle_failure("ip:203.0.113.1", NOW + i)
                    .await
                    .expect("increment")
            })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("task").failures);
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=ATTEMPTS).collect::<Vec<_>>(),
        "every increment sees a distinct count"
    );
    assert_eq!(
        store
            .throttle("ip:203.0.113.1")
            .await
            .unwrap()
            .unwrap()
            .failures,
        ATTEMPTS
    );
}

async fn signing_keys_insert_list_delete_expired(store: Arc<dyn AuthStore>) {
    assert!(store.signing_keys().await.unwrap().is_empty());
    let next = signing_key("k3", NOW + DAY, NOW + 10 * DAY);
    let old = signing_key("k1", NOW - 3 * DAY, NOW - 1);
    let current = signing_key("k2", NOW - DAY, NOW);
    for key in [&next, &old, &current] {
        store.insert_signing_key(key).await.unwrap();
    }
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![old.clone(), current.clone(), next.clone()]
    );
    assert!(
        store.insert_signing_key(&old).await.is_err(),
        "kid is unique"
    );

    // `current` expires exactly at NOW: not yet deleted.
    assert_eq!(store.delete_expired_signing_keys(NOW).await.unwrap(), 1);
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![current.clone(), next.clone()]
    );
    assert_eq!(store.delete_expired_signing_keys(NOW).await.unwrap(), 0);
    assert_eq!(store.delete_expired_signing_keys(NOW + 1).await.unwrap(), 1);
    assert_eq!(store.signing_keys().await.unwrap(), vec![next]);
}

async fn audit_append_and_page(store: Arc<dyn AuthStore>) {
    assert!(store.audit_events(10, None).await.unwrap().is_empty());
    let user_id = Uuid::new_v4();
    let session_id = Uuid::new_v4();
    for i in 0..5 {
        store
            .append_audit(&NewAuditEvent {
                at: NOW + i,
                event: format!("event_{i}"),
                user_id: (i % 2 == 0).then_some(user_id),
                session_id: (i == 4).then_some(session_id),
                ip: (i == 4).then(|| "2001:db8::1".to_owned()),
                detail: json!({ "i": i, "nested": { "list": [1, "two", null], "flag": true } }),
            })
            .await
            .unwrap();
    }

    let all = store.audit_events(10, None).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.event.as_str()).collect::<Vec<_>>(),
        ["event_4", "event_3", "event_2", "event_1", "event_0"]
    );
    assert_strictly_increasing(&all.iter().rev().map(|e| e.id).collect::<Vec<_>>());
    let newest = &all[0];
    assert_eq!(
        (
            newest.at,
            newest.user_id,
            newest.session_id,
            newest.ip.as_deref()
        ),
        (
            NOW + 4,
            Some(user_id),
            Some(session_id),
            Some("2001:db8::1")
        )
    );
    assert_eq!(
        newest.detail,
        json!({ "i": 4, "nested": { "list": [1, "two", null], "flag": true } })
    );
    assert_eq!(
        (all[1].user_id, all[1].session_id, all[1].ip.as_deref()),
        (None, None, None)
    );

    let page = store.audit_events(2, None).await.unwrap();
    assert_eq!(page, all[..2]);
    let next = store.audit_events(2, Some(page[1].id)).await.unwrap();
    assert_eq!(next, all[2..4], "`before` is exclusive");
    let last = store.audit_events(2, Some(next[1].id)).await.unwrap();
    assert_eq!(last, all[4..]);
    assert!(
        store
            .audit_events(2, Some(all[4].id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn purge_expired_deletes_tokens_then_sessions(store: Arc<dyn AuthStore>) {
    let keep = DAY;
    let cutoff = NOW - keep;
    // Expired before the cutoff, with its token.
    let (u, dead, dead_token) =
        user_with_session(store.as_ref(), "purge@example.com", cutoff - 1).await;
    // Expired before the cutoff, with a token that outlives it: both go.
    let orphaning = new_session(u.id, NOW - 5 * DAY, cutoff - 1);
    let outliving_token = token(orphaning.id, NOW - 5 * DAY, NOW + DAY);
    store
        .create_session(&orphaning, &outliving_token)
        .await
        .unwrap();
    // Expired exactly at the cutoff: kept.
    let boundary = new_session(u.id, NOW - 5 * DAY, cutoff);
    let boundary_token = token(boundary.id, NOW - 5 * DAY, cutoff);
    store
        .create_session(&boundary, &boundary_token)
        .await
        .unwrap();
    // Live, with one token expired before the cutoff and two live ones.
    let live = add_session(store.as_ref(), u.id, NOW - 3 * DAY, NOW + DAY).await;
    let live_old_token = token(live.id, NOW - 3 * DAY, cutoff - 1);
    store
        .add_refresh_token(&live_old_token, NOW - 3 * DAY)
        .await
        .unwrap();
    let live_new_token = token(live.id, NOW, NOW + DAY);
    store.add_refresh_token(&live_new_token, NOW).await.unwrap();
    assert_eq!(session(store.as_ref(), live.id).await.expires_at, NOW + DAY);

    // Tokens: dead_token, outliving_token, live_old_token; sessions: dead, orphaning.
    assert_eq!(store.purge_expired(NOW, keep).await.unwrap(), 5);
    for gone in [dead.id, orphaning.id] {
        assert_eq!(store.session(gone).await.unwrap(), None);
    }
    for gone in [&dead_token, &outliving_token, &live_old_token] {
        assert_eq!(store.refresh_token(&gone.hash).await.unwrap(), None);
    }
    assert!(store.session(boundary.id).await.unwrap().is_some());
    assert!(store.session(live.id).await.unwrap().is_some());
    for kept in [&boundary_token, &live_new_token] {
        assert!(store.refresh_token(&kept.hash).await.unwrap().is_some());
    }
    assert_eq!(
        store.purge_expired(NOW, keep).await.unwrap(),
        0,
        "nothing left to purge"
    );

    // Later, everything else expires: boundary and live with their three tokens.
    assert_eq!(
        store.purge_expired(NOW + 2 * DAY + 1, keep).await.unwrap(),
        5
    );
    assert!(store.active_sessions(u.id, 0).await.unwrap().is_empty());
    assert!(
        store.user_by_id(u.id).await.unwrap().is_some(),
        "users are never purged"
    );
}

// --- backend-specific behaviour ---

#[tokio::test]
async fn sqlite_memory_database_is_shared_and_migrated() {
    let store = connect("sqlite::memory:", 8)
        .await
        .expect("open in-memory store");
    assert_eq!(store.backend(), "sqlite");
    let (u, s, _) = user_with_session(store.as_ref(), "memory@example.com", NOW + DAY).await;
    // Several concurrent users of the one connection all see the same database.
    let reads = futures_util::future::join_all((0..4).map(|_| store.user_by_id(u.id))).await;
    for read in reads {
        assert_eq!(read.unwrap().map(|found| found.id), Some(u.id));
    }
    assert!(store.session(s.id).await.unwrap().is_some());

    let other = connect("sqlite::memory:", 1).await.unwrap();
    assert_eq!(
        other.user_by_id(u.id).await.unwrap(),
        None,
        "each in-memory store is its own database"
    );
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_and_reopens() {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::connect(db.url(), 2)
        .await
        .expect("create file database");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(synchronous, 1, "NORMAL");
    let u = user("persist@example.com", NOW);
    store.create_user(&u).await.unwrap();
    drop(store);

    // Reopening runs the (already applied) migrations again and keeps the data.
    let reopened = SqliteStore::connect(db.url(), 2).await.expect("reopen");
    assert_eq!(reopened.user_by_id(u.id).await.unwrap(), Some(u));
}

#[tokio::test]
async fn sqlite_connect_fails_for_missing_directory() {
    let dir = std::env::temp_dir().join(format!("apex-missing-{}", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}/auth.db", dir.display());
    assert!(matches!(
        SqliteStore::connect(&url, 1).await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_panicked() {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::connect(db.url(), 1).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at) \
         VALUES ('not-a-uuid', 'x@example.com', NULL, 'h', 'user', 0, 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let err = store
        .user_by_email("x@example.com")
        .await
        .expect_err("corrupt id");
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("users.id")),
        "got {err:?}"
    );
}

#[tokio::test]
async fn fresh_database_urls_are_distinct_and_usable() {
    let first = TestDatabase::from_env().await.expect("first database");
    let second = TestDatabase::from_env().await.expect("second database");
    assert_ne!(first.url(), second.url());
    let expected = if postgres_selected() {
        "postgres"
    } else {
        "sqlite"
    };
    for db in [&first, &second] {
        let store = connect(db.url(), 2)
            .await
            .expect("connect to a fresh database");
        assert_eq!(store.backend(), expected);
        assert!(
            store.list_users(10, 0).await.unwrap().is_empty(),
            "fresh means empty"
        );
    }
}

#[tokio::test]
async fn postgres_test_database_is_dropped_with_its_guard() {
    if !postgres_selected() {
        return;
    }
    let db = TestDatabase::postgres().await.expect("create database");
    let name = db
        .url()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let server = std::env::var(super::testing::POSTGRES_URL_ENV)
        .unwrap_or_else(|_| super::testing::DEFAULT_POSTGRES_URL.to_owned());
    let admin = sqlx::PgPool::connect(&server).await.expect("server");
    let exists = |admin: sqlx::PgPool, name: String| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_one(&admin)
            .await
            .unwrap()
    };
    let store = connect(db.url(), 2).await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(exists(admin.clone(), name.clone()).await, 1);
    drop(db); // while the store still holds connections
    assert_eq!(exists(admin.clone(), name.clone()).await, 0);
}
