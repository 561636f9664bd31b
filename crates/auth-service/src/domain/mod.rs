//! Security primitives with no HTTP in them: password hashing and policy,
//! email normalisation, signing keys and JWTs, opaque refresh tokens,
//! throttling policy.

pub mod email;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod refresh;
pub mod throttle;
