//! Argon2id password hashing, run off the async threads with bounded
//! concurrency and a bounded queue: a login flood waits or is refused, it
//! never starves the runtime.

use crate::config::Argon2Params;
use argon2::password_hash::{
    PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::Semaphore;

/// Errors from hashing.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many password hashes queued")]
    Overloaded,
    #[error("argon2 failure: {0}")]
    Argon2(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Argon2Params,
    permits: Arc<Semaphore>,
    /// Callers waiting for or holding a permit.
    in_flight: Arc<AtomicUsize>,
    /// `concurrency + max_waiting`: callers beyond this are refused.
    capacity: usize,
    /// A real hash of a random password, verified against when the email is unknown so that
    /// path costs the same as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    pub fn new(
        params: Argon2Params,
        concurrency: usize,
        max_waiting: usize,
    ) -> Result<Self, HashError> {
        let argon = argon(params)?;
        let salt = SaltString::generate(&mut OsRng);
        let random = hex::encode(rand::random::<[u8; 16]>());
        let dummy = argon
            .hash_password(random.as_bytes(), &salt)
            .map_err(|e| HashError::Argon2(e.to_string()))?
            .to_string();
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            in_flight: Arc::new(AtomicUsize::new(0)),
            capacity: concurrency.max(1) + max_waiting,
            dummy_hash: dummy.into(),
        })
    }

    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// Hashes a password into a PHC string.
    #[tracing::instrument(skip_all)]
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        let params = self.params;
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon(params)?
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Argon2(e.to_string()))
        })
        .await
    }

    /// Verifies a password against a PHC string; `None` verifies against a dummy hash and
    /// answers false, taking the same time.
    #[tracing::instrument(skip_all)]
    pub async fn verify(
        &self,
        password: SecretString,
        phc: Option<String>,
    ) -> Result<bool, HashError> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let ok = self
            .run(move || {
                let parsed =
                    PasswordHash::new(&phc).map_err(|e| HashError::Argon2(e.to_string()))?;
                Ok(Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(ok && known)
    }

    /// Runs CPU-heavy work on the blocking pool, at most `concurrency` at a time, with at most
    /// `max_waiting` callers queued; the tracing span is carried into the task.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let _slot = InFlight::enter(&self.in_flight, self.capacity).ok_or(HashError::Overloaded)?;
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashError::Overloaded)?;
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(f)
        })
        .await?
    }
}

/// Counts a caller in flight for as long as it lives (also when its future is dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize, capacity: usize) -> Option<Self> {
        if counter.fetch_add(1, Ordering::SeqCst) >= capacity {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(InFlight(counter))
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn argon(p: Argon2Params) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(p.memory_kib, p.iterations, p.parallelism, None)
        .map_err(|e| HashError::Argon2(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_uses_configured_params_and_verifies() {
        let p = Argon2Params {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        };
        let h = PasswordHasher::new(p, 2, 8).unwrap();
        let phc = h.hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            h.verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify("wrong horse battery".into(), Some(phc))
                .await
                .unwrap()
        );
        assert!(!h.verify("anything at all".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn queue_overflow_is_refused() {
        let h = PasswordHasher::new(Argon2Params::OWASP_MIN, 1, 0).unwrap();
        let tasks: Vec<_> = (0..6)
            .map(|_| {
                let h = h.clone();
                tokio::spawn(async move { h.hash("correct horse battery".into()).await })
            })
            .collect();
        let mut refused = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(HashError::Overloaded)) {
                refused += 1
            }
        }
        assert!(
            refused >= 1,
            "with one permit and no queue some hashes must be refused"
        );
    }
}
