//! A device's pushes stored in the order it sent them. A phone sends its
//! next push batch before the answer to the one before it (two on their
//! way: the server parses one while it stores the other), and the two can
//! reach the store in either order. A push that finds a sequence gap while
//! a push of its device that may fill it is being handled (one that starts
//! at a lower sequence, or whose body is not read yet) waits for that one
//! and tries again, instead of answering a gap the phone would resolve with
//! another round trip. Kept in memory by this process; a push that finds
//! no such predecessor is answered with its gap at once.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::watch;

/// The most times a push waits for a predecessor before its gap is
/// answered (each wait ends when an upload of its device is read or ends;
/// a phone has at most two on their way).
const MOST_WAITS: usize = 8;

/// Where an upload being handled starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Its body is not read yet.
    Unknown,
    /// Its first sequence.
    At(u64),
    /// It carries no events (it can fill no gap).
    Nothing,
}

/// One device's uploads being handled.
struct DeviceUploads {
    next_id: u64,
    handling: HashMap<u64, Start>,
    /// Told whenever one of them is read or ends (the signal alone
    /// matters: a receiver sees every send after it subscribed).
    changes: watch::Sender<()>,
}

/// Every device's uploads being handled, in this process.
#[derive(Default)]
pub struct UploadOrder {
    devices: Mutex<HashMap<String, DeviceUploads>>,
}

impl UploadOrder {
    /// Registers an upload of `device` as it arrives, before its body is
    /// read; it is handled until the returned [`Upload`] is dropped.
    pub fn begin(&self, device: &str) -> Upload<'_> {
        let id = self.with_device(device, |d| {
            let id = d.next_id;
            d.next_id += 1;
            d.handling.insert(id, Start::Unknown);
            id
        });
        Upload {
            order: self,
            device: device.to_string(),
            id,
            start: Start::Unknown,
        }
    }

    fn with_device<R>(&self, device: &str, f: impl FnOnce(&mut DeviceUploads) -> R) -> R {
        let mut devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        let uploads = devices
            .entry(device.to_string())
            .or_insert_with(|| DeviceUploads {
                next_id: 0,
                handling: HashMap::new(),
                changes: watch::Sender::new(()),
            });
        f(uploads)
    }
}

/// An upload being handled; dropping it says it ended.
pub struct Upload<'a> {
    order: &'a UploadOrder,
    device: String,
    id: u64,
    start: Start,
}

impl Upload<'_> {
    /// The upload's body is read: it starts at `first` (`None`: it carries
    /// no events).
    pub fn starts_at(&mut self, first: Option<u64>) {
        self.start = first.map_or(Start::Nothing, Start::At);
        let (id, start) = (self.id, self.start);
        self.order.with_device(&self.device, |d| {
            d.handling.insert(id, start);
            d.changes.send_replace(());
        });
    }

    /// Runs `attempt` (the push's transaction) until it is not refused with
    /// a sequence gap (`is_gap`) while a push of this device that may fill
    /// the gap is being handled: each retry waits until an upload of the
    /// device is read or ends.
    pub async fn in_turn<T, E, F, Fut>(
        &self,
        mut attempt: F,
        is_gap: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut waits = 0;
        loop {
            // Subscribed before the attempt: an upload that ends during it
            // is not missed.
            let mut changes = self.changes();
            match attempt().await {
                Err(e) if is_gap(&e) && waits < MOST_WAITS && self.one_may_come_first() => {
                    waits += 1;
                    // The sender lives while this upload is registered.
                    let _ = changes.changed().await;
                }
                result => return result,
            }
        }
    }

    fn changes(&self) -> watch::Receiver<()> {
        self.order
            .with_device(&self.device, |d| d.changes.subscribe())
    }

    /// Whether another upload of this device being handled may hold the
    /// sequences before this one's first: it starts lower, or its body is
    /// not read yet.
    fn one_may_come_first(&self) -> bool {
        let Start::At(mine) = self.start else {
            return false;
        };
        self.order.with_device(&self.device, |d| {
            d.handling.iter().any(|(id, start)| {
                *id != self.id
                    && match start {
                        Start::Unknown => true,
                        Start::At(first) => *first < mine,
                        Start::Nothing => false,
                    }
            })
        })
    }
}

impl Drop for Upload<'_> {
    fn drop(&mut self) {
        let mut devices = self.order.devices.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = devices.get_mut(&self.device) {
            d.handling.remove(&self.id);
            d.changes.send_replace(());
            if d.handling.is_empty() {
                devices.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A store of one device's sequences: a push from `first` to `last` is
    /// stored when `first` follows the last stored, else refused as a gap.
    #[derive(Default)]
    struct Stored {
        last: AtomicU64,
        attempts: AtomicUsize,
    }

    impl Stored {
        async fn push(&self, first: u64, last: u64) -> Result<(), Gap> {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            let held = self.last.load(Ordering::SeqCst);
            if first == held + 1 {
                self.last.store(last, Ordering::SeqCst);
                Ok(())
            } else {
                Err(Gap { expected: held + 1 })
            }
        }
    }

    /// The store's refusal: the sequence it expects next.
    #[derive(Debug, PartialEq, Eq)]
    struct Gap {
        expected: u64,
    }

    fn is_gap(_: &Gap) -> bool {
        true
    }

    #[tokio::test]
    async fn a_push_that_overtook_its_predecessor_waits_for_it_and_is_stored() {
        let order = Arc::new(UploadOrder::default());
        let stored = Arc::new(Stored::default());
        // The first batch (1-10) arrives, its body still being read.
        let mut first = order.begin("phone");
        // The second (11-20) arrives and reaches the store first.
        let second = {
            let (order, stored) = (order.clone(), stored.clone());
            tokio::spawn(async move {
                let mut upload = order.begin("phone");
                upload.starts_at(Some(11));
                upload.in_turn(|| stored.push(11, 20), is_gap).await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second waits for the first");
        first.starts_at(Some(1));
        first.in_turn(|| stored.push(1, 10), is_gap).await.unwrap();
        drop(first);
        second.await.unwrap().unwrap();
        assert_eq!(stored.last.load(Ordering::SeqCst), 20);
    }

    #[tokio::test]
    async fn a_gap_with_no_predecessor_being_handled_is_answered_at_once() {
        let order = UploadOrder::default();
        let stored = Stored::default();
        let mut upload = order.begin("phone");
        upload.starts_at(Some(5));
        let refused = upload.in_turn(|| stored.push(5, 9), is_gap).await;
        assert_eq!(refused, Err(Gap { expected: 1 }));
        assert_eq!(stored.attempts.load(Ordering::SeqCst), 1, "tried once");
    }

    #[tokio::test]
    async fn a_later_push_of_the_same_device_is_not_waited_for() {
        let order = UploadOrder::default();
        let stored = Stored::default();
        // Being handled: a push from 20, and another device's push.
        let mut later = order.begin("phone");
        later.starts_at(Some(20));
        let _elsewhere = order.begin("another phone");
        let mut upload = order.begin("phone");
        upload.starts_at(Some(5));
        let refused = tokio::time::timeout(
            Duration::from_secs(5),
            upload.in_turn(|| stored.push(5, 9), is_gap),
        )
        .await
        .expect("answered without waiting");
        assert!(refused.is_err());
        assert_eq!(stored.attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn two_pushes_after_a_lost_stretch_are_both_answered_with_their_gaps() {
        // The server lost 1-10 (restored from an older backup): both of the
        // phone's batches in flight find a gap; neither waits forever.
        let order = Arc::new(UploadOrder::default());
        let stored = Arc::new(Stored::default());
        let pushes: Vec<_> = [(11, 20), (21, 30)]
            .into_iter()
            .map(|(first, last)| {
                let (order, stored) = (order.clone(), stored.clone());
                tokio::spawn(async move {
                    let mut upload = order.begin("phone");
                    upload.starts_at(Some(first));
                    upload.in_turn(|| stored.push(first, last), is_gap).await
                })
            })
            .collect();
        for push in pushes {
            let answer = tokio::time::timeout(Duration::from_secs(5), push)
                .await
                .expect("answered")
                .unwrap();
            assert!(answer.is_err(), "{answer:?}");
        }
    }

    #[tokio::test]
    async fn a_push_waits_at_most_eight_times_for_a_predecessor_that_never_fills_its_gap() {
        let order = Arc::new(UploadOrder::default());
        let stored = Arc::new(Stored::default());
        // An upload ahead of it that is read again and again and never
        // stored.
        let mut ahead = order.begin("phone");
        let push = {
            let (order, stored) = (order.clone(), stored.clone());
            tokio::spawn(async move {
                let mut upload = order.begin("phone");
                upload.starts_at(Some(11));
                upload.in_turn(|| stored.push(11, 20), is_gap).await
            })
        };
        let mut tried = 0;
        while !push.is_finished() && tried < 3 * MOST_WAITS {
            // Once the push has tried (and waits), the upload ahead changes.
            while stored.attempts.load(Ordering::SeqCst) <= tried && !push.is_finished() {
                tokio::task::yield_now().await;
            }
            tried = stored.attempts.load(Ordering::SeqCst);
            ahead.starts_at(Some(1));
        }
        drop(ahead);
        assert!(push.await.unwrap().is_err(), "its gap is answered");
        assert_eq!(
            stored.attempts.load(Ordering::SeqCst),
            1 + MOST_WAITS,
            "tried once, then once after each wait"
        );
    }

    #[tokio::test]
    async fn a_device_leaves_the_registry_when_its_last_upload_ends() {
        let order = UploadOrder::default();
        let a = order.begin("phone");
        let b = order.begin("phone");
        drop(a);
        assert_eq!(order.devices.lock().unwrap().len(), 1);
        drop(b);
        assert!(order.devices.lock().unwrap().is_empty());
    }
}
