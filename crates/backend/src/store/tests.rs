//! Conformance suite for [`BackendStore`]: every case runs against SQLite (a
//! new temporary file each) and against PostgreSQL (a new database each).
//!
//! The PostgreSQL variants run when `APEX_TEST_DB=postgres` and return early
//! otherwise; when selected they fail, never skip, if the server is
//! unreachable. Run both with:
//!
//! ```text
//! cargo test -p backend store::
//! APEX_TEST_DB=postgres cargo test -p backend store::
//! ```

use super::testing::{TestBackend, TestDatabase};
use super::{
    Accepted, BackendStore, DatasetRecord, MessageRecord, MessageRole, NewUserMessage,
    RunEventRecord, RunRecord, RunStatus, SqliteStore, StoreError, ThreadRecord, connect,
};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

/// A fixed "now" (2023-11-14T22:13:20Z); tests never read the clock.
const NOW: i64 = 1_700_000_000_000;
const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

// --- harness ---

fn postgres_selected() -> bool {
    TestBackend::from_env() == TestBackend::Postgres
}

/// Runs `case` against a fresh store on `backend`; the database is removed afterwards.
async fn run_on<F, Fut>(backend: TestBackend, case: F)
where
    F: FnOnce(Arc<dyn BackendStore>) -> Fut,
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
    case(store.clone()).await;
    store.close().await;
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
    thread_create_and_lookup_is_owner_only,
    thread_id_conflict_is_an_error,
    list_threads_orders_and_pages,
    update_thread_title_and_dataset,
    accept_message_writes_message_and_run,
    accept_message_duplicate_returns_original,
    accept_message_requires_own_thread,
    concurrent_accept_message_same_thread_one_new,
    concurrent_accept_message_across_threads_one_new,
    concurrent_accept_message_respects_the_run_limit,
    accept_message_creates_the_new_thread_or_nothing,
    messages_order_and_paginate,
    run_lookup_is_owner_only_and_counts_running,
    append_event_numbers_from_one_and_pages,
    concurrent_append_event_is_gap_free,
    append_event_refused_after_finish_and_for_unknown_run,
    finish_run_with_answer_and_report,
    finish_run_with_terminal_event_takes_next_seq,
    finish_run_refuses_twice_and_writes_nothing,
    finish_run_refuses_running_status_and_unknown_run,
    concurrent_finish_run_exactly_one_wins,
    concurrent_append_and_finish_never_append_after_finish,
    set_run_report_stores_and_replaces,
    delete_thread_cascades_and_is_owner_only,
    concurrent_delete_thread_leaves_nothing_behind,
    datasets_create_list_and_ownership,
    delete_dataset_clears_threads,
    tickets_redeem_once_before_expiry,
    ticket_hash_conflict,
    concurrent_redeem_exactly_one_wins,
    purge_tickets_deletes_only_expired,
    json_documents_round_trip,
    negative_limits_read_as_zero,
);

// --- fixtures ---

fn thread(user_id: Uuid, title: &str, at: i64) -> ThreadRecord {
    ThreadRecord {
        id: Uuid::new_v4(),
        user_id,
        title: title.to_owned(),
        dataset_id: None,
        created_at: at,
        updated_at: at,
    }
}

async fn new_thread(store: &dyn BackendStore, user_id: Uuid, at: i64) -> ThreadRecord {
    let t = thread(user_id, "Cut AI costs", at);
    store.create_thread(&t).await.expect("create thread");
    t
}

fn user_message(t: &ThreadRecord, client_msg_id: &str, now: i64) -> NewUserMessage {
    NewUserMessage {
        message_id: Uuid::new_v4(),
        run_id: Uuid::new_v4(),
        thread_id: t.id,
        user_id: t.user_id,
        content: format!("how can I cut my AI costs by 30%? ({client_msg_id})"),
        client_msg_id: client_msg_id.to_owned(),
        dataset_id: None,
        now,
        new_thread: None,
        max_running: None,
    }
}

/// Accepts a new message in `t` and returns its run (panics on a duplicate).
async fn start_run(store: &dyn BackendStore, t: &ThreadRecord, now: i64) -> RunRecord {
    let msg = user_message(t, &Uuid::new_v4().to_string(), now);
    match store.accept_message(&msg).await.expect("accept") {
        Accepted::New { run, .. } => run,
        other => panic!("expected a new message, got {other:?}"),
    }
}

fn answer_for(run: &RunRecord, content: &str, at: i64) -> MessageRecord {
    MessageRecord {
        id: Uuid::new_v4(),
        thread_id: run.thread_id,
        user_id: run.user_id,
        role: MessageRole::Assistant,
        content: content.to_owned(),
        client_msg_id: None,
        run_id: Some(run.id),
        created_at: at,
    }
}

fn dataset(user_id: Uuid, name: &str, at: i64) -> DatasetRecord {
    DatasetRecord {
        id: Uuid::new_v4(),
        user_id,
        name: name.to_owned(),
        format: "apex_jsonl".to_owned(),
        records: 248_901,
        bytes: 52_428_800,
        path: format!("datasets/{name}.jsonl"),
        import_report: json!({"skipped": [{"line": 7, "reason": "bad json"}], "duplicates": 2}),
        sample: false,
        created_at: at,
    }
}

/// A random 32-byte ticket hash.
fn random_hash() -> [u8; 32] {
    let mut hash = [0u8; 32];
    hash[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    hash[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    hash
}

/// Whether `result` is `Conflict(code)`; prints what it was otherwise.
fn is_conflict(result: &Result<impl std::fmt::Debug, StoreError>, code: &str) -> bool {
    let matched = matches!(result, Err(StoreError::Conflict(c)) if *c == code);
    if !matched {
        eprintln!("expected Conflict({code:?}), got {result:?}");
    }
    matched
}

// --- threads ---

async fn ping_answers(store: Arc<dyn BackendStore>) {
    store.ping().await.expect("ping");
}

async fn thread_create_and_lookup_is_owner_only(store: Arc<dyn BackendStore>) {
    let alice = Uuid::new_v4();
    let bob = Uuid::new_v4();
    let mut t = thread(alice, "Where does the money go?", NOW);
    t.dataset_id = Some(Uuid::new_v4());
    store.create_thread(&t).await.unwrap();

    assert_eq!(store.thread(alice, t.id).await.unwrap(), Some(t.clone()));
    assert_eq!(
        store.thread(bob, t.id).await.unwrap(),
        None,
        "another user's thread"
    );
    assert_eq!(store.thread(alice, Uuid::new_v4()).await.unwrap(), None);
    assert!(store.list_threads(bob, 10, None).await.unwrap().is_empty());
}

async fn thread_id_conflict_is_an_error(store: Arc<dyn BackendStore>) {
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let mut again = thread(Uuid::new_v4(), "other", NOW);
    again.id = t.id;
    assert!(matches!(
        store.create_thread(&again).await,
        Err(StoreError::Database(_))
    ));
    assert_eq!(store.thread(t.user_id, t.id).await.unwrap(), Some(t));
}

async fn list_threads_orders_and_pages(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(new_thread(store.as_ref(), user, NOW + i * MINUTE).await);
    }
    new_thread(store.as_ref(), Uuid::new_v4(), NOW + 10 * MINUTE).await;

    let ids = |ts: &[ThreadRecord]| ts.iter().map(|t| t.id).collect::<Vec<_>>();
    let newest_first: Vec<Uuid> = made.iter().rev().map(|t| t.id).collect();
    let all = store.list_threads(user, 10, None).await.unwrap();
    assert_eq!(ids(&all), newest_first);

    let first = store.list_threads(user, 2, None).await.unwrap();
    assert_eq!(ids(&first), newest_first[..2]);
    let cursor = first.last().unwrap().updated_at;
    let second = store.list_threads(user, 2, Some(cursor)).await.unwrap();
    assert_eq!(ids(&second), newest_first[2..4]);
    let third = store
        .list_threads(user, 2, Some(second.last().unwrap().updated_at))
        .await
        .unwrap();
    assert_eq!(ids(&third), newest_first[4..]);

    // A message moves its thread to the front.
    let oldest = &made[0];
    store
        .accept_message(&user_message(oldest, "bump", NOW + HOUR))
        .await
        .unwrap();
    let all = store.list_threads(user, 1, None).await.unwrap();
    assert_eq!(ids(&all), vec![oldest.id]);
    assert_eq!(all[0].updated_at, NOW + HOUR);
}

async fn update_thread_title_and_dataset(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let ds = Uuid::new_v4();

    assert!(
        store
            .update_thread(user, t.id, Some("Renamed"), Some(Some(ds)), NOW + 1)
            .await
            .unwrap()
    );
    let got = store.thread(user, t.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.title.as_str(),
            got.dataset_id,
            got.updated_at,
            got.created_at
        ),
        ("Renamed", Some(ds), NOW + 1, NOW)
    );

    // None keeps, Some(None) clears.
    assert!(
        store
            .update_thread(user, t.id, None, None, NOW + 2)
            .await
            .unwrap()
    );
    let got = store.thread(user, t.id).await.unwrap().unwrap();
    assert_eq!((got.title.as_str(), got.dataset_id), ("Renamed", Some(ds)));
    assert!(
        store
            .update_thread(user, t.id, None, Some(None), NOW + 3)
            .await
            .unwrap()
    );
    let got = store.thread(user, t.id).await.unwrap().unwrap();
    assert_eq!(
        (got.title.as_str(), got.dataset_id, got.updated_at),
        ("Renamed", None, NOW + 3)
    );

    // Another user's thread, or an unknown one, is not found and not changed.
    let intruder = Uuid::new_v4();
    assert!(
        !store
            .update_thread(intruder, t.id, Some("Hijacked"), None, NOW + 4)
            .await
            .unwrap()
    );
    assert!(
        !store
            .update_thread(user, Uuid::new_v4(), Some("x"), None, NOW + 4)
            .await
            .unwrap()
    );
    assert_eq!(
        store.thread(user, t.id).await.unwrap().unwrap().title,
        "Renamed"
    );
}

// --- messages ---

async fn accept_message_writes_message_and_run(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let mut msg = user_message(&t, "c-1", NOW + SECOND);
    msg.dataset_id = Some(Uuid::new_v4());

    let Accepted::New { message, run } = store.accept_message(&msg).await.unwrap() else {
        panic!("first accept must be new");
    };
    let expected_message = MessageRecord {
        id: msg.message_id,
        thread_id: t.id,
        user_id: user,
        role: MessageRole::User,
        content: msg.content.clone(),
        client_msg_id: Some("c-1".to_owned()),
        run_id: Some(msg.run_id),
        created_at: NOW + SECOND,
    };
    let expected_run = RunRecord {
        id: msg.run_id,
        thread_id: t.id,
        user_id: user,
        message_id: msg.message_id,
        dataset_id: msg.dataset_id,
        status: RunStatus::Running,
        reason: None,
        answer_message_id: None,
        report: None,
        last_seq: 0,
        created_at: NOW + SECOND,
        finished_at: None,
    };
    assert_eq!(message, expected_message);
    assert_eq!(run, expected_run);
    // What was returned is what was stored.
    assert_eq!(
        store.messages(t.id, 10, None).await.unwrap(),
        vec![expected_message]
    );
    assert_eq!(store.run(user, run.id).await.unwrap(), Some(expected_run));
    assert_eq!(
        store.thread(user, t.id).await.unwrap().unwrap().updated_at,
        NOW + SECOND
    );
}

async fn accept_message_duplicate_returns_original(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let first = user_message(&t, "resend-me", NOW + SECOND);
    let Accepted::New { message, run } = store.accept_message(&first).await.unwrap() else {
        panic!("first accept must be new");
    };

    // The resend after a reconnect carries fresh server-side ids and a later time.
    let resend = user_message(&t, "resend-me", NOW + MINUTE);
    assert_eq!(
        store.accept_message(&resend).await.unwrap(),
        Accepted::Duplicate {
            message: message.clone(),
            run: run.clone()
        }
    );
    assert_eq!(store.messages(t.id, 10, None).await.unwrap(), vec![message]);
    assert_eq!(store.run(user, resend.run_id).await.unwrap(), None);
    assert_eq!(store.running_runs(user).await.unwrap(), 1);
    assert_eq!(
        store.thread(user, t.id).await.unwrap().unwrap().updated_at,
        NOW + SECOND,
        "a duplicate changes nothing"
    );

    // The same client id from another user is a different message.
    let other_user = Uuid::new_v4();
    let other_thread = new_thread(store.as_ref(), other_user, NOW).await;
    assert!(matches!(
        store
            .accept_message(&user_message(&other_thread, "resend-me", NOW))
            .await
            .unwrap(),
        Accepted::New { .. }
    ));
}

async fn accept_message_requires_own_thread(store: Arc<dyn BackendStore>) {
    let owner = Uuid::new_v4();
    let t = new_thread(store.as_ref(), owner, NOW).await;
    let mut intruding = user_message(&t, "sneaky", NOW + SECOND);
    intruding.user_id = Uuid::new_v4();
    assert!(is_conflict(
        &store.accept_message(&intruding).await,
        "thread_not_found"
    ));
    let mut nowhere = user_message(&t, "lost", NOW + SECOND);
    nowhere.thread_id = Uuid::new_v4();
    assert!(is_conflict(
        &store.accept_message(&nowhere).await,
        "thread_not_found"
    ));
    assert!(store.messages(t.id, 10, None).await.unwrap().is_empty());
    assert_eq!(store.running_runs(intruding.user_id).await.unwrap(), 0);
    assert_eq!(store.all_running_runs().await.unwrap(), vec![]);
}

/// Checks that exactly one outcome is `New` and every other one is a
/// `Duplicate` of it, and that only its message and run were stored.
async fn assert_one_new(store: &dyn BackendStore, outcomes: Vec<Accepted>) {
    let (new, dups): (Vec<_>, Vec<_>) = outcomes
        .into_iter()
        .partition(|o| matches!(o, Accepted::New { .. }));
    assert_eq!(new.len(), 1, "exactly one accept must be new");
    let Accepted::New { message, run } = &new[0] else {
        unreachable!("partitioned on New");
    };
    for dup in dups {
        assert_eq!(
            dup,
            Accepted::Duplicate {
                message: message.clone(),
                run: run.clone()
            }
        );
    }
    assert_eq!(
        store.messages(message.thread_id, 100, None).await.unwrap(),
        vec![message.clone()]
    );
    assert_eq!(
        store.all_running_runs().await.unwrap(),
        vec![run.clone()],
        "only the winner's run exists"
    );
}

async fn concurrent_accept_message_same_thread_one_new(store: Arc<dyn BackendStore>) {
    const CONTENDERS: usize = 8;
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let tasks: Vec<_> = (0..CONTENDERS)
        .map(|i| {
            let store = store.clone();
            let msg = user_message(&t, "same-id", NOW + i as i64);
            tokio::spawn(async move { store.accept_message(&msg).await.expect("accept") })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("task"));
    }
    assert_one_new(store.as_ref(), outcomes).await;
}

/// The same `client_msg_id` sent into two different threads of one user at
/// once: no thread lock serialises these, the unique index decides.
async fn concurrent_accept_message_across_threads_one_new(store: Arc<dyn BackendStore>) {
    const CONTENDERS: usize = 8;
    let user = Uuid::new_v4();
    for round in 0..3_i64 {
        let mut threads = Vec::new();
        for _ in 0..CONTENDERS {
            threads.push(new_thread(store.as_ref(), user, NOW).await);
        }
        let client_id = format!("cross-{round}");
        let tasks: Vec<_> = threads
            .iter()
            .map(|t| {
                let store = store.clone();
                let msg = user_message(t, &client_id, NOW + SECOND);
                tokio::spawn(async move { store.accept_message(&msg).await.expect("accept") })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task"));
        }
        let (new, dups): (Vec<_>, Vec<_>) = outcomes
            .into_iter()
            .partition(|o| matches!(o, Accepted::New { .. }));
        assert_eq!(
            new.len(),
            1,
            "round {round}: exactly one accept must be new"
        );
        let Accepted::New { message, run } = &new[0] else {
            unreachable!("partitioned on New");
        };
        for dup in dups {
            assert_eq!(
                dup,
                Accepted::Duplicate {
                    message: message.clone(),
                    run: run.clone()
                }
            );
        }
        let mut stored = 0;
        for t in &threads {
            stored += store.messages(t.id, 10, None).await.unwrap().len();
        }
        assert_eq!(
            stored, 1,
            "round {round}: one message stored in all threads"
        );
        assert_eq!(store.running_runs(user).await.unwrap(), round + 1);
    }
}

/// Many accepts of one user at once, across threads, with a limit of 3: exactly
/// 3 runs start, the others are refused and write nothing; a resend of an
/// accepted message is still a duplicate at the limit; a finished run frees a slot.
async fn concurrent_accept_message_respects_the_run_limit(store: Arc<dyn BackendStore>) {
    const CONTENDERS: usize = 12;
    let user = Uuid::new_v4();
    let mut threads = Vec::new();
    for _ in 0..CONTENDERS {
        threads.push(new_thread(store.as_ref(), user, NOW).await);
    }
    let tasks: Vec<_> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let store = store.clone();
            let mut msg = user_message(t, &format!("limit-{i}"), NOW + SECOND);
            msg.max_running = Some(3);
            tokio::spawn(async move { (msg.clone(), store.accept_message(&msg).await) })
        })
        .collect();
    let (mut accepted, mut refused) = (Vec::new(), Vec::new());
    for task in tasks {
        match task.await.expect("task") {
            (msg, Ok(Accepted::New { run, .. })) => accepted.push((msg, run)),
            (msg, Err(StoreError::Conflict("too_many_runs"))) => refused.push(msg),
            (_, other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(accepted.len(), 3, "exactly the limit's worth of runs start");
    assert_eq!(store.running_runs(user).await.unwrap(), 3);
    for msg in &refused {
        assert!(
            store
                .messages(msg.thread_id, 10, None)
                .await
                .unwrap()
                .is_empty(),
            "a refused accept writes no message"
        );
    }
    let (first, run) = &accepted[0];
    assert!(matches!(
        store.accept_message(first).await.unwrap(),
        Accepted::Duplicate { .. }
    ));
    store
        .finish_run(
            run.id,
            RunStatus::Failed,
            Some("test"),
            None,
            None,
            None,
            NOW + MINUTE,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.accept_message(&refused[0]).await.unwrap(),
        Accepted::New { .. }
    ));
    assert_eq!(store.running_runs(user).await.unwrap(), 3);
}

async fn accept_message_creates_the_new_thread_or_nothing(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let fresh = thread(user, "Started by a message", NOW);
    let mut msg = user_message(&fresh, "opens-a-thread", NOW);
    msg.new_thread = Some(fresh.clone());
    msg.max_running = Some(1);
    assert!(matches!(
        store.accept_message(&msg).await.unwrap(),
        Accepted::New { .. }
    ));
    assert_eq!(
        store.thread(user, fresh.id).await.unwrap().unwrap().title,
        fresh.title
    );
    // At the limit, the thread a refused message would have opened is not created.
    let refused_thread = thread(user, "Never created", NOW + SECOND);
    let mut over = user_message(&refused_thread, "over-the-limit", NOW + SECOND);
    over.new_thread = Some(refused_thread.clone());
    over.max_running = Some(1);
    assert!(matches!(
        store.accept_message(&over).await,
        Err(StoreError::Conflict("too_many_runs"))
    ));
    assert_eq!(store.thread(user, refused_thread.id).await.unwrap(), None);
    // A resend with a new thread of its own is a duplicate and creates nothing either.
    let another = thread(user, "Also never created", NOW + SECOND);
    let mut resend = user_message(&another, "opens-a-thread", NOW + SECOND);
    resend.new_thread = Some(another.clone());
    assert!(matches!(
        store.accept_message(&resend).await.unwrap(),
        Accepted::Duplicate { .. }
    ));
    assert_eq!(store.thread(user, another.id).await.unwrap(), None);
}

async fn messages_order_and_paginate(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let other = new_thread(store.as_ref(), user, NOW).await;
    // Two messages share each timestamp: the id breaks the tie.
    let mut expected = Vec::new();
    for i in 0..6_i64 {
        let Accepted::New { message, run } = store
            .accept_message(&user_message(&t, &format!("m{i}"), NOW + (i / 2) * SECOND))
            .await
            .unwrap()
        else {
            panic!("new");
        };
        let answer = answer_for(&run, "answer", NOW + (i / 2) * SECOND);
        store
            .finish_run(
                run.id,
                RunStatus::Completed,
                None,
                Some(&answer),
                None,
                None,
                NOW,
            )
            .await
            .unwrap();
        expected.push(message);
        expected.push(answer);
    }
    store
        .accept_message(&user_message(&other, "elsewhere", NOW))
        .await
        .unwrap();
    expected.sort_by_key(|m| (m.created_at, m.id.hyphenated().to_string()));

    assert_eq!(store.messages(t.id, 100, None).await.unwrap(), expected);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.messages(t.id, 5, after).await.unwrap();
        assert!(page.len() <= 5);
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        paged.extend(page);
    }
    assert_eq!(paged, expected, "pages cover every message once, in order");
    for m in &expected {
        assert_eq!(store.message(t.id, m.id).await.unwrap().as_ref(), Some(m));
        assert_eq!(
            store.message(other.id, m.id).await.unwrap(),
            None,
            "not in that thread"
        );
    }

    // A cursor that is not a message of this thread yields nothing.
    assert!(
        store
            .messages(t.id, 10, Some(Uuid::new_v4()))
            .await
            .unwrap()
            .is_empty()
    );
    let other_msg = store.messages(other.id, 1, None).await.unwrap()[0].id;
    assert!(
        store
            .messages(t.id, 10, Some(other_msg))
            .await
            .unwrap()
            .is_empty()
    );
}

// --- runs and events ---

async fn run_lookup_is_owner_only_and_counts_running(store: Arc<dyn BackendStore>) {
    let alice = Uuid::new_v4();
    let bob = Uuid::new_v4();
    let ta = new_thread(store.as_ref(), alice, NOW).await;
    let tb = new_thread(store.as_ref(), bob, NOW).await;
    let r1 = start_run(store.as_ref(), &ta, NOW + 1).await;
    let r2 = start_run(store.as_ref(), &ta, NOW + 2).await;
    let r3 = start_run(store.as_ref(), &tb, NOW + 3).await;

    assert_eq!(store.run(alice, r1.id).await.unwrap(), Some(r1.clone()));
    assert_eq!(
        store.run(bob, r1.id).await.unwrap(),
        None,
        "another user's run"
    );
    assert_eq!(store.run(alice, Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(store.running_runs(alice).await.unwrap(), 2);
    assert_eq!(store.running_runs(bob).await.unwrap(), 1);
    assert_eq!(
        store.all_running_runs().await.unwrap(),
        vec![r1.clone(), r2.clone(), r3.clone()],
        "oldest first"
    );

    store
        .finish_run(
            r1.id,
            RunStatus::Cancelled,
            Some("stop_run"),
            None,
            None,
            None,
            NOW + 9,
        )
        .await
        .unwrap();
    assert_eq!(store.running_runs(alice).await.unwrap(), 1);
    assert_eq!(store.all_running_runs().await.unwrap(), vec![r2, r3]);
}

async fn append_event_numbers_from_one_and_pages(store: Arc<dyn BackendStore>) {
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    let other = start_run(store.as_ref(), &t, NOW).await;

    let mut written = Vec::new();
    for i in 0..7_i64 {
        let payload = json!({"agent": "triage", "text": format!("step {i}")});
        let event = store
            .append_event(run.id, "agent_thinking", &payload, NOW + i)
            .await
            .unwrap();
        assert_eq!(
            event,
            RunEventRecord {
                run_id: run.id,
                seq: i + 1,
                event_type: "agent_thinking".to_owned(),
                payload,
                ts: NOW + i,
            }
        );
        written.push(event);
    }
    // Another run counts on its own.
    let first_other = store
        .append_event(
            other.id,
            "agent_started",
            &json!({"agent": "supervisor"}),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(first_other.seq, 1);

    assert_eq!(store.events(run.id, 0, 100).await.unwrap(), written);
    assert_eq!(store.events(run.id, 3, 2).await.unwrap(), written[3..5]);
    assert_eq!(store.events(run.id, 5, 100).await.unwrap(), written[5..]);
    assert!(store.events(run.id, 7, 100).await.unwrap().is_empty());
    assert!(
        store
            .events(Uuid::new_v4(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .run(t.user_id, run.id)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        7
    );
}

async fn concurrent_append_event_is_gap_free(store: Arc<dyn BackendStore>) {
    const RUNS: usize = 3;
    const WRITERS_PER_RUN: usize = 4;
    const EVENTS_PER_WRITER: usize = 10;
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(start_run(store.as_ref(), &t, NOW).await);
    }

    let mut tasks = Vec::new();
    for run in &runs {
        for writer in 0..WRITERS_PER_RUN {
            let store = store.clone();
            let run_id = run.id;
            tasks.push(tokio::spawn(async move {
                let mut seqs = Vec::new();
                for i in 0..EVENTS_PER_WRITER {
                    let payload = json!({"writer": writer, "i": i});
                    let event = store
                        .append_event(run_id, "agent_thinking", &payload, NOW)
                        .await
                        .expect("append");
                    assert_eq!(event.run_id, run_id);
                    seqs.push(event.seq);
                }
                (run_id, seqs)
            }));
        }
    }
    let total = (WRITERS_PER_RUN * EVENTS_PER_WRITER) as i64;
    let mut returned: std::collections::HashMap<Uuid, Vec<i64>> = Default::default();
    for task in tasks {
        let (run_id, seqs) = task.await.expect("task");
        // Each writer's own appends are ordered.
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        returned.entry(run_id).or_default().extend(seqs);
    }
    for run in &runs {
        let mut seqs = returned.remove(&run.id).unwrap();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=total).collect::<Vec<_>>(), "returned seqs");
        let stored: Vec<i64> = store
            .events(run.id, 0, 1_000)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(stored, (1..=total).collect::<Vec<_>>(), "stored seqs");
        assert_eq!(
            store
                .run(t.user_id, run.id)
                .await
                .unwrap()
                .unwrap()
                .last_seq,
            total
        );
    }
}

async fn append_event_refused_after_finish_and_for_unknown_run(store: Arc<dyn BackendStore>) {
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    store
        .append_event(run.id, "agent_started", &json!({}), NOW)
        .await
        .unwrap();
    store
        .finish_run(
            run.id,
            RunStatus::Failed,
            Some("boom"),
            None,
            None,
            None,
            NOW,
        )
        .await
        .unwrap();
    assert!(is_conflict(
        &store
            .append_event(run.id, "agent_thinking", &json!({}), NOW + 1)
            .await,
        "run_finished"
    ));
    assert!(is_conflict(
        &store
            .append_event(Uuid::new_v4(), "agent_thinking", &json!({}), NOW)
            .await,
        "run_not_found"
    ));
    assert_eq!(store.events(run.id, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        store
            .run(t.user_id, run.id)
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        1
    );
}

async fn finish_run_with_answer_and_report(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    for _ in 0..3 {
        store
            .append_event(run.id, "agent_thinking", &json!({}), NOW)
            .await
            .unwrap();
    }
    let answer = answer_for(
        &run,
        "## Save 31%\nMove triage to a smaller model.",
        NOW + MINUTE,
    );
    let report = json!({"recommendations": [{"title": "smaller model", "monthly_savings_usd": 1234.5,
        "confidence": "high", "evidence": ["62% of calls are short"]}]});

    let terminal = store
        .finish_run(
            run.id,
            RunStatus::Completed,
            None,
            Some(&answer),
            Some(&report),
            None,
            NOW + MINUTE,
        )
        .await
        .unwrap();
    assert_eq!(terminal, None, "no terminal event asked for");

    let finished = store.run(user, run.id).await.unwrap().unwrap();
    assert_eq!(
        finished,
        RunRecord {
            status: RunStatus::Completed,
            answer_message_id: Some(answer.id),
            report: Some(report),
            last_seq: 3,
            finished_at: Some(NOW + MINUTE),
            ..run.clone()
        }
    );
    let messages = store.messages(t.id, 10, None).await.unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1], answer);
    assert_eq!(store.running_runs(user).await.unwrap(), 0);
}

async fn finish_run_with_terminal_event_takes_next_seq(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    for _ in 0..4 {
        store
            .append_event(run.id, "tool_executing", &json!({}), NOW)
            .await
            .unwrap();
    }
    let payload = json!({"reason": "backend restarted mid-run"});
    let terminal = store
        .finish_run(
            run.id,
            RunStatus::Failed,
            Some("interrupted"),
            None,
            None,
            Some(("run_failed", &payload)),
            NOW + SECOND,
        )
        .await
        .unwrap();
    let expected = RunEventRecord {
        run_id: run.id,
        seq: 5,
        event_type: "run_failed".to_owned(),
        payload,
        ts: NOW + SECOND,
    };
    assert_eq!(terminal, Some(expected.clone()));
    assert_eq!(store.events(run.id, 4, 10).await.unwrap(), vec![expected]);
    let finished = store.run(user, run.id).await.unwrap().unwrap();
    assert_eq!(
        (
            finished.status,
            finished.reason.as_deref(),
            finished.last_seq,
            finished.answer_message_id,
            finished.report,
            finished.finished_at
        ),
        (
            RunStatus::Failed,
            Some("interrupted"),
            5,
            None,
            None,
            Some(NOW + SECOND)
        )
    );
}

async fn finish_run_refuses_twice_and_writes_nothing(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    let cancelled = json!({"by": "user"});
    store
        .finish_run(
            run.id,
            RunStatus::Cancelled,
            Some("stop_run"),
            None,
            None,
            Some(("run_cancelled", &cancelled)),
            NOW + 1,
        )
        .await
        .unwrap();
    let after_first = store.run(user, run.id).await.unwrap().unwrap();

    let late_answer = answer_for(&run, "too late", NOW + 2);
    let second = store
        .finish_run(
            run.id,
            RunStatus::Completed,
            None,
            Some(&late_answer),
            Some(&json!({"recommendations": []})),
            Some(("run_failed", &json!({}))),
            NOW + 2,
        )
        .await;
    assert!(is_conflict(&second, "run_finished"), "got {second:?}");
    assert_eq!(
        store.run(user, run.id).await.unwrap().unwrap(),
        after_first,
        "the run is unchanged"
    );
    let events = store.events(run.id, 0, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "run_cancelled");
    let messages = store.messages(t.id, 10, None).await.unwrap();
    assert!(
        messages.iter().all(|m| m.id != late_answer.id),
        "the late answer was not written"
    );
}

async fn finish_run_refuses_running_status_and_unknown_run(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    let result = store
        .finish_run(run.id, RunStatus::Running, None, None, None, None, NOW)
        .await;
    assert!(is_conflict(&result, "status_not_terminal"));
    assert_eq!(store.run(user, run.id).await.unwrap(), Some(run));
    let result = store
        .finish_run(
            Uuid::new_v4(),
            RunStatus::Failed,
            None,
            None,
            None,
            None,
            NOW,
        )
        .await;
    assert!(is_conflict(&result, "run_not_found"));
}

async fn concurrent_finish_run_exactly_one_wins(store: Arc<dyn BackendStore>) {
    const CONTENDERS: usize = 6;
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    for round in 0..3 {
        let run = start_run(store.as_ref(), &t, NOW).await;
        let tasks: Vec<_> = (0..CONTENDERS)
            .map(|i| {
                let store = store.clone();
                let answer = answer_for(&run, &format!("answer {i}"), NOW + 1);
                tokio::spawn(async move {
                    let result = store
                        .finish_run(
                            answer.run_id.unwrap(),
                            RunStatus::Completed,
                            None,
                            Some(&answer),
                            None,
                            Some(("agent_completed", &json!({"i": i}))),
                            NOW + 1,
                        )
                        .await;
                    (result, answer)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (result, answer) = task.await.expect("task");
            match result {
                Ok(event) => winners.push((event, answer)),
                Err(StoreError::Conflict("run_finished")) => {}
                Err(e) => panic!("round {round}: unexpected error {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one finish wins");
        let (event, answer) = winners.remove(0);
        assert_eq!(event.map(|e| e.seq), Some(1));
        let stored = store.run(user, run.id).await.unwrap().unwrap();
        assert_eq!(stored.answer_message_id, Some(answer.id));
        assert_eq!(store.events(run.id, 0, 10).await.unwrap().len(), 1);
        let answers = store
            .messages(t.id, 100, None)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.run_id == Some(run.id) && m.role == MessageRole::Assistant)
            .count();
        assert_eq!(answers, 1, "round {round}: one answer written");
    }
}

/// Appends racing a finish: every append either landed before the terminal
/// event or was refused, and the stored seqs stay 1..n with the terminal last.
async fn concurrent_append_and_finish_never_append_after_finish(store: Arc<dyn BackendStore>) {
    const WRITERS: usize = 4;
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            let run_id = run.id;
            tokio::spawn(async move {
                let mut appended = 0_i64;
                for _ in 0..50 {
                    match store
                        .append_event(run_id, "agent_thinking", &json!({}), NOW)
                        .await
                    {
                        Ok(_) => appended += 1,
                        Err(StoreError::Conflict("run_finished")) => break,
                        Err(e) => panic!("unexpected error {e:?}"),
                    }
                }
                appended
            })
        })
        .collect();
    let finisher = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .finish_run(
                    run.id,
                    RunStatus::Cancelled,
                    Some("stop_run"),
                    None,
                    None,
                    Some(("run_cancelled", &json!({}))),
                    NOW + 1,
                )
                .await
                .expect("finish")
                .expect("terminal event")
        })
    };
    let mut appended = 0;
    for w in writers {
        appended += w.await.expect("writer");
    }
    let terminal = finisher.await.expect("finisher");
    let events = store.events(run.id, 0, 1_000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=appended + 1).collect::<Vec<_>>());
    assert_eq!(terminal.seq, appended + 1);
    assert_eq!(events.last().unwrap().event_type, "run_cancelled");
}

async fn set_run_report_stores_and_replaces(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    store
        .finish_run(run.id, RunStatus::Completed, None, None, None, None, NOW)
        .await
        .unwrap();
    let first = json!({"recommendations": [{"monthly_savings_usd": 10}]});
    store.set_run_report(run.id, &first).await.unwrap();
    assert_eq!(
        store.run(user, run.id).await.unwrap().unwrap().report,
        Some(first)
    );
    let second = json!({"recommendations": []});
    store.set_run_report(run.id, &second).await.unwrap();
    assert_eq!(
        store.run(user, run.id).await.unwrap().unwrap().report,
        Some(second.clone())
    );
    assert!(is_conflict(
        &store.set_run_report(Uuid::new_v4(), &second).await,
        "run_not_found"
    ));

    // A report set while running survives a finish that passes none.
    let running = start_run(store.as_ref(), &t, NOW).await;
    store.set_run_report(running.id, &second).await.unwrap();
    store
        .finish_run(
            running.id,
            RunStatus::Completed,
            None,
            None,
            None,
            None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        store.run(user, running.id).await.unwrap().unwrap().report,
        Some(second)
    );
}

// --- thread deletion ---

async fn delete_thread_cascades_and_is_owner_only(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let doomed = new_thread(store.as_ref(), user, NOW).await;
    let kept = new_thread(store.as_ref(), user, NOW).await;
    let mut doomed_runs = Vec::new();
    for _ in 0..2 {
        let run = start_run(store.as_ref(), &doomed, NOW).await;
        for _ in 0..3 {
            store
                .append_event(run.id, "agent_thinking", &json!({}), NOW)
                .await
                .unwrap();
        }
        doomed_runs.push(run);
    }
    let answer = answer_for(&doomed_runs[0], "answer", NOW + 1);
    store
        .finish_run(
            doomed_runs[0].id,
            RunStatus::Completed,
            None,
            Some(&answer),
            Some(&json!({"r": 1})),
            None,
            NOW + 1,
        )
        .await
        .unwrap();
    let kept_run = start_run(store.as_ref(), &kept, NOW).await;
    store
        .append_event(kept_run.id, "agent_started", &json!({}), NOW)
        .await
        .unwrap();
    let doomed_client_id = store.messages(doomed.id, 1, None).await.unwrap()[0]
        .client_msg_id
        .clone()
        .unwrap();

    assert!(
        !store
            .delete_thread(Uuid::new_v4(), doomed.id)
            .await
            .unwrap(),
        "another user cannot delete it"
    );
    assert!(store.thread(user, doomed.id).await.unwrap().is_some());

    assert!(store.delete_thread(user, doomed.id).await.unwrap());
    assert_eq!(store.thread(user, doomed.id).await.unwrap(), None);
    assert!(
        store
            .messages(doomed.id, 100, None)
            .await
            .unwrap()
            .is_empty()
    );
    for run in &doomed_runs {
        assert_eq!(store.run(user, run.id).await.unwrap(), None);
        assert!(store.events(run.id, 0, 100).await.unwrap().is_empty());
    }
    assert!(
        !store.delete_thread(user, doomed.id).await.unwrap(),
        "already gone"
    );

    // The other thread is untouched.
    assert!(store.thread(user, kept.id).await.unwrap().is_some());
    assert_eq!(store.messages(kept.id, 100, None).await.unwrap().len(), 1);
    assert_eq!(store.events(kept_run.id, 0, 100).await.unwrap().len(), 1);
    let running: Vec<Uuid> = store
        .all_running_runs()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(running, vec![kept_run.id]);

    // The deleted thread's client ids can be used again.
    let reused = user_message(&kept, &doomed_client_id, NOW);
    assert!(matches!(
        store.accept_message(&reused).await.unwrap(),
        Accepted::New { .. }
    ));
}

/// A thread deleted while its run appends events and new messages arrive:
/// the delete succeeds, every write either landed before it (and was deleted
/// with the thread) or was refused, and nothing of the thread remains.
async fn concurrent_delete_thread_leaves_nothing_behind(store: Arc<dyn BackendStore>) {
    const WRITERS: usize = 3;
    const ACCEPTORS: usize = 3;
    let user = Uuid::new_v4();
    for round in 0..3 {
        let t = new_thread(store.as_ref(), user, NOW).await;
        let run = start_run(store.as_ref(), &t, NOW).await;
        let mut writers = Vec::new();
        for _ in 0..WRITERS {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                for _ in 0..100 {
                    match store
                        .append_event(run.id, "agent_thinking", &json!({}), NOW)
                        .await
                    {
                        Ok(_) => {}
                        Err(StoreError::Conflict("run_not_found")) => break,
                        Err(e) => panic!("append: unexpected error {e:?}"),
                    }
                }
            }));
        }
        for i in 0..ACCEPTORS {
            let store = store.clone();
            let msg = user_message(&t, &format!("late-{round}-{i}"), NOW + 1);
            writers.push(tokio::spawn(async move {
                match store.accept_message(&msg).await {
                    Ok(Accepted::New { .. }) | Err(StoreError::Conflict("thread_not_found")) => {}
                    other => panic!("accept: unexpected outcome {other:?}"),
                }
            }));
        }
        let deleted = store.delete_thread(user, t.id).await;
        assert!(
            matches!(deleted, Ok(true)),
            "round {round}: delete failed: {deleted:?}"
        );
        for w in writers {
            w.await.expect("writer");
        }
        assert_eq!(store.thread(user, t.id).await.unwrap(), None);
        assert!(store.messages(t.id, 100, None).await.unwrap().is_empty());
        assert!(store.events(run.id, 0, 1_000).await.unwrap().is_empty());
        assert_eq!(store.run(user, run.id).await.unwrap(), None);
        assert_eq!(store.running_runs(user).await.unwrap(), 0);
    }
}

// --- datasets ---

async fn datasets_create_list_and_ownership(store: Arc<dyn BackendStore>) {
    let alice = Uuid::new_v4();
    let bob = Uuid::new_v4();
    let older = dataset(alice, "october", NOW);
    let mut newer = dataset(alice, "sample", NOW + MINUTE);
    newer.sample = true;
    newer.import_report = json!({});
    let bobs = dataset(bob, "bobs", NOW);
    for ds in [&older, &newer, &bobs] {
        store.create_dataset(ds).await.unwrap();
    }

    assert_eq!(
        store.dataset(alice, older.id).await.unwrap(),
        Some(older.clone())
    );
    assert_eq!(
        store.dataset(alice, newer.id).await.unwrap(),
        Some(newer.clone())
    );
    assert_eq!(
        store.dataset(alice, bobs.id).await.unwrap(),
        None,
        "another user's dataset"
    );
    assert_eq!(
        store.list_datasets(alice).await.unwrap(),
        vec![newer.clone(), older.clone()],
        "newest first"
    );
    assert_eq!(store.list_datasets(bob).await.unwrap(), vec![bobs.clone()]);

    assert!(!store.delete_dataset(alice, bobs.id).await.unwrap());
    assert_eq!(store.dataset(bob, bobs.id).await.unwrap(), Some(bobs));
    assert!(store.delete_dataset(alice, older.id).await.unwrap());
    assert!(!store.delete_dataset(alice, older.id).await.unwrap());
    assert_eq!(store.list_datasets(alice).await.unwrap(), vec![newer]);
}

async fn delete_dataset_clears_threads(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let ds = dataset(user, "data", NOW);
    let keep = dataset(user, "keep", NOW);
    store.create_dataset(&ds).await.unwrap();
    store.create_dataset(&keep).await.unwrap();
    let mut on_ds = thread(user, "on ds", NOW);
    on_ds.dataset_id = Some(ds.id);
    let mut on_keep = thread(user, "on keep", NOW);
    on_keep.dataset_id = Some(keep.id);
    store.create_thread(&on_ds).await.unwrap();
    store.create_thread(&on_keep).await.unwrap();
    let mut msg = user_message(&on_ds, "with dataset", NOW + 1);
    msg.dataset_id = Some(ds.id);
    store.accept_message(&msg).await.unwrap();

    assert!(store.delete_dataset(user, ds.id).await.unwrap());
    let cleared = store.thread(user, on_ds.id).await.unwrap().unwrap();
    assert_eq!(cleared.dataset_id, None);
    assert_eq!(cleared.updated_at, NOW + 1, "updated_at is left alone");
    assert_eq!(
        store
            .thread(user, on_keep.id)
            .await
            .unwrap()
            .unwrap()
            .dataset_id,
        Some(keep.id)
    );
    // The run keeps naming the dataset it analysed.
    assert_eq!(
        store
            .run(user, msg.run_id)
            .await
            .unwrap()
            .unwrap()
            .dataset_id,
        Some(ds.id)
    );
}

// --- tickets ---

async fn tickets_redeem_once_before_expiry(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let session = Uuid::new_v4();
    let hash = random_hash();
    store
        .create_ticket(&hash, user, session, NOW + 30 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        store.redeem_ticket(&hash, NOW).await.unwrap(),
        Some((user, session))
    );
    assert_eq!(
        store.redeem_ticket(&hash, NOW).await.unwrap(),
        None,
        "single use"
    );
    assert_eq!(
        store.redeem_ticket(&random_hash(), NOW).await.unwrap(),
        None
    );

    let expiring = random_hash();
    store
        .create_ticket(&expiring, user, session, NOW + 30 * SECOND)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_ticket(&expiring, NOW + 30 * SECOND)
            .await
            .unwrap(),
        None,
        "expires_at must be strictly after now"
    );
    assert_eq!(
        store
            .redeem_ticket(&expiring, NOW + 30 * SECOND - 1)
            .await
            .unwrap(),
        Some((user, session)),
        "a refused expired redeem did not consume it early"
    );
}

async fn ticket_hash_conflict(store: Arc<dyn BackendStore>) {
    let hash = random_hash();
    store
        .create_ticket(&hash, Uuid::new_v4(), Uuid::new_v4(), NOW)
        .await
        .unwrap();
    assert!(is_conflict(
        &store
            .create_ticket(&hash, Uuid::new_v4(), Uuid::new_v4(), NOW)
            .await,
        "ticket_exists"
    ));
}

async fn concurrent_redeem_exactly_one_wins(store: Arc<dyn BackendStore>) {
    const CONTENDERS: usize = 8;
    let user = Uuid::new_v4();
    let session = Uuid::new_v4();
    for round in 0..5 {
        let hash = random_hash();
        store
            .create_ticket(&hash, user, session, NOW + 30 * SECOND)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..CONTENDERS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.redeem_ticket(&hash, NOW).await.expect("redeem") })
            })
            .collect();
        let mut wins = Vec::new();
        for task in tasks {
            if let Some(owner) = task.await.expect("task") {
                wins.push(owner);
            }
        }
        assert_eq!(
            wins,
            vec![(user, session)],
            "round {round}: exactly one redeem wins"
        );
    }
}

async fn purge_tickets_deletes_only_expired(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let session = Uuid::new_v4();
    let expired = random_hash();
    let used_expired = random_hash();
    let live = random_hash();
    store
        .create_ticket(&expired, user, session, NOW - 1)
        .await
        .unwrap();
    store
        .create_ticket(&used_expired, user, session, NOW - 1)
        .await
        .unwrap();
    store
        .redeem_ticket(&used_expired, NOW - 2)
        .await
        .unwrap()
        .expect("redeemed while valid");
    store
        .create_ticket(&live, user, session, NOW + 1)
        .await
        .unwrap();

    assert_eq!(store.purge_tickets(NOW).await.unwrap(), 2);
    assert_eq!(store.purge_tickets(NOW).await.unwrap(), 0);
    assert_eq!(
        store.redeem_ticket(&live, NOW).await.unwrap(),
        Some((user, session)),
        "the live ticket survived"
    );
    // The purged hash can be stored again (it is really gone).
    store
        .create_ticket(&expired, user, session, NOW + 1)
        .await
        .unwrap();
}

// --- values ---

async fn json_documents_round_trip(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    let payload = json!({
        "agent": "cost_analyst",
        "tool": "spend_breakdown",
        "call_id": "c-1",
        "ok": true,
        "duration_ms": 12,
        "summary": "Ünïcödé, emoji 🚀, quotes \" and backslash \\, newline\n",
        "result": {"by_model": [{"model": "gpt-4o", "usd": 1234.56, "share": 0.625}],
                   "nested": {"empty": {}, "list": [], "null": null, "neg": -7}},
    });
    let event = store
        .append_event(run.id, "tool_completed", &payload, NOW)
        .await
        .unwrap();
    assert_eq!(store.events(run.id, 0, 10).await.unwrap(), vec![event]);

    let content = "multi\nline 'quoted' \"text\" with ünicode ✓";
    let answer = answer_for(&run, content, NOW + 1);
    store
        .finish_run(
            run.id,
            RunStatus::Completed,
            None,
            Some(&answer),
            Some(&payload),
            None,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(
        store.run(user, run.id).await.unwrap().unwrap().report,
        Some(payload)
    );
    assert_eq!(
        store.messages(t.id, 10, None).await.unwrap()[1].content,
        content
    );
}

async fn negative_limits_read_as_zero(store: Arc<dyn BackendStore>) {
    let user = Uuid::new_v4();
    let t = new_thread(store.as_ref(), user, NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    store
        .append_event(run.id, "agent_started", &json!({}), NOW)
        .await
        .unwrap();
    assert!(store.list_threads(user, -1, None).await.unwrap().is_empty());
    assert!(store.messages(t.id, -1, None).await.unwrap().is_empty());
    assert!(store.events(run.id, 0, -1).await.unwrap().is_empty());
    assert_eq!(store.list_threads(user, 1, None).await.unwrap().len(), 1);
}

// --- backend-specific behaviour ---

#[tokio::test]
async fn sqlite_in_memory_store_works_with_one_connection() {
    let store = connect("sqlite::memory:", 8)
        .await
        .expect("open in-memory store");
    assert_eq!(store.backend(), "sqlite");
    let t = new_thread(store.as_ref(), Uuid::new_v4(), NOW).await;
    let run = start_run(store.as_ref(), &t, NOW).await;
    // Concurrent writers share the one connection without deadlocking.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append_event(run.id, "agent_thinking", &json!({}), NOW)
                    .await
                    .expect("append")
                    .seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, vec![1, 2, 3, 4]);

    let other = connect("sqlite::memory:", 1).await.unwrap();
    assert_eq!(
        other.thread(t.user_id, t.id).await.unwrap(),
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
    let t = new_thread(&store, Uuid::new_v4(), NOW).await;
    drop(store);

    // Reopening runs the (already applied) migrations again and keeps the data.
    let reopened = SqliteStore::connect(db.url(), 2).await.expect("reopen");
    assert_eq!(reopened.thread(t.user_id, t.id).await.unwrap(), Some(t));
}

#[tokio::test]
async fn sqlite_connect_fails_for_missing_directory() {
    let dir = std::env::temp_dir().join(format!("apex-missing-{}", Uuid::new_v4().simple()));
    let url = format!("sqlite://{}/backend.db", dir.display());
    assert!(matches!(
        SqliteStore::connect(&url, 1).await,
        Err(StoreError::Database(_))
    ));
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_panicked() {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::connect(db.url(), 1).await.unwrap();
    let user = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO threads (id, user_id, title, dataset_id, created_at, updated_at) \
         VALUES ('not-a-uuid', $1, 't', NULL, 0, 0)",
    )
    .bind(user.hyphenated().to_string())
    .execute(store.pool())
    .await
    .unwrap();
    let err = store
        .list_threads(user, 10, None)
        .await
        .expect_err("corrupt id");
    assert!(
        matches!(err, StoreError::Corrupt(ref m) if m.contains("threads.id")),
        "got {err:?}"
    );
}

#[tokio::test]
async fn schema_rejects_invalid_json_and_foreign_key_violations() {
    let db = TestDatabase::sqlite();
    let store = SqliteStore::connect(db.url(), 1).await.unwrap();
    let orphan = sqlx::query(
        "INSERT INTO messages (id, thread_id, user_id, role, content, created_at) \
         VALUES ($1, $2, $3, 'user', 'x', 0)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(Uuid::new_v4().to_string())
    .bind(Uuid::new_v4().to_string())
    .execute(store.pool())
    .await;
    assert!(orphan.is_err(), "a message needs its thread");
    let bad_json = sqlx::query(
        "INSERT INTO datasets (id, user_id, name, format, records, bytes, path, \
         import_report, sample, created_at) VALUES ($1, $2, 'n', 'f', 0, 0, 'p', '{oops', 0, 0)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(Uuid::new_v4().to_string())
    .execute(store.pool())
    .await;
    assert!(bad_json.is_err(), "JSON columns are checked");
}

#[tokio::test]
async fn fresh_databases_are_distinct_and_usable() {
    let first = TestDatabase::from_env().await.expect("first database");
    let second = TestDatabase::from_env().await.expect("second database");
    assert_ne!(first.url(), second.url());
    let expected = if postgres_selected() {
        "postgres"
    } else {
        "sqlite"
    };
    let user = Uuid::new_v4();
    for db in [&first, &second] {
        let store = connect(db.url(), 2)
            .await
            .expect("connect to a fresh database");
        assert_eq!(store.backend(), expected);
        assert!(
            store.list_threads(user, 10, None).await.unwrap().is_empty(),
            "fresh means empty"
        );
        new_thread(store.as_ref(), user, NOW).await;
        store.close().await;
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
    assert!(name.starts_with("apex_backend_test_"), "{name}");
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
