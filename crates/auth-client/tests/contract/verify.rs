//! Local verification against the real service's keys: valid tokens,
//! forgeries, expiry on an injected clock, the issuer check, JWKS caching
//! and the rate-limited, single-flight refetch on an unknown key id.

use crate::harness::*;
use auth_client::{AuthClient, AuthServiceStatus, ManualClock, VerifyError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::SigningKey;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn a_valid_token_verifies_locally_and_the_jwks_is_fetched_once() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let client = AuthClient::new(client_config(auth.base())).unwrap();
    assert_eq!(
        client.stats().jwks_fetches,
        0,
        "building the client makes no request"
    );

    let v = client.verify(&user.access_token).await.unwrap();
    assert_eq!(v.user_id, user.id);
    assert_eq!(v.session_id, user.session_id);
    assert_eq!(v.email, user.email);
    assert_eq!(v.role, "user");
    let (_, claims) = decode(&user.access_token);
    assert_eq!(v.jti, claims["jti"].as_str().unwrap());
    assert_eq!(v.exp, claims["exp"].as_i64().unwrap());
    assert_eq!(client.stats().jwks_fetches, 1);
    assert_eq!(client.status(), AuthServiceStatus::Reachable);

    // the second verification, and another session's token, use the cache
    let second = login(auth.base(), &user.email).await;
    client.verify(&user.access_token).await.unwrap();
    let v2 = client.verify(&second.access_token).await.unwrap();
    assert_eq!(v2.session_id, second.session_id);
    let stats = client.stats();
    assert_eq!(stats.jwks_fetches, 1);
    assert_eq!(stats.requests, 1, "verification made no other request");
    assert!(stats.cached_keys >= 1);
}

#[tokio::test]
async fn forged_tampered_and_unsigned_tokens_are_refused() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let client = AuthClient::new(client_config(auth.base())).unwrap();
    client.verify(&user.access_token).await.unwrap();
    let (header, claims) = decode(&user.access_token);
    assert_eq!(header["alg"], "EdDSA");
    let parts: Vec<&str> = user.access_token.split('.').collect();

    // tampered claims under the original signature
    let mut admin = claims.clone();
    admin["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(admin.to_string()),
        parts[2]
    );
    assert_eq!(
        client.verify(&tampered).await,
        Err(VerifyError::BadSignature)
    );

    // the same claims and key id, signed with another key
    let forger = SigningKey::from_bytes(&[42; 32]);
    let forged = sign(&header, &claims, &forger);
    let err = client.verify(&forged).await.unwrap_err();
    assert_eq!(
        (err.clone(), err.code()),
        (VerifyError::BadSignature, "bad_signature")
    );

    // alg none, and HS256 (the public-key-as-HMAC-secret confusion)
    let none = format!(
        "{}.{}.",
        B64.encode(json!({"alg": "none", "kid": header["kid"]}).to_string()),
        parts[1]
    );
    let err = client.verify(&none).await.unwrap_err();
    assert_eq!(err, VerifyError::UnsupportedAlgorithm("none".into()));
    assert_eq!(err.code(), "unsupported_algorithm");
    let hs = sign(
        &json!({"alg": "HS256", "kid": header["kid"]}),
        &claims,
        &forger,
    );
    assert!(
        matches!(client.verify(&hs).await, Err(VerifyError::UnsupportedAlgorithm(a)) if a == "HS256")
    );

    // no key id, garbage
    let nokid = sign(&json!({"alg": "EdDSA"}), &claims, &forger);
    let err = client.verify(&nokid).await.unwrap_err();
    assert_eq!(err.code(), "malformed_token");
    for junk in ["", "not-a-token", "a.b.c", "a.b.c.d"] {
        assert!(
            matches!(client.verify(junk).await, Err(VerifyError::Malformed(_))),
            "{junk}"
        );
    }

    // the real token is still fine, and none of this fetched the keys again
    client.verify(&user.access_token).await.unwrap();
    assert_eq!(client.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn expiry_is_checked_against_the_injected_clock_with_the_leeway() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let clock = ManualClock::starting_now();
    let mut config = client_config(auth.base());
    config.leeway = Duration::from_secs(5);
    let client = AuthClient::with_clock(config, Arc::new(clock.clone())).unwrap();
    let exp = client.verify(&user.access_token).await.unwrap().exp;

    clock.set_ms((exp + 4) * 1000);
    client.verify(&user.access_token).await.unwrap();
    clock.set_ms((exp + 5) * 1000);
    let err = client.verify(&user.access_token).await.unwrap_err();
    assert_eq!(
        (err.clone(), err.code()),
        (VerifyError::Expired, "token_expired")
    );

    // an expired forgery is refused for its signature, not its age
    let (header, claims) = decode(&user.access_token);
    let forged = sign(&header, &claims, &SigningKey::from_bytes(&[9; 32]));
    assert_eq!(client.verify(&forged).await, Err(VerifyError::BadSignature));

    // a leeway over 30 s is refused
    let mut config = client_config(auth.base());
    config.leeway = Duration::from_secs(31);
    assert!(AuthClient::new(config).is_err());
}

#[tokio::test]
async fn tokens_of_another_issuer_are_refused_without_a_fetch() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;

    let mut config = client_config(auth.base());
    config.issuer = Some("https://auth.other.example".into());
    let other = AuthClient::new(config).unwrap();
    let err = other.verify(&user.access_token).await.unwrap_err();
    assert_eq!(
        (err.clone(), err.code()),
        (VerifyError::WrongIssuer, "wrong_issuer")
    );
    assert_eq!(other.stats().jwks_fetches, 0);

    // the right client refuses a token naming another issuer, even under a known key id
    let client = AuthClient::new(client_config(auth.base())).unwrap();
    assert_eq!(client.issuer(), auth.base());
    client.verify(&user.access_token).await.unwrap();
    let (header, mut claims) = decode(&user.access_token);
    claims["iss"] = json!("https://evil.example");
    let foreign = sign(&header, &claims, &SigningKey::from_bytes(&[5; 32]));
    assert_eq!(client.verify(&foreign).await, Err(VerifyError::WrongIssuer));
    assert_eq!(client.stats().jwks_fetches, 1);
}

#[tokio::test]
async fn an_unknown_key_id_refetches_at_most_once_per_window_for_all_callers() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let clock = ManualClock::starting_now();
    let mut config = client_config(auth.base());
    config.jwks_min_refetch_interval = Duration::from_secs(5);
    let client = AuthClient::with_clock(config, Arc::new(clock.clone())).unwrap();
    client.verify(&user.access_token).await.unwrap();
    assert_eq!(client.stats().jwks_fetches, 1);

    let unknown = sign(
        &json!({"alg": "EdDSA", "kid": "a-key-the-service-never-published"}),
        &claims_for(auth.base()),
        &SigningKey::from_bytes(&[7; 32]),
    );
    // the window since the first fetch has not passed: no refetch at all
    assert!(matches!(
        client.verify(&unknown).await,
        Err(VerifyError::UnknownKey(_))
    ));
    assert_eq!(client.stats().jwks_fetches, 1);

    // past the window, many concurrent callers share one refetch
    clock.advance(Duration::from_secs(5));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, token) = (client.clone(), unknown.clone());
        tasks.spawn(async move { client.verify(&token).await });
    }
    while let Some(r) = tasks.join_next().await {
        let err = r.unwrap().unwrap_err();
        assert_eq!(err.code(), "unknown_key");
    }
    assert_eq!(client.stats().jwks_fetches, 2);
    for _ in 0..5 {
        assert!(client.verify(&unknown).await.is_err());
    }
    clock.advance(Duration::from_secs(4));
    assert!(client.verify(&unknown).await.is_err());
    assert_eq!(client.stats().jwks_fetches, 2);

    // the next window allows one more
    clock.advance(Duration::from_secs(1));
    assert!(client.verify(&unknown).await.is_err());
    assert_eq!(client.stats().jwks_fetches, 3);
    // known keys were kept and never needed a fetch
    client.verify(&user.access_token).await.unwrap();
    assert_eq!(client.stats().jwks_fetches, 3);

    // without a window, concurrent callers still share one fetch (single flight)
    let mut config = client_config(auth.base());
    config.jwks_min_refetch_interval = Duration::ZERO;
    let eager = AuthClient::with_clock(config, Arc::new(clock.clone())).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (client, token) = (eager.clone(), unknown.clone());
        tasks.spawn(async move { client.verify(&token).await });
    }
    while let Some(r) = tasks.join_next().await {
        assert!(matches!(r.unwrap(), Err(VerifyError::UnknownKey(_))));
    }
    assert_eq!(eager.stats().jwks_fetches, 1);
    assert!(eager.verify(&unknown).await.is_err());
    assert_eq!(eager.stats().jwks_fetches, 2);
}
