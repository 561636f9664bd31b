//! Benchmark of the auth store's hot paths on SQLite (and PostgreSQL with
//! `APEX_TEST_DB=postgres`), each on a fresh database:
//!
//! ```text
//! cargo run --release -p auth-service --example store_bench
//! APEX_TEST_DB=postgres cargo run --release -p auth-service --example store_bench
//! ```
//!
//! Prints throughput and latency percentiles per operation. Sequential rows
//! run one caller; `concurrent` rows run [`CALLERS`] callers on distinct keys,
//! which on SQLite still serialise on the single write lock.

use auth_service::store::testing::{TestBackend, TestDatabase};
use auth_service::store::{
    AuthStore, NewAuditEvent, NewRefreshToken, NewSession, Role, UserRecord, connect,
};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const NOW: i64 = 1_700_000_000_000;
const DAY: i64 = 86_400_000;
const OPS: usize = 2_000;
const CALLERS: usize = 8;

type BenchError = Box<dyn std::error::Error + Send + Sync>;

fn hash() -> [u8; 32] {
    let mut h = [0u8; 32];
    h[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    h[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    h
}

fn user(i: usize) -> UserRecord {
    UserRecord {
        id: Uuid::new_v4(),
        email: format!("bench-{i}-{}@example.com", Uuid::new_v4().simple()),
        name: None,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        role: Role::User,
        created_at: NOW,
        updated_at: NOW,
    }
}

fn session_for(user_id: Uuid) -> (NewSession, NewRefreshToken) {
    let id = Uuid::new_v4();
    let session = NewSession {
        id,
        user_id,
        now: NOW,
        expires_at: NOW + DAY,
        user_agent: Some("bench".to_owned()),
        ip: Some("127.0.0.1".to_owned()),
    };
    let token = NewRefreshToken {
        hash: hash(),
        session_id: id,
        created_at: NOW,
        expires_at: NOW + DAY,
    };
    (session, token)
}

fn report(backend: &str, name: &str, mut latencies: Vec<Duration>, wall: Duration) {
    latencies.sort_unstable();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "{backend:<8} {name:<34} {:>6} ops {:>9.0} ops/s  p50 {:>7.1} us  p99 {:>8.1} us",
        latencies.len(),
        latencies.len() as f64 / wall.as_secs_f64(),
        pct(50).as_secs_f64() * 1e6,
        pct(99).as_secs_f64() * 1e6,
    );
}

/// Runs `op(i)` for `i` in `0..OPS`, one at a time.
async fn sequential<F, Fut>(backend: &str, name: &str, mut op: F) -> Result<(), BenchError>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<(), BenchError>>,
{
    let mut latencies = Vec::with_capacity(OPS);
    let start = Instant::now();
    for i in 0..OPS {
        let t = Instant::now();
        op(i).await?;
        latencies.push(t.elapsed());
    }
    report(backend, name, latencies, start.elapsed());
    Ok(())
}

async fn bench(backend: TestBackend) -> Result<(), BenchError> {
    let db = TestDatabase::create(backend).await?;
    let store: Arc<dyn AuthStore> = connect(db.url(), CALLERS as u32).await?;
    let name = store.backend();

    let users: Vec<UserRecord> = (0..OPS).map(user).collect();
    let mut sessions = Vec::with_capacity(OPS);
    sequential(name, "create_user_with_session", |i| {
        let (s, t) = session_for(users[i].id);
        sessions.push((s.id, t.hash));
        let (store, u) = (store.clone(), users[i].clone());
        async move { Ok(store.create_user_with_session(&u, &s, &t).await?) }
    })
    .await?;

    sequential(name, "user_by_email", |i| {
        let (store, email) = (store.clone(), users[i].email.clone());
        async move {
            store
                .user_by_email(&email)
                .await?
                .ok_or("missing user")
                .map(drop)
                .map_err(Into::into)
        }
    })
    .await?;

    // Rotate every session's token once.
    sequential(name, "rotate_refresh_token", |i| {
        let (session_id, old) = sessions[i];
        let new = NewRefreshToken {
            hash: hash(),
            session_id,
            created_at: NOW + 1,
            expires_at: NOW + 2 * DAY,
        };
        sessions[i].1 = new.hash;
        let store = store.clone();
        async move {
            store
                .rotate_refresh_token(&old, &new, NOW + 1, Some("127.0.0.2"), None)
                .await?;
            Ok(())
        }
    })
    .await?;

    sequential(name, "throttle_failure (one hot key)", |i| {
        let store = store.clone();
        async move {
            Ok(store
                .throttle_failure("ip:127.0.0.1", NOW + i as i64)
                .await
                .map(drop)?)
        }
    })
    .await?;

    sequential(name, "append_audit", |i| {
        let store = store.clone();
        let event = NewAuditEvent {
            at: NOW + i as i64,
            event: "login_succeeded".to_owned(),
            user_id: Some(users[i].id),
            session_id: Some(sessions[i].0),
            ip: Some("127.0.0.1".to_owned()),
            detail: serde_json::json!({ "method": "password", "i": i }),
        };
        async move { Ok(store.append_audit(&event).await?) }
    })
    .await?;

    sequential(name, "revoke_session (+ feed row)", |i| {
        let (store, id) = (store.clone(), sessions[i].0);
        async move {
            Ok(store
                .revoke_session(id, NOW + 2, "logout")
                .await
                .map(drop)?)
        }
    })
    .await?;

    // Concurrent throttle increments on distinct keys.
    let start = Instant::now();
    let tasks: Vec<_> = (0..CALLERS)
        .map(|caller| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(OPS / CALLERS);
                for i in 0..OPS / CALLERS {
                    let t = Instant::now();
                    store
                        .throttle_failure(&format!("acct:{caller}"), NOW + i as i64)
                        .await?;
                    latencies.push(t.elapsed());
                }
                Ok::<_, BenchError>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(OPS);
    for task in tasks {
        latencies.extend(task.await??);
    }
    report(
        name,
        &format!("throttle_failure ({CALLERS} concurrent)"),
        latencies,
        start.elapsed(),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BenchError> {
    bench(TestBackend::Sqlite).await?;
    if TestBackend::from_env() == TestBackend::Postgres {
        bench(TestBackend::Postgres).await?;
    }
    Ok(())
}
