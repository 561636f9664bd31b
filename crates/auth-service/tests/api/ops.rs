//! Health, readiness, metrics and the OpenAPI document.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn health_ready_metrics_and_openapi() {
    let app = spawn_app().await;
    let (status, body) = split(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    let (status, body) = split(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["status"], "ok");

    let email = email();
    app.register(&email).await;
    app.login(&email, PASSWORD).await;
    app.login(&email, "wrong password!!").await;
    let (_, b) = app.login(&email, PASSWORD).await;
    app.refresh(b["refresh_token"].as_str().unwrap()).await;
    app.introspect(b["access_token"].as_str().unwrap()).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        r#"apex_auth_logins_total{outcome="success"} 2"#,
        r#"apex_auth_logins_total{outcome="invalid_credentials"} 1"#,
        r#"apex_auth_token_refreshes_total{outcome="success"} 1"#,
        r#"apex_auth_introspections_total{outcome="active"} 1"#,
        r#"apex_auth_http_request_duration_seconds_bucket{"#,
        r#"route="/v1/login""#,
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }

    let doc: serde_json::Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/register",
        "/v1/login",
        "/v1/token/refresh",
        "/v1/logout",
        "/v1/me",
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/sessions/revoke-all",
        "/v1/introspect",
        "/v1/revocations",
        "/.well-known/jwks.json",
        "/v1/admin/users",
        "/v1/admin/audit",
    ] {
        assert!(doc["paths"].get(path).is_some(), "openapi lacks {path}");
    }
    assert!(doc["components"]["schemas"].get("TokenResponse").is_some());
}

#[tokio::test]
async fn readyz_reports_an_unreachable_database() {
    let app = spawn_app().await;
    app.state.auth.store().close().await;
    let (status, body) = split(app.http.get(app.url("/readyz")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["checks"][0]["status"], "unreachable");
    let (status, _) = split(app.http.get(app.url("/healthz")).send().await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
    // a request needing the database fails cleanly with a code, not a hang
    let (status, body) = app.login("a@example.com", PASSWORD).await;
    assert!(status.is_server_error(), "{status}");
    assert!(matches!(error_code(&body), "unavailable" | "internal"));
}
