//! Password hashing under a cap: a fixed pool of hashing threads (the only
//! threads that run argon2, so at most `--hash-threads` hashes are in memory
//! at once: 19 MiB each with argon2id m=19456 KiB, t=2, p=1) fed by a short
//! queue; beyond the queue a login is answered "busy" rather than piling up
//! work. An unknown user is checked against a dummy hash with the same
//! parameters, so known and unknown names cost the same; every verification
//! is counted ([`PasswordPool::verifications`]) so tests can see it happen.

use crate::auth::{hash_password, verify_password};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Hashes waiting per hashing thread before logins are answered "busy".
pub const QUEUE_PER_THREAD: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

/// The queue was full: the caller answers 503 with `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The hashing threads and their queue.
pub struct PasswordPool {
    jobs: SyncSender<Job>,
    dummy: Arc<String>,
    verifications: Arc<AtomicU64>,
    threads: usize,
}

impl PasswordPool {
    /// Starts `threads` hashing threads (at least 1) and makes the dummy hash.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || run(&queue))
                .expect("the OS starts a hashing thread");
        }
        let mut secret = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Self {
            jobs,
            dummy: Arc::new(hash_password(&hex::encode(secret))),
            verifications: Arc::new(AtomicU64::new(0)),
            threads,
        }
    }

    /// How many hashing threads run (the most hashes in memory at once).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Password verifications run so far (known and unknown users alike).
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Checks `password` against `phc`, or against the dummy hash when the
    /// user is unknown (always `false` then, at the same cost).
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, Busy> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy.as_str().to_string());
        let counter = self.verifications.clone();
        let ok = self
            .run(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                verify_password(&password, &phc)
            })
            .await?;
        Ok(ok && known)
    }

    /// Hashes a new password on the pool.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.run(move || hash_password(&password)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

fn run(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_user_costs_one_verification_like_a_known_one() {
        let pool = PasswordPool::new(1);
        let phc = pool.hash("right password".into()).await.unwrap();
        assert!(pool
            .verify("right password".into(), Some(phc.clone()))
            .await
            .unwrap());
        assert!(!pool.verify("wrong".into(), Some(phc)).await.unwrap());
        assert_eq!(pool.verifications(), 2);
        assert!(!pool.verify("anything".into(), None).await.unwrap());
        assert_eq!(pool.verifications(), 3);
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_instead_of_queueing_more() {
        let pool = Arc::new(PasswordPool::new(1));
        let tasks: Vec<_> = (0..QUEUE_PER_THREAD * 4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.verify("x".into(), None).await })
            })
            .collect();
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        assert!(results.contains(&Err(Busy)), "{results:?}");
        assert!(results.contains(&Ok(false)), "{results:?}");
    }
}
