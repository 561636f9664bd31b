//! Who may call: bearer tokens verified locally (JWKS via `auth-client`),
//! refused when their session or user was revoked (learned from the auth
//! service's revocation feed), and the registry of open WebSockets per
//! session so a revocation closes them.

use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;
use uuid::Uuid;

/// A verified caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: Uuid,
    pub session_id: Uuid,
    /// Token issue time (seconds), to compare with user-wide revocations.
    pub issued_at: i64,
}

/// Revocations heard from the feed. Entries are kept for longer than an
/// access token lives, then forgotten (those tokens have expired anyway).
#[derive(Default)]
pub struct Revocations {
    inner: Mutex<RevocationsInner>,
}

#[derive(Default)]
struct RevocationsInner {
    sessions: HashMap<Uuid, i64>,
    /// User id -> revocation time (ms): tokens issued before are refused.
    users: HashMap<Uuid, i64>,
}

/// How long revocations are remembered (longer than any access token lives).
const KEEP_MS: i64 = 20 * 60 * 1000;

impl Revocations {
    pub fn revoke_session(&self, session_id: Uuid, at_ms: i64) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .sessions
            .insert(session_id, at_ms);
    }

    pub fn revoke_user(&self, user_id: Uuid, at_ms: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let entry = inner.users.entry(user_id).or_insert(at_ms);
        *entry = (*entry).max(at_ms);
    }

    /// True when the principal's session or user was revoked after its token was issued.
    pub fn is_revoked(&self, p: &Principal) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.sessions.contains_key(&p.session_id)
            || inner
                .users
                .get(&p.user_id)
                .is_some_and(|&at| p.issued_at * 1000 <= at)
    }

    /// Forgets entries older than the longest token lifetime.
    pub fn prune(&self, now_ms: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.sessions.retain(|_, at| now_ms - *at < KEEP_MS);
        inner.users.retain(|_, at| now_ms - *at < KEEP_MS);
    }
}

/// Why a socket is being closed by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrder {
    pub code: u16,
    pub reason: &'static str,
}

struct Conn {
    id: Uuid,
    user_id: Uuid,
    close: mpsc::Sender<CloseOrder>,
}

/// Open WebSockets by session.
#[derive(Default)]
pub struct Connections {
    by_session: Mutex<HashMap<Uuid, Vec<Conn>>>,
}

impl Connections {
    /// Registers a socket unless the user already has `max_per_user` open.
    pub fn register(
        &self,
        p: &Principal,
        conn_id: Uuid,
        max_per_user: u32,
    ) -> Option<mpsc::Receiver<CloseOrder>> {
        let mut map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        let open = map
            .values()
            .flatten()
            .filter(|c| c.user_id == p.user_id)
            .count();
        if open >= max_per_user as usize {
            return None;
        }
        let (tx, rx) = mpsc::channel(1);
        map.entry(p.session_id).or_default().push(Conn {
            id: conn_id,
            user_id: p.user_id,
            close: tx,
        });
        Some(rx)
    }

    pub fn unregister(&self, session_id: Uuid, conn_id: Uuid) {
        let mut map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = map.get_mut(&session_id) {
            list.retain(|c| c.id != conn_id);
            if list.is_empty() {
                map.remove(&session_id);
            }
        }
    }

    /// Orders every socket of a session closed; returns how many.
    pub fn close_session(&self, session_id: Uuid, order: &CloseOrder) -> usize {
        let map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&session_id).map_or(0, |list| {
            list.iter()
                .filter(|c| c.close.try_send(order.clone()).is_ok())
                .count()
        })
    }

    /// Orders every socket of a user closed; returns how many.
    pub fn close_user(&self, user_id: Uuid, order: &CloseOrder) -> usize {
        let map = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
        map.values()
            .flatten()
            .filter(|c| c.user_id == user_id)
            .filter(|c| c.close.try_send(order.clone()).is_ok())
            .count()
    }

    /// Open sockets in total.
    pub fn count(&self) -> usize {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(Vec::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(user: Uuid, session: Uuid, iat: i64) -> Principal {
        Principal {
            user_id: user,
            session_id: session,
            issued_at: iat,
        }
    }

    #[test]
    fn revocations_by_session_and_user() {
        let r = Revocations::default();
        let (u, s1, s2) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert!(!r.is_revoked(&p(u, s1, 100)));
        r.revoke_session(s1, 200_000);
        assert!(r.is_revoked(&p(u, s1, 100)));
        assert!(!r.is_revoked(&p(u, s2, 100)));
        r.revoke_user(u, 150_000);
        assert!(
            r.is_revoked(&p(u, s2, 100)),
            "issued before the user-wide revocation"
        );
        assert!(!r.is_revoked(&p(u, s2, 151)), "issued after it");
        r.prune(150_000 + KEEP_MS + 1);
        assert!(!r.is_revoked(&p(u, s2, 100)));
    }

    #[tokio::test]
    async fn connection_limit_and_close_orders() {
        let c = Connections::default();
        let (u, s) = (Uuid::new_v4(), Uuid::new_v4());
        let mut rx1 = c.register(&p(u, s, 0), Uuid::new_v4(), 2).unwrap();
        let id2 = Uuid::new_v4();
        let _rx2 = c.register(&p(u, s, 0), id2, 2).unwrap();
        assert!(
            c.register(&p(u, Uuid::new_v4(), 0), Uuid::new_v4(), 2)
                .is_none(),
            "limit per user"
        );
        let order = CloseOrder {
            code: 4001,
            reason: "session_revoked",
        };
        assert_eq!(c.close_session(s, &order), 2);
        assert_eq!(rx1.recv().await.unwrap(), order);
        c.unregister(s, id2);
        assert_eq!(c.count(), 1);
    }
}
