//! What the web UI relies on: sign-in passed through to the real auth
//! service (`/v1/auth/*`: the refresh token only in an HttpOnly cookie, the
//! auth service's errors kept as they were, 503 when it is down), and the UI
//! itself served from the binary with its security and cache headers.

use crate::harness::*;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};
use uuid::Uuid;

async fn post_json(base: &str, path: &str, body: Value) -> (u16, HeaderMap, Value) {
    let resp = http()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// `POST /v1/auth/refresh` with the cookie (and the client header unless `bare`).
async fn refresh(base: &str, cookie: Option<&str>, bare: bool) -> (u16, HeaderMap, Value) {
    let mut req = http().post(format!("{base}/v1/auth/refresh"));
    if !bare {
        req = req.header("x-apex-client", "web");
    }
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, format!("apex_refresh={c}"));
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

/// The `apex_refresh` Set-Cookie: (value, attributes).
fn refresh_cookie(headers: &HeaderMap) -> (String, String) {
    let raw = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("apex_refresh="))
        .expect("an apex_refresh cookie is set")
        .to_owned();
    let (pair, attrs) = raw.split_once(';').unwrap_or((&raw, ""));
    (pair["apex_refresh=".len()..].to_owned(), attrs.to_owned())
}

fn email() -> String {
    format!("web-{}@example.com", Uuid::new_v4().simple())
}

/// The auth service and the backend, and a fresh account registered through
/// the backend: (auth, backend, email, the register answer's headers and body).
async fn registered() -> (TestAuth, TestBackend, String, HeaderMap, Value) {
    let auth = TestAuth::start().await;
    let b = start_backend(auth.base()).await;
    let email = email();
    let (status, headers, body) = post_json(
        &b.base,
        "/v1/auth/register",
        json!({"email": email, "password": PASSWORD, "name": "Web"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (auth, b, email, headers, body)
}

#[tokio::test]
async fn sign_in_passes_through_and_keeps_the_refresh_token_in_an_http_only_cookie() {
    let (_auth, b, email, headers, body) = registered().await;
    assert!(body["access_token"].is_string());
    assert_eq!(body["user"]["email"], email.as_str());
    assert!(
        body.get("refresh_token").is_none(),
        "the refresh token never reaches JavaScript: {body}"
    );
    let (token, attrs) = refresh_cookie(&headers);
    assert!(!token.is_empty());
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/v1/auth", "Max-Age="] {
        assert!(attrs.contains(attr), "{attr} missing from {attrs}");
    }
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");

    // the access token works on the backend's API and on /v1/auth/me
    let access = body["access_token"].as_str().unwrap();
    let (status, me) = get(&b.base, "/v1/auth/me", access).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], email.as_str());
    let (status, _) = get(&b.base, "/v1/threads", access).await;
    assert_eq!(status, 200);

    // refresh rotates: a new access token and a new cookie
    let (status, headers, body) = refresh(&b.base, Some(&token), false).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    let (rotated, _) = refresh_cookie(&headers);
    assert_ne!(rotated, token);
    let access = body["access_token"].as_str().unwrap().to_owned();

    // a refresh without the client header (a cross-site form) or without a cookie is refused
    let (status, _, body) = refresh(&b.base, Some(&rotated), true).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _, body) = refresh(&b.base, None, false).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("no_session"))
    );

    // login passes through too
    let (status, headers, body) = post_json(
        &b.base,
        "/v1/auth/login",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    refresh_cookie(&headers);

    // logout revokes the session at the auth service and clears the cookie
    let resp = http()
        .post(format!("{}/v1/auth/logout", b.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (cleared, attrs) = refresh_cookie(resp.headers());
    assert!(cleared.is_empty() && attrs.contains("Max-Age=0"), "{attrs}");
    let (status, headers, body) = refresh(&b.base, Some(&rotated), false).await;
    assert_eq!(status, 401, "a revoked session cannot refresh: {body}");
    assert!(body["error"]["code"].is_string());
    let (cleared, _) = refresh_cookie(&headers);
    assert!(cleared.is_empty(), "a refused refresh clears the cookie");
}

#[tokio::test]
async fn auth_errors_keep_their_status_body_and_retry_after() {
    let (auth, b, email, _, _) = registered().await;

    // the same body as the auth service's own answer
    let wrong = json!({"email": email, "password": "not the password at all"});
    let (status, _, direct) = post_json(auth.base(), "/v1/login", wrong.clone()).await;
    assert_eq!(status, 401);
    let (status, _, passed) = post_json(&b.base, "/v1/auth/login", wrong.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(passed, direct);
    assert_eq!(passed["error"]["code"], "invalid_credentials");

    let (status, _, body) = post_json(
        &b.base,
        "/v1/auth/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("email_taken"))
    );
    let (status, _, body) = post_json(
        &b.base,
        "/v1/auth/register",
        json!({"email": "not-an-email", "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_email"))
    );

    // throttled: 429 too_many_attempts with the auth service's Retry-After
    let mut throttled = None;
    for _ in 0..12 {
        let (status, headers, body) = post_json(&b.base, "/v1/auth/login", wrong.clone()).await;
        if status == 429 {
            throttled = Some((headers, body));
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let (headers, body) = throttled.expect("login is throttled after repeated failures");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0);

    // not JSON: refused here, never forwarded as something else
    let resp = http()
        .post(format!("{}/v1/auth/login", b.base))
        .body("email=a&password=b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    let resp = http()
        .get(format!("{}/v1/auth/me", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_token");
}

#[tokio::test]
async fn sign_in_answers_a_coded_503_while_the_auth_service_is_down() {
    let mut auth = TestAuth::start().await;
    let b = start_backend(auth.base()).await;
    auth.process.kill();
    let (status, headers, body) = post_json(
        &b.base,
        "/v1/auth/login",
        json!({"email": email(), "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "auth_unavailable");
    assert!(headers.contains_key(header::RETRY_AFTER));
    let (status, _, body) = refresh(&b.base, Some("whatever"), false).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("auth_unavailable"))
    );
}

#[tokio::test]
async fn the_ui_is_served_from_the_binary_with_a_strict_policy_and_etags() {
    let auth = TestAuth::start().await;
    let b = start_backend(auth.base()).await;
    let resp = http().get(format!("{}/", b.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(h[header::CACHE_CONTROL], "no-cache");
    let page = resp.text().await.unwrap();
    assert!(page.contains("/assets/app.js"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );

    for (path, kind) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/styles.css", "text/css; charset=utf-8"),
        (
            "/assets/vendor/chart.umd.min.js",
            "text/javascript; charset=utf-8",
        ),
        ("/assets/vendor/LICENSES.txt", "text/plain; charset=utf-8"),
    ] {
        let resp = http()
            .get(format!("{}{path}", b.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()[header::CONTENT_TYPE], kind, "{path}");
        let etag = resp.headers()[header::ETAG].clone();
        let again = http()
            .get(format!("{}{path}", b.base))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path} revalidates");
    }
    let resp = http()
        .get(format!("{}/assets/nope.js", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
