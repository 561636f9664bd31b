//! Local access-token verification throughput with a cached JWKS: an
//! Ed25519 key and tokens shaped like the auth service's are made here, the
//! client's cache is seeded with `AuthClient::with_static_jwks` (nothing is
//! served; the run asserts no request was made). Prints tokens/s on one
//! thread (per core) and on N threads, for valid tokens and for forgeries
//! (bad signature: the same work, refused).
//!
//! ```text
//! cargo bench -p auth-client --bench verify
//! cargo bench -p auth-client --bench verify -- --iterations 200000 --threads 2
//! ```

use auth_client::{AuthClient, AuthClientConfig, Jwk, Jwks, SystemClock, VerifyError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signer as _, SigningKey};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const ISSUER: &str = "http://127.0.0.1:9";

fn token(key: &SigningKey, kid: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": uuid::Uuid::new_v4(), "sid": uuid::Uuid::new_v4(),
        "jti": uuid::Uuid::new_v4(), "iat": now, "exp": now + 600,
        "email": "someone.with.a.longish.name@example.com", "role": "user",
    });
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

/// Verifies `tokens` round-robin `iterations` times on the calling thread; returns tokens/s.
fn run(client: &AuthClient, tokens: &[String], iterations: usize, expect_ok: bool) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..iterations {
            let r = client.verify(&tokens[i % tokens.len()]).await;
            assert_eq!(r.is_ok(), expect_ok, "{r:?}");
            if !expect_ok {
                assert_eq!(r, Err(VerifyError::BadSignature));
            }
        }
        iterations as f64 / start.elapsed().as_secs_f64()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let iterations = value("--iterations").unwrap_or(100_000);
    let threads = value("--threads")
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));

    let key = SigningKey::from_bytes(&rand_bytes());
    let jwks = Jwks {
        keys: vec![
            Jwk::ed25519("bench-key", key.verifying_key().as_bytes()),
            Jwk::ed25519(
                "other-key",
                SigningKey::from_bytes(&[9; 32]).verifying_key().as_bytes(),
            ),
        ],
    };
    let config = AuthClientConfig::new(ISSUER, "apex-backend", "bench-secret-bench-secret".into());
    let client =
        AuthClient::with_static_jwks(config, Arc::new(SystemClock), &jwks).expect("client");
    let tokens: Vec<String> = (0..64).map(|_| token(&key, "bench-key")).collect();
    let forger = SigningKey::from_bytes(&[13; 32]);
    let forged: Vec<String> = (0..64).map(|_| token(&forger, "bench-key")).collect();
    println!(
        "token size: {} bytes; {iterations} verifications per thread; {threads} thread(s) available",
        tokens[0].len()
    );

    run(&client, &tokens, iterations / 10, true); // warm-up
    // The signature check alone, to show what the client adds around it.
    let (input, sig) = tokens[0].rsplit_once('.').expect("a compact JWS");
    let sig = ed25519_dalek::Signature::from_slice(&B64.decode(sig).expect("base64url"))
        .expect("64 bytes");
    let vk = key.verifying_key();
    let start = Instant::now();
    for _ in 0..iterations {
        vk.verify_strict(std::hint::black_box(input.as_bytes()), &sig)
            .expect("valid");
    }
    let raw = iterations as f64 / start.elapsed().as_secs_f64();
    println!(
        "ed25519 verify_strict alone: {raw:>10.0} /s        ({:.2} µs each)",
        1e6 / raw
    );
    let one = run(&client, &tokens, iterations, true);
    println!(
        "valid tokens, 1 thread:      {one:>10.0} tokens/s  ({:.2} µs each, {:.0}% in the signature check)",
        1e6 / one,
        100.0 * one / raw
    );
    let bad = run(&client, &forged, iterations, false);
    println!("forged tokens, 1 thread:     {bad:>10.0} tokens/s  (refused: bad_signature)");

    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| run(&client, &tokens, iterations, true));
        }
    });
    let all = (threads * iterations) as f64 / start.elapsed().as_secs_f64();
    println!(
        "valid tokens, {threads} threads:     {all:>10.0} tokens/s  ({:.0} per thread)",
        all / threads as f64
    );
    let stats = client.stats();
    assert_eq!(
        stats.requests, 0,
        "verification with cached keys makes no request"
    );
    println!("requests to the auth service: {}", stats.requests);
}

/// 32 random bytes (two v4 UUIDs), so each run uses a fresh key.
fn rand_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    out
}
