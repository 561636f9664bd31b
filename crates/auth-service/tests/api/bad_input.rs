//! One test per class of bad input: each gets a 4xx with a code, never a 500,
//! and writes nothing.

use crate::helpers::*;
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;

async fn raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut req = app.http.post(app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    split(req.send().await.unwrap()).await
}

async fn assert_no_users(app: &TestApp) {
    let users = app.state.auth.store().list_users(10, 0).await.unwrap();
    assert!(users.is_empty(), "bad input wrote a user: {users:?}");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_json() {
    let app = spawn_app().await;
    for body in [
        &b"{"[..],
        b"{\"email\": }",
        b"not json",
        b"",
        b"{\"email\":\"a@b.co\",\"password\":\"xxxxxxxxxxxx\"} trailing",
    ] {
        let (status, resp) = raw(
            &app,
            "/v1/register",
            Some("application/json"),
            body.to_vec(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        assert!(
            matches!(error_code(&resp), "invalid_json" | "invalid_request"),
            "{resp}"
        );
    }
    assert_no_users(&app).await;
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_400_invalid_request() {
    let app = spawn_app().await;
    for body in [
        r#"{"email": 5, "password": "xxxxxxxxxxxx"}"#,
        r#"{"email": "a@b.co"}"#,
        r#"[]"#,
        r#"{"email": "a@b.co", "password": ["x"]}"#,
        r#"{"email": "a@b.co", "password": "correct horse battery", "admin": true}"#,
    ] {
        let (status, resp) = raw(&app, "/v1/register", Some("application/json"), body.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&resp), "invalid_request", "{body}");
    }
    assert_no_users(&app).await;
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = spawn_app().await;
    let big = format!(
        r#"{{"email": "a@b.co", "password": "{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let (status, resp) = raw(
        &app,
        "/v1/register",
        Some("application/json"),
        big.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&resp), "payload_too_large");
    // chunked (no Content-Length) too
    let stream =
        futures_util::stream::iter((0..80).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let resp = app
        .http
        .post(app.url("/v1/login"))
        .header(CONTENT_TYPE, "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_no_users(&app).await;
}

#[tokio::test]
async fn odd_unicode_is_handled() {
    let app = spawn_app().await;
    // invalid UTF-8 in the body
    let (status, resp) = raw(
        &app,
        "/v1/login",
        Some("application/json"),
        b"{\"email\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        error_code(&resp),
        "invalid_json" | "invalid_request"
    ));
    // lone surrogate escapes
    let (status, resp) = raw(
        &app,
        "/v1/login",
        Some("application/json"),
        br#"{"email": "\ud800@example.com", "password": "x"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    // NUL, bidi override, zero-width and combining characters in the email
    for email in [
        "a\u{0}b@example.com",
        "\u{202e}moc.elpmaxe@a",
        "a\u{200b}@example.com",
        "a\u{301}\u{301}\u{301}@example.com",
    ] {
        let (status, resp) = app
            .post_json(
                "/v1/register",
                serde_json::json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert!(status.is_client_error(), "{email:?}: {status}");
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(error_code(&resp), "invalid_email");
        }
    }
    // emoji and non-Latin passwords are fine (10 characters, more bytes)
    let (status, resp) = app.post_json("/v1/register", serde_json::json!({"email": "uni@example.com", "password": "пароль🔑🔑🔑🔑", "name": "Zoë 李"})).await;
    assert_eq!(status, StatusCode::CREATED, "{resp}");
    let (status, _) = app.login("uni@example.com", "пароль🔑🔑🔑🔑").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn missing_or_wrong_headers() {
    let app = spawn_app().await;
    // no content type
    let (status, resp) = raw(
        &app,
        "/v1/login",
        None,
        br#"{"email":"a@b.co","password":"xxxxxxxxxxxx"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&resp), "unsupported_media_type");
    // wrong content type on the form endpoint
    let resp = app
        .http
        .post(app.url("/v1/introspect"))
        .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
        .json(&serde_json::json!({"token": "x"}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&body), "unsupported_media_type");
    // missing form field
    let resp = app
        .http
        .post(app.url("/v1/introspect"))
        .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
        .form(&[("nottoken", "x")])
        .send()
        .await
        .unwrap();
    let (status, body) = split(resp).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_request");
    // no Authorization
    let (status, resp) = split(app.http.get(app.url("/v1/me")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&resp), "missing_token");
    // malformed Authorization values
    for value in [
        "Bearer",
        "Basic abc",
        "Bearer    ",
        "Token abc",
        "Bearer a.b.c",
    ] {
        let (status, resp) = split(
            app.http
                .get(app.url("/v1/me"))
                .header("authorization", value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(error_code(&resp), "invalid_token", "{value}");
    }
    // malformed Basic credentials on service endpoints
    for value in ["Basic !!!", "Basic", "Basic Zm9v"] {
        let (status, resp) = split(
            app.http
                .get(app.url("/v1/revocations"))
                .header("authorization", value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(error_code(&resp), "invalid_client");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let app = spawn_app().await;
    let (status, resp) = split(app.http.get(app.url("/v1/nope")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&resp), "not_found");
    let (status, resp) = split(app.http.get(app.url("/v1/login")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&resp), "method_not_allowed");
    let (status, resp) = split(
        app.http
            .get(app.url("/v1/admin/users?limit=abc"))
            .bearer_auth("x")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "auth is checked first: {resp}"
    );
}
