//! Introspection access control and the revocation feed's long-poll.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn introspection_requires_service_credentials() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let token = body["access_token"].as_str().unwrap();
    let cases: Vec<(&str, Option<(&str, &str)>)> = vec![
        ("none", None),
        ("wrong secret", Some((SERVICE_ID, "not-the-secret"))),
        ("wrong id", Some(("someone", SERVICE_SECRET))),
    ];
    for (name, creds) in cases {
        let mut req = app
            .http
            .post(app.url("/v1/introspect"))
            .form(&[("token", token)]);
        if let Some((id, secret)) = creds {
            req = req.basic_auth(id, Some(secret));
        }
        let (status, body) = split(req.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(error_code(&body), "invalid_client", "{name}");
    }
    // a user's bearer token is not a service credential either
    let (status, err) = split(
        app.http
            .get(app.url("/v1/revocations"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&err), "invalid_client");
    // RFC 7662 answer for a valid token
    let intro = app.introspect(token).await;
    assert_eq!(intro["active"], true);
    assert_eq!(intro["token_type"], "access_token");
    assert_eq!(intro["sub"], body_user_id(&app, token).await);
    assert_eq!(intro["sid"], body["session_id"]);
    for k in ["exp", "iat", "jti", "email"] {
        assert!(intro.get(k).is_some(), "{k} in {intro}");
    }
    assert_eq!(app.introspect("garbage").await, json!({"active": false}));
    assert_eq!(app.introspect("").await, json!({"active": false}));
}

async fn body_user_id(app: &TestApp, token: &str) -> serde_json::Value {
    app.get_bearer("/v1/me", token).await.1["id"].clone()
}

#[tokio::test]
async fn long_poll_hears_of_a_revocation_within_a_second() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let start_cursor = app.feed(0, 0).await["next_cursor"].as_i64().unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let waiter = {
        let http = app.http.clone();
        let url = app.url(&format!("/v1/revocations?after={start_cursor}&wait=20"));
        tokio::spawn(async move {
            let resp = http
                .get(url)
                .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
                .send()
                .await
                .unwrap();
            (
                Instant::now(),
                resp.json::<serde_json::Value>().await.unwrap(),
            )
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "the poll waits while nothing is revoked"
    );
    let revoked_at = Instant::now();
    let (status, _) = app.post_bearer("/v1/logout", &access).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (heard_at, page) = waiter.await.unwrap();
    let delay = heard_at.saturating_duration_since(revoked_at);
    assert!(delay < Duration::from_secs(1), "heard after {delay:?}");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["session_id"], body["session_id"]);
    assert_eq!(events[0]["reason"], "logout");
    assert!(page["next_cursor"].as_i64().unwrap() > start_cursor);
    // nothing new after the cursor: an immediate empty page with the same cursor
    let next = page["next_cursor"].as_i64().unwrap();
    let empty = app.feed(next, 0).await;
    assert_eq!(empty["events"], json!([]));
    assert_eq!(empty["next_cursor"], next);
}

#[tokio::test]
async fn revoke_all_appears_as_a_user_event() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let cursor = app.feed(0, 0).await["next_cursor"].as_i64().unwrap();
    app.post_bearer(
        "/v1/sessions/revoke-all",
        body["access_token"].as_str().unwrap(),
    )
    .await;
    let page = app.feed(cursor, 0).await;
    let ev = &page["events"][0];
    assert_eq!(ev["kind"], "user");
    assert_eq!(ev["user_id"], body["user"]["id"]);
    let bad = app
        .http
        .get(app.url("/v1/revocations?after=-1"))
        .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
        .send()
        .await
        .unwrap();
    let (status, body) = split(bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_request");
}
