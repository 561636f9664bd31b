//! The client's errors: [`AuthClientError`] for calls to the auth service and
//! [`VerifyError`] for local token verification, each with a stable
//! machine-readable `code()`.

use std::fmt;

/// Why the auth service could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnavailableKind {
    /// The circuit breaker is open: the call was refused without a request.
    CircuitOpen,
    /// The TCP connection could not be made.
    Connect,
    /// The call did not finish within its timeout.
    Timeout,
    /// The connection failed after it was made (reset, truncated body...).
    Transport,
}

impl UnavailableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnavailableKind::CircuitOpen => "circuit_open",
            UnavailableKind::Connect => "connect",
            UnavailableKind::Timeout => "timeout",
            UnavailableKind::Transport => "transport",
        }
    }
}

impl fmt::Display for UnavailableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call to the auth service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthClientError {
    /// No answer: breaker open, connect failure, timeout or broken connection.
    #[error("the auth service is unavailable ({kind}): {detail}")]
    Unavailable {
        kind: UnavailableKind,
        detail: String,
    },
    /// The service answered with an error status; `code` and `message` come
    /// from its `{"error": {"code", "message"}}` body (`http_<status>` and
    /// the status text when the body is not of that shape).
    #[error("the auth service answered {status} {code}: {message}")]
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// A success answer whose body does not match the expected shape.
    #[error("the auth service's answer could not be decoded: {0}")]
    Decode(String),
}

impl AuthClientError {
    /// Stable code: `auth_unavailable`, `auth_error_status` or `auth_decode`.
    pub fn code(&self) -> &'static str {
        match self {
            AuthClientError::Unavailable { .. } => "auth_unavailable",
            AuthClientError::Status { .. } => "auth_error_status",
            AuthClientError::Decode(_) => "auth_decode",
        }
    }

    /// True for [`AuthClientError::Unavailable`].
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AuthClientError::Unavailable { .. })
    }
}

/// Why an access token was refused by local verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS, bad base64/JSON, missing `kid` or claims, oversized.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` is not `EdDSA` (e.g. `none`, `HS256`).
    #[error("unsupported token algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The key id is not in the JWKS, even after a refetch.
    #[error("unknown signing key {0:?}")]
    UnknownKey(String),
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    /// `iss` is not the configured issuer.
    #[error("token from another issuer")]
    WrongIssuer,
    /// The JWKS has never been fetched and the auth service is unreachable.
    #[error("the auth service's signing keys are not available: {0}")]
    Unavailable(String),
}

impl VerifyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed_token",
            VerifyError::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            VerifyError::UnknownKey(_) => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Expired => "token_expired",
            VerifyError::WrongIssuer => "wrong_issuer",
            VerifyError::Unavailable(_) => "auth_unavailable",
        }
    }
}
