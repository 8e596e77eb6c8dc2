//! A circuit breaker per endpoint: after `failure_threshold` failures in a
//! row, calls fail at once for `reset_after`; then one trial call decides
//! whether it closes again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failures that open it.
    pub failure_threshold: u32,
    /// How long it stays open before a trial call.
    pub reset_after: Duration,
}

impl Default for BreakerConfig {
    /// 5 failures, 30 s (the public implementations use 5 and 60 s; a league
    /// round rarely lasts a minute, so a shorter pause gives a player that
    /// restarts a chance within the league).
    fn default() -> BreakerConfig {
        BreakerConfig {
            failure_threshold: 5,
            reset_after: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_since: Instant },
}

/// One endpoint's breaker.
#[derive(Debug)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    state: Mutex<State>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(cfg: BreakerConfig) -> CircuitBreaker {
        CircuitBreaker {
            cfg,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go out now (in half-open state, only one trial at a
    /// time; a trial whose outcome never came back is replaced after
    /// `reset_after`).
    pub fn allow(&self, now: Instant) -> bool {
        let mut s = self.lock();
        match *s {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *s = State::HalfOpen { trial_since: now };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { trial_since } => {
                if now.saturating_duration_since(trial_since) >= self.cfg.reset_after {
                    *s = State::HalfOpen { trial_since: now };
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Records a call that reached the peer.
    pub fn on_success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    /// Records a call that did not.
    pub fn on_failure(&self, now: Instant) {
        let mut s = self.lock();
        *s = match *s {
            State::Closed { failures } if failures + 1 < self.cfg.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            _ => State::Open {
                until: now + self.cfg.reset_after,
            },
        };
    }

    /// Whether it is open (calls refused) at `now`.
    pub fn is_open(&self, now: Instant) -> bool {
        matches!(*self.lock(), State::Open { until } if now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_recovers_through_one_trial() {
        let cfg = BreakerConfig {
            failure_threshold: 3,
            reset_after: Duration::from_secs(10),
        };
        let b = CircuitBreaker::new(cfg);
        let t = Instant::now();
        for _ in 0..2 {
            assert!(b.allow(t));
            b.on_failure(t);
        }
        assert!(!b.is_open(t));
        b.on_success();
        for _ in 0..3 {
            assert!(b.allow(t));
            b.on_failure(t);
        }
        assert!(b.is_open(t));
        assert!(!b.allow(t + Duration::from_secs(5)));
        let later = t + Duration::from_secs(10);
        assert!(b.allow(later), "one trial");
        assert!(!b.allow(later), "only one");
        b.on_failure(later);
        assert!(b.is_open(later + Duration::from_secs(1)));
        let again = later + Duration::from_secs(10);
        assert!(b.allow(again));
        b.on_success();
        assert!(b.allow(again) && b.allow(again));
    }

    #[test]
    fn lost_trial_is_replaced() {
        let cfg = BreakerConfig {
            failure_threshold: 1,
            reset_after: Duration::from_secs(1),
        };
        let b = CircuitBreaker::new(cfg);
        let t = Instant::now();
        b.on_failure(t);
        assert!(b.allow(t + Duration::from_secs(1)));
        assert!(!b.allow(t + Duration::from_millis(1500)));
        assert!(b.allow(t + Duration::from_secs(2)));
    }
}
