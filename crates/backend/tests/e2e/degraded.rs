//! Gate 2: the real `apex-backend` binary starts without the auth service,
//! reports it unreachable, refuses what it cannot verify with a clear code,
//! and recovers by itself when the auth service appears: no restart.

use crate::harness::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn readyz(base: &str) -> (u16, Value) {
    match http()
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// A token of the right shape and issuer, signed by an unknown key: verifying it needs the JWKS.
fn well_formed_token(issuer: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let now = chrono::Utc::now().timestamp();
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": "k-1"});
    let claims = json!({"iss": issuer, "sub": uuid::Uuid::new_v4(), "sid": uuid::Uuid::new_v4(), "jti": "j", "iat": now, "exp": now + 600, "email": "a@example.com", "role": "user"});
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&[0u8; 64])
    )
}

#[tokio::test]
async fn backend_starts_without_the_auth_service_and_recovers_without_restart() {
    let dir = TempDir::new();
    let db = backend::store::testing::TestDatabase::from_env()
        .await
        .expect("test database");
    let (auth_port, backend_port) = (free_port(), free_port());
    let auth_base = format!("http://127.0.0.1:{auth_port}");
    let base = format!("http://127.0.0.1:{backend_port}");
    let mut backend =
        BackendProcess::spawn_backend(dir.path(), backend_port, db.url(), &auth_base, &[]);

    // liveness at once, readiness names the auth service as unreachable
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "backend never answered /healthz");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = readyz(&base).await;
    assert_eq!(status, 503, "{body}");
    let auth_check = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "auth_service")
        .unwrap()
        .clone();
    assert_eq!(auth_check["status"], "unreachable", "{body}");
    // a token cannot be verified: a clear refusal, not a crash
    let (status, body) = post(&base, "/v1/ws/ticket", &well_formed_token(&auth_base), None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "auth_unavailable");
    assert!(backend.is_running(), "the backend is still running");

    // the auth service appears: the same backend process becomes ready by itself
    let _auth = AuthProcess::start(dir.path(), auth_port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = readyz(&base).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backend did not become ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // and the golden path works
    let (token, _) = register(&auth_base).await;
    let mut ws = connect(&base, &token).await;
    send(
        &mut ws,
        json!({"type": "user_message", "client_msg_id": "d1", "content": "hello"}),
    )
    .await;
    let accepted = next_json(&mut ws).await;
    assert_eq!(accepted["type"], "message_accepted", "{accepted}");
    let events = collect_run(&mut ws, accepted["run_id"].as_str().unwrap()).await;
    assert_eq!(events.last().unwrap()["payload"]["agent"], "supervisor");
    assert!(backend.is_running(), "never restarted");
}
