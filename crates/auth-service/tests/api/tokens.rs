//! Access tokens verified independently of the signing code: with the
//! published JWKS and the `jsonwebtoken` library.

use crate::helpers::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn jwks(app: &TestApp) -> JwkSet {
    app.http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn verify_with(set: &JwkSet, token: &str, issuer: &str) -> Result<Value, String> {
    let header = decode_header(token).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("unknown kid")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_issuer(&[issuer]);
    v.set_required_spec_claims(&["exp", "iss", "sub"]);
    v.leeway = 0;
    decode::<Value>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn access_token_verifies_with_published_jwks() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let token = body["access_token"].as_str().unwrap();
    let set = jwks(&app).await;
    let raw: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["keys"][0]["kty"], "OKP");
    assert_eq!(raw["keys"][0]["crv"], "Ed25519");
    assert_eq!(raw["keys"][0]["alg"], "EdDSA");
    let claims = verify_with(&set, token, &app.base).expect("valid token");
    for k in ["iss", "sub", "sid", "jti", "iat", "exp", "email", "role"] {
        assert!(claims.get(k).is_some(), "claim {k} missing in {claims}");
    }
    assert_eq!(claims["sub"], body["user"]["id"]);
    assert_eq!(claims["sid"], body["session_id"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(
        verify_with(&set, token, "http://someone-else").is_err(),
        "wrong issuer rejected"
    );
    let disc: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(disc["issuer"], app.base);
    assert_eq!(
        disc["jwks_uri"],
        format!("{}/.well-known/jwks.json", app.base)
    );
    assert!(
        disc["introspection_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/v1/introspect")
    );
    assert!(
        disc["revocation_feed"]
            .as_str()
            .unwrap()
            .ends_with("/v1/revocations")
    );
}

#[tokio::test]
async fn forged_tokens_are_rejected() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let token = body["access_token"].as_str().unwrap();
    let set = jwks(&app).await;
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    let kid = decode_header(token).unwrap().kid.unwrap();

    // alg: none
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string()),
        parts[1]
    );
    // unknown kid, signed with some other Ed25519 key
    let other = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let der = other.to_pkcs8_der().unwrap();
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some("k-unknown".into());
    let unknown_kid = encode(&h, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
    // right kid, wrong key
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(kid.clone());
    let wrong_key = encode(&h, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap();
    // tampered payload (role: admin)
    let mut admin_claims = claims.clone();
    admin_claims["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(admin_claims.to_string()),
        parts[2]
    );

    for (name, forged) in [
        ("alg none", none),
        ("unknown kid", unknown_kid),
        ("wrong key", wrong_key),
        ("tampered", tampered),
    ] {
        assert!(
            verify_with(&set, &forged, &app.base).is_err(),
            "{name}: the JWT library must reject it"
        );
        let (status, resp) = app.get_bearer("/v1/me", &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {resp}");
        assert_eq!(error_code(&resp), "invalid_token", "{name}");
        assert_eq!(
            app.introspect(&forged).await,
            json!({"active": false}),
            "{name}"
        );
    }
}

#[tokio::test]
async fn hs256_with_the_public_key_is_rejected() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let token = body["access_token"].as_str().unwrap();
    let raw: Value = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let x = raw["keys"][0]["x"].as_str().unwrap();
    let kid = raw["keys"][0]["kid"].as_str().unwrap();
    let claims: Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some(kid.into());
    for secret in [x.as_bytes().to_vec(), B64.decode(x).unwrap()] {
        let forged = encode(&h, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        let (status, resp) = app.get_bearer("/v1/me", &forged).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&resp), "invalid_token");
    }
}

#[tokio::test]
async fn expired_token_is_rejected_everywhere() {
    let app = spawn_app().await;
    let body = app.register(&email()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.introspect(&token).await["active"], true);
    app.clock.advance(std::time::Duration::from_secs(601));
    let (status, resp) = app.get_bearer("/v1/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&resp), "token_expired");
    assert_eq!(app.introspect(&token).await, json!({"active": false}));
    // the JWT library agrees (real time: exp is 10 minutes ahead of the wall clock only if our clock was not moved,
    // so check the claim itself)
    let claims: Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert!(claims["exp"].as_i64().unwrap() * 1000 <= app.state.auth.now_ms());
}

#[tokio::test]
async fn token_from_another_issuer_is_rejected() {
    // Two instances share one database and master key but have different issuers:
    // the signature is valid, the issuer is not.
    let app = spawn_app().await;
    let mut other_cfg = app.config.clone();
    other_cfg.public_url = Some("http://other-issuer.example".into());
    let other = spawn_config(other_cfg, app.clock.clone()).await;
    let body = other.register(&email()).await;
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = other.get_bearer("/v1/me", token).await;
    assert_eq!(status, StatusCode::OK, "valid at its own issuer");
    let (status, resp) = app.get_bearer("/v1/me", token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&resp), "invalid_token");
    assert!(verify_with(&jwks(&app).await, token, &app.base).is_err());
}
