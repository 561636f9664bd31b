//! The circuit breaker in front of every call: closed → open after N
//! consecutive failures → half-open after the open duration, where exactly
//! one trial call goes through; its success closes the breaker, its failure
//! opens it again. Failures are transport errors, timeouts and 5xx answers,
//! never 4xx (the service answered). Time comes from the client's clock.

use crate::config::BreakerConfig;
use std::sync::Mutex;

/// The breaker's state, as reported by [`AuthClient::stats`](crate::AuthClient::stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until_ms: i64 },
    HalfOpen { trial_in_flight: bool },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    open_ms: i64,
    state: Mutex<State>,
}

/// The right to make one call; report its outcome with [`Permit::success`]
/// or [`Permit::failure`]. Dropped without either (the call was cancelled),
/// a trial permit lets the next caller try instead.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    trial: bool,
    settled: bool,
}

impl Breaker {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Breaker {
            threshold: config.failure_threshold.max(1),
            open_ms: crate::clock::millis(config.open_duration),
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value: a panic elsewhere cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A permit when a call may go out now; `None` when the breaker refuses it.
    pub(crate) fn try_acquire(&self, now_ms: i64) -> Option<Permit<'_>> {
        let mut state = self.lock();
        let trial = match *state {
            State::Closed { .. } => false,
            State::Open { until_ms } if now_ms >= until_ms => {
                *state = State::HalfOpen {
                    trial_in_flight: true,
                };
                true
            }
            State::Open { .. }
            | State::HalfOpen {
                trial_in_flight: true,
            } => return None,
            State::HalfOpen {
                trial_in_flight: false,
            } => {
                *state = State::HalfOpen {
                    trial_in_flight: true,
                };
                true
            }
        };
        Some(Permit {
            breaker: self,
            trial,
            settled: false,
        })
    }

    pub(crate) fn state(&self, now_ms: i64) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until_ms } if now_ms >= until_ms => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

impl Permit<'_> {
    /// The call got an answer that is not a failure (2xx-4xx).
    pub(crate) fn success(mut self) {
        self.settled = true;
        let mut state = self.breaker.lock();
        match *state {
            // A call started before the breaker opened answered late: the trial decides.
            State::Open { .. } => {}
            State::HalfOpen { .. } if !self.trial => {}
            _ => *state = State::Closed { failures: 0 },
        }
    }

    /// The call failed (transport error, timeout, 5xx).
    pub(crate) fn failure(mut self, now_ms: i64) {
        self.settled = true;
        let b = self.breaker;
        let mut state = b.lock();
        match *state {
            State::Closed { failures } => {
                let failures = failures.saturating_add(1);
                *state = if failures >= b.threshold {
                    State::Open {
                        until_ms: now_ms.saturating_add(b.open_ms),
                    }
                } else {
                    State::Closed { failures }
                };
            }
            State::HalfOpen { .. } if self.trial => {
                *state = State::Open {
                    until_ms: now_ms.saturating_add(b.open_ms),
                }
            }
            State::HalfOpen { .. } | State::Open { .. } => {}
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.settled && self.trial {
            let mut state = self.breaker.lock();
            if let State::HalfOpen { .. } = *state {
                *state = State::HalfOpen {
                    trial_in_flight: false,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failure_threshold: 3,
            open_duration: Duration::from_secs(10),
        })
    }

    #[test]
    fn opens_after_consecutive_failures_and_half_opens_for_one_trial() {
        let b = breaker();
        b.try_acquire(0).unwrap().failure(0);
        b.try_acquire(0).unwrap().failure(0);
        // a success in between resets the count
        b.try_acquire(0).unwrap().success();
        b.try_acquire(0).unwrap().failure(0);
        b.try_acquire(0).unwrap().failure(0);
        assert_eq!(b.state(0), BreakerState::Closed);
        b.try_acquire(0).unwrap().failure(1_000);
        assert_eq!(b.state(1_000), BreakerState::Open);
        assert!(b.try_acquire(10_999).is_none());

        // half-open: exactly one trial at a time
        let trial = b.try_acquire(11_000).unwrap();
        assert_eq!(b.state(11_000), BreakerState::HalfOpen);
        assert!(b.try_acquire(11_000).is_none());
        trial.failure(11_500);
        assert_eq!(b.state(11_500), BreakerState::Open);
        assert!(b.try_acquire(21_499).is_none());

        let trial = b.try_acquire(21_500).unwrap();
        trial.success();
        assert_eq!(b.state(21_500), BreakerState::Closed);
        assert!(b.try_acquire(21_500).is_some());
    }

    #[test]
    fn an_abandoned_trial_lets_the_next_caller_try() {
        let b = breaker();
        for _ in 0..3 {
            b.try_acquire(0).unwrap().failure(0);
        }
        let trial = b.try_acquire(10_000).unwrap();
        drop(trial);
        assert_eq!(b.state(10_000), BreakerState::HalfOpen);
        let again = b.try_acquire(10_000).unwrap();
        assert!(b.try_acquire(10_000).is_none());
        again.success();
        assert_eq!(b.state(10_000), BreakerState::Closed);
    }

    #[test]
    fn late_answers_of_old_calls_do_not_decide_a_half_open_breaker() {
        let b = breaker();
        let old = b.try_acquire(0).unwrap();
        for _ in 0..3 {
            b.try_acquire(0).unwrap().failure(0);
        }
        let trial = b.try_acquire(10_000).unwrap();
        old.success();
        assert_eq!(b.state(10_000), BreakerState::HalfOpen);
        trial.failure(10_000);
        assert_eq!(b.state(10_000), BreakerState::Open);
    }
}
