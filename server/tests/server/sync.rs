//! The device protocol: pull, push, exactly-once, refusals, authority.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::protocol::PageReceipt;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Playbook, VisitState};
use doorstep_server::app::Config;
use doorstep_server::domain::receipts;
use doorstep_server::http::error::ApiError;
use serde_json::json;

both_backends!(
    pull_changes_paged,
    same_batch_twice_and_out_of_order,
    a_reused_device_sequence_is_refused_not_taken_for_a_retry,
    refused_events_are_acknowledged,
    cancel_after_start_is_a_conflict,
    reassign_after_start_keeps_both,
    clock_offset_is_recorded,
    an_acknowledged_page_derives_each_receipt_once_and_only_of_the_technicians_own_work,
    a_pulls_receipts_are_derived_after_its_answer,
    a_downloads_receipts_wait_for_its_end_or_for_it_to_pause,
    a_pulls_receipts_are_derived_in_short_steps_oldest_acknowledgement_first,
    a_push_derives_the_receipts_its_devices_pulls_left_held_first,
    receipts_left_held_at_a_stop_are_derived_when_the_server_starts,
    an_exchange_pushes_then_pulls_in_one_round_trip,
    an_exchanges_acknowledgement_is_derived_in_its_answer_after_those_held,
    a_batch_that_overtakes_the_one_ahead_of_it_waits_for_it
);

fn pb(trade: &str) -> Playbook {
    Playbook::shipped_by_id(trade).unwrap()
}

async fn pull(s: &Srv, token: &str, dev: &str, cursor: u64, limit: u32) -> serde_json::Value {
    let (st, body) = s
        .post(
            "/api/sync/pull",
            token,
            json!({"protocol_version": 1, "device_id": dev, "cursor": cursor, "limit": limit}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    body
}

async fn pull_changes_paged(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    let (d2, t2) = s.technician("T-2", &["appliance_repair"]).await;
    let a: Vec<_> = futures_lite(&s, 3).await;
    s.assignment("appliance_repair", None).await; // unassigned: nobody's
                                                  // Page 1 of 2.
    let p1 = pull(&s, &t1, &d1, 0, 2).await;
    assert_eq!(p1["changes"].as_array().unwrap().len(), 2);
    assert_eq!(p1["more"], true);
    assert_eq!(p1["changes"][0]["type"], "assignment");
    assert_eq!(p1["changes"][0]["assignment"]["technician"], "T-1");
    let p2 = pull(&s, &t1, &d1, p1["next_cursor"].as_u64().unwrap(), 2).await;
    assert_eq!(p2["changes"].as_array().unwrap().len(), 1);
    assert_eq!(p2["more"], false);
    let cursor = p2["next_cursor"].as_u64().unwrap();
    assert!(cursor > p1["next_cursor"].as_u64().unwrap());
    // Nothing new: same cursor, no changes.
    let p3 = pull(&s, &t1, &d1, cursor, 2).await;
    assert_eq!(
        (
            p3["changes"].as_array().unwrap().len(),
            p3["next_cursor"].as_u64()
        ),
        (0, Some(cursor))
    );
    // The other technician sees none of it.
    assert_eq!(
        pull(&s, &t2, &d2, 0, 50).await["changes"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Reassign: the old holder is told, the new one receives it.
    let id = a[0]["id"].as_str().unwrap();
    s.post(
        &format!("/api/assignments/{id}/reassign"),
        &s.dispatcher,
        json!({"technician": "T-2"}),
    )
    .await;
    let p4 = pull(&s, &t1, &d1, cursor, 10).await;
    assert_eq!(p4["changes"][0]["type"], "reassigned");
    assert_eq!(p4["changes"][0]["to"], "T-2");
    let p5 = pull(&s, &t2, &d2, 0, 10).await;
    assert_eq!(p5["changes"][0]["assignment"]["id"], id);
    assert_eq!(p5["changes"][0]["assignment"]["version"], 3);
    // Cancel reaches the current holder.
    s.post(
        &format!("/api/assignments/{id}/cancel"),
        &s.dispatcher,
        json!({"reason": "duplicate order"}),
    )
    .await;
    let p6 = pull(&s, &t2, &d2, p5["next_cursor"].as_u64().unwrap(), 10).await;
    assert_eq!(p6["changes"][0]["type"], "cancelled");
    assert_eq!(p6["changes"][0]["version"], 4);
    // The page turns into the device's commands.
    let change: doorstep_core::protocol::AssignmentChange =
        serde_json::from_value(p6["changes"][0].clone()).unwrap();
    assert!(matches!(
        change.to_command(),
        Some(doorstep_core::VisitCommand::CancelAssignment { version: 4, .. })
    ));
    // A device may only pull as itself.
    let (st, _) = s
        .post(
            "/api/sync/pull",
            &t1,
            json!({"protocol_version": 1, "device_id": d2}),
        )
        .await;
    assert_eq!(st, 403);
}

async fn futures_lite(s: &Srv, n: usize) -> Vec<serde_json::Value> {
    let mut out = vec![];
    for _ in 0..n {
        out.push(s.assignment("appliance_repair", Some("T-1")).await);
    }
    out
}

/// The acceptance test: the same batch twice, and batches out of order, end
/// with exactly the right events.
/// A fresh install reusing a device id restarts its sequence at 1: those are
/// new facts, not a retry, and must not be acknowledged as duplicates.
async fn a_reused_device_sequence_is_refused_not_taken_for_a_retry(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let mut chain = None;
    let ratings = Ratings {
        quality: 5,
        attitude: 5,
    };
    let mut old_install = Walkthrough::new(&pb("appliance_repair"), &a, &device(&dev), Utc::now());
    old_install.completed(None, ratings, &mut chain);
    let (st, r) = s
        .push(&token, &dev, &numbered(&old_install.events[..4], 1))
        .await;
    assert_eq!(st, 200, "{r}");
    let mut new_install = Walkthrough::new(&pb("appliance_repair"), &a, &device(&dev), Utc::now());
    new_install.completed(None, ratings, &mut None);
    let (st, r) = s
        .push(&token, &dev, &numbered(&new_install.events[..6], 1))
        .await;
    assert_eq!(st, 409, "{r}");
    assert_eq!(r["error"]["code"], "device_sequence_reused");
    assert_eq!(
        s.stored_events(&dev).await,
        4,
        "nothing of the refused push is stored"
    );
    // The genuine retry of the old install still passes as duplicates.
    let (st, r) = s
        .push(&token, &dev, &numbered(&old_install.events[..4], 1))
        .await;
    assert_eq!((st, r["duplicates"].as_u64()), (200, Some(4)), "{r}");
}

/// Technician T-1 with an enrolled device (its id and token) and a visit
/// it completed on that device.
async fn a_completed_visit(s: &Srv) -> (String, String, Walkthrough) {
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let mut chain = None;
    let mut v = Walkthrough::new(&pb("appliance_repair"), &a, &device(&dev), Utc::now());
    v.completed(
        None,
        Ratings {
            quality: 5,
            attitude: 5,
        },
        &mut chain,
    );
    (dev, token, v)
}

async fn same_batch_twice_and_out_of_order(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token, v) = a_completed_visit(&s).await;
    let all = numbered(&v.events, 1);
    let n = all.len() as u64;
    assert!(n >= 12, "a full visit has many events ({n})");
    let (first, rest) = all.split_at(5);
    let (middle, last) = rest.split_at(3);

    // First batch, then the very same batch again (a lost acknowledgement).
    let (st, r) = s.push(&token, &dev, first).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (
            r["acked_seq"].as_u64(),
            r["applied"].as_u64(),
            r["duplicates"].as_u64()
        ),
        (Some(5), Some(5), Some(0))
    );
    let (st, r) = s.push(&token, &dev, first).await;
    assert_eq!(st, 200);
    assert_eq!(
        (
            r["acked_seq"].as_u64(),
            r["applied"].as_u64(),
            r["duplicates"].as_u64()
        ),
        (Some(5), Some(0), Some(5))
    );
    assert_eq!(s.stored_events(&dev).await, 5);

    // The last batch before the middle one: a gap, refused whole.
    let (st, r) = s.push(&token, &dev, last).await;
    assert_eq!(st, 409, "{r}");
    assert_eq!(r["error"]["code"], "sequence_gap");
    assert_eq!(r["error"]["expected_seq"], 6);
    assert_eq!(s.stored_events(&dev).await, 5);

    // The middle batch, overlapping what is stored (4..8): only 6..8 apply.
    let overlap: Vec<_> = all[3..8].to_vec();
    let (st, r) = s.push(&token, &dev, &overlap).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (
            r["acked_seq"].as_u64(),
            r["applied"].as_u64(),
            r["duplicates"].as_u64()
        ),
        (Some(8), Some(3), Some(2))
    );
    assert_eq!(middle.last().unwrap().0, 8);

    // Now the last batch applies; and again, a no-op.
    let (st, r) = s.push(&token, &dev, last).await;
    assert_eq!((st, r["acked_seq"].as_u64()), (200, Some(n)), "{r}");
    let (_, r) = s.push(&token, &dev, &all).await;
    assert_eq!(
        (
            r["acked_seq"].as_u64(),
            r["applied"].as_u64(),
            r["duplicates"].as_u64()
        ),
        (Some(n), Some(0), Some(n))
    );

    // Exactly the right events: all of them, once, and the same state as the device.
    assert_eq!(s.stored_events(&dev).await, n as i64);
    let visit = v.visit.to_string();
    // Read by the desk: the device's own reads carry the masked number.
    let (st, got) = s.get(&format!("/api/visits/{visit}"), &s.dispatcher).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["visit"]["event_count"], n);
    let server_state: VisitState = serde_json::from_value(got["state"].clone()).unwrap();
    assert_eq!(server_state, v.state);
    assert_eq!(got["visit"]["outcome"], "fixed");
    assert_eq!(got["visit"]["signoff"], "verified");
    // The server's own store agrees event by event.
    let ids: Vec<String> = {
        let visit = visit.clone();
        s.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let rows = tx
                        .query(
                            "SELECT event_id FROM events WHERE visit_id = $1 ORDER BY seq",
                            &[visit.into()],
                        )
                        .await?;
                    Ok::<_, ApiError>(rows.iter().map(|r| r.text(0)).collect())
                })
            })
            .await
            .unwrap()
    };
    let expected: Vec<String> = v.events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, expected);
}

async fn refused_events_are_acknowledged(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    s.technician("T-2", &["appliance_repair"]).await;
    let mine = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let theirs = assignment(&s.assignment("appliance_repair", Some("T-2")).await);
    let p = pb("appliance_repair");
    let now = Utc::now();
    let ok = Walkthrough::new(&p, &mine, &device(&dev), now);
    let foreign = Walkthrough::new(&p, &theirs, &device(&dev), now);
    let mut ghost_a = mine.clone();
    ghost_a.id = doorstep_core::AssignmentId::new("A-ghost").unwrap();
    let ghost = Walkthrough::new(&p, &ghost_a, &device(&dev), now);
    let batch = vec![
        (1, ok.events[0].clone()),
        (2, foreign.events[0].clone()),
        (3, ghost.events[0].clone()),
        // The same event again under a new sequence number.
        (4, ok.events[0].clone()),
    ];
    let (st, r) = s.push(&token, &dev, &batch).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (Some(4), Some(1))
    );
    let refused = r["refused"].as_array().unwrap();
    let codes: Vec<_> = refused
        .iter()
        .map(|x| (x["seq"].as_u64().unwrap(), x["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (2, "not_your_assignment"),
            (3, "unknown_assignment"),
            (4, "duplicate_event_id")
        ]
    );
    assert!(refused[0]["reason"]
        .as_str()
        .unwrap()
        .contains("never assigned to technician T-1"));
    // The queue is not blocked: the next event applies.
    let mut ok = ok;
    ok.go(None);
    let (st, r) = s.push(&token, &dev, &[(5, ok.events[1].clone())]).await;
    assert_eq!(
        (st, r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (200, Some(5), Some(1))
    );
    assert_eq!(s.stored_events(&dev).await, 2);
    // An event a push before stored, sent again under a new sequence
    // number: refused, acknowledged.
    let again = [(6, ok.events[0].clone())];
    let (st, r) = s.push(&token, &dev, &again).await;
    assert_eq!(
        (st, r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (200, Some(6), Some(0)),
        "{r}"
    );
    assert_eq!(r["refused"][0]["code"], "duplicate_event_id");
    assert_eq!(s.stored_events(&dev).await, 2);
    // A technician cannot read another's visit.
    let (_, t2) = (0, s.login("desk").await);
    let (st, _) = s.get(&format!("/api/visits/{}", ok.visit), &t2).await;
    assert_eq!(st, 200, "a dispatcher reads every visit");
    let (_, other_token) = s.technician("T-3", &["appliance_repair"]).await;
    assert_eq!(
        s.get(&format!("/api/visits/{}", ok.visit), &other_token)
            .await
            .0,
        403
    );
    assert_eq!(
        s.get("/api/visits", &other_token)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn cancel_after_start_is_a_conflict(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let view = s.assignment("appliance_repair", Some("T-1")).await;
    let id = view["id"].as_str().unwrap().to_string();
    let a = assignment(&view);
    let mut v = Walkthrough::new(&pb("appliance_repair"), &a, &device(&dev), Utc::now());
    v.go(None);
    let (st, _) = s.push(&token, &dev, &numbered(&v.events, 1)).await;
    assert_eq!(st, 200);
    assert_eq!(
        s.get("/api/conflicts", &s.dispatcher)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The center cancels while the technician is inside.
    s.post(
        &format!("/api/assignments/{id}/cancel"),
        &s.dispatcher,
        json!({"reason": "customer called to cancel"}),
    )
    .await;
    let (_, conflicts) = s.get("/api/conflicts", &s.dispatcher).await;
    assert_eq!(conflicts.as_array().unwrap().len(), 1, "{conflicts}");
    assert_eq!(conflicts[0]["conflict"], "cancelled_after_start");
    // The device, not yet aware, keeps recording: never dropped.
    let before = v.events.len();
    v.repair();
    let more = numbered(&v.events[before..], before as u64 + 1);
    let (st, r) = s.push(&token, &dev, &more).await;
    assert_eq!(
        (st, r["refused"].as_array().unwrap().len()),
        (200, 0),
        "{r}"
    );
    assert_eq!(s.stored_events(&dev).await, v.events.len() as i64);
    // A dispatcher decides: the cancel stands.
    let visit = conflicts[0]["visit_id"].as_str().unwrap();
    let (st, r) = s
        .post(
            &format!("/api/visits/{visit}/resolve"),
            &s.dispatcher,
            json!({"decision": "keep_center", "note": "customer confirmed"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["conflict_open"], false);
    assert_eq!(r["resolution"], "keep_center: customer confirmed");
    assert_eq!(
        s.get("/api/conflicts", &s.dispatcher)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (st, r) = s
        .post(
            &format!("/api/visits/{visit}/resolve"),
            &s.dispatcher,
            json!({"decision": "keep_center"}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (409, Some("no_conflict"))
    );
    // Technicians cannot resolve.
    assert_eq!(
        s.post(
            &format!("/api/visits/{visit}/resolve"),
            &token,
            json!({"decision": "keep_center"})
        )
        .await
        .0,
        403
    );
}

async fn reassign_after_start_keeps_both(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["heating_service"]).await;
    let (d2, t2) = s.technician("T-2", &["heating_service"]).await;
    let view = s.assignment("heating_service", Some("T-1")).await;
    let id = view["id"].as_str().unwrap().to_string();
    let mut v = Walkthrough::new(
        &pb("heating_service"),
        &assignment(&view),
        &device(&d1),
        Utc::now(),
    );
    v.go(Some(5));
    s.push(&t1, &d1, &numbered(&v.events, 1)).await;
    s.post(
        &format!("/api/assignments/{id}/reassign"),
        &s.dispatcher,
        json!({"technician": "T-2"}),
    )
    .await;
    let (_, conflicts) = s.get("/api/conflicts", &s.dispatcher).await;
    assert_eq!(
        conflicts[0]["conflict"], "reassigned_after_start",
        "{conflicts}"
    );
    // The first technician's later facts still count (it held the assignment).
    let n = v.events.len();
    v.repair();
    let (_, r) = s
        .push(&t1, &d1, &numbered(&v.events[n..], n as u64 + 1))
        .await;
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    // The dispatcher gives it back to the technician who started.
    let visit = conflicts[0]["visit_id"].as_str().unwrap();
    let (st, r) = s
        .post(
            &format!("/api/visits/{visit}/resolve"),
            &s.dispatcher,
            json!({"decision": "reinstate_technician"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let (_, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    assert_eq!(
        (a["technician"].as_str(), a["version"].as_u64()),
        (Some("T-1"), Some(4))
    );
    // Both devices hear about it.
    let p2 = pull(&s, &t2, &d2, 0, 10).await;
    let kinds: Vec<_> = p2["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, vec!["assignment", "reassigned"]);
    assert_eq!(
        s.get("/api/conflicts", &s.dispatcher)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

async fn clock_offset_is_recorded(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    // The phone's clock is 10 minutes behind.
    let sent_at = Utc::now() - chrono::Duration::minutes(10);
    let (st, _) = s
        .post(
            "/api/sync/push",
            &token,
            json!({"protocol_version": 1, "device_id": dev, "sent_at": sent_at, "events": []}),
        )
        .await;
    assert_eq!(st, 200);
    let dev2 = dev.clone();
    let (offset, syncs) = s
        .state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let r = tx.query_opt("SELECT clock_offset_ms FROM devices WHERE id = $1", &[dev2.clone().into()]).await?;
                let n = tx.query_opt("SELECT COUNT(*) FROM device_syncs WHERE device_id = $1 AND received_at > 0", &[dev2.into()]).await?;
                Ok::<_, ApiError>((r.unwrap().int(0), n.unwrap().int(0)))
            })
        })
        .await
        .unwrap();
    assert!((595_000..=620_000).contains(&offset), "offset {offset} ms");
    assert_eq!(syncs, 1);
}

/// Issue 16: receipts derived from the pull's acknowledgement.
async fn an_acknowledged_page_derives_each_receipt_once_and_only_of_the_technicians_own_work(
    b: Backend,
) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    s.technician("T-2", &["appliance_repair"]).await;
    let mine = futures_lite(&s, 2).await;
    s.assignment("appliance_repair", Some("T-2")).await; // in the range, not T-1's
    let page = pull(&s, &t1, &d1, 0, 10).await;
    let seqs: Vec<u64> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 2);
    let cursor = page["next_cursor"].as_u64().unwrap();
    let applied_at = Utc::now();
    let ack = json!({"after": 0, "cursor": cursor + 10, "applied_at": applied_at,
                     "hlc": {"millis": applied_at.timestamp_millis(), "counter": 0},
                     "receipts": [[seqs[0], cursor + 10]]});
    let body = json!({"protocol_version": 1, "device_id": d1, "cursor": cursor, "received": [ack]});
    for _ in 0..2 {
        let (st, r) = s.post("/api/sync/pull", &t1, body.clone()).await;
        assert_eq!(st, 200, "{r}");
    }
    // Derived after the answers.
    s.state.after_answer.idle().await;
    let (st, visits) = s.get("/api/visits", &s.dispatcher).await;
    assert_eq!(st, 200);
    let visits = visits.as_array().unwrap();
    assert_eq!(
        visits.len(),
        2,
        "one visit per own assignment, once: {visits:?}"
    );
    for a in &mine {
        let id = a["id"].as_str().unwrap();
        let v = visits
            .iter()
            .find(|v| v["assignment_id"] == id)
            .expect("its visit");
        assert_eq!(v["device_id"], d1);
        let (_, shown) = s
            .get(
                &format!("/api/visits/{}", v["visit_id"].as_str().unwrap()),
                &s.dispatcher,
            )
            .await;
        let history = shown["history"].as_array().unwrap();
        assert_eq!(history.len(), 1, "{shown}");
        assert_eq!(history[0]["at"], json!(applied_at));
    }
    // A malformed acknowledgement is refused whole, naming the field.
    let bad = json!({"protocol_version": 1, "device_id": d1, "cursor": cursor,
                     "received": [{"after": 0, "cursor": 3, "applied_at": applied_at,
                                   "hlc": {"millis": 1, "counter": 0}, "receipts": [[2, 9]]}]});
    let (st, r) = s.post("/api/sync/pull", &t1, bad).await;
    assert_eq!(st, 400, "{r}");
    assert_eq!(r["error"]["field"], "received[0].receipts[0]", "{r}");
}

/// The acknowledgement of a pulled page whose changes all became receipts
/// (the pull's `received`).
fn every_change_received(page: &serde_json::Value) -> Vec<PageReceipt> {
    let applied_at = Utc::now();
    let ranges: Vec<[u64; 2]> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .map(|seq| [seq, seq])
        .collect();
    serde_json::from_value(json!([{
        "after": 0, "cursor": page["next_cursor"], "applied_at": applied_at,
        "hlc": {"millis": applied_at.timestamp_millis(), "counter": 0},
        "receipts": ranges,
    }]))
    .unwrap()
}

/// (receipts stored, acknowledgements held) on the server.
async fn receipts_and_held(s: &Srv) -> (i64, i64) {
    s.state
        .db
        .tx(|tx| {
            Box::pin(async move {
                let n = "SELECT (SELECT COUNT(*) FROM receipts) AS r, (SELECT COUNT(*) FROM held_acknowledgements) AS h";
                let r = tx.query_opt(n, &[]).await?.unwrap();
                Ok::<_, ApiError>((r.int("r"), r.int("h")))
            })
        })
        .await
        .unwrap()
}

/// Takes an acknowledgement as a pull's transaction does, deriving
/// nothing: whether it held something.
async fn acknowledge(s: &Srv, dev: &str, technician: &str, received: Vec<PageReceipt>) -> bool {
    let (dev, technician) = (dev.to_string(), technician.to_string());
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                receipts::acknowledge(
                    tx,
                    &dev,
                    &technician,
                    &received,
                    Utc::now().timestamp_millis(),
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await
        .unwrap()
}

/// Holds an acknowledgement that names receipts.
async fn hold(s: &Srv, dev: &str, technician: &str, received: Vec<PageReceipt>) {
    assert!(acknowledge(s, dev, technician, received).await);
}

/// Issue 16: the pull answers once its acknowledgement is held with its
/// cursor; the receipts are derived after the answer, and nothing stays
/// held.
async fn a_pulls_receipts_are_derived_after_its_answer(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    futures_lite(&s, 2).await;
    let page = pull(&s, &t1, &d1, 0, 10).await;
    let body = json!({"protocol_version": 1, "device_id": d1,
                      "cursor": page["next_cursor"], "received": every_change_received(&page)});
    let (st, r) = s.post("/api/sync/pull", &t1, body).await;
    assert_eq!(st, 200, "{r}");
    s.state.after_answer.idle().await;
    assert_eq!(receipts_and_held(&s).await, (2, 0));
}

/// The acknowledgement of `page`, pulled from `after`, as the next pull
/// sends it.
fn acknowledging(dev: &str, after: u64, page: &serde_json::Value) -> serde_json::Value {
    let mut received = every_change_received(page);
    received[0].after = after;
    json!({"protocol_version": 1, "device_id": dev, "cursor": page["next_cursor"],
           "limit": 2, "received": received})
}

/// Polls the server until `want` (receipts, held) or a minute has passed.
async fn until_receipts_and_held(s: &Srv, want: (i64, i64)) -> (i64, i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = receipts_and_held(s).await;
        if now == want || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A phone halfway through a download of three orders in pages of two,
/// on a server whose receipts wait `wait_ms` while a download goes on:
/// the server, the phone's token and device, the first page, and the
/// answer to the pull acknowledging it (the second page).
async fn halfway_through_a_download(
    b: Backend,
    wait_ms: u64,
) -> (Srv, String, String, serde_json::Value, serde_json::Value) {
    let config = Config {
        receipts_wait_ms: wait_ms,
        ..Config::default()
    };
    let s = Srv::start_with(b, config).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    futures_lite(&s, 3).await;
    let first = pull(&s, &t1, &d1, 0, 2).await;
    let (st, second) = s
        .post("/api/sync/pull", &t1, acknowledging(&d1, 0, &first))
        .await;
    assert_eq!(st, 200, "{second}");
    (s, t1, d1, first, second)
}

/// Issue 16: while a phone's download goes on (the answer carries a page
/// it will apply and acknowledge), the pages it acknowledged stay held, so
/// the server's cores serve the pages; the pull that ends the download
/// derives them all at once, and a phone that stops between pages has
/// them derived after `receipts_wait_ms`.
async fn a_downloads_receipts_wait_for_its_end_or_for_it_to_pause(b: Backend) {
    let (s, t1, d1, first, second) = halfway_through_a_download(b, 3_600_000).await;
    assert_eq!(second["changes"].as_array().unwrap().len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        receipts_and_held(&s).await,
        (0, 1),
        "held while the phone applies a page"
    );
    let after = first["next_cursor"].as_u64().unwrap();
    let (st, last) = s
        .post("/api/sync/pull", &t1, acknowledging(&d1, after, &second))
        .await;
    assert_eq!((st, last["changes"].as_array().unwrap().len()), (200, 0));
    // Not waiting out the hour: the empty answer ended the download.
    assert_eq!(until_receipts_and_held(&s, (3, 0)).await, (3, 0));

    let (s, ..) = halfway_through_a_download(b, 200).await;
    // The phone never comes back for the last page: derived all the same.
    assert_eq!(until_receipts_and_held(&s, (2, 0)).await, (2, 0));
}

/// Issue 16: after a pull's answer its receipts are derived a few at a
/// time (so the phone's next request does not wait behind a page of them),
/// the oldest acknowledgement first, its rest held in its place: every
/// receipt once.
async fn a_pulls_receipts_are_derived_in_short_steps_oldest_acknowledgement_first(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    futures_lite(&s, 3).await;
    let first = pull(&s, &t1, &d1, 0, 2).await;
    let second = pull(&s, &t1, &d1, first["next_cursor"].as_u64().unwrap(), 10).await;
    hold(&s, &d1, "T-1", every_change_received(&first)).await;
    hold(&s, &d1, "T-1", every_change_received(&second)).await;
    let step = |d: String| {
        let app = s.state.clone();
        s.state.db.tx(move |tx| {
            Box::pin(async move {
                receipts::settle_step(tx, &app, &d, 1)
                    .await
                    .map_err(ApiError::from)
            })
        })
    };
    let mut seen = vec![];
    for _ in 0..3 {
        assert!(
            step(d1.clone()).await.unwrap(),
            "an acknowledgement was held"
        );
        seen.push(receipts_and_held(&s).await);
    }
    // The first acknowledgement's two receipts, one a step, then the
    // second's: the first stays held until its last receipt is derived.
    assert_eq!(seen, [(1, 2), (2, 1), (3, 0)]);
    assert!(!step(d1.clone()).await.unwrap(), "nothing left held");
    assert_eq!(receipts_and_held(&s).await, (3, 0));
}

/// Issue 16: a push of a device derives the receipts its pulls left held
/// before it admits anything (its events may follow them).
async fn a_push_derives_the_receipts_its_devices_pulls_left_held_first(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    futures_lite(&s, 2).await;
    let page = pull(&s, &t1, &d1, 0, 10).await;
    // A page that made no receipt (its changes were not new orders) holds
    // nothing.
    let mut none = every_change_received(&page);
    none[0].receipts.clear();
    assert!(!acknowledge(&s, &d1, "T-1", none).await);
    assert_eq!(receipts_and_held(&s).await, (0, 0));
    hold(&s, &d1, "T-1", every_change_received(&page)).await;
    assert_eq!(receipts_and_held(&s).await, (0, 1));
    let empty = json!({"protocol_version": 1, "device_id": d1, "events": []});
    let (st, r) = s.post("/api/sync/push", &t1, empty).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(receipts_and_held(&s).await, (2, 0));
}

/// Issue 16: acknowledgements a stop left held (the server stopped between
/// a pull's answer and its receipts) are derived when it starts again.
async fn receipts_left_held_at_a_stop_are_derived_when_the_server_starts(b: Backend) {
    let s = Srv::start(b).await;
    let (d1, t1) = s.technician("T-1", &["appliance_repair"]).await;
    let (d2, t2) = s.technician("T-2", &["appliance_repair"]).await;
    futures_lite(&s, 2).await;
    s.assignment("appliance_repair", Some("T-2")).await;
    for (device, token, technician) in [(&d1, &t1, "T-1"), (&d2, &t2, "T-2")] {
        let page = pull(&s, token, device, 0, 10).await;
        hold(&s, device, technician, every_change_received(&page)).await;
    }
    let derived = receipts::settle_left_over(&s.state).await.unwrap();
    assert_eq!(derived.receipts, 3);
    assert_eq!(receipts_and_held(&s).await, (3, 0));
}

/// Issue 16: push and pull in one round trip.
async fn an_exchange_pushes_then_pulls_in_one_round_trip(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    s.assignment("appliance_repair", Some("T-1")).await;
    let (st, r) = s
        .post(
            "/api/sync/exchange",
            &token,
            json!({"protocol_version": 1, "device_id": dev, "events": [], "cursor": 0, "limit": 10}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["push"]["acked_seq"], 0);
    assert_eq!(r["pull"]["changes"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["pull"]["more"], false);
}

/// Issue 16: an exchange's acknowledgement comes with a push, which answers
/// anyway: its receipts are derived in the exchange's own transaction,
/// after those an earlier pull left held, and nothing stays held.
async fn an_exchanges_acknowledgement_is_derived_in_its_answer_after_those_held(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    futures_lite(&s, 2).await;
    let first = pull(&s, &token, &dev, 0, 1).await;
    hold(&s, &dev, "T-1", every_change_received(&first)).await;
    let second = pull(&s, &token, &dev, first["next_cursor"].as_u64().unwrap(), 1).await;
    let (st, r) = s
        .post(
            "/api/sync/exchange",
            &token,
            json!({"protocol_version": 1, "device_id": dev, "events": [],
                   "cursor": second["next_cursor"], "limit": 10,
                   "received": every_change_received(&second)}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(receipts_and_held(&s).await, (2, 0));
}

/// A phone sends its next batch before the answer to the one before it: a
/// batch that reaches the server while the one ahead of it is still being
/// read waits for it and is stored after it, instead of being refused as a
/// gap (`upload_order`).
async fn a_batch_that_overtakes_the_one_ahead_of_it_waits_for_it(b: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Srv::start(b).await;
    let (dev, token, v) = a_completed_visit(&s).await;
    let all = numbered(&v.events, 1);
    let n = all.len() as u64;
    let (ahead, behind) = all.split_at(5);
    let body = serde_json::to_vec(&json!({
        "protocol_version": 1,
        "device_id": dev,
        "events": ahead.iter().map(|(seq, e)| json!({"seq": seq, "event": e})).collect::<Vec<_>>(),
    }))
    .unwrap();
    // The batch ahead: its headers and half its body sent, the rest held.
    let address = s.base.trim_start_matches("http://").to_string();
    let mut ahead_conn = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/sync/push HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (half, rest) = body.split_at(body.len() / 2);
    ahead_conn.write_all(head.as_bytes()).await.unwrap();
    ahead_conn.write_all(half).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The batch behind it arrives and is answered only after it.
    let (behind_answer, ahead_answer) = tokio::join!(s.push(&token, &dev, behind), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        ahead_conn.write_all(rest).await.unwrap();
        let mut answer = String::new();
        ahead_conn.read_to_string(&mut answer).await.unwrap();
        answer
    });
    assert!(ahead_answer.starts_with("HTTP/1.1 200"), "{ahead_answer}");
    let (st, r) = behind_answer;
    assert_eq!(
        st, 200,
        "the batch behind was stored after the one ahead: {r}"
    );
    assert_eq!(
        (r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (Some(n), Some(n - 5))
    );
    assert_eq!(s.stored_events(&dev).await, n as i64);
}
