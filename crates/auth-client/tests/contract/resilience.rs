//! Resilience against the real binary: the service absent at start (then
//! started: the same client recovers by itself), killed after the keys are
//! cached, and restarted under a running follower.

use crate::harness::*;
use auth_client::{
    AuthClient, AuthClientError, AuthServiceStatus, BreakerConfig, BreakerState, FollowerConfig,
    ManualClock, RevocationFollower, UnavailableKind, VerifyError,
};
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn unavailable_kind(e: &AuthClientError) -> Option<UnavailableKind> {
    match e {
        AuthClientError::Unavailable { kind, .. } => Some(*kind),
        _ => None,
    }
}

#[tokio::test]
async fn without_the_service_calls_fail_fast_then_the_same_client_recovers_by_itself() {
    let dir = TempDir::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let clock = ManualClock::starting_now();
    let mut config = client_config(&base);
    config.breaker = BreakerConfig {
        failure_threshold: 3,
        open_duration: Duration::from_secs(10),
    };
    let client = AuthClient::with_clock(config, Arc::new(clock.clone())).unwrap();
    assert!(matches!(
        client.status(),
        AuthServiceStatus::Unreachable { ref last_error, .. } if last_error == "not contacted yet"
    ));

    // no keys and no service: verification is Unavailable (and not retried within the window)
    let token = sign(
        &json!({"alg": "EdDSA", "kid": "k1"}),
        &claims_for(&base),
        &SigningKey::from_bytes(&[1; 32]),
    );
    let err = client.verify(&token).await.unwrap_err();
    assert!(matches!(err, VerifyError::Unavailable(_)), "{err:?}");
    assert_eq!(err.code(), "auth_unavailable");
    assert!(matches!(
        client.verify(&token).await,
        Err(VerifyError::Unavailable(_))
    ));
    assert_eq!(client.stats().jwks_fetches, 1);

    // readiness probes, and reports the connection error
    let AuthServiceStatus::Unreachable { last_error, .. } = client.ready().await else {
        panic!("reachable without a service");
    };
    assert!(last_error.contains("connect"), "{last_error}");
    let err = client.introspect("whatever").await.unwrap_err();
    assert_eq!(
        unavailable_kind(&err),
        Some(UnavailableKind::Connect),
        "{err}"
    );
    assert_eq!(err.code(), "auth_unavailable");

    // three consecutive failures opened the breaker: calls now fail without a request
    let stats = client.stats();
    assert_eq!(
        (stats.requests, stats.failures, stats.breaker),
        (3, 3, BreakerState::Open)
    );
    for _ in 0..5 {
        let err = client.introspect("whatever").await.unwrap_err();
        assert_eq!(unavailable_kind(&err), Some(UnavailableKind::CircuitOpen));
    }
    let err = client.revocations(0, Duration::ZERO).await.unwrap_err();
    assert_eq!(unavailable_kind(&err), Some(UnavailableKind::CircuitOpen));
    assert!(!client.ready().await.is_reachable());
    let stats = client.stats();
    assert_eq!(stats.requests, 3);
    assert_eq!(stats.rejected_by_breaker, 7);

    // the service comes up; the breaker stays open for its duration...
    let _auth = AuthProcess::start(dir.path(), port).await;
    let err = client.introspect("whatever").await.unwrap_err();
    assert_eq!(unavailable_kind(&err), Some(UnavailableKind::CircuitOpen));
    // ...then half-opens: one trial call (readiness fetching the keys) closes it
    clock.advance(Duration::from_secs(10));
    assert_eq!(client.stats().breaker, BreakerState::HalfOpen);
    assert_eq!(client.ready().await, AuthServiceStatus::Reachable);
    assert_eq!(client.stats().breaker, BreakerState::Closed);

    let user = register(&base).await;
    let fetches = client.stats().jwks_fetches;
    let v = client.verify(&user.access_token).await.unwrap();
    assert_eq!(v.user_id, user.id);
    assert_eq!(
        client.stats().jwks_fetches,
        fetches,
        "ready() cached the keys"
    );
    assert!(client.introspect(&user.access_token).await.unwrap().active);
}

#[tokio::test]
async fn cached_keys_keep_verifying_while_the_service_is_down() {
    let mut auth = TestAuth::start().await;
    let alice = register(auth.base()).await;
    let bob = register(auth.base()).await;
    let clock = ManualClock::starting_now();
    let client =
        AuthClient::with_clock(client_config(auth.base()), Arc::new(clock.clone())).unwrap();
    client.verify(&alice.access_token).await.unwrap();
    assert_eq!(client.ready().await, AuthServiceStatus::Reachable);

    auth.process.kill();
    // tokens under cached keys verify with no request
    assert_eq!(
        client.verify(&bob.access_token).await.unwrap().user_id,
        bob.id
    );
    let err = client.introspect(&bob.access_token).await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(!client.status().is_reachable());

    // a refetch for an unknown key fails, and the cached keys survive it
    clock.advance(Duration::from_secs(6));
    let unknown = sign(
        &json!({"alg": "EdDSA", "kid": "rotated-in-while-down"}),
        &claims_for(auth.base()),
        &SigningKey::from_bytes(&[2; 32]),
    );
    let fetches = client.stats().jwks_fetches;
    assert!(matches!(
        client.verify(&unknown).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert_eq!(client.stats().jwks_fetches, fetches + 1);
    assert!(!client.ready().await.is_reachable());
    assert_eq!(
        client.verify(&alice.access_token).await.unwrap().user_id,
        alice.id
    );
    assert!(client.stats().cached_keys >= 1);
}

#[tokio::test]
async fn the_follower_reconnects_after_a_restart_and_continues_from_its_cursor() {
    let dir = TempDir::new();
    let port = free_port();
    let mut auth = AuthProcess::start(dir.path(), port).await;
    let first = register(&auth.base).await;
    let second = login(&auth.base, &first.email).await;

    let mut config = client_config(&auth.base);
    config.breaker.open_duration = Duration::from_millis(200);
    let client = AuthClient::new(config).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let follower = RevocationFollower::spawn_with(
        FollowerConfig {
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(300),
            ..FollowerConfig::default()
        },
        client.clone(),
        0,
        tx,
        cancel.clone(),
    );
    eventually("the follower connects", || follower.is_connected()).await;
    logout(&auth.base, &first).await;
    let before = rx.recv().await.unwrap();
    assert_eq!(before.session_id, Some(first.session_id));

    auth.kill();
    eventually("the follower notices", || !follower.is_connected()).await;
    assert!(follower.state().last_error().is_some());
    assert_eq!(follower.cursor(), before.cursor);

    // same data directory: same database and keys; the revocation happens after the restart
    let auth = AuthProcess::start(dir.path(), port).await;
    logout(&auth.base, &second).await;
    let after = rx.recv().await.unwrap();
    assert_eq!(after.session_id, Some(second.session_id));
    assert!(after.cursor > before.cursor);
    eventually("the follower reconnects", || follower.is_connected()).await;
    eventually("the cursor advances", || follower.cursor() == after.cursor).await;
    assert!(rx.try_recv().is_err(), "nothing delivered twice");
    assert_eq!(client.ready().await, AuthServiceStatus::Reachable);

    cancel.cancel();
    follower.into_task().await.unwrap();
}
