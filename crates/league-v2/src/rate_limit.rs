//! Per-sender rate limits: a token bucket per key, in a bounded table.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets keyed by sender.
#[derive(Debug)]
pub struct RateLimiter {
    rate_per_s: f64,
    burst: f64,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `rate_per_s` messages per second on average, bursts of `burst`, at
    /// most `max_keys` senders tracked at once.
    pub fn new(rate_per_s: f64, burst: u32, max_keys: usize) -> RateLimiter {
        RateLimiter {
            rate_per_s: rate_per_s.max(0.0),
            burst: f64::from(burst.max(1)),
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when the key is over its rate (or the
    /// table is full of senders that are all busy, which bounds its memory).
    pub fn allow(&self, key: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            // A bucket that has refilled completely carries no state: drop those.
            let (rate, burst) = (self.rate_per_s, self.burst);
            buckets.retain(|_, b| refill(b, now, rate, burst) < burst);
            if buckets.len() >= self.max_keys {
                return false;
            }
        }
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refill(b, now, self.rate_per_s, self.burst);
        if tokens >= 1.0 {
            *b = Bucket {
                tokens: tokens - 1.0,
                at: now,
            };
            true
        } else {
            *b = Bucket { tokens, at: now };
            false
        }
    }
}

fn refill(b: &Bucket, now: Instant, rate: f64, burst: f64) -> f64 {
    let dt = now.saturating_duration_since(b.at).as_secs_f64();
    (b.tokens + dt * rate).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_limits_and_refills() {
        let rl = RateLimiter::new(10.0, 3, 100);
        let t = Instant::now();
        assert!(rl.allow("a", t));
        assert!(rl.allow("a", t));
        assert!(rl.allow("a", t));
        assert!(!rl.allow("a", t));
        assert!(rl.allow("b", t), "keys are independent");
        assert!(rl.allow("a", t + Duration::from_millis(110)));
        assert!(!rl.allow("a", t + Duration::from_millis(110)));
    }

    #[test]
    fn table_is_bounded() {
        let rl = RateLimiter::new(1.0, 1, 2);
        let t = Instant::now();
        assert!(rl.allow("a", t));
        assert!(rl.allow("b", t));
        assert!(!rl.allow("c", t), "full of busy senders");
        // after a and b refill, their entries can be dropped
        assert!(rl.allow("c", t + Duration::from_secs(2)));
    }
}
