//! Field bounds over HTTP: the center's inputs refused past their limits
//! with the field named, order items checked against the fee schedule, and
//! a pushed event over the generic bound refused naming its field path,
//! with nothing stored.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::Utc;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    oversized_center_fields_are_refused_with_the_field_named,
    an_order_item_outside_the_fee_schedule_is_refused_at_intake,
    a_pushed_event_over_the_generic_bound_is_refused_naming_its_field_path,
);

fn refused_field(st: u16, r: &Value) -> String {
    assert_eq!(st, 400, "{r}");
    assert_eq!(r["error"]["code"], json!("invalid_field"), "{r}");
    let message = r["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("at most") && message.contains("最多"),
        "{r}"
    );
    r["error"]["field"].as_str().unwrap().to_string()
}

async fn oversized_center_fields_are_refused_with_the_field_named(b: Backend) {
    let s = Srv::start(b).await;
    let long = |n: usize| "字".repeat(n);
    // Intake: the caller's content and address.
    let intake = |content: String, address: String| {
        json!({"classification": "general", "trade": "appliance_repair",
               "caller": {"name": "Caller", "phone": "138 0000 0000", "address": address},
               "content": content})
    };
    let (st, r) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            intake(long(2001), "1 Rd".into()),
        )
        .await;
    assert_eq!(refused_field(st, &r), "content");
    let (st, r) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            intake("broken".into(), long(301)),
        )
        .await;
    assert_eq!(refused_field(st, &r), "caller.address");
    // A technician's name.
    let (st, r) = s
        .post(
            "/api/technicians",
            &s.dispatcher,
            json!({"id": "T-9", "name": long(101), "trades": ["appliance_repair"]}),
        )
        .await;
    assert_eq!(refused_field(st, &r), "name");
    // An assignment's notes, on creation and in an edit; a cancel reason.
    let (st, r) = s
        .post(
            "/api/assignments",
            &s.dispatcher,
            json!({"trade": "appliance_repair", "notes": long(2001)}),
        )
        .await;
    assert_eq!(refused_field(st, &r), "notes");
    let a = s.assignment("appliance_repair", None).await;
    let id = a["id"].as_str().unwrap();
    let (st, r) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"customer": {"name": long(101)}})),
        )
        .await;
    assert_eq!(refused_field(st, &r), "customer.name");
    let (st, r) = s
        .post(
            &format!("/api/assignments/{id}/cancel"),
            &s.dispatcher,
            json!({"reason": long(1001)}),
        )
        .await;
    assert_eq!(refused_field(st, &r), "reason");
    // At the limit it is accepted.
    let (st, r) = s
        .post(
            &format!("/api/assignments/{id}/cancel"),
            &s.dispatcher,
            json!({"reason": long(1000)}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
}

async fn an_order_item_outside_the_fee_schedule_is_refused_at_intake(b: Backend) {
    let s = Srv::start(b).await;
    let body = |item: &str| {
        json!({"trade": "water_delivery", "customer": {"name": "C", "address": "1 Rd"},
               "order": [{"item": "bottle_18_9l", "qty": 2}, {"item": item}]})
    };
    let (st, r) = s
        .post("/api/assignments", &s.dispatcher, body("gold_bar"))
        .await;
    assert_eq!(st, 400, "{r}");
    assert_eq!(r["error"]["field"], json!("order[1].item"), "{r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bottle_18_9l"),
        "the known items are listed: {r}"
    );
    let (st, r) = s
        .post("/api/assignments", &s.dispatcher, body("bottle_18_9l"))
        .await;
    assert_eq!(st, 201, "{r}");
    // An edit's order is checked against the assignment's trade too.
    let id = r["id"].as_str().unwrap();
    let (st, r) = s
        .call(
            Method::PATCH,
            &format!("/api/assignments/{id}"),
            Some(&s.dispatcher),
            Some(json!({"order": [{"item": "gold_bar"}]})),
        )
        .await;
    assert_eq!(
        (st, r["error"]["field"].clone()),
        (400, json!("order[0].item")),
        "{r}"
    );
}

async fn a_pushed_event_over_the_generic_bound_is_refused_naming_its_field_path(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let mut v = Walkthrough::new(
        &Playbook::shipped_by_id("appliance_repair").unwrap(),
        &a,
        &device(&dev),
        Utc::now(),
    );
    v.go(None);
    let events = numbered(&v.events, 1);
    let mut body = json!({
        "protocol_version": 1,
        "device_id": dev,
        "events": events.iter().map(|(seq, e)| json!({"seq": seq, "event": e})).collect::<Vec<_>>(),
    });
    body["events"][3]["event"]["note"] = json!("x".repeat(7 * 1024 * 1024 / 8));
    // Refused alone and acknowledged (the queue never blocks), naming the
    // path; the facts before it apply, nothing of it is stored (and the
    // facts that followed from it are not what the workflow records).
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["acked_seq"], json!(events.len()), "{r}");
    let first = &r["refused"][0];
    assert_eq!(
        (first["seq"].clone(), first["code"].clone()),
        (json!(4), json!("out_of_bounds")),
        "{r}"
    );
    assert!(
        first["reason"]
            .as_str()
            .is_some_and(|m| m.starts_with("events[3].event.note:")),
        "{r}"
    );
    assert_eq!(s.stored_events(&dev).await, 3, "nothing of it stored");
}
