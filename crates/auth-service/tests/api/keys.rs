//! Signing-key rotation: the next key is published before it signs; a
//! retired key stays published until its tokens have expired. Private keys
//! are encrypted at rest.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

async fn kids(app: &TestApp) -> Vec<String> {
    let v: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

#[tokio::test]
async fn keys_rotate_with_publish_ahead_and_overlap() {
    let app = spawn_with(|c| {
        c.key_rotation_interval = Duration::from_secs(3600);
        c.key_publish_ahead = Duration::from_secs(600);
    })
    .await;
    let rotate = || async {
        app.state
            .auth
            .keys()
            .rotate(app.state.auth.now_ms())
            .await
            .unwrap()
    };
    let email = email();
    let first = app.register(&email).await;
    let k1 = kid_of(first["access_token"].as_str().unwrap());
    assert_eq!(kids(&app).await, vec![k1.clone()]);

    // 55 minutes in: the next key is published, but k1 still signs
    app.clock.advance(Duration::from_secs(55 * 60));
    rotate().await;
    let published = kids(&app).await;
    assert_eq!(published.len(), 2, "{published:?}");
    let k2 = published.iter().find(|k| **k != k1).unwrap().clone();
    let (_, t) = app.login(&email, PASSWORD).await;
    assert_eq!(
        kid_of(t["access_token"].as_str().unwrap()),
        k1,
        "the next key does not sign before its time"
    );
    let old_token = t["access_token"].as_str().unwrap().to_owned();

    // 61 minutes in: k2 signs, k1 is still published and its token still verifies
    app.clock.advance(Duration::from_secs(6 * 60));
    rotate().await;
    let (_, t2) = app.login(&email, PASSWORD).await;
    assert_eq!(kid_of(t2["access_token"].as_str().unwrap()), k2);
    assert!(kids(&app).await.contains(&k1));
    let (status, _) = app.get_bearer("/v1/me", &old_token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "tokens of the retired key verify until they expire"
    );

    // once every k1 token has expired, k1 leaves the JWKS
    app.clock.advance(Duration::from_secs(12 * 60));
    rotate().await;
    let now = kids(&app).await;
    assert!(!now.contains(&k1), "{now:?}");
    assert!(now.contains(&k2));
}

#[tokio::test]
async fn private_keys_are_encrypted_at_rest() {
    let app = spawn_app().await;
    let keys = app.state.auth.store().signing_keys().await.unwrap();
    assert!(!keys.is_empty());
    for k in &keys {
        assert_eq!(k.public_key.len(), 32);
        assert!(
            k.private_key_encrypted.len() >= 12 + 32 + 16,
            "nonce + ciphertext + tag"
        );
    }
    // the master key file was generated once with owner-only permissions
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(app.data_dir.join("auth/master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    // another master key cannot open them: the service refuses to start rather than sign with garbage
    let mut cfg = app.config.clone();
    cfg.master_key = Some("AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=".into());
    let err = auth_service::Application::build(cfg)
        .await
        .err()
        .expect("wrong master key must fail");
    assert!(err.to_string().contains("decrypt"), "{err}");
}
