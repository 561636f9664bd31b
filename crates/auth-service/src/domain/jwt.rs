//! Compact EdDSA (Ed25519) JWTs: encoding with a signing key, and strict
//! verification (algorithm pinned to EdDSA, `kid` required, issuer and
//! expiry checked). Only this algorithm exists here, so `alg: none` and
//! HS256-with-the-public-key confusions cannot verify.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Access-token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// User id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// Why a token did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    #[error("missing key id")]
    MissingKid,
    #[error("unknown key id")]
    UnknownKid,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
}

/// Signs `claims` with `key`, naming it `kid` in the header.
pub fn encode(claims: &Claims, kid: &str, key: &SigningKey) -> String {
    let header = Header {
        alg: "EdDSA".into(),
        typ: Some("JWT".into()),
        kid: Some(kid.into()),
    };
    // Serialising these plain structs cannot fail.
    let h = B64.encode(serde_json::to_vec(&header).unwrap_or_default());
    let c = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{h}.{c}");
    let sig = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", B64.encode(sig.to_bytes()))
}

/// The `kid` of a token's header, if the token is well-formed.
pub fn kid(token: &str) -> Result<String, JwtError> {
    let header_b64 = token.split('.').next().ok_or(JwtError::Malformed)?;
    let header: Header =
        serde_json::from_slice(&B64.decode(header_b64).map_err(|_| JwtError::Malformed)?)
            .map_err(|_| JwtError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(JwtError::UnsupportedAlgorithm(header.alg));
    }
    header.kid.ok_or(JwtError::MissingKid)
}

/// Verifies a token's signature with `key`, then its issuer and lifetime at `now` (seconds).
pub fn verify(token: &str, key: &VerifyingKey, issuer: &str, now: i64) -> Result<Claims, JwtError> {
    if token.len() > 8192 {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Header = serde_json::from_slice(&B64.decode(h).map_err(|_| JwtError::Malformed)?)
        .map_err(|_| JwtError::Malformed)?;
    if header.alg != "EdDSA" {
        return Err(JwtError::UnsupportedAlgorithm(header.alg));
    }
    let sig_bytes: [u8; 64] = B64
        .decode(s)
        .map_err(|_| JwtError::Malformed)?
        .try_into()
        .map_err(|_| JwtError::BadSignature)?;
    let signing_input_len = h.len() + 1 + c.len();
    key.verify_strict(
        &token.as_bytes()[..signing_input_len],
        &Signature::from_bytes(&sig_bytes),
    )
    .map_err(|_| JwtError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(&B64.decode(c).map_err(|_| JwtError::Malformed)?)
        .map_err(|_| JwtError::Malformed)?;
    if claims.iss != issuer {
        return Err(JwtError::WrongIssuer);
    }
    if now >= claims.exp {
        return Err(JwtError::Expired);
    }
    if claims.iat > now + 60 {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "http://issuer".into(),
            sub: "u".into(),
            sid: "s".into(),
            jti: "j".into(),
            iat: 100,
            exp,
            email: "a@b.co".into(),
            role: "user".into(),
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let other = SigningKey::from_bytes(&[8u8; 32]);
        let t = encode(&claims(1000), "k1", &key);
        assert_eq!(kid(&t).unwrap(), "k1");
        assert_eq!(
            verify(&t, &key.verifying_key(), "http://issuer", 500).unwrap(),
            claims(1000)
        );
        assert_eq!(
            verify(&t, &other.verifying_key(), "http://issuer", 500),
            Err(JwtError::BadSignature)
        );
        assert_eq!(
            verify(&t, &key.verifying_key(), "http://other", 500),
            Err(JwtError::WrongIssuer)
        );
        assert_eq!(
            verify(&t, &key.verifying_key(), "http://issuer", 1000),
            Err(JwtError::Expired)
        );
        // tampered claims
        let mut parts: Vec<&str> = t.split('.').collect();
        let forged = B64.encode(
            serde_json::to_vec(&Claims {
                role: "admin".into(),
                ..claims(1000)
            })
            .unwrap(),
        );
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), &key.verifying_key(), "http://issuer", 500),
            Err(JwtError::BadSignature)
        );
        // alg none
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","kid":"k1"}"#),
            B64.encode(serde_json::to_vec(&claims(1000)).unwrap())
        );
        assert!(matches!(
            verify(&none, &key.verifying_key(), "http://issuer", 500),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
        assert_eq!(
            verify("a.b", &key.verifying_key(), "http://issuer", 500),
            Err(JwtError::Malformed)
        );
    }
}
