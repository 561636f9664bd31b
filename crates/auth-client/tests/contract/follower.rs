//! The revocation follower against the real feed: a logout is heard within
//! a second, events arrive once and in cursor order, a start cursor skips
//! what came before it.

use crate::harness::*;
use auth_client::{AuthClient, RevocationEvent, RevocationFollower, RevocationKind};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn the_follower_hears_a_logout_within_a_second() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let client = AuthClient::new(client_config(auth.base())).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let follower = RevocationFollower::spawn(client.clone(), 0, tx, cancel.clone());
    eventually("the follower connects", || follower.is_connected()).await;
    assert_eq!(follower.cursor(), 0);

    logout(auth.base(), &user).await;
    let event = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("the revocation arrives within 1 s")
        .expect("an event");
    assert_eq!(event.kind, RevocationKind::Session);
    assert_eq!(event.user_id, user.id);
    assert_eq!(event.session_id, Some(user.session_id));
    assert_eq!(event.reason, "logout");
    assert!(event.cursor > 0);
    eventually("the cursor advances", || follower.cursor() == event.cursor).await;
    assert!(follower.state().last_error().is_none());

    cancel.cancel();
    follower.into_task().await.unwrap();
}

#[tokio::test]
async fn events_arrive_once_in_cursor_order_after_the_start_cursor() {
    let auth = TestAuth::start().await;
    let first = register(auth.base()).await;
    let third = login(auth.base(), &first.email).await;
    let other = register(auth.base()).await;
    logout(auth.base(), &first).await;

    let client = AuthClient::new(client_config(auth.base())).unwrap();
    let cancel = CancellationToken::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let from_start = RevocationFollower::spawn(client.clone(), 0, tx, cancel.clone());
    let before = rx.recv().await.unwrap();
    assert_eq!(before.session_id, Some(first.session_id));

    // a follower starting at that cursor never sees it
    let seen: Arc<Mutex<Vec<RevocationEvent>>> = Arc::default();
    let sink = {
        let seen = seen.clone();
        move |e: RevocationEvent| seen.lock().unwrap().push(e)
    };
    let from_cursor =
        RevocationFollower::spawn(client.clone(), before.cursor, sink, cancel.clone());

    logout(auth.base(), &other).await;
    revoke_all(auth.base(), &third).await;
    let mut events = Vec::new();
    while events.len() < 2 {
        events.push(rx.recv().await.unwrap());
    }
    assert_eq!(
        (events[0].kind, events[0].user_id, events[0].session_id),
        (RevocationKind::Session, other.id, Some(other.session_id))
    );
    // revoke-all is one row for the whole user
    assert_eq!(
        (
            events[1].kind,
            events[1].user_id,
            events[1].session_id,
            events[1].reason.as_str()
        ),
        (RevocationKind::User, first.id, None, "revoke_all")
    );
    assert!(
        events.windows(2).all(|w| w[0].cursor < w[1].cursor),
        "{events:?}"
    );
    assert!(events[0].cursor > before.cursor);
    let last = events.last().unwrap().cursor;
    eventually("the first follower's cursor", || {
        from_start.cursor() == last
    })
    .await;
    eventually("the second follower's cursor", || {
        from_cursor.cursor() == last
    })
    .await;
    assert_eq!(
        *seen.lock().unwrap(),
        events,
        "same events, once each, same order"
    );
    assert!(rx.try_recv().is_err(), "no duplicate deliveries");

    cancel.cancel();
    from_start.into_task().await.unwrap();
    from_cursor.into_task().await.unwrap();
}
