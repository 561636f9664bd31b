//! A cache of live sessions for the hot read paths (introspection and bearer
//! authentication), kept coherent with revocations.
//!
//! Only "live" answers are cached, each with its session's expiry, so an
//! expired session is never served from here. Revocation is the only thing
//! that ends a session before its expiry, and every revocation writes a row
//! to the revocation feed:
//!
//! - a revocation made by this process evicts its session (or its user's
//!   sessions) before the request that made it is answered;
//! - a revocation made by another replica sharing the database is read from
//!   the feed table by [`AuthService::sync_live_sessions`], which the
//!   maintenance task runs every [`SYNC_INTERVAL`].
//!
//! A generation counter closes the race between a store read that started
//! before an eviction and its insertion after it: an insertion whose
//! generation is stale is dropped.

use super::AuthService;
use crate::error::ApiError;
use crate::store::StoreResult;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

/// How often revocations written by other replicas are read from the feed.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

/// How many sessions are cached before the cache starts over.
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    user_id: Uuid,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every eviction.
    generation: u64,
    /// Revocation-feed cursor up to which evictions have been applied.
    cursor: i64,
    entries: HashMap<Uuid, Entry>,
}

/// Sessions known to be live, with their expiry.
#[derive(Debug, Default)]
pub struct LiveSessions {
    inner: Mutex<Inner>,
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map holds plain data: a panic while it was locked cannot leave it inconsistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True when `sid` is cached as live at `now`; false means "ask the store".
    pub fn is_live(&self, sid: Uuid, now: i64) -> bool {
        self.lock()
            .entries
            .get(&sid)
            .is_some_and(|e| e.expires_at > now)
    }

    /// The generation to pass to [`insert`](Self::insert) after reading the store.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches `sid` as live until `expires_at`, unless something was evicted
    /// since `generation` was taken (the read may predate a revocation).
    pub fn insert(&self, sid: Uuid, user_id: Uuid, expires_at: i64, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= CAPACITY {
            inner.entries.clear();
        }
        inner.entries.insert(
            sid,
            Entry {
                user_id,
                expires_at,
            },
        );
    }

    /// Forgets one session.
    pub fn evict_session(&self, sid: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(&sid);
    }

    /// Forgets every session of a user.
    pub fn evict_user(&self, user_id: Uuid) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, e| e.user_id != user_id);
    }

    fn cursor(&self) -> i64 {
        self.lock().cursor
    }

    fn advance(&self, cursor: i64) {
        let mut inner = self.lock();
        inner.cursor = inner.cursor.max(cursor);
    }

    /// Number of cached sessions (tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AuthService {
    /// True when the session exists, is not revoked and has not expired.
    pub(crate) async fn session_is_live(&self, sid: Uuid, now: i64) -> Result<bool, ApiError> {
        if self.live.is_live(sid, now) {
            return Ok(true);
        }
        let generation = self.live.generation();
        match self.store.session(sid).await? {
            Some(s) if s.revoked_at.is_none() && s.expires_at > now => {
                self.live.insert(sid, s.user_id, s.expires_at, generation);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Applies revocations written since the last call (by any replica) to the cache.
    pub async fn sync_live_sessions(&self) -> StoreResult<()> {
        loop {
            let rows = self
                .store
                .revocations_after(self.live.cursor(), 500)
                .await?;
            let Some(last) = rows.last().map(|r| r.cursor) else {
                return Ok(());
            };
            for r in &rows {
                match r.session_id {
                    Some(sid) => self.live.evict_session(sid),
                    None => self.live.evict_user(r.user_id),
                }
            }
            self.live.advance(last);
        }
    }

    /// Starts following the feed from its current end (the cache starts empty).
    pub(crate) async fn init_live_sessions(&self) -> StoreResult<()> {
        self.live
            .advance(self.store.latest_revocation_cursor().await?);
        Ok(())
    }

    /// The live-session cache (tests).
    pub fn live_sessions(&self) -> &LiveSessions {
        &self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_until_expiry() {
        let c = LiveSessions::default();
        let (sid, uid) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(!c.is_live(sid, 0));
        c.insert(sid, uid, 100, c.generation());
        assert!(c.is_live(sid, 99));
        assert!(!c.is_live(sid, 100), "expired entries are not live");
    }

    #[test]
    fn eviction_by_session_and_by_user() {
        let c = LiveSessions::default();
        let uid = Uuid::new_v4();
        let (a, b, other) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        for (sid, u) in [(a, uid), (b, uid), (other, Uuid::new_v4())] {
            c.insert(sid, u, 100, c.generation());
        }
        c.evict_session(a);
        assert!(!c.is_live(a, 0));
        assert!(c.is_live(b, 0));
        c.evict_user(uid);
        assert!(!c.is_live(b, 0));
        assert!(c.is_live(other, 0), "other users keep their entries");
    }

    #[test]
    fn a_read_older_than_an_eviction_is_not_cached() {
        let c = LiveSessions::default();
        let sid = Uuid::new_v4();
        let before = c.generation();
        c.evict_session(sid); // a revocation lands while the read is in flight
        c.insert(sid, Uuid::new_v4(), 100, before);
        assert!(!c.is_live(sid, 0));
        assert!(c.is_empty());
    }
}
