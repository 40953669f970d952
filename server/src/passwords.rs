//! Password hashing under a cap: a fixed pool of hashing threads (the only
//! threads that run argon2 for requests) fed by a short queue; beyond the
//! queue a login is answered "busy" rather than piling up work. Each thread
//! owns its argon2 working memory (19 MiB with argon2id m=19456 KiB, t=2,
//! p=1), allocated once and reused: the allocator is never asked for it
//! again, so the server's memory for hashing is `--hash-threads` × 19 MiB
//! however many logins arrive (allocating it per hash, freed memory was
//! kept by the allocator and a login storm grew the process by ~19 MiB a
//! login). An unknown user is checked against a dummy hash with the same
//! parameters, so known and unknown names cost the same; every verification
//! is counted ([`PasswordPool::verifications`]) so tests can see it happen.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

/// Hashes waiting per hashing thread before logins are answered "busy".
pub const QUEUE_PER_THREAD: usize = 8;

/// A job runs on a hashing thread with that thread's working memory.
type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

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
        rand::rng().fill_bytes(&mut secret);
        let dummy = hash_with_memory(&mut Vec::new(), &hex::encode(secret))
            .expect("argon2 hashes with its default parameters");
        Self {
            jobs,
            dummy: Arc::new(dummy),
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
            .run(move |memory| {
                counter.fetch_add(1, Ordering::Relaxed);
                verify_with_memory(memory, &password, &phc)
            })
            .await?;
        Ok(ok && known)
    }

    /// Hashes a new password on the pool.
    pub async fn hash(&self, password: String) -> Result<String, Busy> {
        self.run(move |memory| hash_with_memory(memory, &password))
            .await?
            .ok_or(Busy)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = tx.send(f(memory));
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| Busy),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => Err(Busy),
        }
    }
}

/// Makes `memory` at least `blocks` long (once per thread, in practice).
fn working_memory(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

/// Checks a password against a PHC string (any argon2 variant and
/// parameters) in the given working memory.
pub fn verify_with_memory(memory: &mut Vec<Block>, password: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version {
        Some(v) => match Version::try_from(v) {
            Ok(v) => v,
            Err(_) => return false,
        },
        None => Version::default(),
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version, params);
    argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            working_memory(memory, blocks),
        )
        .is_ok()
        && Output::new(&out).is_ok_and(|o| o == expected)
}

/// Hashes a password (argon2id, default parameters, random salt) in the
/// given working memory, as a PHC string.
pub fn hash_with_memory(memory: &mut Vec<Block>, password: &str) -> Option<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let params = Params::default();
    let blocks = params.block_count();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon
        .hash_password_into_with_memory(
            password.as_bytes(),
            &salt,
            &mut out,
            working_memory(memory, blocks),
        )
        .ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    let output = Output::new(&out).ok()?;
    Some(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

fn run(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Vec::new();
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut memory),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{hash_password, verify_password};

    #[test]
    fn hashes_made_here_and_by_auth_verify_both_ways() {
        let mut memory = Vec::new();
        let here = hash_with_memory(&mut memory, "pässword 1").unwrap();
        assert!(verify_password("pässword 1", &here));
        assert!(!verify_password("password 1", &here));
        let there = hash_password("pässword 2");
        assert!(verify_with_memory(&mut memory, "pässword 2", &there));
        assert!(!verify_with_memory(&mut memory, "pässword 3", &there));
        assert!(!verify_with_memory(&mut memory, "x", "not a phc string"));
        assert_eq!(
            memory.len(),
            Params::default().block_count(),
            "allocated once"
        );
    }

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
