//! Registration and login.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_returns_tokens_and_normalised_user() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/v1/register",
            json!({"email": "  Alice@Example.COM ", "password": PASSWORD, "name": "Alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["email"], "alice@example.com");
    assert_eq!(body["user"]["name"], "Alice");
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["access_token"].as_str().unwrap().split('.').count(), 3);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert!(body["session_id"].as_str().is_some());
    let (status, me) = app
        .get_bearer("/v1/me", body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "alice@example.com");
}

#[tokio::test]
async fn duplicate_email_is_409_whatever_the_case() {
    let app = spawn_app().await;
    app.register("bob@example.com").await;
    let (status, body) = app
        .post_json(
            "/v1/register",
            json!({"email": "BOB@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error_code(&body), "email_taken");
}

#[tokio::test]
async fn invalid_email_and_weak_passwords_are_422_and_write_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "invalid_email",
        ),
        (
            json!({"email": "e\u{202e}vil@example.com", "password": PASSWORD}),
            "invalid_email",
        ),
        (
            json!({"email": "carol@example.com", "password": "short"}),
            "weak_password",
        ),
        (
            json!({"email": "carol@example.com", "password": "carol@example.com"}),
            "weak_password",
        ),
        (
            json!({"email": "carol@example.com", "password": "x".repeat(1025)}),
            "weak_password",
        ),
        (
            json!({"email": "carol@example.com", "password": PASSWORD, "name": "bad\u{0007}name"}),
            "invalid_name",
        ),
    ];
    for (body, code) in cases {
        let (status, resp) = app.post_json("/v1/register", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {resp}");
        assert_eq!(error_code(&resp), code, "{body}");
    }
    assert!(
        app.state
            .auth
            .store()
            .user_by_email("carol@example.com")
            .await
            .unwrap()
            .is_none(),
        "no user written by refused registrations"
    );
    // exactly 1024 bytes is allowed
    let (status, _) = app
        .post_json(
            "/v1/register",
            json!({"email": "carol@example.com", "password": "y".repeat(1023) + "z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_identically() {
    let app = spawn_app().await;
    let email = email();
    app.register(&email).await;
    let (s1, b1) = app.login(&email, "wrong password here").await;
    let (s2, b2) = app
        .login("nobody-here@example.com", "wrong password here")
        .await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s1, s2);
    assert_eq!(b1, b2, "same body for both");
    assert_eq!(error_code(&b1), "invalid_credentials");
    let (status, body) = app.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["session_id"], serde_json::Value::Null);
}

#[tokio::test]
async fn password_hash_uses_the_configured_argon2_parameters() {
    let app = spawn_with(|c| {
        c.argon2.memory_kib = 20_480;
        c.argon2.iterations = 3;
    })
    .await;
    let email = email();
    app.register(&email).await;
    let user = app
        .state
        .auth
        .store()
        .user_by_email(&email)
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=20480,t=3,p=1$"),
        "{}",
        user.password_hash
    );
    assert!(!user.password_hash.contains(PASSWORD));
}
