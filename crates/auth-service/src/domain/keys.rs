//! Signing keys: Ed25519 key pairs stored in the database with the private
//! half encrypted (ChaCha20-Poly1305 under the master key, the `kid` as
//! associated data), published as a JWKS, and rotated on an interval.
//!
//! Rotation: a key signs from `activates_at` to `retires_at`. The next key is
//! created `key_publish_ahead` before the current one retires, so verifiers
//! see it in the JWKS before it signs; a retired key stays published until
//! every token it signed has expired (`expires_at = retires_at + access TTL +
//! 1 minute`).

use crate::store::{AuthStore, SigningKeyRecord, StoreError};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64STD, URL_SAFE_NO_PAD as B64URL};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Serialize;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Key errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("master key must be 32 bytes, base64-encoded")]
    BadMasterKey,
    #[error("cannot read or write the master key file {path}: {source}")]
    MasterKeyFile {
        path: String,
        source: std::io::Error,
    },
    #[error("a signing key could not be decrypted: wrong master key or corrupt row (kid {0})")]
    Decrypt(String),
    #[error("no signing key is active")]
    NoActiveKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The 32-byte key that encrypts private signing keys at rest.
pub struct MasterKey(SecretBox<[u8; 32]>);

impl MasterKey {
    /// Parses a base64 (standard or url-safe) 32-byte key.
    pub fn parse(encoded: &SecretString) -> Result<MasterKey, KeyError> {
        let s = encoded.expose_secret().trim();
        let bytes = B64STD
            .decode(s)
            .or_else(|_| B64URL.decode(s.trim_end_matches('=')))
            .map_err(|_| KeyError::BadMasterKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KeyError::BadMasterKey)?;
        Ok(MasterKey(SecretBox::new(Box::new(arr))))
    }

    /// Local mode: reads `path`, or generates a key into it once, with 0600 permissions.
    pub fn load_or_generate(path: &Path) -> Result<MasterKey, KeyError> {
        let io = |source| KeyError::MasterKeyFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&SecretString::from(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut raw = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut raw);
                let encoded = B64STD.encode(raw);
                write_private(path, encoded.as_bytes()).map_err(io)?;
                Ok(MasterKey(SecretBox::new(Box::new(raw))))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(self.0.expose_secret().into())
    }

    fn seal(&self, kid: &str, secret: &[u8; 32]) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: kid.as_bytes(),
                },
            )
            .unwrap_or_default(); // encryption of 32 bytes cannot fail
        [nonce.as_slice(), &ct].concat()
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<[u8; 32], KeyError> {
        if sealed.len() < 12 {
            return Err(KeyError::Decrypt(kid.into()));
        }
        let (nonce, ct) = sealed.split_at(12);
        let pt = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Decrypt(kid.into()))?;
        pt.try_into().map_err(|_| KeyError::Decrypt(kid.into()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, data)
}

/// One key in memory.
#[derive(Clone)]
pub struct LoadedKey {
    pub kid: String,
    pub verifying: VerifyingKey,
    signing: Option<Arc<SigningKey>>,
    pub activates_at: i64,
    pub retires_at: i64,
    pub expires_at: i64,
}

/// A JSON Web Key (Ed25519 public key).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: &'static str,
    pub crv: &'static str,
    pub alg: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub kid: String,
    /// Base64url public key.
    pub x: String,
}

/// The published key set.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// Rotation timing.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    pub interval: Duration,
    pub publish_ahead: Duration,
    pub access_token_ttl: Duration,
}

/// Holds the key set in memory, backed by the store.
pub struct KeyManager {
    store: Arc<dyn AuthStore>,
    master: MasterKey,
    policy: RotationPolicy,
    keys: RwLock<Vec<LoadedKey>>,
}

impl KeyManager {
    pub fn new(store: Arc<dyn AuthStore>, master: MasterKey, policy: RotationPolicy) -> Self {
        KeyManager {
            store,
            master,
            policy,
            keys: RwLock::new(Vec::new()),
        }
    }

    /// Loads keys from the store, creates the current and next keys when due, drops expired ones.
    /// Called at start-up and periodically.
    #[tracing::instrument(skip(self))]
    pub async fn rotate(&self, now: i64) -> Result<(), KeyError> {
        let removed = self.store.delete_expired_signing_keys(now).await?;
        if removed > 0 {
            tracing::info!(removed, "expired signing keys removed from the JWKS");
        }
        let mut records = self.store.signing_keys().await?;
        let interval = ms(self.policy.interval);
        let current = records
            .iter()
            .filter(|k| k.activates_at <= now && now < k.retires_at)
            .max_by_key(|k| k.activates_at)
            .cloned();
        let current = match current {
            Some(c) => c,
            None => {
                let rec = self.create(now, now + interval).await?;
                records.push(rec.clone());
                rec
            }
        };
        let has_next = records.iter().any(|k| k.activates_at >= current.retires_at);
        if !has_next && now >= current.retires_at - ms(self.policy.publish_ahead) {
            let rec = self
                .create(current.retires_at, current.retires_at + interval)
                .await?;
            tracing::info!(kid = %rec.kid, activates_at = rec.activates_at, "next signing key published");
            records.push(rec);
        }
        let loaded = records
            .iter()
            .map(|r| self.load(r))
            .collect::<Result<Vec<_>, _>>()?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    async fn create(
        &self,
        activates_at: i64,
        retires_at: i64,
    ) -> Result<SigningKeyRecord, KeyError> {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let kid = format!("k-{}", uuid::Uuid::now_v7().simple());
        let rec = SigningKeyRecord {
            public_key: signing.verifying_key().to_bytes().to_vec(),
            private_key_encrypted: self.master.seal(&kid, &seed),
            kid,
            created_at: activates_at.min(retires_at),
            activates_at,
            retires_at,
            expires_at: retires_at + ms(self.policy.access_token_ttl) + 60_000,
        };
        self.store.insert_signing_key(&rec).await?;
        Ok(rec)
    }

    fn load(&self, r: &SigningKeyRecord) -> Result<LoadedKey, KeyError> {
        let seed = self.master.open(&r.kid, &r.private_key_encrypted)?;
        let signing = SigningKey::from_bytes(&seed);
        if signing.verifying_key().as_bytes().as_slice() != r.public_key.as_slice() {
            return Err(KeyError::Decrypt(r.kid.clone()));
        }
        Ok(LoadedKey {
            kid: r.kid.clone(),
            verifying: signing.verifying_key(),
            signing: Some(Arc::new(signing)),
            activates_at: r.activates_at,
            retires_at: r.retires_at,
            expires_at: r.expires_at,
        })
    }

    /// The key that signs at `now`.
    pub fn signer(&self, now: i64) -> Result<(String, Arc<SigningKey>), KeyError> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter(|k| k.activates_at <= now && now < k.retires_at)
            .max_by_key(|k| k.activates_at)
            .and_then(|k| k.signing.clone().map(|s| (k.kid.clone(), s)))
            .ok_or(KeyError::NoActiveKey)
    }

    /// The verifying key for `kid`, if it is published at `now`.
    pub fn verifying_key(&self, kid: &str, now: i64) -> Option<VerifyingKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .find(|k| k.kid == kid && now < k.expires_at)
            .map(|k| k.verifying)
    }

    /// The JWKS at `now`: every key not yet expired, including the next one.
    pub fn jwks(&self, now: i64) -> Jwks {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        Jwks {
            keys: keys
                .iter()
                .filter(|k| now < k.expires_at)
                .map(|k| Jwk {
                    kty: "OKP",
                    crv: "Ed25519",
                    alg: "EdDSA",
                    use_: "sig",
                    kid: k.kid.clone(),
                    x: B64URL.encode(k.verifying.as_bytes()),
                })
                .collect(),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key_fails() {
        let a = MasterKey::parse(&SecretString::from(B64STD.encode([1u8; 32]))).unwrap();
        let b = MasterKey::parse(&SecretString::from(B64STD.encode([2u8; 32]))).unwrap();
        let sealed = a.seal("kid1", &[9u8; 32]);
        assert_eq!(a.open("kid1", &sealed).unwrap(), [9u8; 32]);
        assert!(
            a.open("kid2", &sealed).is_err(),
            "kid is bound as associated data"
        );
        assert!(b.open("kid1", &sealed).is_err());
        assert!(
            !sealed.windows(32).any(|w| w == [9u8; 32]),
            "the secret is not stored in the clear"
        );
    }

    #[test]
    fn master_key_parsing() {
        assert!(MasterKey::parse(&SecretString::from("AAAA")).is_err());
        assert!(MasterKey::parse(&SecretString::from(B64STD.encode([3u8; 32]))).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn generated_master_key_is_private_and_stable() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("apex-mk-{}", uuid::Uuid::new_v4()));
        let path = dir.join("master.key");
        let k1 = MasterKey::load_or_generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k2 = MasterKey::load_or_generate(&path).unwrap();
        assert_eq!(k1.0.expose_secret(), k2.0.expose_secret());
        std::fs::remove_dir_all(dir).ok();
    }
}
