//! The device's one sync loop (`SyncService`), one behaviour per test, on
//! tokio's paused clock (no test sleeps: time jumps to the next timer) with
//! a scripted transport standing in for the server and a fixed wall clock.
#![cfg(feature = "sync")]

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{assignment, TempDir};
use doorstep_core::clock::{Clock, FixedClock};
use doorstep_core::protocol::{ChangeKind, PullResponse, PushRequest, PushResponse};
use doorstep_core::store::Store;
use doorstep_core::sync::{
    HttpRequest, HttpResponse, SyncClient, SyncConfig, SyncLoopConfig, SyncPhase, SyncService,
    SyncState, SyncStateListener, Transport, TransportFuture,
};
use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const INTERVAL: Duration = Duration::from_secs(15 * 60);
const BASE: Duration = Duration::from_secs(5);
const CAP: Duration = Duration::from_secs(60);

/// How the scripted server answers one request.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// Push: everything acknowledged; pull: an empty last page.
    Ok,
    /// No connection.
    Down,
    /// The device's token was revoked.
    Revoked,
    /// Never answers (a silent server).
    Hang,
    /// `Ok`, after a second.
    Slow,
    /// 503 `overloaded` with `Retry-After` of that many seconds.
    Busy(u64),
}

/// The server, scripted: each request takes the next answer (`Ok` once the
/// script is used up) and is timed on tokio's clock.
#[derive(Default)]
struct Scripted {
    script: Mutex<VecDeque<Answer>>,
    requests: Mutex<Vec<(String, Instant)>>,
    cancels: AtomicUsize,
}

impl Scripted {
    fn new(answers: &[Answer]) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(answers.iter().copied().collect()),
            ..Self::default()
        })
    }

    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn times(&self) -> Vec<Instant> {
        self.requests.lock().unwrap().iter().map(|r| r.1).collect()
    }

    fn cancels(&self) -> usize {
        self.cancels.load(Ordering::SeqCst)
    }
}

fn server_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn json(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap(),
    }
}

/// A pull page with no changes.
fn empty_page() -> PullResponse {
    common::empty_last_page(server_time())
}

/// The last sequence of a gzipped push (or exchange) request.
fn last_seq(body: &[u8]) -> u64 {
    let mut bytes = vec![];
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut bytes)
        .unwrap();
    let push: PushRequest = serde_json::from_slice(&bytes).unwrap();
    push.events.last().map(|e| e.seq).unwrap_or(0)
}

impl Transport for Scripted {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Answer::Ok);
        self.requests
            .lock()
            .unwrap()
            .push((request.url.clone(), Instant::now()));
        Box::pin(async move {
            let answer = match answer {
                Answer::Slow => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Answer::Ok
                }
                other => other,
            };
            match answer {
                Answer::Down => Err("connection refused".to_string()),
                Answer::Hang => std::future::pending().await,
                Answer::Revoked => Ok(json(
                    401,
                    serde_json::json!({"error": {"code": "unauthorized", "message": "revoked"}}),
                )),
                Answer::Busy(seconds) => {
                    let mut busy = json(
                        503,
                        serde_json::json!({"error": {"code": "overloaded", "message": "busy"}}),
                    );
                    busy.headers
                        .push(("Retry-After".into(), seconds.to_string()));
                    Ok(busy)
                }
                Answer::Ok | Answer::Slow if request.url.ends_with("/push") => {
                    let seq = last_seq(&request.body);
                    let ack = PushResponse {
                        protocol_version: 1,
                        acked_seq: seq,
                        applied: seq,
                        duplicates: 0,
                        refused: vec![],
                        server_time: server_time(),
                    };
                    Ok(json(200, serde_json::to_value(ack).unwrap()))
                }
                Answer::Ok | Answer::Slow if request.url.ends_with("/exchange") => {
                    // The last push batch with the pull: both answers.
                    let seq = last_seq(&request.body);
                    let both = serde_json::json!({
                        "push": PushResponse {
                            protocol_version: 1,
                            acked_seq: seq,
                            applied: seq,
                            duplicates: 0,
                            refused: vec![],
                            server_time: server_time(),
                        },
                        "pull": empty_page(),
                    });
                    Ok(json(200, both))
                }
                Answer::Ok | Answer::Slow => {
                    Ok(json(200, serde_json::to_value(empty_page()).unwrap()))
                }
            }
        })
    }

    fn cancel(&self) {
        self.cancels.fetch_add(1, Ordering::SeqCst);
    }
}

/// A phone: its store, the service over the scripted server, and the
/// states the loop publishes, in order.
struct Phone {
    _dir: TempDir,
    store: Arc<Store>,
    clock: Arc<FixedClock>,
    server: Arc<Scripted>,
    service: SyncService,
}

fn phone(answers: &[Answer]) -> Phone {
    let dir = TempDir::new("sync-service");
    let store = Arc::new(common::open(&dir.db()));
    let clock = Arc::new(FixedClock::new(server_time()));
    let server = Scripted::new(answers);
    let client = SyncClient::with_transport(
        SyncConfig::new("https://doorstep.example.com", "token"),
        server.clone(),
    );
    let config = SyncLoopConfig {
        interval: INTERVAL,
        retry_base: BASE,
        retry_cap: CAP,
        jitter_seed: 7,
    };
    let service = SyncService::new(client, store.clone(), clock.clone(), config);
    Phone {
        _dir: dir,
        store,
        clock,
        server,
        service,
    }
}

/// The states the loop publishes, read in order.
struct States(mpsc::UnboundedReceiver<SyncState>);

impl States {
    fn listener() -> (SyncStateListener, States) {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener: SyncStateListener = Arc::new(move |s: &SyncState| {
            let _ = tx.send(s.clone());
        });
        (listener, States(rx))
    }

    /// The next state whose phase matches; fails (rather than hangs) if
    /// none comes within a simulated day.
    async fn until(&mut self, what: &str, matches: impl Fn(&SyncPhase) -> bool) -> SyncState {
        let wait = async {
            loop {
                let state = self.0.recv().await.expect("the loop ended");
                if matches(&state.phase) {
                    return state;
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(24 * 3600), wait)
            .await
            .unwrap_or_else(|_| panic!("no {what} state within a day"))
    }

    /// Everything published so far.
    fn drain(&mut self) -> Vec<SyncPhase> {
        let mut seen = vec![];
        while let Ok(s) = self.0.try_recv() {
            seen.push(s.phase);
        }
        seen
    }
}

fn synced(p: &SyncPhase) -> bool {
    matches!(p, SyncPhase::Synced { .. })
}

fn syncing(p: &SyncPhase) -> bool {
    matches!(p, SyncPhase::Syncing { .. })
}

fn retrying(p: &SyncPhase) -> bool {
    matches!(p, SyncPhase::Retrying { .. })
}

/// Lets the loop run whatever is ready without moving the clock.
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn syncs_at_start_and_again_after_each_interval() {
    let p = phone(&[]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    let started = Instant::now();
    let first = states.until("synced", synced).await;
    let SyncPhase::Synced { next_sync_at, .. } = first.phase else {
        unreachable!()
    };
    assert_eq!(next_sync_at, p.clock.now() + chrono::Duration::minutes(15));
    assert_eq!(first.last_success_at, Some(p.clock.now()));
    states.until("synced", synced).await;
    states.until("synced", synced).await;
    let times = p.server.times();
    assert_eq!(times.len(), 3, "one pull per sync (nothing to push)");
    assert_eq!(times[0], started, "the first sync runs at start");
    assert_eq!(times[1] - times[0], INTERVAL);
    assert_eq!(times[2] - times[1], INTERVAL);
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_is_retried_on_its_own_timer_with_full_jitter_backoff() {
    let down = Answer::Down;
    let p = phone(&[down, down, down, down, down, down, Answer::Ok, down]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    let mut waits = vec![];
    for n in 1..=6u32 {
        let s = states.until("retrying", retrying).await;
        let SyncPhase::Retrying {
            failure,
            attempt,
            retry_at,
        } = s.phase
        else {
            unreachable!()
        };
        assert_eq!(attempt, n, "failure number {n} in a row");
        assert_eq!(failure.code, "sync_network");
        assert!(failure.transient);
        assert!(failure.zh.contains("自动上传"), "{}", failure.zh);
        waits.push((retry_at - p.clock.now()).to_std().unwrap());
    }
    states.until("synced", synced).await;
    // Full jitter: the n-th wait is anywhere in [0, min(cap, base * 2^n)].
    for (n, wait) in waits.iter().enumerate() {
        let ceiling = (BASE * 2u32.pow(n as u32)).min(CAP);
        assert!(*wait <= ceiling, "wait {n} was {wait:?} > {ceiling:?}");
    }
    let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
    assert!(distinct.len() > 3, "jittered, not constant: {waits:?}");
    // The loop retried on its own, exactly when it said it would; no local write was needed.
    let times = p.server.times();
    for (n, wait) in waits.iter().enumerate() {
        assert_eq!(times[n + 1] - times[n], *wait);
    }
    // A success starts the backoff again from the base.
    let s = states.until("retrying", retrying).await;
    let SyncPhase::Retrying {
        attempt, retry_at, ..
    } = s.phase
    else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    assert!((retry_at - p.clock.now()).to_std().unwrap() <= BASE);
    let status = p.store.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("sync_network"));
}

#[tokio::test(start_paused = true)]
async fn a_busy_server_s_retry_after_is_waited_out_before_the_next_attempt() {
    // The first retry's backoff ceiling is 5 s; the server asks for 120 s.
    let p = phone(&[Answer::Busy(120), Answer::Busy(2)]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    let s = states.until("retrying", retrying).await;
    let SyncPhase::Retrying {
        failure, retry_at, ..
    } = s.phase
    else {
        unreachable!()
    };
    assert_eq!(failure.code, "sync_server_busy");
    let wait = (retry_at - p.clock.now()).to_std().unwrap();
    assert!(
        (Duration::from_secs(120)..=Duration::from_secs(150)).contains(&wait),
        "{wait:?}"
    );
    states.until("retrying", retrying).await;
    states.until("synced", synced).await;
    let times = p.server.times();
    assert_eq!(times[1] - times[0], wait, "the retry came when announced");
    assert!(times[2] - times[1] >= Duration::from_secs(2));
}

#[tokio::test(start_paused = true)]
async fn a_revoked_token_needs_attention_in_chinese_and_is_tried_again_only_at_the_interval() {
    let p = phone(&[Answer::Revoked, Answer::Revoked]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    let s = states
        .until("needs attention", |p| {
            matches!(p, SyncPhase::NeedsAttention { .. })
        })
        .await;
    let SyncPhase::NeedsAttention { failure, retry_at } = s.phase else {
        unreachable!()
    };
    assert_eq!(failure.code, "sync_unauthorized");
    assert!(!failure.transient);
    assert!(failure.zh.contains("重新登记"), "{}", failure.zh);
    assert!(failure.en.contains("enrol it again"), "{}", failure.en);
    assert_eq!(retry_at, p.clock.now() + chrono::Duration::minutes(15));
    tokio::time::sleep(INTERVAL - Duration::from_secs(1)).await;
    assert_eq!(p.server.count(), 1, "no quick retries for a revoked token");
    states
        .until("needs attention", |p| {
            matches!(p, SyncPhase::NeedsAttention { .. })
        })
        .await;
    let times = p.server.times();
    assert_eq!(times[1] - times[0], INTERVAL);
    assert_eq!(
        p.store.sync_status().unwrap().last_error_code.as_deref(),
        Some("sync_unauthorized")
    );
}

#[tokio::test(start_paused = true)]
async fn sync_now_and_the_foreground_skip_the_remaining_wait() {
    let p = phone(&[]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("synced", synced).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    p.service.sync_now();
    states.until("synced", synced).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    p.service.app_foregrounded();
    states.until("synced", synced).await;
    let times = p.server.times();
    assert_eq!(times[1] - times[0], Duration::from_secs(60));
    assert_eq!(times[2] - times[1], Duration::from_secs(60));
    // The periodic wait starts again from the last sync.
    states.until("synced", synced).await;
    assert_eq!(p.server.times()[3] - times[2], INTERVAL);
}

#[tokio::test(start_paused = true)]
async fn sync_now_skips_a_retry_wait_too() {
    let p = phone(&[Answer::Down]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("retrying", retrying).await;
    p.service.sync_now();
    states.until("synced", synced).await;
    let times = p.server.times();
    assert_eq!(times[1], times[0], "no wait for the backoff");
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_signals_costs_one_sync() {
    let p = phone(&[]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("synced", synced).await;
    for _ in 0..5 {
        p.service.sync_now();
    }
    p.service.app_foregrounded();
    p.service.set_online(true);
    states.until("synced", synced).await;
    settle().await;
    assert_eq!(p.server.count(), 2, "the burst cost one sync");
    tokio::time::sleep(INTERVAL - Duration::from_secs(1)).await;
    assert_eq!(p.server.count(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_request_during_a_sync_runs_one_more_right_after_it() {
    let p = phone(&[]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("syncing", syncing).await;
    // Recorded while the first sync runs: those records need another.
    p.service.sync_now();
    p.service.sync_now();
    states.until("synced", synced).await;
    states.until("synced", synced).await;
    let times = p.server.times();
    assert_eq!(times.len(), 2);
    assert_eq!(times[1], times[0], "at once, not after the interval");
    tokio::time::sleep(INTERVAL - Duration::from_secs(1)).await;
    assert_eq!(p.server.count(), 2, "two requests, two syncs, no more");
}

#[tokio::test(start_paused = true)]
async fn going_offline_cancels_the_sync_in_flight_and_nothing_runs_until_back_online() {
    let p = phone(&[Answer::Hang]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("syncing", syncing).await;
    settle().await;
    assert_eq!(p.server.count(), 1, "the sync waits on a silent server");
    p.service.set_online(false);
    states
        .until("offline", |p| matches!(p, SyncPhase::Offline))
        .await;
    assert_eq!(p.server.cancels(), 1, "the transport was told to abort");
    let status = p.store.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("sync_cancelled"));
    // Offline: no timer, and "sync now" tries nothing (it refreshes the badge).
    p.service.sync_now();
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    assert_eq!(p.server.count(), 1, "nothing is tried while offline");
    assert!(states
        .drain()
        .iter()
        .all(|p| matches!(p, SyncPhase::Offline)));
    p.service.set_online(true);
    states.until("synced", synced).await;
    assert_eq!(p.server.count(), 2, "back online: synced at once");
}

#[tokio::test(start_paused = true)]
async fn started_offline_it_waits_for_the_connection() {
    let p = phone(&[]);
    p.service.set_online(false);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states
        .until("offline", |p| matches!(p, SyncPhase::Offline))
        .await;
    tokio::time::sleep(INTERVAL * 4).await;
    assert_eq!(p.server.count(), 0);
    p.service.set_online(true);
    states.until("synced", synced).await;
    assert_eq!(p.server.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_background_wake_runs_one_sync_and_returns_its_outcome() {
    // No loop running (the process was woken for it): the sync runs here.
    let p = phone(&[Answer::Down]);
    let failed = p.service.background_wake().await.unwrap_err();
    assert_eq!(
        (failed.code.as_str(), failed.transient),
        ("sync_network", true)
    );
    let report = p.service.background_wake().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(p.server.count(), 2);
    assert!(!p.service.is_running());

    // Offline, nothing is tried.
    p.service.set_online(false);
    let offline = p.service.background_wake().await.unwrap_err();
    assert_eq!(offline.code, "sync_offline");
    assert!(offline.zh.contains("离线"), "{}", offline.zh);
    assert_eq!(p.server.count(), 2);

    // With the loop running, the loop runs it and the state follows.
    p.service.set_online(true);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("synced", synced).await;
    let report = p.service.background_wake().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(p.server.count(), 4);
    assert!(matches!(p.service.state().phase, SyncPhase::Synced { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_wake_during_a_sync_joins_it() {
    let p = phone(&[Answer::Slow]);
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("syncing", syncing).await;
    settle().await;
    assert_eq!(p.server.count(), 1, "the sync is waiting for its answer");
    let report = p.service.background_wake().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(p.server.count(), 1, "one sync served both");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_handle_stops_the_loop_and_cancels_the_sync_in_flight() {
    let p = phone(&[Answer::Hang]);
    let (listener, mut states) = States::listener();
    let handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("syncing", syncing).await;
    settle().await;
    assert!(p.service.is_running());
    drop(handle);
    states
        .until("stopped", |p| matches!(p, SyncPhase::Stopped))
        .await;
    assert_eq!(p.server.cancels(), 1);
    assert!(!p.service.is_running());
    assert_eq!(p.service.state().phase, SyncPhase::Stopped);
    assert_eq!(
        p.store.sync_status().unwrap().last_error_code.as_deref(),
        Some("sync_cancelled")
    );
    p.service.sync_now();
    tokio::time::sleep(INTERVAL * 2).await;
    assert_eq!(p.server.count(), 1, "a stopped loop syncs no more");
}

#[tokio::test(start_paused = true)]
async fn cancel_on_the_handle_stops_the_loop() {
    let p = phone(&[]);
    let (listener, mut states) = States::listener();
    let handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    states.until("synced", synced).await;
    handle.cancel();
    states
        .until("stopped", |p| matches!(p, SyncPhase::Stopped))
        .await;
    assert!(handle.is_finished());
    assert_eq!(p.server.cancels(), 0, "nothing was in flight");
    tokio::time::sleep(INTERVAL * 2).await;
    assert_eq!(p.server.count(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_state_carries_progress_the_waiting_count_and_the_last_success() {
    let p = phone(&[Answer::Down]);
    p.store
        .receive_assignment(
            &ChangeKind::Assignment {
                assignment: Box::new(assignment("A-1", server_time())),
            },
            server_time(),
        )
        .unwrap();
    let (listener, mut states) = States::listener();
    let _handle = p
        .service
        .start(&tokio::runtime::Handle::current(), listener);
    let failed = states.until("retrying", retrying).await;
    assert_eq!(failed.pending, 1, "the received fact waits");
    assert_eq!(failed.last_success_at, None);
    let uploading = states
        .until(
            "uploading progress",
            |p| matches!(p, SyncPhase::Syncing { progress: Some(g) } if g.uploaded == 1),
        )
        .await;
    assert_eq!(uploading.pending, 0);
    let done = states.until("synced", synced).await;
    assert_eq!(done.pending, 0);
    assert_eq!(done.last_success_at, Some(p.clock.now()));
    let SyncPhase::Synced { report, .. } = done.phase else {
        unreachable!()
    };
    assert_eq!(report.pushed, 1);
}

#[tokio::test(start_paused = true)]
async fn a_newer_start_replaces_the_running_loop() {
    let p = phone(&[]);
    let (first, mut old) = States::listener();
    let _old = p.service.start(&tokio::runtime::Handle::current(), first);
    old.until("synced", synced).await;
    let (second, mut new) = States::listener();
    let _new = p.service.start(&tokio::runtime::Handle::current(), second);
    old.until("stopped", |p| matches!(p, SyncPhase::Stopped))
        .await;
    new.until("synced", synced).await;
    assert!(p.service.is_running());
    assert!(matches!(p.service.state().phase, SyncPhase::Synced { .. }));
    tokio::time::sleep(INTERVAL + Duration::from_secs(1)).await;
    assert_eq!(
        p.server.count(),
        3,
        "one loop left, syncing on its own timer"
    );
}
