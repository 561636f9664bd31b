//! The revocation feed: cursor-based pages, with a long-poll that returns as
//! soon as a revocation is written (woken in-process, and polling the
//! database twice a second for revocations written by other instances).

use super::AuthService;
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::store::{RevocationKind, RevocationRecord};
use serde::Serialize;
use std::time::Duration;
use uuid::Uuid;

/// One revocation as the feed shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedEvent {
    pub cursor: i64,
    /// `session` (one session) or `user` (every session of the user).
    pub kind: RevocationKind,
    pub user_id: Uuid,
    pub session_id: Option<Uuid>,
    pub revoked_at: String,
    pub reason: String,
}

/// A page of the feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedPage {
    pub events: Vec<FeedEvent>,
    /// Pass as `after` next time.
    pub next_cursor: i64,
}

const PAGE: i64 = 500;

impl AuthService {
    /// Revocations after `after`; when there are none, waits up to `wait` for one.
    pub async fn revocations(&self, after: i64, wait: Duration) -> Result<FeedPage, ApiError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut woken = self.revoked.subscribe();
        loop {
            let rows = self.store.revocations_after(after, PAGE).await?;
            if !rows.is_empty() || tokio::time::Instant::now() >= deadline {
                let next_cursor = rows.last().map_or(after, |r| r.cursor);
                return Ok(FeedPage {
                    events: rows.into_iter().map(view).collect(),
                    next_cursor,
                });
            }
            let tick = tokio::time::Instant::now() + Duration::from_millis(500);
            tokio::select! {
                _ = woken.changed() => {}
                _ = tokio::time::sleep_until(tick.min(deadline)) => {}
            }
        }
    }
}

fn view(r: RevocationRecord) -> FeedEvent {
    FeedEvent {
        cursor: r.cursor,
        kind: r.kind,
        user_id: r.user_id,
        session_id: r.session_id,
        revoked_at: rfc3339(r.revoked_at),
        reason: r.reason,
    }
}
