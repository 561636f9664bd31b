//! Event delivery between runs and connections, behind one trait so that a
//! Redis or NATS implementation can let replicas share runs. Events are
//! persisted (with their `seq`) before they are published; delivery is
//! best-effort and connections repair gaps from the database.

use crate::protocol::RunEventFrame;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use uuid::Uuid;

/// A subscription to one user's run events.
pub type Subscription = broadcast::Receiver<Arc<RunEventFrame>>;

/// Publishes run events to the connections of their user.
pub trait EventBus: Send + Sync + 'static {
    fn publish(&self, user_id: Uuid, event: Arc<RunEventFrame>);
    fn subscribe(&self, user_id: Uuid) -> Subscription;
}

/// In-process delivery: one broadcast channel per user with live subscribers.
pub struct InProcessBus {
    capacity: usize,
    channels: Mutex<HashMap<Uuid, broadcast::Sender<Arc<RunEventFrame>>>>,
}

impl InProcessBus {
    pub fn new(capacity: usize) -> Self {
        InProcessBus {
            capacity: capacity.max(16),
            channels: Mutex::new(HashMap::new()),
        }
    }
}

impl EventBus for InProcessBus {
    fn publish(&self, user_id: Uuid, event: Arc<RunEventFrame>) {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        // A send error means nobody listens any more.
        if let Some(tx) = channels.get(&user_id)
            && tx.send(event).is_err()
        {
            channels.remove(&user_id);
        }
    }

    fn subscribe(&self, user_id: Uuid) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64) -> Arc<RunEventFrame> {
        Arc::new(RunEventFrame {
            event_type: "agent_thinking".into(),
            run_id: Uuid::nil(),
            thread_id: Uuid::nil(),
            seq,
            ts: String::new(),
            payload: serde_json::Value::Null,
        })
    }

    #[tokio::test]
    async fn delivers_to_the_users_subscribers_only() {
        let bus = InProcessBus::new(16);
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let mut a1 = bus.subscribe(alice);
        let mut a2 = bus.subscribe(alice);
        let mut b = bus.subscribe(bob);
        bus.publish(alice, ev(1));
        assert_eq!(a1.recv().await.unwrap().seq, 1);
        assert_eq!(a2.recv().await.unwrap().seq, 1);
        assert!(b.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_lagging_subscriber_learns_it_lagged() {
        let bus = InProcessBus::new(16);
        let u = Uuid::new_v4();
        let mut rx = bus.subscribe(u);
        for i in 0..40 {
            bus.publish(u, ev(i));
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
