//! Login throttling: growing delay, then 429 with Retry-After; persisted in
//! the database; reset by a successful login.

use crate::helpers::*;
use auth_service::config::ThrottleConfig;
use reqwest::StatusCode;
use std::time::Duration;

fn quick(c: &mut auth_service::Config) {
    c.throttle = ThrottleConfig {
        free_failures: 2,
        lock_after: 4,
        ip_multiplier: 5,
        base_lock_secs: 30,
        max_lock_secs: 900,
        window_secs: 900,
    };
}

#[tokio::test]
async fn failures_lead_to_429_with_retry_after_which_survives_a_restart() {
    let app = spawn_with(quick).await;
    let email = email();
    app.register(&email).await;
    for i in 0..4 {
        let (status, body) = app.login(&email, "wrong password!!").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
    }
    let resp = app
        .http
        .post(app.url("/v1/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password is refused while locked"
    );
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    let (_, body) = split(resp).await;
    assert_eq!(error_code(&body), "too_many_attempts");

    // a new instance on the same database still refuses: the state is persisted
    let again = spawn_config(app.config.clone(), app.clock.clone()).await;
    let (status, _) = again.login(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // after the lockout, the right password works and resets the account's counter
    app.clock.advance(Duration::from_secs(31));
    let (status, body) = app.login(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.login(&email, "wrong password!!").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "counter was reset: one failure is not a lock"
    );
    let (status, _) = app.login(&email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_emails_are_throttled_like_real_ones() {
    let app = spawn_with(quick).await;
    for _ in 0..4 {
        app.login("ghost@example.com", "wrong password!!").await;
    }
    let (status, _) = app.login("ghost@example.com", "wrong password!!").await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "no difference reveals whether the account exists"
    );
}

#[tokio::test]
async fn one_address_spraying_many_accounts_is_throttled() {
    let app = spawn_with(|c| {
        quick(c);
        c.throttle.ip_multiplier = 2;
    })
    .await;
    // 8 failures from one address on 8 different accounts: the address is locked
    for i in 0..8 {
        let (status, _) = app
            .login(&format!("spray{i}@example.com"), "wrong password!!")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = app.login("spray-new@example.com", "wrong password!!").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}
