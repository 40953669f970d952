//! The core's one sync loop for the shells, in the shape of matrix-rust-sdk's
//! sync service: the shell builds a [`SyncService`] (store, settings, its
//! HTTP stack), calls `start` with a [`SyncStateListener`] and keeps the
//! returned [`TaskHandle`] (`cancel()`, or dropping it, stops the loop), and
//! passes in only platform signals: connectivity (`set_online`), "sync now",
//! the app in the foreground, and a WorkManager / BGTaskScheduler wake-up
//! (`background_wake`, which runs one sync to completion and returns its
//! result). When to sync, how to retry and what the badge says are the
//! core's (`doorstep_core::sync::SyncService`); nothing here decides.

use crate::device_store::DeviceStore;
use crate::error::{guard, DoorstepError};
use crate::sync::{sync_client, HttpTransport, SyncProgress, SyncSettings, SyncSummary};
use crate::types::Timestamp;
use doorstep_core::clock::SystemClock;
use doorstep_core::sync::{
    SyncFailure as CoreFailure, SyncLoopConfig, SyncLoopHandle, SyncPhase as CorePhase,
    SyncService as CoreService, SyncState as CoreState,
};
use std::sync::Arc;
use std::time::Duration;

/// The loop's timing, when the defaults (15 minutes between syncs, retries
/// from 5 s up to 15 minutes) do not suit: a fleet's policy, or a test.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncTiming {
    /// Between syncs after a success (and before retrying a failure a retry
    /// will not cure), milliseconds; at least 1 000.
    pub interval_ms: u64,
    /// The first retry's ceiling after a transient failure, milliseconds
    /// (it doubles with each further failure); at least 1.
    pub retry_base_ms: u64,
    /// The largest retry ceiling, milliseconds; at least `retry_base_ms`.
    pub retry_cap_ms: u64,
}

impl SyncTiming {
    /// The core's config, or which field is out of range.
    fn config(&self) -> Result<SyncLoopConfig, DoorstepError> {
        let refuse = |field: &str, en: String, zh: String| {
            DoorstepError::invalid_input(
                "invalid_sync_timing",
                format!("{field}: {en}"),
                format!("{field}:{zh}"),
            )
        };
        if self.interval_ms < 1_000 {
            return Err(refuse(
                "interval_ms",
                format!(
                    "{} is too short: at least 1000 (one second).",
                    self.interval_ms
                ),
                format!("{} 太短，至少为 1000（一秒）。", self.interval_ms),
            ));
        }
        if self.retry_base_ms == 0 {
            return Err(refuse(
                "retry_base_ms",
                "must be at least 1.".into(),
                "至少为 1。".into(),
            ));
        }
        if self.retry_cap_ms < self.retry_base_ms {
            return Err(refuse(
                "retry_cap_ms",
                format!(
                    "{} is below retry_base_ms ({}): it must be at least that.",
                    self.retry_cap_ms, self.retry_base_ms
                ),
                format!(
                    "{} 小于 retry_base_ms({})，不能小于它。",
                    self.retry_cap_ms, self.retry_base_ms
                ),
            ));
        }
        Ok(SyncLoopConfig {
            interval: Duration::from_millis(self.interval_ms),
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_cap: Duration::from_millis(self.retry_cap_ms),
            ..SyncLoopConfig::default()
        })
    }
}

/// Why the last sync failed, in the technician's words.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncFailure {
    /// Stable code: `sync_network`, `sync_server_busy`, `sync_unauthorized`, ...
    pub code: String,
    /// Whether a retry may cure it.
    pub transient: bool,
    /// Technical detail for logs and support.
    pub detail: String,
    pub en: String,
    pub zh: String,
}

impl From<CoreFailure> for SyncFailure {
    fn from(f: CoreFailure) -> Self {
        Self {
            code: f.code,
            transient: f.transient,
            detail: f.detail,
            en: f.en,
            zh: f.zh,
        }
    }
}

impl From<CoreFailure> for DoorstepError {
    fn from(f: CoreFailure) -> Self {
        Self::Sync {
            code: f.code,
            transient: f.transient,
            detail: f.detail,
            en: f.en,
            zh: f.zh,
        }
    }
}

/// Where the sync loop is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    /// Not started yet.
    Idle,
    /// A sync is running; its progress once it reports one.
    Syncing { progress: Option<SyncProgress> },
    /// The last sync finished; the next periodic one is at `next_sync_at`.
    Synced {
        summary: SyncSummary,
        next_sync_at: Timestamp,
    },
    /// Failure number `attempt` in a row may be cured by a retry: the loop
    /// retries on its own at `retry_at`. Offline work is safe meanwhile.
    Retrying {
        failure: SyncFailure,
        attempt: u32,
        retry_at: Timestamp,
    },
    /// A retry will not cure it (token revoked, request refused, app too
    /// old): show `failure`'s text. Tried again at `retry_at` or on "sync now".
    NeedsAttention {
        failure: SyncFailure,
        retry_at: Timestamp,
    },
    /// The platform reports no connection: nothing is tried until it is back.
    Offline,
    /// The loop was stopped.
    Stopped,
}

/// What the loop publishes on every change.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncServiceState {
    pub phase: SyncPhase,
    /// The last successful sync (kept in the store, so it survives restarts).
    pub last_success_at: Option<Timestamp>,
    /// Records waiting for the server.
    pub pending: u64,
}

impl From<CoreState> for SyncServiceState {
    fn from(s: CoreState) -> Self {
        let phase = match s.phase {
            CorePhase::Idle => SyncPhase::Idle,
            CorePhase::Syncing { progress } => SyncPhase::Syncing {
                progress: progress.as_ref().map(SyncProgress::from),
            },
            CorePhase::Synced {
                report,
                next_sync_at,
            } => SyncPhase::Synced {
                summary: report.into(),
                next_sync_at,
            },
            CorePhase::Retrying {
                failure,
                attempt,
                retry_at,
            } => SyncPhase::Retrying {
                failure: failure.into(),
                attempt,
                retry_at,
            },
            CorePhase::NeedsAttention { failure, retry_at } => SyncPhase::NeedsAttention {
                failure: failure.into(),
                retry_at,
            },
            CorePhase::Offline => SyncPhase::Offline,
            CorePhase::Stopped => SyncPhase::Stopped,
        };
        Self {
            phase,
            last_success_at: s.last_success_at,
            pending: s.pending,
        }
    }
}

/// Hears every state of the loop, in order (implemented in Kotlin/Swift).
/// Called on the loop's thread: hand the state to the UI thread and return;
/// do not call back into the service from here.
#[uniffi::export(with_foreign)]
pub trait SyncStateListener: Send + Sync {
    fn on_state(&self, state: SyncServiceState);
}

/// The running loop. `cancel()` or dropping the handle stops it and the
/// sync in flight; the listener then hears `Stopped`.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    handle: SyncLoopHandle,
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the loop (also done when the handle is dropped).
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// Whether the loop has stopped.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

/// The phone's sync: one loop over one store and one server.
#[derive(uniffi::Object)]
pub struct SyncService {
    service: CoreService,
    /// A current-thread runtime driven by its own thread (`doorstep-sync`)
    /// until drop: the loop's tasks run there, and `background_wake` waits
    /// on it from the caller's thread. (A multi-thread runtime with one
    /// worker did the same and cost the phone library its scheduler.)
    runtime: tokio::runtime::Handle,
    /// Ends the driving thread (and with it the runtime) when sent or dropped.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for SyncService {
    /// Tells the runtime's thread to stop, without blocking (safe from any
    /// thread); a loop still running stops with it.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl SyncService {
    fn build(
        store: &DeviceStore,
        settings: &SyncSettings,
        transport: Arc<dyn HttpTransport>,
        config: SyncLoopConfig,
    ) -> Result<Self, DoorstepError> {
        let client = sync_client(settings, transport)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("doorstep-sync")
            .build()
            .map_err(|e| DoorstepError::internal_detail("runtime", &e.to_string()))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("doorstep-sync".into())
            .spawn(move || {
                // Drives the loop's tasks, timers and IO until the service goes.
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_background();
            })
            .map_err(|e| DoorstepError::internal_detail("runtime", &e.to_string()))?;
        let service = CoreService::new(client, store.store()?, Arc::new(SystemClock), config);
        Ok(Self {
            service,
            runtime: handle,
            stop: Some(stop),
        })
    }

    fn runtime(&self) -> Result<&tokio::runtime::Handle, DoorstepError> {
        Ok(&self.runtime)
    }
}

#[uniffi::export]
impl SyncService {
    /// A sync service for `store` with `settings`, over the shell's
    /// `transport`: 15 minutes between syncs, retries with full-jitter
    /// backoff from 5 s up to 15 minutes. Nothing runs until `start` or
    /// `background_wake`. The store must stay open while the loop runs.
    #[uniffi::constructor]
    pub fn new(
        store: Arc<DeviceStore>,
        settings: SyncSettings,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Self, DoorstepError> {
        guard(|| Self::build(&store, &settings, transport, SyncLoopConfig::default()))
    }

    /// [`new`](Self::new) with its own `timing`; a field out of range is
    /// refused with `invalid_sync_timing`, naming it.
    #[uniffi::constructor]
    pub fn with_timing(
        store: Arc<DeviceStore>,
        settings: SyncSettings,
        transport: Arc<dyn HttpTransport>,
        timing: SyncTiming,
    ) -> Result<Self, DoorstepError> {
        guard(|| Self::build(&store, &settings, transport, timing.config()?))
    }

    /// Starts the loop: a sync at once (unless the phone was reported
    /// offline), then on its own timers. `listener` hears every state. A
    /// loop started before stops: the latest start wins.
    pub fn start(
        &self,
        listener: Arc<dyn SyncStateListener>,
    ) -> Result<Arc<TaskHandle>, DoorstepError> {
        guard(|| {
            let runtime = self.runtime()?;
            let forward = move |state: &CoreState| {
                let state = SyncServiceState::from(state.clone());
                // A throwing listener must not stop the loop.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    listener.on_state(state)
                }));
            };
            let handle = self.service.start(runtime, Arc::new(forward));
            Ok(Arc::new(TaskHandle { handle }))
        })
    }

    /// The platform's connectivity (Android's default-network callback,
    /// iOS's NWPathMonitor). Offline cancels the sync in flight; back online
    /// syncs at once.
    pub fn set_online(&self, online: bool) {
        self.service.set_online(online);
    }

    /// "Sync now": the button, a newly recorded command.
    pub fn sync_now(&self) {
        self.service.sync_now();
    }

    /// The app came to the foreground.
    pub fn app_foregrounded(&self) {
        self.service.app_foregrounded();
    }

    /// A background wake-up (WorkManager's worker, iOS's BGAppRefreshTask):
    /// runs one sync to completion and returns what it did, or why it
    /// failed (`transient` says whether to ask the OS for a retry).
    /// Blocking: call it from the worker's thread, never the UI thread or
    /// the listener.
    pub fn background_wake(&self) -> Result<SyncSummary, DoorstepError> {
        guard(|| {
            let outcome = self.runtime()?.block_on(self.service.background_wake());
            Ok(outcome?.into())
        })
    }

    /// The last state the loop published.
    pub fn state(&self) -> SyncServiceState {
        self.service.state().into()
    }

    /// Whether the loop is running.
    pub fn is_running(&self) -> bool {
        self.service.is_running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(interval_ms: u64, retry_base_ms: u64, retry_cap_ms: u64) -> SyncTiming {
        SyncTiming {
            interval_ms,
            retry_base_ms,
            retry_cap_ms,
        }
    }

    #[test]
    fn a_timing_out_of_range_is_refused_naming_its_field_in_both_languages() {
        for (bad, field) in [
            (timing(999, 5, 10), "interval_ms"),
            (timing(60_000, 0, 10), "retry_base_ms"),
            (timing(60_000, 50, 10), "retry_cap_ms"),
        ] {
            let e = bad.config().unwrap_err();
            assert_eq!(e.code(), "invalid_sync_timing");
            let DoorstepError::InvalidInput { en, zh, .. } = e else {
                panic!("{e:?}")
            };
            assert!(en.starts_with(field), "{en}");
            assert!(zh.starts_with(field), "{zh}");
        }
        let ok = timing(60_000, 50, 400).config().unwrap();
        assert_eq!(ok.interval, Duration::from_secs(60));
        assert_eq!(ok.retry_base, Duration::from_millis(50));
        assert_eq!(ok.retry_cap, Duration::from_millis(400));
    }

    #[test]
    fn failures_cross_as_sync_errors_with_their_texts() {
        let failure = CoreFailure::from(&doorstep_core::sync::SyncError::Offline);
        let e = DoorstepError::from(failure.clone());
        assert_eq!(e.code(), "sync_offline");
        assert!(
            matches!(e, DoorstepError::Sync { transient: true, ref zh, .. } if zh.contains("离线"))
        );
        let shown = SyncFailure::from(failure);
        assert_eq!(shown.code, "sync_offline");
        assert!(shown.en.starts_with("Offline"));
    }
}
