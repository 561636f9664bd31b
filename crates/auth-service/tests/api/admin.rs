//! Admin endpoints and the audit log.

use crate::helpers::*;
use auth_service::store::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn admin_endpoints_need_the_admin_role_and_audit_records_security_events() {
    let app = spawn_app().await;
    let user = app.register(&email()).await;
    let user_token = user["access_token"].as_str().unwrap();
    for path in ["/v1/admin/users", "/v1/admin/audit"] {
        let (status, body) = app.get_bearer(path, user_token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_code(&body), "forbidden");
    }
    // bootstrap an admin the way the CLI does
    app.state
        .auth
        .create_user(
            "root@example.com",
            PASSWORD.into(),
            Some("Root"),
            Role::Admin,
        )
        .await
        .unwrap();
    let (status, admin) = app.login("root@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin["user"]["role"], "admin");
    let admin_token = admin["access_token"].as_str().unwrap();

    // some security events
    app.login("root@example.com", "wrong password!!").await;
    let r0 = user["refresh_token"].as_str().unwrap();
    app.refresh(r0).await;
    app.clock.advance(std::time::Duration::from_secs(30));
    app.refresh(r0).await;

    let (status, users) = app.get_bearer("/v1/admin/users", admin_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(users.as_array().unwrap().len(), 2);
    let (status, audit) = app
        .get_bearer("/v1/admin/audit?limit=50", admin_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "user_registered",
        "user_created",
        "login_succeeded",
        "login_failed",
        "refresh_token_reused",
    ] {
        assert!(events.contains(&e), "audit lacks {e}: {events:?}");
    }
    assert!(
        !audit.to_string().contains(PASSWORD),
        "no secrets in the audit log"
    );

    // role change, audited; the new admin can use admin endpoints (role read from the database)
    let id = user["user"]["id"].as_str().unwrap();
    let resp = app
        .http
        .put(app.url(&format!("/v1/admin/users/{id}/role")))
        .bearer_auth(admin_token)
        .json(&json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "admin");
    let (_, fresh) = app
        .login(user["user"]["email"].as_str().unwrap(), PASSWORD)
        .await;
    let (status, _) = app
        .get_bearer("/v1/admin/users", fresh["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, audit) = app.get_bearer("/v1/admin/audit?limit=5", admin_token).await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "role_changed")
    );
    // bad role value and bad paging are 4xx with codes
    let resp = app
        .http
        .put(app.url(&format!("/v1/admin/users/{id}/role")))
        .bearer_auth(admin_token)
        .json(&json!({"role": "god"}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_request");
    let (status, body) = app.get_bearer("/v1/admin/users?limit=0", admin_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_request");
}
