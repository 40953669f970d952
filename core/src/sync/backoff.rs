//! Retry timing: exponential backoff with full jitter (the AWS architecture
//! blog's "full jitter": sleep a uniform random time in [0, min(cap, base·2^n)]),
//! so a fleet of phones coming back online does not retry in lock-step.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

/// Backoff policy and state.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    rng: SmallRng,
}

impl Backoff {
    /// `base` for the first retry, doubling up to `cap`; `seed` makes the
    /// jitter reproducible in tests (use a random seed in production).
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Self {
        Self {
            base,
            cap,
            failures: 0,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// The ceiling of the next delay: `min(cap, base * 2^failures)`.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.failures = self.failures.saturating_add(1);
        let ms = ceiling.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(if ms == 0 {
            0
        } else {
            self.rng.random_range(0..=ms)
        })
    }

    /// Records a failure the server answered with `Retry-After: floor`:
    /// waits at least `floor` (plus up to a quarter of it more, so phones
    /// told the same wait do not come back at the same instant), or the
    /// backoff's own delay when that is longer.
    pub fn next_delay_at_least(&mut self, floor: Duration) -> Duration {
        let own = self.next_delay();
        let spread = floor.as_millis().min(u128::from(u64::MAX)) as u64 / 4;
        let asked = floor + Duration::from_millis(self.rng.random_range(0..=spread));
        own.max(asked)
    }

    /// A success: start again from `base`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_an_exponentially_growing_ceiling_capped_at_the_maximum() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 7);
        let mut ceilings = vec![];
        for _ in 0..10 {
            let ceiling = b.ceiling();
            let d = b.next_delay();
            assert!(d <= ceiling, "{d:?} > {ceiling:?}");
            ceilings.push(ceiling.as_millis());
        }
        assert_eq!(&ceilings[..6], &[100, 200, 400, 800, 1600, 3200]);
        assert!(ceilings[6..].iter().all(|c| *c == 5000));
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }

    #[test]
    fn a_retry_after_from_the_server_is_a_floor_on_the_delay() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 3);
        for _ in 0..20 {
            let d = b.next_delay_at_least(Duration::from_secs(30));
            assert!(d >= Duration::from_secs(30), "{d:?}");
            assert!(d <= Duration::from_millis(37_500), "{d:?}");
        }
        assert_eq!(b.failures(), 20, "each one counts as a failure");
        // A short Retry-After does not cut the backoff's own, longer delay.
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 3);
        let delays: Vec<_> = (0..20)
            .map(|_| b.next_delay_at_least(Duration::from_secs(1)))
            .collect();
        assert!(
            delays.iter().any(|d| *d > Duration::from_secs(2)),
            "{delays:?}"
        );
    }

    #[test]
    fn jitter_spreads_retries() {
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 1);
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.len() > 10, "jitter should spread delays: {delays:?}");
    }
}
