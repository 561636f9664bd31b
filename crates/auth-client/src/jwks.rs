//! The JWKS cache: Ed25519 verifying keys by (issuer, key id).
//!
//! A successful fetch replaces the issuer's key set (a key the service no
//! longer publishes is retired); a failed fetch changes nothing, so cached
//! keys keep verifying while the auth service is down. Refetches triggered
//! by an unknown key id are single-flight (one fetch at a time; callers who
//! waited on it reuse its result) and rate-limited by the caller.

use crate::models::{Jwk, Jwks};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    /// issuer → kid → key.
    keys: RwLock<HashMap<String, HashMap<String, VerifyingKey>>>,
    /// Completed fetch attempts (success or failure), for single flight.
    generation: AtomicU64,
    /// True once a JWKS has been installed (from the service or given statically).
    installed: AtomicBool,
    /// Held while a fetch is in flight; holds the last verify-triggered fetch time.
    pub(crate) fetch: tokio::sync::Mutex<FetchState>,
}

#[derive(Debug, Default)]
pub(crate) struct FetchState {
    pub last_refetch_ms: Option<i64>,
}

impl KeyCache {
    pub(crate) fn get(&self, issuer: &str, kid: &str) -> Option<VerifyingKey> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(issuer)
            .and_then(|k| k.get(kid))
            .copied()
    }

    /// Replaces `issuer`'s keys with the usable keys of `jwks`; returns how many.
    pub(crate) fn install(&self, issuer: &str, jwks: &Jwks) -> usize {
        let set: HashMap<String, VerifyingKey> = jwks.keys.iter().filter_map(usable).collect();
        let n = set.len();
        self.keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(issuer.to_owned(), set);
        self.installed.store(true, Ordering::Release);
        n
    }

    pub(crate) fn installed(&self) -> bool {
        self.installed.load(Ordering::Acquire)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn fetch_finished(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn key_count(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .map(HashMap::len)
            .sum()
    }
}

/// A JWK as (kid, key) when it is a usable Ed25519 signing key.
fn usable(jwk: &Jwk) -> Option<(String, VerifyingKey)> {
    if jwk.kty != "OKP"
        || jwk.crv.as_deref() != Some("Ed25519")
        || jwk.alg.as_deref().is_some_and(|a| a != "EdDSA")
        || jwk.use_.as_deref().is_some_and(|u| u != "sig")
    {
        return None;
    }
    let kid = jwk.kid.as_ref().filter(|k| !k.is_empty())?;
    let x = jwk.x.as_deref()?.trim_end_matches('=');
    let bytes: [u8; 32] = URL_SAFE_NO_PAD.decode(x).ok()?.try_into().ok()?;
    let key = VerifyingKey::from_bytes(&bytes).ok()?;
    Some((kid.clone(), key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn jwk_of(kid: &str, key: &VerifyingKey) -> Jwk {
        Jwk::ed25519(kid, key.as_bytes())
    }

    #[test]
    fn only_usable_ed25519_keys_are_installed_and_a_fetch_replaces_the_set() {
        let k1 = SigningKey::from_bytes(&[1; 32]).verifying_key();
        let k2 = SigningKey::from_bytes(&[2; 32]).verifying_key();
        let mut rsa = jwk_of("rsa", &k1);
        rsa.kty = "RSA".into();
        let mut enc = jwk_of("enc", &k1);
        enc.use_ = Some("enc".into());
        let mut short = jwk_of("short", &k1);
        short.x = Some("AAAA".into());
        let mut nokid = jwk_of("", &k1);
        nokid.kid = None;
        let cache = KeyCache::default();
        assert!(!cache.installed());
        let n = cache.install(
            "iss",
            &Jwks {
                keys: vec![jwk_of("k1", &k1), rsa, enc, short, nokid],
            },
        );
        assert_eq!(n, 1);
        assert!(cache.installed());
        assert_eq!(cache.get("iss", "k1"), Some(k1));
        assert_eq!(cache.get("other", "k1"), None);
        cache.install(
            "iss",
            &Jwks {
                keys: vec![jwk_of("k2", &k2)],
            },
        );
        assert_eq!(cache.get("iss", "k1"), None);
        assert_eq!(cache.get("iss", "k2"), Some(k2));
        assert_eq!(cache.key_count(), 1);
    }
}
