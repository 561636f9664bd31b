//! Strict parsing and checking of compact EdDSA JWTs (the auth service's
//! access tokens): the algorithm is pinned to `EdDSA`, a `kid` is required,
//! the signature is checked with `verify_strict` before the claims are
//! trusted, then the issuer and the expiry (with a leeway).

use crate::error::VerifyError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Deserialize;
use uuid::Uuid;

/// Tokens longer than this are refused unread.
pub(crate) const MAX_TOKEN_BYTES: usize = 8192;

/// A verified access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `sub`.
    pub user_id: Uuid,
    /// `sid`.
    pub session_id: Uuid,
    pub email: String,
    pub role: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issue time, Unix seconds (0 when the token carries none).
    pub iat: i64,
    /// Token id.
    pub jti: String,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// The access-token claims (unknown claims ignored).
#[derive(Deserialize)]
pub(crate) struct Claims {
    pub iss: String,
    sub: String,
    sid: String,
    jti: String,
    exp: i64,
    #[serde(default)]
    iat: i64,
    email: String,
    role: String,
}

/// A token split and decoded, its signature not yet checked.
pub(crate) struct Parsed<'a> {
    pub kid: String,
    pub claims: Claims,
    signing_input: &'a [u8],
    signature: Signature,
}

/// Splits and decodes `token`; checks the header (EdDSA, `kid`).
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::Malformed("token too long"));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not a compact JWS"));
    };
    let header: Header = serde_json::from_slice(
        &B64.decode(h)
            .map_err(|_| VerifyError::Malformed("header is not base64url"))?,
    )
    .map_err(|_| VerifyError::Malformed("header is not a JWS header"))?;
    if header.alg != "EdDSA" {
        let alg = header.alg.chars().take(32).collect();
        return Err(VerifyError::UnsupportedAlgorithm(alg));
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or(VerifyError::Malformed("missing key id"))?;
    let sig: [u8; 64] = B64
        .decode(s)
        .map_err(|_| VerifyError::Malformed("signature is not base64url"))?
        .try_into()
        .map_err(|_| VerifyError::BadSignature)?;
    let claims: Claims = serde_json::from_slice(
        &B64.decode(c)
            .map_err(|_| VerifyError::Malformed("claims are not base64url"))?,
    )
    .map_err(|_| VerifyError::Malformed("claims are missing or mistyped"))?;
    Ok(Parsed {
        kid,
        claims,
        signing_input: &token.as_bytes()[..h.len() + 1 + c.len()],
        signature: Signature::from_bytes(&sig),
    })
}

/// Checks the signature with `key`, then the expiry at `now_secs` with `leeway_secs`.
pub(crate) fn check(
    parsed: Parsed<'_>,
    key: &VerifyingKey,
    now_secs: i64,
    leeway_secs: i64,
) -> Result<VerifiedToken, VerifyError> {
    key.verify_strict(parsed.signing_input, &parsed.signature)
        .map_err(|_| VerifyError::BadSignature)?;
    let c = parsed.claims;
    if now_secs >= c.exp.saturating_add(leeway_secs) {
        return Err(VerifyError::Expired);
    }
    let user_id =
        Uuid::parse_str(&c.sub).map_err(|_| VerifyError::Malformed("sub is not a UUID"))?;
    let session_id =
        Uuid::parse_str(&c.sid).map_err(|_| VerifyError::Malformed("sid is not a UUID"))?;
    Ok(VerifiedToken {
        user_id,
        session_id,
        email: c.email,
        role: c.role,
        exp: c.exp,
        iat: c.iat,
        jti: c.jti,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};
    use serde_json::json;

    fn sign(header: serde_json::Value, claims: serde_json::Value, key: &SigningKey) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        format!(
            "{input}.{}",
            B64.encode(key.sign(input.as_bytes()).to_bytes())
        )
    }

    fn claims(exp: i64) -> serde_json::Value {
        json!({"iss": "http://a", "sub": Uuid::nil(), "sid": Uuid::max(), "jti": "j",
               "iat": 1, "exp": exp, "email": "a@b.co", "role": "user", "extra": [1]})
    }

    fn run(token: &str, key: &SigningKey, now: i64) -> Result<VerifiedToken, VerifyError> {
        check(parse(token)?, &key.verifying_key(), now, 5)
    }

    #[test]
    fn a_good_token_verifies_until_exp_plus_leeway() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let t = sign(
            json!({"alg": "EdDSA", "kid": "k", "typ": "JWT"}),
            claims(100),
            &key,
        );
        let v = run(&t, &key, 104).unwrap();
        assert_eq!(v.user_id, Uuid::nil());
        assert_eq!(v.session_id, Uuid::max());
        assert_eq!(
            (v.email.as_str(), v.role.as_str(), v.exp),
            ("a@b.co", "user", 100)
        );
        assert_eq!(run(&t, &key, 105), Err(VerifyError::Expired));
        assert_eq!(parse(&t).map(|p| p.kid).ok().as_deref(), Some("k"));
    }

    #[test]
    fn bad_tokens_are_refused_with_their_reason() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let other = SigningKey::from_bytes(&[4; 32]);
        let h = json!({"alg": "EdDSA", "kid": "k"});
        let t = sign(h.clone(), claims(100), &key);
        assert_eq!(run(&t, &other, 0), Err(VerifyError::BadSignature));
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none","kid":"k"}"#),
            B64.encode(claims(100).to_string())
        );
        assert_eq!(
            run(&none, &key, 0),
            Err(VerifyError::UnsupportedAlgorithm("none".into()))
        );
        let hs = sign(json!({"alg": "HS256", "kid": "k"}), claims(100), &key);
        assert_eq!(
            run(&hs, &key, 0).map_err(|e| e.code()),
            Err("unsupported_algorithm")
        );
        let nokid = sign(json!({"alg": "EdDSA"}), claims(100), &key);
        assert_eq!(
            run(&nokid, &key, 0),
            Err(VerifyError::Malformed("missing key id"))
        );
        let mut c = claims(100);
        c["sub"] = json!("not-a-uuid");
        assert_eq!(
            run(&sign(h.clone(), c, &key), &key, 0).map_err(|e| e.code()),
            Err("malformed_token")
        );
        let mut c = claims(100);
        c.as_object_mut().unwrap().remove("sid");
        assert!(matches!(
            run(&sign(h.clone(), c, &key), &key, 0),
            Err(VerifyError::Malformed(_))
        ));
        for junk in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &"a".repeat(MAX_TOKEN_BYTES + 1),
        ] {
            assert!(
                matches!(run(junk, &key, 0), Err(VerifyError::Malformed(_))),
                "{junk:.20}"
            );
        }
        // tampered claims under the original signature
        let parts: Vec<&str> = t.split('.').collect();
        let mut c = claims(100);
        c["role"] = json!("admin");
        let forged = format!("{}.{}.{}", parts[0], B64.encode(c.to_string()), parts[2]);
        assert_eq!(run(&forged, &key, 0), Err(VerifyError::BadSignature));
    }
}
