//! Records that tell the truth (issue 15): the business time zone reaches
//! the phones and decides the server's days; a new phone pulls only open
//! work; reconciliation questions implausible visits and counts the paid
//! total; the monthly sample rate is 10-20 % or refused; a dissatisfied
//! customer is followed up until satisfied; "satisfied" is never shown for
//! a broken sign-off.

use crate::both_backends;
use crate::forged;
use crate::harness::{assignment, closed_day, device, numbered, past_window_start, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::ids::{DeviceId, TechnicianId};
use doorstep_core::location::GeoPoint;
use doorstep_core::protocol::PullResponse;
use doorstep_core::signoff::Ratings;
use doorstep_core::store::{Enrollment, Store};
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::Playbook;
use doorstep_server::app::Config;
use serde_json::{json, Value};

both_backends!(
    a_pull_carries_the_business_time_zone,
    a_new_phone_pulls_only_open_work,
    reconciliation_questions_implausible_visits,
    reconciliation_counts_the_paid_total,
    reconciliation_days_are_days_of_the_business_time_zone,
    a_monthly_sample_rate_outside_10_to_20_percent_is_refused_naming_the_field,
    a_dissatisfied_customer_is_followed_up_until_satisfied,
    satisfied_is_never_shown_for_a_broken_sign_off
);

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

const APPLIANCE: &str = "appliance_repair";

async fn pull(s: &Srv, token: &str, dev: &str, cursor: u64) -> PullResponse {
    let (st, body) = s
        .post(
            "/api/sync/pull",
            token,
            json!({"protocol_version": 1, "device_id": dev, "cursor": cursor}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

/// One technician's phone and the visits it recorded.
struct Phone {
    tech: String,
    dev: String,
    token: String,
    seq: u64,
    chain: Option<String>,
    /// The server's business time zone: the visits' window is placed so
    /// that they close on one of its days.
    zone: BusinessZone,
}

async fn phone(s: &Srv, tech: &str) -> Phone {
    let (dev, token) = s.technician(tech, &[APPLIANCE]).await;
    Phone {
        tech: tech.into(),
        dev,
        token,
        seq: 0,
        chain: None,
        zone: BusinessZone::shanghai(),
    }
}

/// Records a visit whose window started 4 hours ago, the phone receiving
/// it `received_minutes_after_request` after the request came in (3 hours
/// before the window), and pushes it.
async fn visit(
    s: &Srv,
    p: &mut Phone,
    received_minutes_after_request: i64,
    build: impl FnOnce(&mut Walkthrough, &mut Option<String>),
) -> String {
    let start = past_window_start(&p.zone);
    let a = assignment(&s.assignment_at(APPLIANCE, Some(&p.tech), start).await);
    let received = a.received_at.unwrap();
    let pb = Playbook::shipped_by_id(APPLIANCE).unwrap();
    let at = received + Duration::minutes(received_minutes_after_request);
    let mut v = Walkthrough::new(&pb, &a, &device(&p.dev), at);
    build(&mut v, &mut p.chain);
    let events = numbered(&v.events, p.seq + 1);
    p.seq += events.len() as u64;
    let (st, r) = s.push(&p.token, &p.dev, &events).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    v.visit.to_string()
}

/// The same visit with facts a phone cannot record (the server's admission
/// refuses them when pushed), stored as a server from before admission
/// stored them: what the center's records must still handle.
async fn stored_before_admission(
    s: &Srv,
    p: &mut Phone,
    received_minutes_after_request: i64,
    build: impl FnOnce(&mut Walkthrough, &mut Option<String>),
) -> String {
    let start = past_window_start(&p.zone);
    let a = assignment(&s.assignment_at(APPLIANCE, Some(&p.tech), start).await);
    let received = a.received_at.unwrap();
    let pb = Playbook::shipped_by_id(APPLIANCE).unwrap();
    let at = received + Duration::minutes(received_minutes_after_request);
    let mut v = Walkthrough::new(&pb, &a, &device(&p.dev), at);
    build(&mut v, &mut p.chain);
    let events = numbered(&v.events, p.seq + 1);
    p.seq += events.len() as u64;
    s.store_unadmitted(&p.tech, &p.dev, &events).await;
    v.visit.to_string()
}

async fn reconciliation_on(s: &Srv, day: chrono::NaiveDate) -> Value {
    let (st, report) = s
        .get(&format!("/api/reconciliation?date={day}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{report}");
    report
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

async fn a_pull_carries_the_business_time_zone(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-1", &[APPLIANCE]).await;
    let page = pull(&s, &token, &dev, 0).await;
    assert_eq!(page.business_zone, Some(BusinessZone::shanghai()));

    let berlin = Config {
        business_time_zone: "Europe/Berlin".into(),
        ..Config::default()
    };
    let s = Srv::start_with(b, berlin).await;
    // The console shows times in the zone /api/me names.
    let (st, me) = s.get("/api/me", &s.dispatcher).await;
    assert_eq!(
        (st, me["business_time_zone"].as_str()),
        (200, Some("Europe/Berlin"))
    );
    let (dev, token) = s.technician("T-1", &[APPLIANCE]).await;
    let zone = pull(&s, &token, &dev, 0).await.business_zone.unwrap();
    assert_eq!(zone.name, "Europe/Berlin");
    zone.validate().unwrap();
    // Two clock changes a year, for the coming years, and no more.
    assert!(
        (10..=14).contains(&zone.transitions.len()),
        "{:?}",
        zone.transitions
    );
    let summer = Utc::now() + Duration::days(366);
    let offsets: std::collections::BTreeSet<i32> = (0..12)
        .map(|m| {
            zone.offset_at(summer + Duration::days(30 * m))
                .local_minus_utc()
        })
        .collect();
    assert_eq!(offsets, [3600, 7200].into());
}

async fn a_new_phone_pulls_only_open_work(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1").await;
    // Two finished jobs on the first phone, one cancelled, one still open.
    for _ in 0..2 {
        visit(&s, &mut p, 30, |v, c| {
            v.completed(None, GOOD, c);
        })
        .await;
    }
    let cancelled = s.assignment(APPLIANCE, Some("T-1")).await;
    let (st, r) = s
        .post(
            &format!(
                "/api/assignments/{}/cancel",
                cancelled["id"].as_str().unwrap()
            ),
            &s.dispatcher,
            json!({"reason": "customer cancelled"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let open = s.assignment(APPLIANCE, Some("T-1")).await;

    // A new phone for the same technician syncs for the first time.
    let (st, body) = s
        .post(
            "/api/technicians/T-1/devices",
            &s.dispatcher,
            json!({"device_id": "phone-T-1-new"}),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let token = body["token"].as_str().unwrap();
    let page = pull(&s, token, "phone-T-1-new", 0).await;
    let dir = std::env::temp_dir().join(format!(
        "doorstep-first-sync-{}-{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(
        dir.join("phone.db"),
        &Enrollment {
            device_id: DeviceId::new("phone-T-1-new").unwrap(),
            technician_id: TechnicianId::new("T-1").unwrap(),
            technician_name: "Tech T-1".into(),
        },
    )
    .unwrap();
    store
        .apply_download_page(
            &page.changes,
            &page.next_cursor.to_string(),
            Utc::now(),
            page.receipt_ids,
        )
        .unwrap();
    let day = store
        .business_today(Utc::now() + Duration::hours(2))
        .unwrap();
    let listed: Vec<String> = store
        .visits_on_business_day(day)
        .unwrap()
        .into_iter()
        .chain(
            store
                .visits_on_business_day(day.pred_opt().unwrap())
                .unwrap(),
        )
        .chain(
            store
                .visits_on_business_day(day.succ_opt().unwrap())
                .unwrap(),
        )
        .map(|v| v.assignment_id.to_string())
        .collect();
    assert_eq!(
        listed,
        vec![open["id"].as_str().unwrap().to_string()],
        "only the open job becomes a visit on the new phone"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

async fn reconciliation_questions_implausible_visits(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1").await;
    let clean = visit(&s, &mut p, 30, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let no_location = visit(&s, &mut p, 30, |v, c| {
        v.set_off(None).arrive(30, None, None);
        v.repair().pay().sign(GOOD, None, c).leave();
    })
    .await;
    let far = visit(&s, &mut p, 30, |v, c| {
        let two_km_north = GeoPoint {
            lat: 31.23 + 0.018,
            lon: 121.47,
        };
        v.set_off(None)
            .arrive(30, Some(two_km_north), Some("the gate is on the far side"));
        v.repair().pay().sign(GOOD, None, c).leave();
    })
    .await;
    // Declared 30 minutes of travel, arrived a minute after leaving.
    let too_fast = visit(&s, &mut p, 30, |v, c| {
        let pin = v.assignment.customer.location;
        v.set_off(None).arrive(1, pin, None);
        v.repair().pay().sign(GOOD, None, c).leave();
    })
    .await;
    // The phone recorded the visit two hours before the request came in.
    let before_request = visit(&s, &mut p, -120, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let report = reconciliation_on(&s, closed_day(&BusinessZone::shanghai())).await;
    assert!(findings(&report, &clean).is_empty(), "{report}");
    assert_eq!(
        findings(&report, &no_location),
        vec!["arrival_without_location"]
    );
    assert_eq!(findings(&report, &far), vec!["arrival_far_from_customer"]);
    assert_eq!(findings(&report, &too_fast), vec!["impossible_travel"]);
    assert_eq!(
        findings(&report, &before_request),
        vec!["event_before_request"]
    );
    // Each finding is labelled in both languages.
    let labelled = report["visits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["findings"].as_array().unwrap().clone())
        .find(|f| f["code"] == "arrival_without_location")
        .unwrap();
    assert_eq!(labelled["label"]["zh"], "到达时无定位");
    assert_eq!(labelled["label"]["en"], "Arrival without location");
}

async fn reconciliation_counts_the_paid_total(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1").await;
    // The quote's total collected in two payments (as after a reopened
    // report that collected only the difference): clean.
    let split = stored_before_admission(&s, &mut p, 30, |v, c| {
        v.go(None).repair();
        let total = v.state.accepted_quote().unwrap().customer_total;
        forged::pay(v, 100);
        forged::pay(v, total - 100);
        forged::sign(v, GOOD, c);
        forged::leave_fixed(v);
    })
    .await;
    let underpaid = stored_before_admission(&s, &mut p, 30, |v, c| {
        v.go(None).repair();
        forged::pay(v, 100);
        forged::sign(v, GOOD, c);
        forged::leave_fixed(v);
    })
    .await;
    let report = reconciliation_on(&s, closed_day(&BusinessZone::shanghai())).await;
    assert!(findings(&report, &split).is_empty(), "{report}");
    assert_eq!(findings(&report, &underpaid), vec!["amount_mismatch"]);
}

async fn reconciliation_days_are_days_of_the_business_time_zone(b: Backend) {
    // UTC+14: its date is never the date of UTC-11 at the same instant.
    let config = Config {
        business_time_zone: "Pacific/Kiritimati".into(),
        ..Config::default()
    };
    let s = Srv::start_with(b, config).await;
    let kiritimati = BusinessZone::fixed("Pacific/Kiritimati", 14 * 3600);
    let mut p = phone(&s, "T-1").await;
    p.zone = kiritimati.clone();
    let v = visit(&s, &mut p, 30, |v, c| {
        v.completed(None, GOOD, c);
    })
    .await;
    let pago_pago = BusinessZone::fixed("Pacific/Pago_Pago", -11 * 3600);
    let local_day = closed_day(&kiritimati);
    let report = reconciliation_on(&s, local_day).await;
    assert_eq!(report["closed"], 1, "{report}");
    assert!(findings(&report, &v).is_empty(), "{report}");
    let other_day = closed_day(&pago_pago);
    assert_ne!(other_day, local_day);
    assert_eq!(reconciliation_on(&s, other_day).await["closed"], 0);
    // The KPIs put the visit on the same local day.
    let (st, k) = s
        .get(
            &format!("/api/kpis?from={local_day}&to={local_day}&by=day"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{k}");
    assert_eq!(k["groups"][0]["group"], local_day.to_string(), "{k}");
    assert_eq!(k["groups"][0]["visits"], 1, "{k}");
}

async fn a_monthly_sample_rate_outside_10_to_20_percent_is_refused_naming_the_field(b: Backend) {
    let s = Srv::start(b).await;
    let month = BusinessZone::shanghai().month_of(Utc::now());
    for percent in [9, 21] {
        let (st, r) = s
            .post(
                "/api/callbacks/monthly-sample",
                &s.dispatcher,
                json!({"month": month, "percent": percent}),
            )
            .await;
        assert_eq!(
            (st, r["error"]["field"].as_str()),
            (400, Some("percent")),
            "{r}"
        );
        let message = r["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("10 to 20") && message.contains("10% 到 20%"),
            "{message}"
        );
    }
    for percent in [10, 20] {
        let (st, r) = s
            .post(
                "/api/callbacks/monthly-sample",
                &s.dispatcher,
                json!({"month": month, "percent": percent}),
            )
            .await;
        assert_eq!(st, 200, "{percent} %: {r}");
    }
}

async fn callbacks_due(s: &Srv, visit: &str, reason: &str) -> usize {
    let until =
        (Utc::now() + Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (st, due) = s
        .get(&format!("/api/callbacks?until={until}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{due}");
    due.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["visit_id"] == visit && c["reason"] == reason)
        .count()
}

async fn a_dissatisfied_customer_is_followed_up_until_satisfied(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1").await;
    let unhappy = Ratings {
        quality: 2,
        attitude: 3,
    };
    let v = visit(&s, &mut p, 30, |v, c| {
        v.completed(None, unhappy, c);
    })
    .await;
    assert_eq!(callbacks_due(&s, &v, "dissatisfied").await, 1);
    let record = |reached: bool, satisfied: Option<bool>| json!({"visit_id": v, "reason": "dissatisfied", "reached": reached, "satisfied": satisfied});
    // Not reached, then still not satisfied: the follow-up comes back each time.
    for call in [record(false, None), record(true, Some(false))] {
        let (st, r) = s.post("/api/callbacks/result", &s.dispatcher, call).await;
        assert_eq!(st, 200, "{r}");
        assert!(r["next_follow_up_due_at"].is_string(), "{r}");
        assert_eq!(callbacks_due(&s, &v, "dissatisfied").await, 1);
    }
    // Satisfied: it ends.
    let (st, r) = s
        .post(
            "/api/callbacks/result",
            &s.dispatcher,
            record(true, Some(true)),
        )
        .await;
    assert_eq!(
        (st, r["next_follow_up_due_at"].is_null()),
        (200, true),
        "{r}"
    );
    assert_eq!(callbacks_due(&s, &v, "dissatisfied").await, 0);
    let (st, _) = s
        .post(
            "/api/callbacks/result",
            &s.dispatcher,
            record(true, Some(true)),
        )
        .await;
    assert_eq!(st, 409, "recorded once it ended");
}

async fn satisfied_is_never_shown_for_a_broken_sign_off(b: Backend) {
    let s = Srv::start(b).await;
    let mut p = phone(&s, "T-1").await;
    // Signed 5/5, then more work recorded: the signature no longer covers the report.
    let tampered = stored_before_admission(&s, &mut p, 30, |v, c| {
        v.go(None).repair().pay().sign(GOOD, None, c);
        forged::work(v);
        forged::leave_fixed(v);
    })
    .await;
    let (_, v) = s
        .get(&format!("/api/visits/{tampered}"), &s.dispatcher)
        .await;
    assert_eq!(v["visit"]["signoff"], "broken", "{v}");
    assert!(v["visit"]["satisfied"].is_null(), "{v}");
}
