//! The sync loop runs on its own timer: it retries failures with growing,
//! jittered delays without waiting for a local write, syncs at once when
//! triggered, and stops when its handle is dropped.

use chrono::{Duration, Utc};
use doorstep_core::clock::Clock;
use doorstep_core::sync::{Backoff, SyncClient, SyncConfig, SyncEvent, SyncLoop};
use doorstep_e2e::{appliance_visit, Center, Phone};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

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
    let events: Arc<Mutex<Vec<SyncEvent>>> = Arc::default();
    let seen = events.clone();
    let store = Arc::new(phone.store);
    let clock: Arc<dyn Clock> = Arc::new(doorstep_core::clock::SystemClock);
    let mut cfg = SyncConfig::new(format!("http://{dead}"), &token);
    cfg.timeout = StdDuration::from_secs(2);
    let handle = SyncLoop {
        client: SyncClient::new(cfg).unwrap(),
        store: store.clone(),
        clock: clock.clone(),
        interval: StdDuration::from_secs(3600),
        backoff: Backoff::new(
            StdDuration::from_millis(20),
            StdDuration::from_millis(200),
            9,
        ),
    }
    .spawn(&tokio::runtime::Handle::current(), move |e| {
        seen.lock().unwrap().push(e)
    });
    // No local write happens, yet it keeps retrying.
    tokio::time::sleep(StdDuration::from_millis(800)).await;
    let failures: Vec<StdDuration> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            SyncEvent::Failed {
                transient: true,
                retry_in,
                code,
                ..
            } => {
                assert_eq!(code, "sync_network");
                Some(*retry_in)
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
    let events: Arc<Mutex<Vec<SyncEvent>>> = Arc::default();
    let seen = events.clone();
    let handle = SyncLoop {
        client: SyncClient::new(SyncConfig::new(&center.base, &token)).unwrap(),
        store: store.clone(),
        clock,
        interval: StdDuration::from_secs(3600),
        backoff: Backoff::new(
            StdDuration::from_millis(20),
            StdDuration::from_millis(200),
            9,
        ),
    }
    .spawn(&tokio::runtime::Handle::current(), move |e| {
        seen.lock().unwrap().push(e)
    });
    let finished = |events: &Arc<Mutex<Vec<SyncEvent>>>| {
        events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, SyncEvent::Finished(_)))
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
    handle.sync_now();
    for _ in 0..100 {
        if finished(&events) == 2 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(finished(&events), 2, "sync_now skipped the hour's wait");
    assert_eq!(store.sync_status().unwrap().pending, 0);
    assert!(handle.is_running());
    drop(handle);
}
