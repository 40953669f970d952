//! Login rate limits: token buckets kept in memory by this process, one per
//! account name and one per source address. A bucket holds up to `per_minute`
//! attempts and refills at `per_minute` a minute; an attempt takes one token
//! from both (a successful login gives its account token back), and an empty
//! bucket answers with the seconds until the next token (429 +
//! `Retry-After`). Several servers behind a load balancer each keep their
//! own buckets. At most [`MAX_KEYS`] keys are kept: beyond that, buckets
//! that have refilled completely are forgotten first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// The most keys (accounts plus addresses) kept in memory.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One family of buckets (per account, or per address).
pub struct TokenBuckets {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl TokenBuckets {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, b: Bucket, now: Instant) -> Bucket {
        let rate = self.per_minute / 60.0;
        let tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(self.per_minute);
        Bucket { tokens, at: now }
    }

    /// Takes one token for `key`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let full = self.per_minute;
            let snapshot: Vec<(String, Bucket)> =
                map.iter().map(|(k, b)| (k.clone(), *b)).collect();
            for (k, b) in snapshot {
                if self.refilled(b, now).tokens >= full {
                    map.remove(&k);
                }
            }
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let fresh = Bucket {
            tokens: self.per_minute,
            at: now,
        };
        let b = self.refilled(*map.get(key).unwrap_or(&fresh), now);
        if b.tokens >= 1.0 {
            map.insert(
                key.to_string(),
                Bucket {
                    tokens: b.tokens - 1.0,
                    at: now,
                },
            );
            Ok(())
        } else {
            map.insert(key.to_string(), b);
            let rate = self.per_minute / 60.0;
            Err(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Gives back a token taken for `key` (a successful login).
    pub fn give_back(&self, key: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = map.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(self.per_minute);
        }
    }
}

/// The two families a login passes.
pub struct LoginThrottle {
    pub per_account: TokenBuckets,
    pub per_address: TokenBuckets,
}

impl LoginThrottle {
    pub fn new(per_account_per_minute: u32, per_address_per_minute: u32) -> Self {
        Self {
            per_account: TokenBuckets::new(per_account_per_minute),
            per_address: TokenBuckets::new(per_address_per_minute),
        }
    }

    /// Takes a token for the address and the account; `Err(seconds)` with
    /// the longer wait when either is empty (nothing is taken then).
    pub fn admit(&self, account: &str, address: &str, now: Instant) -> Result<(), u64> {
        self.per_address.take(address, now)?;
        if let Err(wait) = self.per_account.take(account, now) {
            self.per_address.give_back(address);
            return Err(wait);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_account_is_refused_after_its_burst_and_admitted_again_once_refilled() {
        let t = LoginThrottle::new(3, 100);
        let t0 = Instant::now();
        for _ in 0..3 {
            t.admit("li.na", "10.0.0.1", t0).unwrap();
        }
        let wait = t.admit("li.na", "10.0.0.1", t0).unwrap_err();
        assert_eq!(wait, 20, "3 a minute: one token every 20 s");
        assert!(
            t.admit("wang.wei", "10.0.0.1", t0).is_ok(),
            "another account is not affected"
        );
        assert!(t
            .admit("li.na", "10.0.0.1", t0 + Duration::from_secs(20))
            .is_ok());
    }

    #[test]
    fn an_address_is_refused_across_accounts() {
        let t = LoginThrottle::new(100, 2);
        let t0 = Instant::now();
        t.admit("a", "10.0.0.9", t0).unwrap();
        t.admit("b", "10.0.0.9", t0).unwrap();
        assert!(t.admit("c", "10.0.0.9", t0).is_err());
        assert!(t.admit("c", "10.0.0.10", t0).is_ok());
    }

    #[test]
    fn the_key_table_stays_bounded() {
        let b = TokenBuckets::new(1);
        let t0 = Instant::now();
        for i in 0..MAX_KEYS + 10 {
            let _ = b.take(&format!("user{i}"), t0);
        }
        assert!(b.buckets.lock().unwrap().len() <= MAX_KEYS);
    }
}
