//! Refresh rotation, the grace window, reuse detection, and revocation seen
//! through introspection and the feed.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn refresh_rotates_and_old_token_dies_after_grace_with_session_revoked() {
    let app = spawn_app().await;
    let first = app.register(&email()).await;
    let r0 = first["refresh_token"].as_str().unwrap();
    let (status, second) = app.refresh(r0).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let r1 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r0, r1);
    assert_eq!(second["session_id"], first["session_id"], "same session");
    assert_ne!(second["access_token"], first["access_token"]);
    // the rotated token is no longer active for introspection, the new one is
    assert_eq!(app.introspect(r0).await, json!({"active": false}));
    let intro = app.introspect(r1).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "refresh_token");

    let cursor = app.feed(0, 0).await["next_cursor"].as_i64().unwrap();
    // reuse after the grace window: the whole session is revoked
    app.clock.advance(Duration::from_secs(11));
    let (status, body) = app.refresh(r0).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "refresh_token_reused");
    // the newest token and the session's access tokens are dead too
    let (status, body) = app.refresh(r1).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "session_revoked");
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(access).await, json!({"active": false}));
    let (status, body) = app.get_bearer("/v1/me", access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "session_revoked");
    // and the feed reports the session
    let page = app.feed(cursor, 0).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["kind"], "session");
    assert_eq!(events[0]["session_id"], first["session_id"]);
    assert_eq!(events[0]["user_id"], first["user"]["id"]);
    assert_eq!(events[0]["reason"], "refresh_token_reused");
}

#[tokio::test]
async fn reuse_within_grace_window_succeeds_for_concurrent_tabs() {
    let app = spawn_app().await;
    let first = app.register(&email()).await;
    let r0 = first["refresh_token"].as_str().unwrap().to_owned();
    // two tabs refresh with the same token at the same moment
    let (a, b) = tokio::join!(app.refresh(&r0), app.refresh(&r0));
    assert_eq!(a.0, StatusCode::OK, "{}", a.1);
    assert_eq!(b.0, StatusCode::OK, "{}", b.1);
    assert_ne!(a.1["refresh_token"], b.1["refresh_token"]);
    // a third use 5 s later is still in the window
    app.clock.advance(Duration::from_secs(5));
    let (status, c) = app.refresh(&r0).await;
    assert_eq!(status, StatusCode::OK, "{c}");
    // every token handed out works
    for t in [&a.1, &b.1, &c] {
        let (status, body) = app.refresh(t["refresh_token"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn refresh_slides_expiry_and_expired_refresh_is_refused() {
    let app = spawn_app().await;
    let first = app.register(&email()).await;
    let mut token = first["refresh_token"].as_str().unwrap().to_owned();
    // 29 days, refresh, 29 days again: still alive because the session slides
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(29 * 24 * 3600));
        let (status, body) = app.refresh(&token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    app.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let (status, body) = app.refresh(&token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "refresh_token_expired");
}

#[tokio::test]
async fn garbage_refresh_tokens_are_401_not_500() {
    let app = spawn_app().await;
    for t in [
        "",
        "abc",
        &"A".repeat(43),
        &"é".repeat(43),
        &"x".repeat(10_000),
    ] {
        let (status, body) = app.refresh(t).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{t:?}");
        assert_eq!(error_code(&body), "invalid_refresh_token");
    }
}
