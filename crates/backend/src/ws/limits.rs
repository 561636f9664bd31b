//! Per-user message rate limiting (a sliding one-minute window shared by all
//! of the user's connections).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use uuid::Uuid;

/// Message timestamps per user within the last minute.
#[derive(Default)]
pub struct UserLimits {
    messages: Mutex<HashMap<Uuid, VecDeque<i64>>>,
}

impl UserLimits {
    /// Records a message at `now_ms` if fewer than `per_minute` were sent in the last minute.
    pub fn try_message(&self, user_id: Uuid, now_ms: i64, per_minute: u32) -> bool {
        let mut map = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let q = map.entry(user_id).or_default();
        while q.front().is_some_and(|&t| now_ms - t >= 60_000) {
            q.pop_front();
        }
        if q.len() >= per_minute as usize {
            return false;
        }
        q.push_back(now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn window_slides() {
        let l = super::UserLimits::default();
        let u = uuid::Uuid::new_v4();
        for i in 0..3 {
            assert!(l.try_message(u, 1000 + i, 3));
        }
        assert!(!l.try_message(u, 2000, 3));
        assert!(
            l.try_message(uuid::Uuid::new_v4(), 2000, 3),
            "other users unaffected"
        );
        assert!(
            l.try_message(u, 61_000, 3),
            "a minute later there is room again"
        );
    }
}
