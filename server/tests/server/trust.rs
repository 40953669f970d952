//! The server trusts no pushed fact (issue 14, items 1 and 3): each forged
//! fact class is refused with its stable code, acknowledged (the queue never
//! blocks), kept for audit and listed for dispatchers, with nothing of it
//! applied; and sign-offs carry the device key's signature — a phone
//! enrolled with version 2 has its signatures verified in reconciliation (a
//! wrong one is flagged), a version-1 phone is marked unsigned and its
//! facts are accepted.

use crate::both_backends;
use crate::forged;
use crate::harness::{self, assignment, device, numbered, past_window_start, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::device_key::{sign_evidence, SoftwareDeviceKey};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::command::{CallOutcome, CallPurpose, PaymentMethod, ReceiptRecord};
use doorstep_core::{EventId, EventKind, Playbook, VisitEvent};
use serde_json::{json, Value};

both_backends!(
    each_forged_fact_class_is_refused_acknowledged_and_listed,
    device_signatures_are_verified_and_a_wrong_one_is_flagged,
    an_enrolment_with_a_key_that_is_not_p256_is_refused_naming_the_field
);

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

/// `kind` as the device would have stamped it, `minutes` after `last`.
fn after(last: &VisitEvent, minutes: i64, kind: EventKind) -> VisitEvent {
    let at = last.recorded_at + Duration::minutes(minutes);
    let mut hlc = last.hlc;
    hlc.millis = hlc.millis.max(at.timestamp_millis());
    hlc.counter = 0;
    VisitEvent {
        id: EventId::new_v7(),
        recorded_at: at,
        hlc,
        location: None,
        kind,
        ..last.clone()
    }
}

fn payment(amount: i64) -> EventKind {
    EventKind::PaymentCollected {
        amount,
        method: PaymentMethod::Mobile,
        receipt: ReceiptRecord::Receipt {
            number: "R-forged".into(),
        },
        qr: None,
    }
}

fn call(note: Option<String>) -> EventKind {
    EventKind::CallLogged {
        outcome: CallOutcome::Reached,
        purpose: CallPurpose::Appointment,
        note,
    }
}

async fn each_forged_fact_class_is_refused_acknowledged_and_listed(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &["appliance_repair"]).await;
    let a = assignment(&s.assignment("appliance_repair", Some("T-1")).await);
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut w = Walkthrough::new(&pb, &a, &device(&dev), Utc::now());
    let received = w.events[0].clone();
    // A sign-off bound to the report as it stands, on a visit in stage `new`.
    let mut signed = w.clone();
    forged::sign(&mut signed, GOOD, &mut None);
    let sign_off = signed.events.last().unwrap().kind.clone();
    let mut negative = after(&received, 1, call(None));
    negative.hlc.millis = -5;
    let batch = [
        (1, received.clone()),
        (2, after(&received, 1, payment(-14_000))),
        (3, after(&received, 2, payment(i64::MAX))),
        (4, after(&received, 3, sign_off)),
        (5, after(&received, 4, payment(-50_000))),
        (6, negative),
        (7, after(&received, 5, call(Some("x".repeat(20_000))))),
    ];
    let mut body = json!({
        "protocol_version": 1, "device_id": dev, "sent_at": Utc::now(),
        "events": batch.iter().map(|(seq, e)| json!({"seq": seq, "event": e})).collect::<Vec<_>>(),
    });
    // A "satisfied" rating outside a sign-off, on an otherwise honest call.
    let mut rated = serde_json::to_value(after(&received, 6, call(None))).unwrap();
    rated["ratings"] = json!({"quality": 5, "attitude": 5});
    body["events"]
        .as_array_mut()
        .unwrap()
        .push(json!({"seq": 8, "event": rated}));
    let (st, r) = s.post("/api/sync/push", &token, body).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (Some(8), Some(1)),
        "every fact acknowledged, only the honest one applied: {r}"
    );
    let codes: Vec<_> = r["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["seq"].as_u64().unwrap(), x["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (2, "workflow_refused"),
            (3, "workflow_refused"),
            (4, "workflow_refused"),
            (5, "workflow_refused"),
            (6, "invalid_clock"),
            (7, "out_of_bounds"),
            (8, "unknown_field"),
        ],
        "{r}"
    );
    // Nothing of them applied: one stored fact, nothing paid, not signed.
    assert_eq!(s.stored_events(&dev).await, 1);
    let (st, v) = s
        .get(&format!("/api/visits/{}", w.visit), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{v}");
    // (A field at its default is left out of the state: nothing paid.)
    assert_eq!(v["state"].get("paid_total"), None, "{v}");
    assert!(v["state"]["sign_off"].is_null(), "{v}");
    // The queue is not blocked: the phone's next honest fact applies.
    w.go(None);
    let (st, r) = s.push(&token, &dev, &[(9, w.events[1].clone())]).await;
    assert_eq!(
        (st, r["acked_seq"].as_u64(), r["applied"].as_u64()),
        (200, Some(9), Some(1)),
        "{r}"
    );
    // Kept for audit and listed for dispatchers, newest first, labelled.
    let (st, list) = s.get("/api/refused-events", &s.dispatcher).await;
    assert_eq!(st, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 7, "{list:?}");
    let clock = list.iter().find(|f| f["seq"] == 6).unwrap();
    assert_eq!(clock["code"], "invalid_clock");
    assert_eq!(clock["label"]["zh"], "设备时钟无效");
    assert_eq!(clock["assignment_id"], a.id.as_str());
    assert_eq!(clock["technician_id"], "T-1");
    assert_eq!(clock["kind"], "call_logged");
    let (_, one) = s
        .get(
            &format!("/api/refused-events?assignment_id={}&limit=2", a.id),
            &s.dispatcher,
        )
        .await;
    assert_eq!(one.as_array().map(Vec::len), Some(2), "{one}");
    let (st, e) = s.get("/api/refused-events?limit=0", &s.dispatcher).await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(s.get("/api/refused-events", &token).await.0, 403);

    // Each waits in the desk's requests queue until a dispatcher reviews it.
    let refused_in_queue = |q: &Value| -> Vec<String> {
        q["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "fact_refused")
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    let waiting = refused_in_queue(&q);
    assert_eq!(waiting.len(), 7, "{q}");
    assert!(waiting.contains(&format!("{dev}/6")), "{q}");
    let item = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == format!("{dev}/6"))
        .unwrap();
    assert_eq!(
        (&item["detail"]["code"], &item["assignment_id"]),
        (&json!("invalid_clock"), &json!(a.id.as_str())),
        "{item}"
    );
    // Which fact it was, as the technician's screen named it.
    assert_eq!(
        item["detail"]["fact_label"],
        json!({"en": "Log a call", "zh": "记录通话"}),
        "{item}"
    );
    let review = format!("/api/refused-events/{dev}/6/review");
    let (st, r) = s.post(&review, &s.dispatcher, json!({})).await;
    assert_eq!(st, 204, "{r}");
    let (_, q) = s.get("/api/requests", &s.dispatcher).await;
    assert_eq!(refused_in_queue(&q).len(), 6, "{q}");
    let (st, again) = s.post(&review, &s.dispatcher, json!({})).await;
    assert_eq!(
        (st, &again["error"]["code"]),
        (409, &json!("already_recorded")),
        "{again}"
    );
    let (st, _) = s
        .post(
            &format!("/api/refused-events/{dev}/99/review"),
            &s.dispatcher,
            json!({}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, _) = s.post(&review, &token, json!({})).await;
    assert_eq!(st, 403, "a phone cannot review its own refusals");
}

/// The day the visits closed, in the business time zone (Asia/Shanghai by
/// default).
fn closed_day() -> chrono::NaiveDate {
    harness::closed_day(&BusinessZone::shanghai())
}

/// A completed visit on device `dev` of T-1, its sign-off's evidence passed
/// through `sign`, pushed from `first_seq`; returns the visit id.
async fn signed_visit(
    s: &Srv,
    dev: &str,
    token: &str,
    first_seq: u64,
    chain: &mut Option<String>,
    sign: impl Fn(&mut doorstep_core::signoff::SignOffEvidence),
) -> String {
    let start = past_window_start(&BusinessZone::shanghai());
    let a = assignment(
        &s.assignment_at("appliance_repair", Some("T-1"), start)
            .await,
    );
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(dev), start - Duration::hours(2));
    v.completed(None, GOOD, chain);
    for e in &mut v.events {
        if let EventKind::CustomerSignedOff { evidence, .. } = &mut e.kind {
            sign(evidence);
        }
    }
    let (st, r) = s.push(token, dev, &numbered(&v.events, first_seq)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    v.visit.to_string()
}

fn reconciled<'a>(report: &'a Value, visit: &str) -> &'a Value {
    report["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["visit_id"] == visit)
        .unwrap_or_else(|| panic!("visit {visit} not in {report}"))
}

fn codes(v: &Value) -> Vec<&str> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

async fn device_signatures_are_verified_and_a_wrong_one_is_flagged(b: Backend) {
    let s = Srv::start(b).await;
    // A version-1 phone (no key) and a version-2 phone with a software key.
    let (old_dev, old_token) = s.technician("T-1", &["appliance_repair"]).await;
    let key = SoftwareDeviceKey::generate();
    let (st, enrolled) = s
        .post(
            "/api/technicians/T-1/devices",
            &s.dispatcher,
            json!({"device_id": "phone-v2", "enrolment_version": 2, "public_key": key.public_key_hex()}),
        )
        .await;
    assert_eq!(st, 201, "{enrolled}");
    assert_eq!(enrolled["enrolment_version"], 2);
    let token = enrolled["token"].as_str().unwrap().to_string();
    let impostor = SoftwareDeviceKey::generate();
    let mut chain = None;
    let signed = signed_visit(&s, "phone-v2", &token, 1, &mut chain, |e| {
        sign_evidence(&key, e).unwrap()
    })
    .await;
    let seq = 1 + s.stored_events("phone-v2").await as u64;
    let wrong = signed_visit(&s, "phone-v2", &token, seq, &mut chain, |e| {
        sign_evidence(&impostor, e).unwrap()
    })
    .await;
    let seq = 1 + s.stored_events("phone-v2").await as u64;
    let missing = signed_visit(&s, "phone-v2", &token, seq, &mut chain, |_| {}).await;
    let unsigned = signed_visit(&s, &old_dev, &old_token, 1, &mut None, |_| {}).await;
    let (st, report) = s
        .get(
            &format!("/api/reconciliation?date={}", closed_day()),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{report}");
    let v = reconciled(&report, &signed);
    assert_eq!(v["device_signature"], "verified", "{v}");
    assert!(codes(v).is_empty(), "{v}");
    let v = reconciled(&report, &wrong);
    assert_eq!(v["device_signature"], "invalid", "{v}");
    assert_eq!(codes(v), vec!["device_signature_invalid"]);
    let label = &v["findings"][0]["label"];
    assert_eq!(label["zh"], "设备签名校验失败", "{label}");
    let v = reconciled(&report, &missing);
    assert_eq!(v["device_signature"], "missing", "{v}");
    assert_eq!(codes(v), vec!["device_signature_missing"]);
    // The version-1 phone: marked unsigned, every fact accepted, no finding.
    let v = reconciled(&report, &unsigned);
    assert_eq!(v["device_signature"], "unsigned", "{v}");
    assert!(codes(v).is_empty(), "{v}");
}

async fn an_enrolment_with_a_key_that_is_not_p256_is_refused_naming_the_field(b: Backend) {
    let s = Srv::start(b).await;
    s.technician("T-1", &["appliance_repair"]).await;
    for (body, field) in [
        (
            json!({"device_id": "p2", "enrolment_version": 2, "public_key": "04abcd"}),
            "public_key",
        ),
        (
            json!({"device_id": "p2", "enrolment_version": 2}),
            "public_key",
        ),
        (
            json!({"device_id": "p2", "enrolment_version": 3, "public_key": "04"}),
            "enrolment_version",
        ),
    ] {
        let (st, e) = s
            .post("/api/technicians/T-1/devices", &s.dispatcher, body)
            .await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        assert!(
            e["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| m.contains('；') || m.contains('（')),
            "{e}"
        );
    }
    // The phone's own enrolment with a one-time code takes the same key,
    // and a refused key does not use the code up.
    let (st, made) = s
        .post(
            "/api/technicians/T-1/enrolment-codes",
            &s.dispatcher,
            json!({"device_id": "p3"}),
        )
        .await;
    assert_eq!(st, 201, "{made}");
    let code = made["code"].as_str().unwrap();
    let (st, e) = s
        .post(
            "/api/enrol",
            "",
            json!({"code": code, "enrolment_version": 2, "public_key": "04abcd"}),
        )
        .await;
    assert_eq!(
        (st, &e["error"]["field"]),
        (400, &json!("public_key")),
        "{e}"
    );
    let key = SoftwareDeviceKey::generate();
    let (st, enrolled) = s
        .post(
            "/api/enrol",
            "",
            json!({"code": code, "enrolment_version": 2, "public_key": key.public_key_hex()}),
        )
        .await;
    assert_eq!(st, 201, "{enrolled}");
    assert_eq!(enrolled["enrolment_version"], 2, "{enrolled}");
    assert_eq!(enrolled["technician_name"], "Tech T-1", "{enrolled}");
}
