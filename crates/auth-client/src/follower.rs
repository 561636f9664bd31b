//! [`RevocationFollower`]: follows the auth service's revocation feed and
//! hands each event, once and in cursor order, to a [`RevocationSink`].
//!
//! The loop: a catch-up page without waiting (which also proves the
//! connection quickly, for readiness), then long-polls (`wait` 25 s by
//! default; the service answers as soon as a revocation is written). The
//! cursor advances past an event only after the sink took it. On an error
//! the follower is marked disconnected and retries with exponential backoff
//! and jitter (capped at 10 s by default), then catches up from its cursor.

use crate::client::AuthClient;
use crate::models::RevocationEvent;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The sink stopped accepting events (e.g. the receiver was dropped); the follower ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the revocation sink is closed")]
pub struct SinkClosed;

/// Where the follower delivers events: a closure, or a tokio mpsc sender
/// (bounded senders apply backpressure: the follower waits for room).
pub trait RevocationSink: Send + 'static {
    fn deliver(
        &mut self,
        event: RevocationEvent,
    ) -> impl Future<Output = Result<(), SinkClosed>> + Send;
}

impl<F: FnMut(RevocationEvent) + Send + 'static> RevocationSink for F {
    fn deliver(
        &mut self,
        event: RevocationEvent,
    ) -> impl Future<Output = Result<(), SinkClosed>> + Send {
        self(event);
        std::future::ready(Ok(()))
    }
}

impl RevocationSink for mpsc::Sender<RevocationEvent> {
    async fn deliver(&mut self, event: RevocationEvent) -> Result<(), SinkClosed> {
        self.send(event).await.map_err(|_| SinkClosed)
    }
}

impl RevocationSink for mpsc::UnboundedSender<RevocationEvent> {
    fn deliver(
        &mut self,
        event: RevocationEvent,
    ) -> impl Future<Output = Result<(), SinkClosed>> + Send {
        std::future::ready(self.send(event).map_err(|_| SinkClosed))
    }
}

/// Follower timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerConfig {
    /// Long-poll wait per request (the service caps it at 30 s).
    pub wait: Duration,
    /// First retry delay after an error; doubles per consecutive error.
    pub backoff_initial: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            wait: Duration::from_secs(25),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
        }
    }
}

/// The follower's observable state (cheap to clone, shared with the task).
#[derive(Debug, Clone)]
pub struct FollowerState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    cursor: AtomicI64,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl FollowerState {
    /// The cursor of the last event delivered (or the start cursor).
    pub fn cursor(&self) -> i64 {
        self.0.cursor.load(Ordering::Acquire)
    }

    /// True while the last feed request succeeded.
    pub fn is_connected(&self) -> bool {
        self.0.connected.load(Ordering::Acquire)
    }

    /// The error of the last failed request, cleared on success.
    pub fn last_error(&self) -> Option<String> {
        self.0
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_connected(&self, error: Option<String>) {
        self.0.connected.store(error.is_none(), Ordering::Release);
        *self
            .0
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = error;
    }
}

/// A running follower: its state, and its task (which ends when the cancel
/// token is cancelled or the sink closes).
#[derive(Debug)]
pub struct RevocationFollower {
    state: FollowerState,
    task: JoinHandle<()>,
}

impl RevocationFollower {
    /// Spawns a follower with the default timing, starting after `start_cursor`
    /// (0 for the beginning of the feed; the backend passes the last cursor
    /// it handled).
    pub fn spawn(
        client: AuthClient,
        start_cursor: i64,
        sink: impl RevocationSink,
        cancel: CancellationToken,
    ) -> RevocationFollower {
        Self::spawn_with(
            FollowerConfig::default(),
            client,
            start_cursor,
            sink,
            cancel,
        )
    }

    /// [`RevocationFollower::spawn`] with explicit timing.
    pub fn spawn_with(
        config: FollowerConfig,
        client: AuthClient,
        start_cursor: i64,
        sink: impl RevocationSink,
        cancel: CancellationToken,
    ) -> RevocationFollower {
        let state = FollowerState(Arc::new(Shared {
            cursor: AtomicI64::new(start_cursor.max(0)),
            connected: AtomicBool::new(false),
            last_error: Mutex::new(None),
        }));
        let task = tokio::spawn(run(config, client, state.clone(), sink, cancel));
        RevocationFollower { state, task }
    }

    /// A handle on the follower's state, usable after the follower is consumed.
    pub fn state(&self) -> FollowerState {
        self.state.clone()
    }

    pub fn cursor(&self) -> i64 {
        self.state.cursor()
    }

    pub fn is_connected(&self) -> bool {
        self.state.is_connected()
    }

    /// The follower's task.
    pub fn into_task(self) -> JoinHandle<()> {
        self.task
    }
}

async fn run(
    config: FollowerConfig,
    client: AuthClient,
    state: FollowerState,
    mut sink: impl RevocationSink,
    cancel: CancellationToken,
) {
    let mut failures: u32 = 0;
    // After a start or an error, catch up without waiting first.
    let mut catching_up = true;
    loop {
        let wait = if catching_up {
            Duration::ZERO
        } else {
            config.wait
        };
        let after = state.cursor();
        let page = tokio::select! {
            () = cancel.cancelled() => break,
            page = client.revocations(after, wait) => page,
        };
        match page {
            Ok(page) => {
                if failures > 0 || catching_up {
                    tracing::info!(cursor = after, "following the revocation feed");
                }
                failures = 0;
                state.set_connected(None);
                let mut events = page.events;
                events.sort_by_key(|e| e.cursor);
                let got_events = !events.is_empty();
                for event in events {
                    if event.cursor <= state.cursor() {
                        continue;
                    }
                    let cursor = event.cursor;
                    let delivered = tokio::select! {
                        () = cancel.cancelled() => return,
                        r = sink.deliver(event) => r,
                    };
                    if delivered.is_err() {
                        tracing::info!("revocation sink closed; follower stops");
                        return;
                    }
                    state.0.cursor.store(cursor, Ordering::Release);
                }
                if page.next_cursor > state.cursor() && !got_events {
                    // An empty page never moves the cursor past undelivered events.
                    tracing::debug!(next = page.next_cursor, "feed cursor moved without events");
                    state.0.cursor.store(page.next_cursor, Ordering::Release);
                }
                // A full catch-up page may have more behind it: keep catching up.
                catching_up = got_events && catching_up;
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let delay = backoff(&config, failures, jitter_seed());
                if failures == 1 {
                    tracing::warn!(error = %e, "revocation feed failed; retrying with backoff");
                } else {
                    tracing::debug!(error = %e, attempt = failures, ?delay, "revocation feed still failing");
                }
                state.set_connected(Some(e.to_string()));
                catching_up = true;
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// The delay before retry number `failures` (1-based): exponential from
/// `backoff_initial`, capped at `backoff_max`, with "equal jitter" (a
/// uniformly random point in the upper half) from `seed`.
fn backoff(config: &FollowerConfig, failures: u32, seed: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let ceiling = config
        .backoff_initial
        .saturating_mul(1u32 << exp)
        .min(config.backoff_max);
    let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    let half = ceiling_ms / 2;
    Duration::from_millis(ceiling_ms - half + seed % (half + 1))
}

fn jitter_seed() -> u64 {
    // The low 64 bits of a v4 UUID are random.
    uuid::Uuid::new_v4().as_u64_pair().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let c = FollowerConfig::default();
        assert_eq!(backoff(&c, 1, 0), Duration::from_millis(50));
        assert_eq!(backoff(&c, 1, 50), Duration::from_millis(100));
        assert_eq!(backoff(&c, 2, 0), Duration::from_millis(100));
        assert_eq!(backoff(&c, 4, 400), Duration::from_millis(800));
        for failures in [8, 30, u32::MAX] {
            for seed in [0, 1, 4_999, 5_000, u64::MAX] {
                let d = backoff(&c, failures, seed);
                assert!(
                    d >= Duration::from_secs(5) && d <= Duration::from_secs(10),
                    "{d:?}"
                );
            }
        }
    }
}
