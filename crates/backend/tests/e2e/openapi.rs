//! `GET /openapi.json`: valid JSON generated from the code, listing every
//! route of the specification; every documented operation is routed (its
//! method is not refused with 405, another method on its path is).

use crate::harness::*;
use serde_json::Value;

/// The backend API of the product specification, plus the WebSocket and the document itself.
const SPEC_ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/ws/ticket"),
    ("get", "/v1/ws"),
    ("get", "/v1/threads"),
    ("post", "/v1/threads"),
    ("get", "/v1/threads/{id}"),
    ("patch", "/v1/threads/{id}"),
    ("delete", "/v1/threads/{id}"),
    ("get", "/v1/threads/{id}/messages"),
    ("get", "/v1/runs/{id}"),
    ("get", "/v1/runs/{id}/events"),
    ("post", "/v1/runs/{id}/cancel"),
    ("get", "/v1/runs/{id}/report"),
    ("post", "/v1/datasets"),
    ("get", "/v1/datasets"),
    ("get", "/v1/datasets/{id}"),
    ("delete", "/v1/datasets/{id}"),
    ("post", "/v1/datasets/sample"),
    ("get", "/v1/datasets/{id}/summary"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn openapi_document_lists_every_route_and_each_is_served() {
    let auth = TestAuth::start().await;
    let b = start_backend(auth.base()).await;
    let (token, _) = register(auth.base()).await;
    let resp = http()
        .get(format!("{}/openapi.json", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let text = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{doc}"
    );
    assert_eq!(doc["info"]["title"], "Apex backend");
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in SPEC_ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} is not documented"))[*method];
        assert!(op.is_object(), "{method} {path} is not documented");
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "the bearer scheme"
    );

    // Every documented operation exists in the router, and nothing more on its path.
    let id = uuid::Uuid::new_v4().to_string();
    for (path, item) in paths {
        let url = format!("{}{}", b.base, path.replace("{id}", &id));
        let documented: Vec<&str> = METHODS
            .iter()
            .copied()
            .filter(|m| item.get(*m).is_some())
            .collect();
        assert!(!documented.is_empty(), "{path}");
        for method in &documented {
            let status = call(method, &url, &token).await;
            assert_ne!(status, 405, "{method} {path} is documented but not routed");
        }
        let other = METHODS
            .iter()
            .find(|m| !documented.contains(m))
            .expect("an undocumented method");
        assert_eq!(
            call(other, &url, &token).await,
            405,
            "{other} {path}: the path is routed, so another method is 405"
        );
    }
}

async fn call(method: &str, url: &str, token: &str) -> u16 {
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
    http()
        .request(method, url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
