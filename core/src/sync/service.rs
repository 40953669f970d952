//! The device's one sync loop: when to sync, how to retry, and what the
//! badge says. The shells own no timer and no policy; they pass in only the
//! platform's signals (connectivity, "sync now", the app in the foreground,
//! a WorkManager/BGTask wake-up) and show the [`SyncState`] it publishes.
//!
//! The loop syncs at start, then every [`SyncLoopConfig::interval`] after a
//! success. A failure a retry may cure (no network, server busy, garbled
//! answer) is retried on the loop's own timer with full-jitter exponential
//! backoff ([`Backoff`]), never waiting for the next local write. A failure
//! a retry will not cure (token revoked, request refused, app too old)
//! becomes [`SyncPhase::NeedsAttention`], tried again only at the interval.
//! "Sync now", connectivity regained, the foreground and a wake-up sync at
//! once; a burst of them costs one sync (plus at most one more when they
//! arrive during a sync). While the platform says offline nothing is tried,
//! and going offline cancels the sync in flight (what was acknowledged or
//! applied stays; the rest goes next time).
//!
//! Timers are tokio's (tests run them with paused time); wall-clock times in
//! the state come from the injected [`Clock`]; the jitter's seed is in the
//! config. The design follows matrix-rust-sdk's sync service: the shell
//! starts it with a listener and holds a [`SyncLoopHandle`] whose drop stops it.

use super::{Backoff, SyncClient, SyncError, SyncProgress, SyncReport};
use crate::clock::Clock;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The loop's timing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLoopConfig {
    /// Time between syncs after a success, and before retrying a failure a
    /// retry will not cure.
    pub interval: Duration,
    /// The first retry's ceiling after a transient failure; it doubles with
    /// each further failure...
    pub retry_base: Duration,
    /// ...up to this.
    pub retry_cap: Duration,
    /// Seeds the jitter (fixed in tests, random in production).
    pub jitter_seed: u64,
}

impl Default for SyncLoopConfig {
    /// 15 minutes between syncs; retries from 5 s up to 15 minutes; a random seed.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(15 * 60),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(15 * 60),
            jitter_seed: rand::random(),
        }
    }
}

/// Why a sync failed, as the shells show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFailure {
    /// The stable code (`sync_network`, `sync_unauthorized`, ...).
    pub code: String,
    /// Whether a retry may cure it.
    pub transient: bool,
    /// The technical detail, for logs and support.
    pub detail: String,
    /// What the technician is told.
    pub en: String,
    pub zh: String,
}

impl From<&SyncError> for SyncFailure {
    fn from(e: &SyncError) -> Self {
        let text = e.text();
        Self {
            code: e.code().to_string(),
            transient: e.is_transient(),
            detail: e.to_string(),
            en: text.en,
            zh: text.zh,
        }
    }
}

/// One sync's outcome, as a wake-up hears it.
pub type SyncOutcome = Result<SyncReport, SyncFailure>;

/// Where the loop is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPhase {
    /// Not started yet.
    Idle,
    /// A sync is running; where it is, once it says.
    Syncing { progress: Option<SyncProgress> },
    /// The last sync finished; the next periodic one is at `next_sync_at`.
    Synced {
        report: SyncReport,
        next_sync_at: DateTime<Utc>,
    },
    /// Failure number `attempt` in a row may be cured by a retry (no
    /// network, server busy): the loop retries at `retry_at` on its own.
    Retrying {
        failure: SyncFailure,
        attempt: u32,
        retry_at: DateTime<Utc>,
    },
    /// A retry will not cure it (token revoked, request refused, app too
    /// old): someone must act. Tried again at `retry_at` or on "sync now".
    NeedsAttention {
        failure: SyncFailure,
        retry_at: DateTime<Utc>,
    },
    /// The platform says there is no connection: nothing is tried until it
    /// says the connection is back.
    Offline,
    /// The loop was stopped (its handle cancelled or dropped).
    Stopped,
}

/// What the loop publishes: its phase, the last success (kept in the
/// store, so it survives restarts) and the records waiting for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub phase: SyncPhase,
    pub last_success_at: Option<DateTime<Utc>>,
    pub pending: u64,
}

/// Hears every state the loop publishes, in order, on the loop's task:
/// keep it quick (hand the state to the UI thread).
pub type SyncStateListener = Arc<dyn Fn(&SyncState) + Send + Sync>;

/// A platform signal, on its way to the running loop.
enum Signal {
    /// "Sync now", the app in the foreground.
    SyncNow,
    /// Connectivity, as the platform reports it.
    Online(bool),
    /// A background wake-up: sync, and answer with the outcome.
    Wake(oneshot::Sender<SyncOutcome>),
}

/// What the loop and the wake-ups share.
struct Shared {
    client: SyncClient,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    config: SyncLoopConfig,
    /// The latest loop started, and its inbox.
    current: Mutex<LoopSlot>,
    /// The platform's last word on connectivity (online until told otherwise).
    online: Mutex<bool>,
    /// The last state published.
    latest: Mutex<SyncState>,
    /// One sync at a time: the loop's, or a wake-up's while no loop runs.
    gate: tokio::sync::Mutex<()>,
}

/// Which loop is the current one: each start makes a new generation.
#[derive(Default)]
struct LoopSlot {
    generation: u64,
    inbox: Option<mpsc::UnboundedSender<Signal>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// `t + d` on the wall clock, saturating.
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    let d = chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
    crate::clock::shift(t, d)
}

impl Shared {
    fn online(&self) -> bool {
        *lock(&self.online)
    }

    /// `phase` with the store's last success and waiting count.
    fn state(&self, phase: SyncPhase) -> SyncState {
        let latest = lock(&self.latest).clone();
        match self.store.sync_status() {
            Ok(s) => SyncState {
                phase,
                last_success_at: s.last_success_at,
                pending: s.pending,
            },
            // A failing read keeps the last known numbers: the phase is what matters.
            Err(_) => SyncState { phase, ..latest },
        }
    }

    /// Tells loop `generation`'s listener about `phase`; it is the
    /// service's state too unless a newer loop has started.
    fn publish(&self, generation: u64, listener: &SyncStateListener, phase: SyncPhase) {
        let state = self.state(phase);
        if lock(&self.current).generation == generation {
            *lock(&self.latest) = state.clone();
        }
        listener(&state);
    }

    /// The inbox of the running loop, if one runs.
    fn running_inbox(&self) -> Option<mpsc::UnboundedSender<Signal>> {
        lock(&self.current)
            .inbox
            .clone()
            .filter(|tx| !tx.is_closed())
    }

    fn signal(&self, signal: Signal) {
        if let Some(tx) = self.running_inbox() {
            // A loop that ended meanwhile has nothing left to do with it.
            let _ = tx.send(signal);
        }
    }
}

/// The device's sync loop over one store and one server.
pub struct SyncService {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SyncService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncService")
            .field("client", &self.shared.client)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

/// Owns the running loop: [`cancel`](Self::cancel) or dropping it stops
/// the loop, cancelling the sync in flight.
#[derive(Debug)]
pub struct SyncLoopHandle {
    task: JoinHandle<()>,
}

impl SyncLoopHandle {
    /// Stops the loop (also done on drop).
    pub fn cancel(&self) {
        self.task.abort();
    }

    /// Whether the loop has stopped.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for SyncLoopHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SyncService {
    /// A service syncing `store` through `client`. Nothing runs until
    /// [`start`](Self::start) or [`background_wake`](Self::background_wake).
    pub fn new(
        client: SyncClient,
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        config: SyncLoopConfig,
    ) -> Self {
        let idle = SyncState {
            phase: SyncPhase::Idle,
            last_success_at: None,
            pending: 0,
        };
        let shared = Shared {
            client,
            store,
            clock,
            config,
            current: Mutex::new(LoopSlot::default()),
            online: Mutex::new(true),
            latest: Mutex::new(idle),
            gate: tokio::sync::Mutex::new(()),
        };
        let shared = Arc::new(shared);
        let first = shared.state(SyncPhase::Idle);
        *lock(&shared.latest) = first;
        Self { shared }
    }

    /// Starts the loop on `runtime`: it syncs at once (unless the platform
    /// said offline) and `listener` hears every state. A loop started
    /// earlier stops: the latest start wins.
    pub fn start(
        &self,
        runtime: &tokio::runtime::Handle,
        listener: SyncStateListener,
    ) -> SyncLoopHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let generation = {
            let mut current = lock(&self.shared.current);
            current.generation += 1;
            // Replacing the sender closes the previous loop's inbox: it stops.
            current.inbox = Some(tx);
            current.generation
        };
        let task = runtime.spawn(run_loop(self.shared.clone(), generation, rx, listener));
        SyncLoopHandle { task }
    }

    /// The platform's connectivity. Going offline cancels the sync in
    /// flight and stops the timers; coming back syncs at once.
    pub fn set_online(&self, online: bool) {
        *lock(&self.shared.online) = online;
        self.shared.signal(Signal::Online(online));
    }

    /// "Sync now": the button, a newly recorded command. Skips the
    /// remaining wait (periodic or retry); joins a burst.
    pub fn sync_now(&self) {
        self.shared.signal(Signal::SyncNow);
    }

    /// The app came to the foreground: sync at once.
    pub fn app_foregrounded(&self) {
        self.shared.signal(Signal::SyncNow);
    }

    /// A background wake-up (WorkManager, BGTaskScheduler): one sync run to
    /// completion, its outcome returned. With the loop running, the loop
    /// runs it (joining a sync already in flight); without, it runs here.
    /// Offline, nothing is tried: `sync_offline`.
    pub async fn background_wake(&self) -> SyncOutcome {
        if let Some(tx) = self.shared.running_inbox() {
            let (reply, answer) = oneshot::channel();
            if tx.send(Signal::Wake(reply)).is_ok() {
                if let Ok(outcome) = answer.await {
                    return outcome;
                }
            }
            // The loop stopped before answering: sync here instead.
        }
        if !self.shared.online() {
            return Err(SyncFailure::from(&SyncError::Offline));
        }
        let _one_at_a_time = self.shared.gate.lock().await;
        let shared = &self.shared;
        let outcome = shared
            .client
            .sync(&shared.store, shared.clock.as_ref())
            .await;
        outcome.map_err(|e| SyncFailure::from(&e))
    }

    /// The last state published (or the idle state before any).
    pub fn state(&self) -> SyncState {
        lock(&self.shared.latest).clone()
    }

    /// Whether a loop is running.
    pub fn is_running(&self) -> bool {
        self.shared.running_inbox().is_some()
    }
}

/// Marks a sync in flight. Dropped armed (the sync was cancelled: offline,
/// the loop stopped), it tells the transport to abort and records the
/// cancellation, which the dropped sync could not.
struct InFlight<'a> {
    shared: &'a Shared,
    armed: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.shared.client.cancel_requests();
            let now = self.shared.clock.now();
            let _ = self
                .shared
                .store
                .record_sync_failure(now, "sync_cancelled", "cancelled");
            log::info!(target: "doorstep::sync", "sync cancelled");
        }
    }
}

/// However the loop ends (returned, aborted, its runtime shut down): it no
/// longer takes signals, and its listener hears [`SyncPhase::Stopped`].
struct StopNotice {
    shared: Arc<Shared>,
    generation: u64,
    listener: SyncStateListener,
}

impl Drop for StopNotice {
    fn drop(&mut self) {
        {
            let mut current = lock(&self.shared.current);
            if current.generation == self.generation {
                current.inbox = None;
            }
        }
        self.shared
            .publish(self.generation, &self.listener, SyncPhase::Stopped);
    }
}

/// How one attempt ended.
enum Attempt {
    Done(Result<SyncReport, SyncError>),
    /// The platform went offline: the sync was cancelled.
    WentOffline,
    /// The loop's inbox closed (a newer loop started): stop.
    Closed,
}

/// The loop's own bookkeeping between syncs.
struct Loop {
    shared: Arc<Shared>,
    generation: u64,
    listener: SyncStateListener,
    backoff: Backoff,
    online: bool,
    /// When the next sync is due (tokio time); `None`: only a signal starts one.
    due: Option<Instant>,
    /// Wake-ups waiting for the next sync's outcome.
    waiters: Vec<oneshot::Sender<SyncOutcome>>,
    /// A sync was asked for while one ran: run another right after.
    again: bool,
}

impl Loop {
    fn publish(&self, phase: SyncPhase) {
        self.shared.publish(self.generation, &self.listener, phase);
    }

    /// Applies a signal received between syncs.
    fn between_syncs(&mut self, signal: Signal) {
        match signal {
            Signal::SyncNow if self.online => self.due = Some(Instant::now()),
            // Offline: nothing is tried, but the waiting count is fresh.
            Signal::SyncNow => self.publish(SyncPhase::Offline),
            Signal::Online(true) if !self.online => {
                self.online = true;
                self.backoff.reset();
                self.due = Some(Instant::now());
            }
            Signal::Online(true) => {}
            Signal::Online(false) => {
                let was_online = std::mem::replace(&mut self.online, false);
                self.due = None;
                if was_online {
                    self.publish(SyncPhase::Offline);
                }
            }
            Signal::Wake(reply) if self.online => {
                self.waiters.push(reply);
                self.due = Some(Instant::now());
            }
            Signal::Wake(reply) => {
                let _ = reply.send(Err(SyncFailure::from(&SyncError::Offline)));
            }
        }
    }

    /// Applies a signal received while a sync runs; `false` if it must be
    /// cancelled because the platform went offline.
    fn during_sync(&mut self, signal: Signal) -> bool {
        match signal {
            Signal::SyncNow => self.again = true,
            Signal::Online(true) => {}
            Signal::Online(false) => {
                self.online = false;
                return false;
            }
            // It joins the sync in flight.
            Signal::Wake(reply) => self.waiters.push(reply),
        }
        true
    }

    /// Whether a sync should start now.
    fn sync_due(&self) -> bool {
        self.online && self.due.is_some_and(|at| at <= Instant::now())
    }

    /// Runs one sync, listening for signals meanwhile.
    async fn attempt(&mut self, inbox: &mut mpsc::UnboundedReceiver<Signal>) -> Attempt {
        let shared = self.shared.clone();
        let _one_at_a_time = shared.gate.lock().await;
        self.publish(SyncPhase::Syncing { progress: None });
        let listener = self.listener.clone();
        let generation = self.generation;
        let progress = {
            let shared = shared.clone();
            move |p: &SyncProgress| {
                shared.publish(
                    generation,
                    &listener,
                    SyncPhase::Syncing {
                        progress: Some(p.clone()),
                    },
                )
            }
        };
        let mut in_flight = InFlight {
            shared: &shared,
            armed: true,
        };
        let sync =
            shared
                .client
                .sync_with_progress(&shared.store, shared.clock.as_ref(), &progress);
        tokio::pin!(sync);
        loop {
            tokio::select! {
                result = &mut sync => {
                    in_flight.armed = false;
                    break Attempt::Done(result);
                }
                signal = inbox.recv() => match signal {
                    None => break Attempt::Closed,
                    Some(signal) => {
                        if !self.during_sync(signal) {
                            break Attempt::WentOffline;
                        }
                    }
                },
            }
        }
    }

    /// Publishes a finished sync's outcome, answers the wake-ups and sets
    /// the next due time.
    fn finished(&mut self, result: Result<SyncReport, SyncError>) {
        let now = self.shared.clock.now();
        let interval = self.shared.config.interval;
        let outcome: SyncOutcome = match result {
            Ok(report) => {
                self.backoff.reset();
                self.due = Some(Instant::now() + interval);
                self.publish(SyncPhase::Synced {
                    report: report.clone(),
                    next_sync_at: later(now, interval),
                });
                Ok(report)
            }
            Err(e) => {
                let failure = SyncFailure::from(&e);
                let wait = if failure.transient {
                    let wait = match &e {
                        SyncError::ServerBusy {
                            retry_after: Some(floor),
                            ..
                        } => self.backoff.next_delay_at_least(*floor),
                        _ => self.backoff.next_delay(),
                    };
                    self.publish(SyncPhase::Retrying {
                        failure: failure.clone(),
                        attempt: self.backoff.failures(),
                        retry_at: later(now, wait),
                    });
                    wait
                } else {
                    self.publish(SyncPhase::NeedsAttention {
                        failure: failure.clone(),
                        retry_at: later(now, interval),
                    });
                    interval
                };
                self.due = Some(Instant::now() + wait);
                Err(failure)
            }
        };
        for reply in self.waiters.drain(..) {
            let _ = reply.send(outcome.clone());
        }
        if std::mem::take(&mut self.again) {
            self.due = Some(Instant::now());
        }
    }

    /// The sync in flight was cancelled because the platform went offline.
    fn went_offline(&mut self) {
        self.due = None;
        self.again = false;
        let failure = SyncFailure::from(&SyncError::Offline);
        for reply in self.waiters.drain(..) {
            let _ = reply.send(Err(failure.clone()));
        }
        self.publish(SyncPhase::Offline);
    }
}

async fn run_loop(
    shared: Arc<Shared>,
    generation: u64,
    inbox: mpsc::UnboundedReceiver<Signal>,
    listener: SyncStateListener,
) {
    let _stopped = StopNotice {
        shared: shared.clone(),
        generation,
        listener: listener.clone(),
    };
    let mut inbox = inbox;
    let config = &shared.config;
    let online = shared.online();
    let mut this = Loop {
        backoff: Backoff::new(config.retry_base, config.retry_cap, config.jitter_seed),
        shared: shared.clone(),
        generation,
        listener,
        online,
        due: online.then(Instant::now),
        waiters: Vec::new(),
        again: false,
    };
    if !online {
        this.publish(SyncPhase::Offline);
    }
    loop {
        // Signals already waiting join this round: a burst costs one sync.
        while let Ok(signal) = inbox.try_recv() {
            this.between_syncs(signal);
        }
        if this.sync_due() {
            match this.attempt(&mut inbox).await {
                Attempt::Done(result) => this.finished(result),
                Attempt::WentOffline => this.went_offline(),
                Attempt::Closed => return,
            }
            continue;
        }
        let due = this.due.filter(|_| this.online);
        tokio::select! {
            _ = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {}
            signal = inbox.recv() => match signal {
                None => return,
                Some(signal) => this.between_syncs(signal),
            },
        }
    }
}
