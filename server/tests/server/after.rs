//! After the visit: sign-off verification, reconciliation, callbacks, KPIs.

use crate::both_backends;
use crate::forged;
use crate::harness::{self, assignment, device, numbered, past_window_start, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::location::GeoPoint;
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use serde_json::{json, Value};

both_backends!(
    a_photo_replaced_after_signing_breaks_the_servers_verification,
    reconciliation_flags,
    visit_history_labels_each_fact_by_its_command,
    callbacks_due_and_recorded,
    kpis_by_group
);

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

/// A technician's phone: its id, token, next sequence and evidence chain.
struct Phone {
    tech: String,
    dev: String,
    token: String,
    seq: u64,
    chain: Option<String>,
}

async fn phone(s: &Srv, tech: &str, trades: &[&str]) -> Phone {
    let (dev, token) = s.technician(tech, trades).await;
    Phone {
        tech: tech.into(),
        dev,
        token,
        seq: 0,
        chain: None,
    }
}

/// Records a visit on the technician's phone and syncs it; returns the visit id.
async fn visit(
    s: &Srv,
    p: &mut Phone,
    trade: &str,
    build: impl FnOnce(&mut Walkthrough, &mut Option<String>),
) -> String {
    // Visits happened this morning: the window started about 4 hours ago.
    let start = past_window_start(&BusinessZone::shanghai());
    let a = assignment(&s.assignment_at(trade, Some(&p.tech), start).await);
    let pb = Playbook::shipped_by_id(trade).unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(&p.dev), start - Duration::hours(2));
    build(&mut v, &mut p.chain);
    let events = numbered(&v.events, p.seq + 1);
    p.seq += events.len() as u64;
    let (st, r) = s.push(&p.token, &p.dev, &events).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    v.visit.to_string()
}

/// A visit a tampered phone recorded, stored as a server from before event
/// admission stored it (pushed today, its forged facts are refused:
/// `trust.rs`): reconciliation still catches what such a database holds.
async fn stored_before_admission(
    s: &Srv,
    p: &mut Phone,
    trade: &str,
    build: impl FnOnce(&mut Walkthrough, &mut Option<String>),
) -> String {
    let start = past_window_start(&BusinessZone::shanghai());
    let a = assignment(&s.assignment_at(trade, Some(&p.tech), start).await);
    let pb = Playbook::shipped_by_id(trade).unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(&p.dev), start - Duration::hours(2));
    build(&mut v, &mut p.chain);
    let events = numbered(&v.events, p.seq + 1);
    p.seq += events.len() as u64;
    s.store_unadmitted(&p.tech, &p.dev, &events).await;
    v.visit.to_string()
}

/// The day the visits closed, in the business time zone (Asia/Shanghai by
/// default).
fn closed_day() -> chrono::NaiveDate {
    harness::closed_day(&BusinessZone::shanghai())
}

fn findings(report: &Value, visit: &str) -> Vec<String> {
    report["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["visit_id"] == visit)
        .unwrap_or_else(|| panic!("visit {visit} not in {report}"))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Report format 2 binds the photos by digest: a visit whose `photo_taken`
/// event names other bytes than those signed (a photo swapped on the way)
/// fails the server's verification, while the untouched visit verifies.
async fn a_photo_replaced_after_signing_breaks_the_servers_verification(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1", &["appliance_repair"]).await;
    let t = "appliance_repair";
    let clean = visit(&s, &mut p, t, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let swapped = stored_before_admission(&s, &mut p, t, |v, c| {
        v.completed(None, GOOD, c);
        for e in &mut v.events {
            if let doorstep_core::EventKind::PhotoTaken { moment, digest, .. } = &mut e.kind {
                if moment == "after_repair" {
                    *digest = doorstep_core::canonical::sha256_hex(b"a better-looking repair");
                }
            }
        }
    })
    .await;
    let (_, v) = s.get(&format!("/api/visits/{clean}"), &s.dispatcher).await;
    assert_eq!(v["visit"]["signoff"], "verified", "{v}");
    assert_eq!(v["state"]["photos"].as_array().map(Vec::len), Some(3));
    let (_, v) = s
        .get(&format!("/api/visits/{swapped}"), &s.dispatcher)
        .await;
    assert_eq!(v["visit"]["signoff"], "broken", "{v}");
}

async fn reconciliation_flags(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1", &["appliance_repair"]).await;
    let t = "appliance_repair";
    let clean = visit(&s, &mut p, t, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    // A phone cannot record these three (the workflow refuses them, and so
    // does the server's admission today): they stand for a tampered device
    // whose facts a database from before admission holds, which
    // reconciliation must still catch.
    let underpaid = stored_before_admission(&s, &mut p, t, |v, c| {
        v.go(None).repair();
        forged::pay(v, 100);
        forged::sign(v, GOOD, c);
        forged::leave_fixed(v);
    })
    .await;
    let far = visit(&s, &mut p, t, |v, c| {
        v.go(None).repair().pay();
        v.sign(
            GOOD,
            Some(GeoPoint {
                lat: 31.30,
                lon: 121.47,
            }),
            c,
        );
        v.leave();
    })
    .await;
    // Signed, then more work recorded: the report changed after signing and
    // the signature predates the end of the repair.
    let tampered = stored_before_admission(&s, &mut p, t, |v, c| {
        v.go(None).repair().pay().sign(GOOD, None, c);
        forged::work(v);
        forged::leave_fixed(v);
    })
    .await;
    let unsigned = stored_before_admission(&s, &mut p, t, |v, _| {
        v.go(None).repair().pay();
        forged::leave_fixed(v);
    })
    .await;
    let declined = visit(&s, &mut p, t, |v, _| {
        v.go(None).repair().pay().decline("in a hurry").leave();
    })
    .await;
    let day = closed_day();
    let (st, report) = s
        .get(&format!("/api/reconciliation?date={day}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{report}");
    assert_eq!(report["closed"], 6, "{report}");
    assert!(findings(&report, &clean).is_empty(), "{report}");
    assert!(
        findings(&report, &declined).is_empty(),
        "a recorded decline is valid: {report}"
    );
    assert_eq!(findings(&report, &underpaid), vec!["amount_mismatch"]);
    assert_eq!(findings(&report, &far), vec!["signoff_far_from_customer"]);
    assert_eq!(
        findings(&report, &tampered),
        vec!["signoff_broken", "signoff_before_repair_end"]
    );
    assert_eq!(findings(&report, &unsigned), vec!["no_signoff"]);
    assert_eq!(report["clean"], 2);
    // The visit rows carry the verification.
    let (_, v) = s
        .get(&format!("/api/visits/{tampered}"), &s.dispatcher)
        .await;
    assert_eq!(v["visit"]["signoff"], "broken");
    assert!(v["visit"]["signoff_problem"]
        .as_str()
        .unwrap()
        .starts_with("the report changed after signing: signed "));
    // The console's Chinese names the problem in Chinese.
    let zh = v["visit"]["signoff_problem_text"]["zh"].as_str().unwrap();
    assert!(zh.starts_with("签字后报告被改动：签署时摘要 "), "{zh}");
    assert_eq!(
        v["visit"]["signoff_problem_text"]["en"],
        v["visit"]["signoff_problem"]
    );
    let (_, v) = s.get(&format!("/api/visits/{clean}"), &s.dispatcher).await;
    assert_eq!(
        (
            v["visit"]["signoff"].as_str(),
            v["visit"]["chain_ok"].as_bool()
        ),
        (Some("verified"), Some(true))
    );
    // An evidence record that skips the chain is flagged.
    p.chain = Some("0".repeat(64));
    let skipped = visit(&s, &mut p, t, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let (_, report) = s
        .get(&format!("/api/reconciliation?date={day}"), &s.dispatcher)
        .await;
    assert_eq!(findings(&report, &skipped), vec!["evidence_chain_broken"]);
    // Bad dates are refused with the expected format.
    let (st, r) = s
        .get("/api/reconciliation?date=yesterday", &s.dispatcher)
        .await;
    assert_eq!(st, 400, "{r}");
}

async fn callbacks_due_and_recorded(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1", &["appliance_repair"]).await;
    let t = "appliance_repair";
    let unhappy = visit(&s, &mut p, t, |v, c| {
        v.completed(
            None,
            Ratings {
                quality: 2,
                attitude: 4,
            },
            c,
        );
    })
    .await;
    let happy = visit(&s, &mut p, t, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    // Due now: nothing yet (dissatisfied after 24 h, second level after 48 h).
    let (st, due) = s.get("/api/callbacks", &s.dispatcher).await;
    assert_eq!((st, due.as_array().unwrap().len()), (200, 0), "{due}");
    let until =
        (Utc::now() + Duration::hours(23)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, due) = s
        .get(&format!("/api/callbacks?until={until}"), &s.dispatcher)
        .await;
    let due = due.as_array().unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(
        (due[0]["visit_id"].as_str(), due[0]["reason"].as_str()),
        (Some(unhappy.as_str()), Some("dissatisfied"))
    );
    assert_eq!(due[0]["customer_phone"], "138 0000 0000");
    let until =
        (Utc::now() + Duration::hours(47)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, due) = s
        .get(&format!("/api/callbacks?until={until}"), &s.dispatcher)
        .await;
    assert_eq!(due.as_array().unwrap().len(), 3, "{due}");
    // Record one; it leaves the list and cannot be recorded twice.
    let result = json!({"visit_id": unhappy, "reason": "dissatisfied", "reached": true, "satisfied": true, "note": "fixed on revisit"});
    let (st, r) = s
        .post("/api/callbacks/result", &s.dispatcher, result.clone())
        .await;
    assert_eq!(st, 200, "{r}");
    let (st, r) = s.post("/api/callbacks/result", &s.dispatcher, result).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (409, Some("already_recorded"))
    );
    let (st, _) = s
        .post(
            "/api/callbacks/result",
            &s.dispatcher,
            json!({"visit_id": happy, "reason": "monthly_sample", "reached": true}),
        )
        .await;
    assert_eq!(st, 404);
    let (st, r) = s
        .post("/api/callbacks/result", &s.dispatcher, json!({"visit_id": happy, "reason": "second_level", "reached": false, "satisfied": true}))
        .await;
    assert_eq!((st, r["error"]["field"].as_str()), (400, Some("satisfied")));
    let (_, due) = s
        .get(&format!("/api/callbacks?until={until}"), &s.dispatcher)
        .await;
    assert_eq!(due.as_array().unwrap().len(), 2);
    // The monthly sample: 10-20 % of served customers, reproducible, idempotent.
    let month = closed_day().format("%Y-%m").to_string();
    let (st, r) = s
        .post(
            "/api/callbacks/monthly-sample",
            &s.dispatcher,
            json!({"month": month, "percent": 15}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    // Both visits share the test customer's phone: one served customer, sample of 1.
    assert_eq!(
        (
            r["served_customers"].as_u64(),
            r["sampled"].as_u64(),
            r["callbacks_created"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    let (_, again) = s
        .post(
            "/api/callbacks/monthly-sample",
            &s.dispatcher,
            json!({"month": month}),
        )
        .await;
    assert_eq!(
        (
            again["sampled"].as_u64(),
            again["callbacks_created"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let (_, due) = s.get("/api/callbacks", &s.dispatcher).await;
    assert_eq!(due[0]["reason"], "monthly_sample");
    let (st, r) = s
        .post(
            "/api/callbacks/monthly-sample",
            &s.dispatcher,
            json!({"month": "November"}),
        )
        .await;
    assert_eq!((st, r["error"]["field"].as_str()), (400, Some("month")));
}

async fn kpis_by_group(b: Backend) {
    let s = Srv::start(b).await;
    let mut p1 = phone(&s, "T-1", &["appliance_repair"]).await;
    let mut p2 = phone(&s, "T-2", &["water_delivery"]).await;
    visit(&s, &mut p1, "appliance_repair", |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    visit(&s, &mut p1, "appliance_repair", |v, c| {
        v.completed(
            Some(20),
            Ratings {
                quality: 3,
                attitude: 3,
            },
            c,
        );
    })
    .await;
    visit(&s, &mut p2, "water_delivery", |v, c| {
        v.completed(Some(5), GOOD, c);
    })
    .await;
    let day = closed_day();
    let (st, k) = s
        .get(
            &format!("/api/kpis?by=technician&from={day}&to={day}"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{k}");
    let groups = k["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    let t1k = &groups[0];
    assert_eq!(t1k["group"], "T-1");
    assert_eq!(t1k["visits"], 2);
    assert_eq!(
        t1k["on_time_arrival"],
        json!({"numerator": 1, "denominator": 2, "rate": 0.5})
    );
    assert_eq!(t1k["first_visit_fix"]["rate"], 1.0);
    assert_eq!(
        t1k["satisfaction"],
        json!({"numerator": 1, "denominator": 2, "rate": 0.5})
    );
    assert_eq!(t1k["response_within_24h"]["rate"], 1.0);
    assert_eq!(t1k["callback_completion"]["denominator"], 0);
    assert_eq!(groups[1]["on_time_arrival"]["rate"], 0.0);
    let (_, by_trade) = s
        .get(
            &format!("/api/kpis?by=trade&from={day}&to={day}"),
            &s.dispatcher,
        )
        .await;
    let trades: Vec<_> = by_trade["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(trades, vec!["appliance_repair", "water_delivery"]);
    let (_, by_day) = s
        .get(&format!("/api/kpis?from={day}&to={day}"), &s.dispatcher)
        .await;
    assert_eq!(by_day["groups"][0]["visits"], 3);
    assert_eq!(by_day["groups"][0]["group"], day.to_string());
    let (st, r) = s.get("/api/kpis?by=weather", &s.dispatcher).await;
    assert_eq!((st, r["error"]["field"].as_str()), (400, Some("by")));
}

/// `/api/visits/{id}`'s history: every stored fact in timeline order, named
/// by the command table's label of the action that recorded it.
async fn visit_history_labels_each_fact_by_its_command(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-H", &["appliance_repair"]).await;
    let id = visit(&s, &mut p, "appliance_repair", |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let (st, v) = s.get(&format!("/api/visits/{id}"), &s.dispatcher).await;
    assert_eq!(st, 200, "{v}");
    let history = v["history"].as_array().unwrap();
    assert_eq!(
        Some(history.len() as u64),
        v["visit"]["event_count"].as_u64()
    );
    let zh: Vec<&str> = history
        .iter()
        .map(|h| h["label"]["zh"].as_str().unwrap())
        .collect();
    assert_eq!(zh.first(), Some(&"接收工单"), "{zh:?}");
    for label in ["敲门", "客户评价并签字", "离开"] {
        assert!(
            zh.iter().any(|z| z.starts_with(label)),
            "{label} missing from {zh:?}"
        );
    }
    let times: Vec<&str> = history.iter().map(|h| h["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "in timeline order");
    assert!(history.iter().all(|h| h["device_id"] == p.dev.as_str()));
}
