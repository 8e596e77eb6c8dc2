//! Jittered exponential backoff between retries.

use std::time::Duration;

use pmd_util::rng::Rng;

/// The pause before retry number `attempt` (0-based): a uniform draw from
/// `[d/2, d]` with `d = min(cap, base * 2^attempt)`. Half of it is fixed so
/// the pause grows; the other half is random so retries of many calls that
/// failed together spread out.
pub fn delay(attempt: u32, base: Duration, cap: Duration, rng: &mut Rng) -> Duration {
    let factor = 1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX);
    let d = base.saturating_mul(factor).min(cap);
    let half = d / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    // Uniform in 0..=nanos by a multiply-shift (bias below 2^-40 here).
    let jitter = (u128::from(rng.next_u64()) * (u128::from(nanos) + 1)) >> 64;
    half + Duration::from_nanos(jitter as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_within_bounds_and_jitters() {
        let mut rng = Rng::new(1, 0);
        let base = Duration::from_millis(20);
        let cap = Duration::from_millis(500);
        let mut seen = std::collections::HashSet::new();
        for attempt in 0..10 {
            let d = (base * 2u32.pow(attempt)).min(cap);
            for _ in 0..50 {
                let x = delay(attempt, base, cap, &mut rng);
                assert!(x >= d / 2 && x <= d, "{attempt}: {x:?}");
                seen.insert(x);
            }
        }
        assert!(seen.len() > 100, "jittered");
        assert!(delay(1000, base, cap, &mut rng) <= cap);
    }
}
