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
    fn jitter_spreads_retries() {
        let mut b = Backoff::new(Duration::from_secs(60), Duration::from_secs(60), 1);
        let delays: std::collections::BTreeSet<_> = (0..20).map(|_| b.next_delay()).collect();
        assert!(delays.len() > 10, "jitter should spread delays: {delays:?}");
    }
}
