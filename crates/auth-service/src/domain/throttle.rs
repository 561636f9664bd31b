//! Login throttling policy over the persisted failure counts: a few free
//! failures, then a growing delay before each answer, then refusal (429)
//! for a lockout that doubles with each further failure. Failures older than
//! the window are forgotten.

use crate::config::ThrottleConfig;
use crate::store::ThrottleRecord;
use std::time::Duration;

/// What to do with a login attempt given its throttle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead, after waiting `delay` (zero for the first free failures).
    Allow { delay: Duration },
    /// Refuse with 429 for this long.
    Refuse { retry_after: Duration },
}

/// Decides for one key. `multiplier` scales the thresholds (client addresses get more room).
pub fn decide(
    cfg: &ThrottleConfig,
    rec: Option<&ThrottleRecord>,
    now_ms: i64,
    multiplier: u32,
) -> Decision {
    let Some(rec) = rec else {
        return Decision::Allow {
            delay: Duration::ZERO,
        };
    };
    let since = Duration::from_millis(u64::try_from(now_ms - rec.last_failure_at).unwrap_or(0));
    if since > Duration::from_secs(cfg.window_secs) {
        return Decision::Allow {
            delay: Duration::ZERO,
        };
    }
    let failures = u32::try_from(rec.failures).unwrap_or(u32::MAX);
    let free = cfg.free_failures.saturating_mul(multiplier);
    let lock_after = cfg.lock_after.saturating_mul(multiplier);
    if failures >= lock_after {
        let doublings = (failures - lock_after).min(16);
        let lock = Duration::from_secs(
            cfg.base_lock_secs
                .saturating_mul(1 << doublings)
                .min(cfg.max_lock_secs),
        );
        if since < lock {
            return Decision::Refuse {
                retry_after: lock - since,
            };
        }
        return Decision::Allow {
            delay: Duration::from_secs(2),
        };
    }
    if failures >= free {
        // 250 ms, 500 ms, 1 s, 2 s (capped)
        let step = (failures - free).min(3);
        return Decision::Allow {
            delay: Duration::from_millis(250 << step),
        };
    }
    Decision::Allow {
        delay: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(failures: i64, at: i64) -> ThrottleRecord {
        ThrottleRecord {
            key: "k".into(),
            failures,
            last_failure_at: at,
        }
    }

    #[test]
    fn grows_then_refuses_then_forgets() {
        let cfg = ThrottleConfig::default();
        let now = 1_000_000;
        assert_eq!(
            decide(&cfg, None, now, 1),
            Decision::Allow {
                delay: Duration::ZERO
            }
        );
        assert_eq!(
            decide(&cfg, Some(&rec(2, now)), now, 1),
            Decision::Allow {
                delay: Duration::ZERO
            }
        );
        let d3 = decide(&cfg, Some(&rec(3, now)), now, 1);
        let d5 = decide(&cfg, Some(&rec(5, now)), now, 1);
        match (d3, d5) {
            (Decision::Allow { delay: a }, Decision::Allow { delay: b }) => {
                assert!(a > Duration::ZERO && b > a)
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            decide(&cfg, Some(&rec(8, now)), now, 1),
            Decision::Refuse {
                retry_after: Duration::from_secs(30)
            }
        );
        assert_eq!(
            decide(&cfg, Some(&rec(9, now)), now, 1),
            Decision::Refuse {
                retry_after: Duration::from_secs(60)
            }
        );
        // the address multiplier gives more room
        assert!(matches!(
            decide(&cfg, Some(&rec(8, now)), now, 5),
            Decision::Allow { .. }
        ));
        // outside the window, forgotten
        let later = now + 901_000;
        assert_eq!(
            decide(&cfg, Some(&rec(20, now)), later, 1),
            Decision::Allow {
                delay: Duration::ZERO
            }
        );
    }
}
