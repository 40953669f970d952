//! Sync on its own timer: a loop that syncs periodically, retries failures
//! with exponential backoff and jitter (never waiting for the next local
//! write), can be triggered now (connectivity came back, the user tapped
//! "sync") and stops when its handle is dropped.

use super::{Backoff, SyncClient, SyncReport};
use crate::clock::Clock;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// What the loop reports to its listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Started,
    Finished(SyncReport),
    Failed {
        code: String,
        en: String,
        zh: String,
        /// Whether a retry may cure it.
        transient: bool,
        /// When the loop tries again.
        retry_in: Duration,
    },
}

/// The periodic sync loop.
pub struct SyncLoop {
    pub client: SyncClient,
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    /// Time between syncs after a success (and after a permanent failure).
    pub interval: Duration,
    pub backoff: Backoff,
}

/// Owns the running loop: `sync_now` wakes it, dropping it stops it.
pub struct SyncLoopHandle {
    trigger: Arc<Notify>,
    task: JoinHandle<()>,
}

impl SyncLoopHandle {
    /// Sync as soon as possible (skips the remaining wait).
    pub fn sync_now(&self) {
        self.trigger.notify_one();
    }

    /// Stops the loop (also done on drop).
    pub fn stop(self) {}

    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for SyncLoopHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SyncLoop {
    /// Starts the loop on `runtime`; `listener` hears every start and outcome.
    pub fn spawn(
        mut self,
        runtime: &tokio::runtime::Handle,
        listener: impl Fn(SyncEvent) + Send + Sync + 'static,
    ) -> SyncLoopHandle {
        let trigger = Arc::new(Notify::new());
        let wake = trigger.clone();
        let task = runtime.spawn(async move {
            loop {
                listener(SyncEvent::Started);
                let wait = match self.client.sync(&self.store, self.clock.as_ref()).await {
                    Ok(report) => {
                        self.backoff.reset();
                        listener(SyncEvent::Finished(report));
                        self.interval
                    }
                    Err(e) => {
                        let transient = e.is_transient();
                        let retry_in = if transient {
                            self.backoff.next_delay()
                        } else {
                            self.interval
                        };
                        let text = e.text();
                        listener(SyncEvent::Failed {
                            code: e.code().into(),
                            en: text.en,
                            zh: text.zh,
                            transient,
                            retry_in,
                        });
                        retry_in
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = wake.notified() => {}
                }
            }
        });
        SyncLoopHandle { trigger, task }
    }
}
