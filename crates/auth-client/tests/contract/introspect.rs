//! Introspection, discovery, the JWKS and the feed's page shape against the
//! real service, and wrong service credentials.

use crate::harness::*;
use auth_client::{AuthClient, AuthClientError, AuthServiceStatus, BreakerState};
use std::time::Duration;

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let client = AuthClient::new(client_config(auth.base())).unwrap();

    let i = client.introspect(&user.access_token).await.unwrap();
    assert!(i.active);
    assert_eq!(i.user_id(), Some(user.id));
    assert_eq!(i.session_id(), Some(user.session_id));
    assert_eq!(i.token_type.as_deref(), Some("access_token"));
    assert_eq!(i.email.as_deref(), Some(user.email.as_str()));
    assert_eq!(i.role.as_deref(), Some("user"));
    assert_eq!(i.iss.as_deref(), Some(auth.base()));
    assert!(i.jti.is_some());
    assert!(i.exp.unwrap() > i.iat.unwrap());

    let r = client.introspect(&user.refresh_token).await.unwrap();
    assert!(r.active);
    assert_eq!(r.token_type.as_deref(), Some("refresh_token"));
    assert_eq!(r.session_id(), Some(user.session_id));

    let junk = client.introspect("not a token").await.unwrap();
    assert!(!junk.active);
    assert_eq!(junk, auth_client::Introspection::default());

    // a signed-out session's still-unexpired token is inactive
    logout(auth.base(), &user).await;
    assert!(!client.introspect(&user.access_token).await.unwrap().active);
    assert!(!client.introspect(&user.refresh_token).await.unwrap().active);
    assert_eq!(client.status(), AuthServiceStatus::Reachable);
    assert_eq!(client.stats().failures, 0);
}

#[tokio::test]
async fn wrong_service_credentials_answer_invalid_client_without_tripping_the_breaker() {
    let auth = TestAuth::start().await;
    let user = register(auth.base()).await;
    let mut config = client_config(auth.base());
    config.client_secret = "not-the-right-secret-at-all".into();
    config.breaker.failure_threshold = 2;
    let client = AuthClient::new(config).unwrap();

    for _ in 0..3 {
        let err = client.introspect(&user.access_token).await.unwrap_err();
        assert_eq!(
            err,
            AuthClientError::Status {
                status: 401,
                code: "invalid_client".into(),
                message: "service client authentication failed".into(),
            }
        );
        assert_eq!(err.code(), "auth_error_status");
    }
    let err = client.revocations(0, Duration::ZERO).await.unwrap_err();
    assert!(
        matches!(err, AuthClientError::Status { status: 401, ref code, .. } if code == "invalid_client")
    );
    let stats = client.stats();
    assert_eq!(
        stats.breaker,
        BreakerState::Closed,
        "4xx answers are not failures"
    );
    assert_eq!(stats.failures, 0);
    assert_eq!(client.status(), AuthServiceStatus::Reachable);
}

#[tokio::test]
async fn discovery_jwks_and_the_feed_match_the_service() {
    let auth = TestAuth::start().await;
    let client = AuthClient::new(client_config(auth.base())).unwrap();

    let d = client.discovery().await.unwrap();
    assert_eq!(d.issuer, auth.base());
    assert_eq!(
        d.jwks_uri.unwrap(),
        format!("{}/.well-known/jwks.json", auth.base())
    );
    assert_eq!(
        d.introspection_endpoint.unwrap(),
        format!("{}/v1/introspect", auth.base())
    );
    assert_eq!(
        d.revocation_feed.unwrap(),
        format!("{}/v1/revocations", auth.base())
    );

    let jwks = client.jwks().await.unwrap();
    assert!(!jwks.keys.is_empty());
    for k in &jwks.keys {
        assert_eq!(k.kty, "OKP");
        assert_eq!(k.crv.as_deref(), Some("Ed25519"));
        assert_eq!(k.alg.as_deref(), Some("EdDSA"));
        assert!(k.kid.is_some() && k.x.is_some());
    }
    assert_eq!(client.stats().cached_keys, jwks.keys.len());

    let page = client.revocations(0, Duration::ZERO).await.unwrap();
    assert!(page.events.is_empty());
    assert_eq!(page.next_cursor, 0);
    let user = register(auth.base()).await;
    logout(auth.base(), &user).await;
    let page = client.revocations(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(page.events.len(), 1);
    assert_eq!(page.next_cursor, page.events[0].cursor);
    assert_eq!(page.events[0].session_id, Some(user.session_id));
    assert_eq!(page.events[0].reason, "logout");
    assert_eq!(client.ready().await, AuthServiceStatus::Reachable);
}
