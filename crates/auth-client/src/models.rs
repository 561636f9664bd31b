//! The client's own models of the auth API's responses. A tolerant reader:
//! unknown fields are ignored, optional fields are optional, unknown enum
//! values map to an `Unknown` variant. Never shared with the auth service.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET /.well-known/openid-configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    #[serde(default)]
    pub jwks_uri: Option<String>,
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_feed: Option<String>,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// One JSON Web Key. Only `kty: OKP`, `crv: Ed25519` keys with a `kid` (and
/// `alg` absent or `EdDSA`, `use` absent or `sig`) are used; others are skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    #[serde(default)]
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Base64url public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
}

impl Jwk {
    /// The JWK of an Ed25519 public key (32 bytes), as the auth service publishes it.
    pub fn ed25519(kid: impl Into<String>, public_key: &[u8; 32]) -> Jwk {
        use base64::Engine as _;
        Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
            kid: Some(kid.into()),
            x: Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public_key)),
        }
    }
}

/// RFC 7662 introspection answer; an inactive token carries only `active: false`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub exp: Option<i64>,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub jti: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub iss: Option<String>,
}

impl Introspection {
    /// `sub` as a user id, when present and a UUID.
    pub fn user_id(&self) -> Option<Uuid> {
        self.sub.as_deref().and_then(|s| Uuid::parse_str(s).ok())
    }

    /// `sid` as a session id, when present and a UUID.
    pub fn session_id(&self) -> Option<Uuid> {
        self.sid.as_deref().and_then(|s| Uuid::parse_str(s).ok())
    }
}

/// What a revocation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationKind {
    /// One session (`session_id` is set).
    Session,
    /// Every session of the user.
    User,
    /// A kind this client does not know; treat it like `User` to be safe.
    #[serde(other)]
    Unknown,
}

/// One revocation of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RevocationEvent {
    pub cursor: i64,
    pub kind: RevocationKind,
    pub user_id: Uuid,
    #[serde(default)]
    pub session_id: Option<Uuid>,
    /// RFC 3339.
    #[serde(default)]
    pub revoked_at: String,
    #[serde(default)]
    pub reason: String,
}

/// A page of the revocation feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct RevocationPage {
    #[serde(default)]
    pub events: Vec<RevocationEvent>,
    /// Pass as `after` next time.
    pub next_cursor: i64,
}

/// `{"error": {"code", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored_and_optional_fields_optional() {
        let page: RevocationPage = serde_json::from_str(
            r#"{"events":[{"cursor":3,"kind":"session","user_id":"6f1c1c4e-6b5e-4d0e-9a4e-3f1f2a2b3c4d",
                "session_id":"7f1c1c4e-6b5e-4d0e-9a4e-3f1f2a2b3c4d","revoked_at":"2025-01-01T00:00:00Z",
                "reason":"logout","extra":{"nested":true}},
               {"cursor":4,"kind":"tenant","user_id":"6f1c1c4e-6b5e-4d0e-9a4e-3f1f2a2b3c4d"}],
               "next_cursor":4,"more":false}"#,
        )
        .unwrap();
        assert_eq!(page.next_cursor, 4);
        assert_eq!(page.events[0].kind, RevocationKind::Session);
        assert!(page.events[0].session_id.is_some());
        assert_eq!(page.events[1].kind, RevocationKind::Unknown);
        assert_eq!(page.events[1].session_id, None);
        assert_eq!(page.events[1].reason, "");

        let i: Introspection = serde_json::from_str(r#"{"active":false,"x":1}"#).unwrap();
        assert_eq!(i, Introspection::default());
        let i: Introspection = serde_json::from_str(
            r#"{"active":true,"sub":"6f1c1c4e-6b5e-4d0e-9a4e-3f1f2a2b3c4d","sid":"nope"}"#,
        )
        .unwrap();
        assert!(i.user_id().is_some());
        assert_eq!(i.session_id(), None);

        let jwks: Jwks =
            serde_json::from_str(r#"{"keys":[{"kty":"RSA","n":"abc","e":"AQAB"}],"v":2}"#).unwrap();
        assert_eq!(jwks.keys[0].kty, "RSA");
        let d: Discovery = serde_json::from_str(r#"{"issuer":"http://a"}"#).unwrap();
        assert_eq!(d.jwks_uri, None);
    }

    #[test]
    fn error_body_is_read_with_or_without_a_message() {
        let e: ErrorBody = serde_json::from_str(r#"{"error":{"code":"invalid_client"}}"#).unwrap();
        assert_eq!(e.error.code, "invalid_client");
        assert_eq!(e.error.message, "");
    }
}
