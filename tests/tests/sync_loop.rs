//! The sync loop (`SyncService`) against a real server: it retries failures
//! with growing, jittered delays without waiting for a local write, syncs at
//! once when triggered, and stops when its handle is dropped.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::clock::Clock;
use doorstep_core::sync::{
    SyncClient, SyncConfig, SyncLoopConfig, SyncPhase, SyncService, SyncState, SyncStateListener,
};
use doorstep_e2e::{appliance_visit, Center, Phone};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

/// The states a loop published, each with when it was seen.
type Seen = Arc<Mutex<Vec<(SyncState, DateTime<Utc>)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_retries_with_backoff_until_the_server_is_back_then_syncs() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-1").await;
    let start = Utc::now() + Duration::days(2);
    let a = center.assignment("T-1", start).await;
    // The phone first points at a port where nothing listens.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let phone = Phone::new("T-1", &device, &token, &center.base, Utc::now());
    let events: Seen = Arc::default();
    let store = Arc::new(phone.store);
    let clock: Arc<dyn Clock> = Arc::new(doorstep_core::clock::SystemClock);
    let mut cfg = SyncConfig::new(format!("http://{dead}"), &token);
    cfg.timeout = StdDuration::from_secs(2);
    let service = SyncService::new(
        SyncClient::new(cfg).unwrap(),
        store.clone(),
        clock.clone(),
        loop_config(),
    );
    let handle = service.start(&tokio::runtime::Handle::current(), recorder(&events));
    // No local write happens, yet it keeps retrying.
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    let failures: Vec<StdDuration> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(e, seen_at)| match &e.phase {
            SyncPhase::Retrying {
                failure, retry_at, ..
            } if failure.transient => {
                assert_eq!(failure.code, "sync_network");
                // `retry_at` is the failure's time plus the wait; the state
                // was seen a moment after the failure.
                Some((*retry_at - *seen_at).to_std().unwrap_or_default())
            }
            _ => None,
        })
        .collect();
    assert!(failures.len() >= 3, "retried on its own: {failures:?}");
    assert!(
        failures.iter().all(|d| *d <= StdDuration::from_millis(200)),
        "capped: {failures:?}"
    );
    let status = store.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("sync_network"));
    assert!(status.consecutive_failures >= 3);
    drop(handle);

    // Pointed at the live server, a triggered loop syncs at once, well before its hour.
    let events: Seen = Arc::default();
    let service = SyncService::new(
        SyncClient::new(SyncConfig::new(&center.base, &token)).unwrap(),
        store.clone(),
        clock,
        loop_config(),
    );
    let handle = service.start(&tokio::runtime::Handle::current(), recorder(&events));
    let finished = |events: &Seen| {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| matches!(e.phase, SyncPhase::Synced { .. }))
            .count()
    };
    for _ in 0..100 {
        if finished(&events) == 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(finished(&events), 1);
    assert!(store.state(a.clone()).is_ok(), "the assignment arrived");
    let (at, cmd) = appliance_visit(start).remove(0);
    store
        .apply_command(a.clone(), &serde_json::from_value(cmd).unwrap(), at, None)
        .unwrap();
    service.sync_now();
    for _ in 0..100 {
        if finished(&events) == 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(finished(&events), 2, "sync_now skipped the hour's wait");
    assert_eq!(store.sync_status().unwrap().pending, 0);
    assert!(service.is_running());
    drop(handle);
}

/// Every state the loop publishes, kept in order with when it was seen.
fn recorder(events: &Seen) -> SyncStateListener {
    let seen = events.clone();
    Arc::new(move |s: &SyncState| seen.lock().unwrap().push((s.clone(), Utc::now())))
}

/// An hour between syncs; retries from 20 ms up to 200 ms.
fn loop_config() -> SyncLoopConfig {
    SyncLoopConfig {
        interval: StdDuration::from_secs(3600),
        retry_base: StdDuration::from_millis(20),
        retry_cap: StdDuration::from_millis(200),
        jitter_seed: 9,
    }
}
