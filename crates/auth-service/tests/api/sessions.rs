//! Listing and revoking sessions, logout.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn sessions_list_revoke_one_revoke_all_and_logout() {
    let app = spawn_app().await;
    let email = email();
    let a = app.register(&email).await;
    let resp = app
        .http
        .post(app.url("/v1/login"))
        .header("user-agent", "Firefox/Test")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (_, b) = split(resp).await;
    let (_, c) = app.login(&email, PASSWORD).await;
    let token_a = a["access_token"].as_str().unwrap();
    let (status, list) = app.get_bearer("/v1/sessions", token_a).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], a["session_id"]);
    let sb = list.iter().find(|s| s["id"] == b["session_id"]).unwrap();
    assert_eq!(sb["user_agent"], "Firefox/Test");
    assert_eq!(sb["ip"], "127.0.0.1");
    for k in ["created_at", "last_used_at"] {
        assert!(
            sb[k].as_str().is_some_and(|s| s.ends_with('Z')),
            "{k}: {sb}"
        );
    }

    // revoke B from A
    let resp = app
        .http
        .delete(app.url(&format!(
            "/v1/sessions/{}",
            b["session_id"].as_str().unwrap()
        )))
        .bearer_auth(token_a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.introspect(b["access_token"].as_str().unwrap()).await,
        json!({"active": false})
    );
    let (status, _) = app.refresh(b["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // someone else's session is 404, and so is a malformed id
    let other = app.register(&crate::helpers::email()).await;
    for id in [other["session_id"].as_str().unwrap(), "not-a-uuid"] {
        let resp = app
            .http
            .delete(app.url(&format!("/v1/sessions/{id}")))
            .bearer_auth(token_a)
            .send()
            .await
            .unwrap();
        let (status, body) = split(resp).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(error_code(&body), "not_found");
    }
    assert_eq!(
        app.introspect(other["access_token"].as_str().unwrap())
            .await["active"],
        true,
        "other user's session untouched"
    );

    // logout C
    let (status, _) = app
        .post_bearer("/v1/logout", c["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app
        .get_bearer("/v1/me", c["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "session_revoked");

    // revoke-all from a fresh session: everything of this user dies
    let (_, d) = app.login(&email, PASSWORD).await;
    let (status, _) = app
        .post_bearer(
            "/v1/sessions/revoke-all",
            d["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    for t in [token_a, d["access_token"].as_str().unwrap()] {
        assert_eq!(app.introspect(t).await, json!({"active": false}));
    }
    let (status, _) = app.refresh(a["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_revocation_on_one_replica_reaches_the_other_replicas_session_cache() {
    // Two replicas behind one public URL share a database and a master key.
    let a = spawn_with(|c| c.public_url = Some("http://auth.replicas.example".into())).await;
    let b = spawn_config(a.config.clone(), a.clock.clone()).await;
    let session = a.register(&email()).await;
    let token = session["access_token"].as_str().unwrap();

    // Replica B answers from its cache once it has seen the session live.
    assert_eq!(b.introspect(token).await["active"], true);
    assert_eq!(b.state.auth.live_sessions().len(), 1);
    assert_eq!(b.introspect(token).await["active"], true);

    // A revokes; B hears of it through the feed table, not from A's memory.
    let (status, _) = a.post_bearer("/v1/logout", token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(a.introspect(token).await, json!({"active": false}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        if b.introspect(token).await == json!({"active": false}) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replica B still sees a revoked session after 2 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, _) = b.get_bearer("/v1/me", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
