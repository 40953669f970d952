//! Device ⇄ server sync scenarios (issue 5): real phones (device stores and
//! the sync client) against a real server on loopback.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::clock::Clock;
use doorstep_core::sync::{SyncConfig, SyncError};
use doorstep_core::workflow::Stage;
use doorstep_core::{AssignmentId, Outcome};
use doorstep_e2e::proxy::{FaultProxy, Faults};
use doorstep_e2e::{appliance_visit, Center, Phone, Steps};
use serde_json::json;

fn monday() -> DateTime<Utc> {
    // Windows in the future, so the server's own clock never finds them over.
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        + Duration::days(3)
}

async fn center_with_phone(tech: &str) -> (Center, Phone) {
    let center = Center::start().await;
    let (device, token) = center.technician(tech).await;
    let phone = Phone::new(tech, &device, &token, &center.base, Utc::now());
    (center, phone)
}

/// Runs a whole visit on the phone, offline.
fn work_visit(phone: &Phone, a: &AssignmentId, start: DateTime<Utc>) {
    for (at, cmd) in appliance_visit(start) {
        phone
            .apply(a, at, cmd.clone())
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_offline_then_one_sync_loses_nothing() {
    let (center, phone) = center_with_phone("T-1").await;
    let mut assignments = vec![];
    for day in 0..7 {
        for slot in 0..3 {
            let start = monday() + Duration::days(day) + Duration::hours(3 * slot);
            assignments.push((center.assignment("T-1", start).await, start));
        }
    }
    // Morning sync: the week's work arrives.
    let received_at = phone.clock.now();
    let first = phone.sync().await.unwrap();
    assert_eq!(first.changes, 21);
    // A download uploads no receipt events: the server derives each
    // assignment's receipt, with the phone's time, from the acknowledgement.
    assert_eq!(first.pushed, 0, "{first:?}");
    assert_eq!(center.uploaded_event_count(&phone.device).await, 0);
    for (a, _) in &assignments {
        let receipts = center.receipts(a).await;
        assert_eq!(receipts.len(), 1, "{a}: {receipts:?}");
        assert_eq!(receipts[0].device_id, phone.device);
        assert_eq!(receipts[0].received_at, received_at.timestamp_millis());
    }
    // A week with no network.
    for (a, start) in &assignments {
        work_visit(&phone, a, *start);
    }
    let ids: Vec<AssignmentId> = assignments.iter().map(|(a, _)| a.clone()).collect();
    let local = phone.event_ids(&ids);
    assert!(local.len() > 600, "hundreds of events: {}", local.len());
    assert_eq!(
        phone.store.sync_status().unwrap().pending as usize,
        local.len() - 21,
        "the receipts are in the phone's log but never in its outbox"
    );
    // Batches are sized by bytes (issue 16): the next one starts once the
    // one before holds the budget's worth of JSON, whatever its count.
    let budget = SyncConfig::new("http://center", "token").push_batch_bytes;
    let mut batches = 0u32;
    let mut filled = budget;
    for entry in phone.store.pending_outbox(usize::MAX).unwrap() {
        if filled >= budget {
            batches += 1;
            filled = 0;
        }
        filled += serde_json::to_string(&entry.event).unwrap().len();
    }
    // One sync.
    let report = phone.sync().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(report.push_requests, batches, "batches sized by bytes");
    assert_eq!(center.stored_event_ids(&phone.device).await, local);
    for a in &ids {
        let v = center.get(&format!("/api/visits?assignment_id={a}")).await;
        let rows = v.as_array().expect("a list of visits");
        assert_eq!(rows.len(), 1, "{v}");
        assert_eq!(rows[0]["assignment_id"], a.to_string());
        assert_eq!(rows[0]["outcome"], "fixed", "{v}");
        assert_eq!(rows[0]["signoff"], "verified", "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reassigned_while_the_first_technician_works_offline_keeps_both_and_shows_the_conflict() {
    let center = Center::start().await;
    let (d1, t1) = center.technician("T-1").await;
    let (d2, t2) = center.technician("T-2").await;
    let first = Phone::new("T-1", &d1, &t1, &center.base, Utc::now());
    let second = Phone::new("T-2", &d2, &t2, &center.base, Utc::now());
    let start = monday();
    let a = center.assignment("T-1", start).await;
    first.sync().await.unwrap();
    // Offline: the first technician sets off and works.
    for (at, cmd) in appliance_visit(start).into_iter().take(16) {
        first.apply(&a, at, cmd).unwrap();
    }
    // Meanwhile the center gives the job to someone else.
    center.reassign(&a, "T-2").await;
    let r = first.sync().await.unwrap();
    assert_eq!(r.pending, 0);
    // Nothing the first technician recorded is lost, on either side.
    assert_eq!(
        center.stored_event_ids(&d1).await,
        first.event_ids(std::slice::from_ref(&a))
    );
    let local = first.store.state(a.clone()).unwrap();
    assert!(local.conflict.is_some(), "the device shows the conflict");
    assert!(local.entered, "the device keeps its facts");
    let conflicts = center.get("/api/conflicts").await;
    assert!(conflicts.to_string().contains(a.as_str()), "{conflicts}");
    // The new technician receives it.
    let r2 = second.sync().await.unwrap();
    assert_eq!(r2.changes, 1);
    assert_eq!(second.store.state(a.clone()).unwrap().stage, Stage::Intake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_after_arrival_is_a_conflict_on_both_sides_and_nothing_is_lost() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    let a = center.assignment("T-1", start).await;
    phone.sync().await.unwrap();
    for (at, cmd) in appliance_visit(start).into_iter().take(12) {
        phone.apply(&a, at, cmd).unwrap();
    }
    assert_eq!(phone.store.state(a.clone()).unwrap().stage, Stage::AtDoor);
    center.cancel(&a).await;
    phone.sync().await.unwrap();
    let local = phone.store.state(a.clone()).unwrap();
    assert!(local.cancelled && local.conflict.is_some());
    assert!(local.arrival.is_some(), "the arrival is kept");
    // The technician may still finish; every fact reaches the server.
    for (at, cmd) in appliance_visit(start).into_iter().skip(12) {
        phone.apply(&a, at, cmd).unwrap();
    }
    phone.sync().await.unwrap();
    assert_eq!(
        phone.store.state(a.clone()).unwrap().outcome,
        Some(Outcome::Fixed)
    );
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(std::slice::from_ref(&a))
    );
    let conflicts = center.get("/api/conflicts").await;
    assert!(conflicts.to_string().contains(a.as_str()), "{conflicts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_retried_after_a_lost_response_is_stored_once() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    let a = center.assignment("T-1", start).await;
    phone.sync().await.unwrap();
    let stored_before = center.stored_event_ids(&phone.device).await.len() as u64;
    work_visit(&phone, &a, start);
    let pending = phone.store.sync_status().unwrap().pending;
    // Every response is lost: the server stores the batch, the phone never hears.
    let lossy = FaultProxy::start(
        center.addr(),
        Faults {
            drop_response: 1.0,
            ..Faults::none()
        },
        1,
    )
    .await
    .unwrap();
    let err = phone
        .sync_via(&format!("http://{}", lossy.addr))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(
        phone.store.sync_status().unwrap().pending,
        pending,
        "nothing leaves the outbox unacknowledged"
    );
    assert_eq!(
        center.stored_event_ids(&phone.device).await.len() as u64,
        stored_before + pending
    );
    // The retry: the server recognises every event.
    let report = phone.sync().await.unwrap();
    assert_eq!(report.pushed, 0);
    assert_eq!(report.duplicates, pending);
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(&[a])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_sync_ends_with_exactly_the_devices_events() {
    let (mut center, mut phone) = center_with_phone("T-1").await;
    let start = monday();
    let mut ids = vec![];
    for i in 0..4 {
        ids.push(
            center
                .assignment("T-1", start + Duration::hours(3 * i))
                .await,
        );
    }
    phone.sync().await.unwrap();
    for (i, a) in ids.iter().enumerate() {
        work_visit(&phone, a, start + Duration::hours(3 * i as i64));
    }
    // Sync in small batches over a slow link and kill the server as soon as
    // the first batch is stored: the restart lands mid-sync on every run
    // (no sleep decides which path the test takes), and the test checks it did.
    let total = phone.event_ids(&ids).len();
    let already = center.stored_event_ids(&phone.device).await.len();
    let slow = FaultProxy::start(
        center.addr(),
        Faults {
            delay: 1.0,
            max_delay: std::time::Duration::from_millis(40),
            ..Faults::none()
        },
        7,
    )
    .await
    .unwrap();
    let mut cfg =
        doorstep_core::sync::SyncConfig::new(format!("http://{}", slow.addr), &phone.token);
    cfg.push_batch = 5;
    let client = doorstep_core::sync::SyncClient::new(cfg).unwrap();
    let sync = client.sync(&phone.store, &phone.clock);
    let restart = async {
        let mut stored = already;
        for _ in 0..5000 {
            stored = center.stored_event_ids(&phone.device).await.len();
            if stored >= already + 5 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        center.restart().await;
        stored
    };
    let (interrupted, stored_at_restart) = tokio::join!(sync, restart);
    assert!(
        stored_at_restart > already && stored_at_restart < total,
        "the restart landed mid-sync: {stored_at_restart} of {total} events stored"
    );
    let e = interrupted.expect_err("the sync in flight when the server died fails");
    assert!(e.is_transient(), "a dying server is a network failure: {e}");
    phone.server = center.base.clone();
    let report = phone.sync().await.unwrap();
    assert_eq!(report.pending, 0);
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(&ids)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_hostile_network_the_server_ends_with_exactly_the_devices_events_in_order() {
    let rounds: usize = std::env::var("DOORSTEP_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let seed: u64 = std::env::var("DOORSTEP_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261125);
    let (center, phone) = center_with_phone("T-1").await;
    let proxy = FaultProxy::start(center.addr(), Faults::hostile(), seed)
        .await
        .unwrap();
    let via = format!("http://{}", proxy.addr);
    let start = monday();
    let mut visits: Vec<(AssignmentId, Steps)> = vec![];
    for i in 0..4 {
        let s = start + Duration::hours(3 * i);
        visits.push((center.assignment("T-1", s).await, appliance_visit(s)));
    }
    while phone.sync_via(&via).await.is_err() {}
    let ids: Vec<AssignmentId> = visits.iter().map(|(a, _)| a.clone()).collect();
    let (mut failures, mut successes) = (0, 0);
    for round in 0..rounds {
        // Some work, then a sync through the hostile network.
        for (a, steps) in visits.iter_mut() {
            for _ in 0..(round % 3 + 1) {
                if !steps.is_empty() {
                    let (at, cmd) = steps.remove(0);
                    phone.apply(a, at, cmd).unwrap();
                }
            }
        }
        match phone.sync_via(&via).await {
            Ok(_) => successes += 1,
            Err(e) => {
                assert!(
                    e.is_transient(),
                    "round {round}: only network faults are expected: {e}"
                );
                failures += 1;
            }
        }
    }
    // The network heals.
    let report = phone.sync().await.unwrap();
    assert_eq!(report.pending, 0);
    assert!(
        proxy.stats.faults() > 0 && failures > 0,
        "the proxy injected faults ({failures} failed syncs)"
    );
    assert!(successes > 0);
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(&ids),
        "exactly the device's events, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_clock_three_hours_off_reorders_and_loses_nothing() {
    for skew_hours in [3i64, -3] {
        let (center, phone) = center_with_phone("T-1").await;
        phone.clock.set(Utc::now() + Duration::hours(skew_hours));
        let start = monday();
        let a = center.assignment("T-1", start).await;
        phone.sync().await.unwrap();
        let status = phone.store.sync_status().unwrap();
        let offset = status.clock_offset_ms.unwrap();
        assert!(
            (offset + skew_hours * 3_600_000).abs() < 60_000,
            "the offset seen ({offset} ms) matches the skew ({skew_hours} h)"
        );
        // Work stamped by a skewed clock, then sync again.
        work_visit(&phone, &a, start);
        phone.sync().await.unwrap();
        let local = phone.event_ids(std::slice::from_ref(&a));
        assert_eq!(center.stored_event_ids(&phone.device).await, local);
        // The device's own timeline is strictly ordered.
        let history = phone.store.history(a.clone()).unwrap();
        assert!(history.windows(2).all(|w| w[0].hlc < w[1].hlc));
        // Later local stamps come after the server time the device observed.
        assert!(phone.store.device().unwrap().hlc.millis >= Utc::now().timestamp_millis() - 60_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_is_purged_only_after_the_server_acknowledged_the_visit() {
    let (center, phone) = center_with_phone("T-1").await;
    let start = monday();
    let done = center.assignment("T-1", start).await;
    let open = center.assignment("T-1", start + Duration::hours(4)).await;
    phone.sync().await.unwrap();
    work_visit(&phone, &done, start);
    for (at, cmd) in appliance_visit(start + Duration::hours(4))
        .into_iter()
        .take(3)
    {
        phone.apply(&open, at, cmd).unwrap();
    }
    let later = start + Duration::days(40);
    // Not yet synced: nothing is purged.
    let before = phone
        .store
        .purge_personal_data(later, Duration::days(30))
        .unwrap();
    assert_eq!(
        before.visits.len(),
        0,
        "unacknowledged facts are never purged"
    );
    phone.sync().await.unwrap();
    let after = phone
        .store
        .purge_personal_data(later, Duration::days(30))
        .unwrap();
    assert_eq!(after.visits.len(), 1, "only the closed, acknowledged visit");
    let purged = phone.store.state(done.clone()).unwrap();
    let customer = &purged.assignment.as_ref().unwrap().customer;
    assert!(customer.phone.is_none() && customer.address.is_none());
    assert!(
        purged.sign_off.is_some(),
        "the sign-off digest stays for history"
    );
    let kept = phone.store.state(open.clone()).unwrap();
    assert!(kept.assignment.as_ref().unwrap().customer.phone.is_some());
    // The server still has the whole report.
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(&[done, open])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_reported_in_words_and_keeps_the_outbox() {
    let (center, phone) = center_with_phone("T-1").await;
    let a = center.assignment("T-1", monday()).await;
    phone.sync().await.unwrap();
    phone
        .apply(
            &a,
            monday() - Duration::hours(2),
            json!({"type": "log_call", "outcome": "no_answer"}),
        )
        .unwrap();
    let bad = Phone::new("T-1", "phone-x", "not-a-token", &center.base, Utc::now());
    let e = bad.sync().await.unwrap_err();
    assert!(
        matches!(e, SyncError::Unauthorized { status: 401, .. }),
        "{e}"
    );
    assert!(!e.is_transient());
    assert!(e.message(doorstep_core::Lang::ZhCn).contains("服务中心"));
    let status = bad.store.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("sync_unauthorized"));
    assert_eq!(
        phone.store.sync_status().unwrap().pending,
        1,
        "the logged call waits for a good sync"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downloaded_assignment_is_received_on_both_sides_and_both_rebuild_the_same_visit() {
    let (center, phone) = center_with_phone("T-1").await;
    let a = center.assignment("T-1", monday()).await;
    let received_at = phone.clock.now();
    let report = phone.sync().await.unwrap();
    assert_eq!((report.changes, report.pushed), (1, 0), "{report:?}");
    // The phone's log records the receipt; the server derived the same fact.
    let local_history = phone.store.history(a.clone()).unwrap();
    assert_eq!(local_history.len(), 1);
    assert_eq!(
        center.stored_event_ids(&phone.device).await,
        phone.event_ids(std::slice::from_ref(&a))
    );
    let rows = center.get(&format!("/api/visits?assignment_id={a}")).await;
    let visit = rows[0]["visit_id"]
        .as_str()
        .expect("the visit is on the server");
    assert_eq!(visit, local_history[0].visit_id.to_string());
    let shown = center.get(&format!("/api/visits/{visit}")).await;
    let local = phone.store.state(a.clone()).unwrap();
    // The same visit, but for the customer's number: the center keeps it
    // whole, the phone receives it masked (issue 19, no privacy-number
    // provider here).
    let customer_phone = &shown["state"]["assignment"]["customer"]["phone"];
    assert_eq!(customer_phone, "138 0013 8000");
    let mut as_the_phone_has_it = shown["state"].clone();
    as_the_phone_has_it["assignment"]["customer"]["phone"] = serde_json::json!("138****8000");
    assert_eq!(as_the_phone_has_it, serde_json::to_value(&local).unwrap());
    let history = shown["history"].as_array().expect("the visit's history");
    assert_eq!(history.len(), 1, "{shown}");
    assert_eq!(
        history[0]["at"],
        serde_json::to_value(received_at).unwrap(),
        "received, with the phone's time"
    );
    // Syncing again neither uploads nor derives it twice.
    let again = phone.sync().await.unwrap();
    assert_eq!((again.changes, again.pushed), (0, 0));
    assert_eq!(center.receipts(&a).await.len(), 1);
}
