//! Request-id propagation. Every request to the auth service carries
//! `x-request-id`: the id of the enclosing [`scope`] (a tokio task-local the
//! backend's HTTP/WebSocket middleware sets around each request), or a fresh
//! UUID v4 when the call runs outside any scope (background tasks such as
//! the revocation follower).
//!
//! Task-locals do not cross `tokio::spawn`: work spawned from a request must
//! enter its own `scope` to keep the id.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header name.
pub const HEADER: &str = "x-request-id";

/// Runs `fut` with `id` as the request id of every auth-service call made in it.
pub async fn scope<F: Future>(id: impl Into<String>, fut: F) -> F::Output {
    REQUEST_ID.scope(id.into(), fut).await
}

/// The request id of the enclosing [`scope`], if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The id to send: the scope's when it is a usable header value (visible
/// ASCII, at most 200 bytes), otherwise a new UUID v4.
pub(crate) fn outgoing() -> String {
    current()
        .filter(|id| !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scope_sets_the_id_and_bad_ids_are_replaced() {
        assert_eq!(current(), None);
        assert!(uuid::Uuid::parse_str(&outgoing()).is_ok());
        scope("req-1", async {
            assert_eq!(current().as_deref(), Some("req-1"));
            assert_eq!(outgoing(), "req-1");
        })
        .await;
        scope("bad id\n", async {
            assert!(uuid::Uuid::parse_str(&outgoing()).is_ok());
        })
        .await;
    }
}
