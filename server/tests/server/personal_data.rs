//! Personal data as PIPL expects (docs/PIPL.md), over real HTTP on both
//! databases: retention masks a long-finished order's customer contact and
//! keeps the money and the signature (the report still verifies); an
//! erasure on request is audited and reaches a phone's store on its next
//! sync; one customer's data is exported for an access request; the access
//! log records who viewed full contact details.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, Backend, Srv};
use chrono::{Duration, Utc};
use doorstep_core::invoice_request::InvoiceBuyer;
use doorstep_core::signoff::Ratings;
use doorstep_core::store::{Enrollment, Store};
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::command::VisitCommand;
use doorstep_core::{DeviceId, Playbook, TechnicianId};
use doorstep_server::http::error::ApiError;
use doorstep_server::store::order_search_pieces;
use serde_json::{json, Value};
use std::collections::BTreeSet;

both_backends!(
    retention_masks_the_contact_of_long_finished_orders_and_the_report_still_verifies,
    retention_masks_where_a_personal_buyers_invoice_went_and_keeps_its_title,
    an_erasure_is_audited_and_reaches_the_phone_on_its_next_sync,
    an_erasure_refuses_an_open_order_a_missing_reason_and_a_second_time,
    an_access_request_exports_one_customers_orders_and_is_itself_logged,
    the_access_log_records_who_viewed_full_contact_details,
    the_lists_show_no_full_contact_and_the_callbacks_due_are_logged,
);

/// A Chinese customer no other test uses.
const NAME: &str = "李秀英";
const PHONE: &str = "139 1234 5678";
const ADDRESS: &str = "上海市徐汇区漕溪北路 88 号 3 楼";
const SPARE_NOTE: &str = "白天打儿子电话 138 0013 9999";

async fn order_for(
    s: &Srv,
    tech: Option<&str>,
    phone: &str,
    start: chrono::DateTime<Utc>,
) -> Value {
    let body = json!({
        "trade": "appliance_repair",
        "customer": {"name": NAME, "phone": phone, "address": ADDRESS,
                     "location": {"lat": 31.19, "lon": 121.43}},
        "product": {"model": "Haier BCD-216", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
        "fault_description": "冰箱不制冷",
        // A second number the desk typed into the notes: the customer's
        // contact too (masked and erased with it).
        "notes": SPARE_NOTE,
        "requested_window": {"start": start, "end": start + Duration::hours(2)},
        "received_at": start.min(Utc::now()) - Duration::hours(3),
    });
    let (st, a) = s.post("/api/assignments", &s.dispatcher, body).await;
    assert_eq!(st, 201, "{a}");
    let Some(t) = tech else { return a };
    let id = a["id"].as_str().unwrap();
    let (st, a) = s
        .post(
            &format!("/api/assignments/{id}/assign"),
            &s.dispatcher,
            json!({"technician": t}),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    a
}

/// One SQL statement on the test database.
async fn execute(s: &Srv, sql: &'static str, params: Vec<String>) {
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let values: Vec<_> = params.into_iter().map(Into::into).collect();
                tx.execute(sql, &values).await?;
                Ok::<_, ApiError>(())
            })
        })
        .await
        .unwrap();
}

/// The search pieces stored for order `id`.
async fn search_pieces(s: &Srv, id: &str) -> BTreeSet<String> {
    let id = id.to_string();
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let rows = tx
                    .query(
                        "SELECT gram FROM assignment_search_grams WHERE assignment_id = $1",
                        &[id.into()],
                    )
                    .await?;
                Ok::<_, ApiError>(rows.iter().map(|r| r.text("gram")).collect())
            })
        })
        .await
        .unwrap()
}

/// Every stored text column that can hold a customer's contact, joined.
async fn stored_text(s: &Srv) -> String {
    s.state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let mut all = String::new();
                for sql in [
                    "SELECT body AS t FROM assignments",
                    "SELECT payload AS t FROM assignment_changes",
                    "SELECT body AS t FROM events",
                    "SELECT state AS t FROM visits",
                    "SELECT caller AS t FROM intakes",
                    "SELECT content AS t FROM intakes",
                    "SELECT COALESCE(answer, '') AS t FROM intakes",
                    "SELECT COALESCE(caller_phone_digits, '') AS t FROM intakes",
                    "SELECT payload AS t FROM outbox WHERE state IN ('delivered', 'dead')",
                    "SELECT search_text AS t FROM assignment_lookup",
                    "SELECT COALESCE(customer_phone_digits, '') AS t FROM assignment_lookup",
                ] {
                    for r in tx.query(sql, &[]).await? {
                        all.push_str(&r.text("t"));
                        all.push('\n');
                    }
                }
                Ok::<_, ApiError>(all)
            })
        })
        .await
        .unwrap()
}

/// Records and syncs a signed appliance visit of a new order for this
/// customer; returns (order id, visit id).
async fn signed_visit(s: &Srv, tech: &str) -> (String, String) {
    let (dev, token) = s.technician(tech, &["appliance_repair"]).await;
    let start =
        crate::harness::past_window_start(&doorstep_core::business_time::BusinessZone::shanghai());
    let a = assignment(&order_for(s, Some(tech), PHONE, start).await);
    let v = crate::harness::completed_visit(&a, &dev, start - Duration::hours(2));
    let (st, r) = s.push(&token, &dev, &numbered(&v.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    (a.id.to_string(), v.visit.to_string())
}

/// Moves a visit's close, and with it when its order finished, 200 days
/// back.
async fn closed_200_days_earlier(s: &Srv, visit: &str) {
    execute(
        s,
        "UPDATE visits SET closed_at = closed_at - 17280000000 WHERE visit_id = $1",
        vec![visit.to_string()],
    )
    .await;
    execute(
        s,
        "UPDATE assignments SET finished_at = finished_at - 17280000000
         WHERE id = (SELECT assignment_id FROM visits WHERE visit_id = $1)",
        vec![visit.to_string()],
    )
    .await;
}

async fn retention_masks_the_contact_of_long_finished_orders_and_the_report_still_verifies(
    b: Backend,
) {
    let s = Srv::start(b).await;
    let (old, visit) = signed_visit(&s, "T-ret1").await;
    let (recent, _) = signed_visit(&s, "T-ret2").await;
    let open = order_for(&s, None, PHONE, Utc::now() + Duration::hours(3)).await;
    let (st, before) = s.get(&format!("/api/visits/{visit}"), &s.dispatcher).await;
    assert_eq!(st, 200, "{before}");
    let digest = before["state"]["sign_off"]["evidence"]["report_digest"]
        .as_str()
        .unwrap()
        .to_string();
    // The first order's visit closed 200 days ago (default retention: 180).
    closed_200_days_earlier(&s, &visit).await;

    let (st, _) = s
        .post("/api/personal-data/retention/run", &s.dispatcher, json!({}))
        .await;
    assert_eq!(st, 403, "retention is an admin's action");
    let (st, run) = s
        .post("/api/personal-data/retention/run", &s.admin, json!({}))
        .await;
    assert_eq!(st, 200, "{run}");
    assert_eq!(run["masked"], json!([old]), "{run}");

    let (_, a) = s
        .get(&format!("/api/assignments/{old}"), &s.dispatcher)
        .await;
    let c = &a["customer"];
    assert_eq!(c["name"], "李*");
    assert_eq!(c["phone"], "139****5678");
    assert_eq!(c["address"], "上海市徐汇区***");
    assert!(c["location"].is_null());
    assert_eq!(a["notes"], "白天打儿子电话 138****9999");
    for id in [&recent, open["id"].as_str().unwrap()] {
        let (_, a) = s
            .get(&format!("/api/assignments/{id}"), &s.dispatcher)
            .await;
        assert_eq!(a["customer"]["phone"], PHONE, "{id} is not due");
    }
    // The desk no longer finds the masked order by the full number or name;
    // the orders not due still are.
    for q in ["13912345678", "%E6%9D%8E%E7%A7%80%E8%8B%B1"] {
        let (_, found) = s.get(&format!("/api/search?q={q}"), &s.dispatcher).await;
        let mut found: Vec<&str> = found
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap())
            .collect();
        found.sort();
        let mut want = vec![recent.as_str(), open["id"].as_str().unwrap()];
        want.sort();
        assert_eq!(found, want, "{q}");
    }

    // The visit keeps its money and signature; its stored copies are masked.
    let (_, after) = s.get(&format!("/api/visits/{visit}"), &s.dispatcher).await;
    assert_eq!(
        after["display"]["customer_total"],
        before["display"]["customer_total"]
    );
    assert_eq!(after["state"]["paid_total"], before["state"]["paid_total"]);
    assert_eq!(after["state"]["sign_off"], before["state"]["sign_off"]);
    assert_eq!(
        after["state"]["assignment"]["customer"]["phone"],
        "139****5678"
    );
    assert_eq!(
        after["state"]["assignment"]["notes"], "白天打儿子电话 138****9999",
        "the phone's copy of the order, notes included"
    );
    let report = s
        .get_text(
            &format!("/api/visits/{visit}/report.html?lang=zh"),
            Some(&s.dispatcher),
        )
        .await;
    assert!(report.contains("139****5678"), "{report}");
    assert!(
        !report.contains(PHONE) && !report.contains("漕溪北路"),
        "{report}"
    );
    let page = s
        .http
        .get(format!("{}/v/{visit}/{digest}", s.base))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("class=\"banner verified\""), "{page}");

    // A second run finds nothing new.
    let (_, again) = s
        .post("/api/personal-data/retention/run", &s.admin, json!({}))
        .await;
    assert_eq!(again["masked"], json!([]), "{again}");
}

/// The work order's e-fapiao request, as the desk reads it.
async fn invoice_of(s: &Srv, id: &str) -> Value {
    let (st, list) = s
        .get(
            &format!("/api/assignments/{id}/invoice-requests"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{list}");
    list[0].clone()
}

async fn retention_masks_where_a_personal_buyers_invoice_went_and_keeps_its_title(b: Backend) {
    let s = Srv::start(b).await;
    let (dev, token) = s.technician("T-inv", &["appliance_repair"]).await;
    let start =
        crate::harness::past_window_start(&doorstep_core::business_time::BusinessZone::shanghai());
    let a = assignment(&order_for(&s, Some("T-inv"), PHONE, start).await);
    let id = a.id.to_string();
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut v = Walkthrough::new(&pb, &a, &device(&dev), start - Duration::hours(2));
    v.go(None).repair().pay();
    // At the door: an invoice for the customer herself, sent to her.
    v.apply(
        2,
        VisitCommand::RequestInvoice {
            buyer: InvoiceBuyer {
                buyer_type: "personal".into(),
                title: NAME.into(),
                tax_number: None,
                email: Some("xiuying.li@example.com".into()),
                phone: Some("139 8765 4321".into()),
            },
        },
        None,
        None,
    )
    .expect("the phone's rules take the request");
    let mut chain = None;
    v.sign(
        Ratings {
            quality: 5,
            attitude: 5,
        },
        None,
        &mut chain,
    )
    .leave();
    let (st, r) = s.push(&token, &dev, &numbered(&v.events, 1)).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    assert_eq!(invoice_of(&s, &id).await["email"], "xiuying.li@example.com");

    // Finished 200 days ago, the request long sent to the invoicing
    // provider: retention masks where the invoice went.
    closed_200_days_earlier(&s, &v.visit.to_string()).await;
    execute(
        &s,
        "UPDATE outbox SET state = 'delivered' WHERE assignment_id = $1",
        vec![id.clone()],
    )
    .await;
    assert!(
        stored_text(&s).await.contains("xiuying.li@"),
        "the sent request held it"
    );
    let (st, run) = s
        .post("/api/personal-data/retention/run", &s.admin, json!({}))
        .await;
    assert_eq!(st, 200, "{run}");
    assert_eq!(run["masked"], json!([id]), "{run}");
    let filed = invoice_of(&s, &id).await;
    assert_eq!(filed["email"], "x***@example.com", "{filed}");
    assert_eq!(filed["phone"], "139****4321", "{filed}");
    assert_eq!(filed["title"], NAME, "the invoice's record keeps its title");
    let (_, visit) = s
        .get(&format!("/api/visits/{}", v.visit), &s.dispatcher)
        .await;
    assert_eq!(
        visit["state"]["invoice_request"]["email"],
        "x***@example.com"
    );
    let stored = stored_text(&s).await;
    for leak in ["xiuying.li@", "13987654321", "139 8765 4321"] {
        assert!(!stored.contains(leak), "{leak} is still stored");
    }
}

/// The phone: a real device store that pulls and pushes over HTTP.
struct Phone {
    store: Store,
    device: String,
    token: String,
    _dir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Phone {
    async fn enrol(s: &Srv, tech: &str) -> Phone {
        let (device, token) = s.technician(tech, &["appliance_repair"]).await;
        let dir = std::env::temp_dir().join(format!("doorstep-phone-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(
            dir.join("phone.db"),
            &Enrollment {
                device_id: DeviceId::new(&device).unwrap(),
                technician_id: TechnicianId::new(tech).unwrap(),
                technician_name: format!("Tech {tech}"),
            },
        )
        .unwrap();
        Phone {
            store,
            device,
            token,
            _dir: tempdir::Dir(dir),
        }
    }

    /// Push the outbox, pull every change and apply it, push again.
    async fn sync(&self, s: &Srv) {
        self.push(s).await;
        loop {
            let cursor: u64 = self
                .store
                .sync_cursor("assignments")
                .unwrap()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let (st, page) = s
                .post(
                    "/api/sync/pull",
                    &self.token,
                    json!({"protocol_version": 1, "device_id": self.device, "cursor": cursor}),
                )
                .await;
            assert_eq!(st, 200, "{page}");
            let changes: Vec<doorstep_core::protocol::AssignmentChange> =
                serde_json::from_value(page["changes"].clone()).unwrap();
            let ids = serde_json::from_value(page["receipt_ids"].clone()).unwrap();
            self.store
                .apply_download_page(&changes, &page["next_cursor"].to_string(), Utc::now(), ids)
                .unwrap();
            if page["more"] != true {
                break;
            }
        }
        self.push(s).await;
    }

    async fn push(&self, s: &Srv) {
        let pending = self.store.pending_outbox(1000).unwrap();
        if pending.is_empty() {
            return;
        }
        let events: Vec<_> = pending
            .iter()
            .map(|p| (p.seq as u64, p.event.clone()))
            .collect();
        let (st, r) = s.push(&self.token, &self.device, &events).await;
        assert_eq!(st, 200, "{r}");
        self.store
            .ack_outbox(r["acked_seq"].as_i64().unwrap(), Utc::now())
            .unwrap();
    }
}

async fn an_erasure_is_audited_and_reaches_the_phone_on_its_next_sync(b: Backend) {
    let s = Srv::start(b).await;
    let phone = Phone::enrol(&s, "T-era1").await;
    let a = order_for(&s, Some("T-era1"), PHONE, Utc::now() + Duration::hours(2)).await;
    let id = a["id"].as_str().unwrap().to_string();
    // A second order of the same customer, written another way.
    let other = order_for(&s, None, "+86 13912345678", Utc::now() + Duration::hours(5)).await;
    let other_id = other["id"].as_str().unwrap().to_string();
    phone.sync(&s).await;
    let held = phone
        .store
        .state(doorstep_core::AssignmentId::new(&id).unwrap())
        .unwrap();
    // The phone holds the number masked (no privacy-number provider here).
    assert_eq!(
        held.assignment.unwrap().customer.phone.as_deref(),
        Some("139****5678")
    );

    // An earlier call of the same customer, answered at the desk, whose
    // note has the spare number.
    let (st, consulted) = s
        .post(
            "/api/intakes",
            &s.dispatcher,
            json!({"classification": "consultation",
                   "caller": {"name": NAME, "phone": PHONE},
                   "content": SPARE_NOTE, "answer": "已告知保修政策，可回拨 138-0013-9999"}),
        )
        .await;
    assert_eq!(st, 201, "{consulted}");

    // The customer cancels and asks for their data to be deleted.
    for order in [&id, &other_id] {
        let (st, r) = s
            .post(
                &format!("/api/assignments/{order}/cancel"),
                &s.dispatcher,
                json!({"reason": "客户取消"}),
            )
            .await;
        assert_eq!(st, 200, "{r}");
    }
    phone.sync(&s).await;
    let (st, erased) = s
        .post(
            "/api/customers/erasure",
            &s.dispatcher,
            json!({"phone": "13912345678", "reason": "客户来电要求删除个人信息（工单回访 2026-12-01）"}),
        )
        .await;
    assert_eq!(st, 200, "{erased}");
    let mut orders: Vec<String> = serde_json::from_value(erased["assignments"].clone()).unwrap();
    orders.sort();
    let mut want = vec![id.clone(), other_id.clone()];
    want.sort();
    assert_eq!(orders, want, "{erased}");
    assert_eq!(erased["technicians"], json!(["T-era1"]));

    // The server keeps no copy of the name, phone or address.
    let stored = stored_text(&s).await;
    for secret in [NAME, "1234 5678", "13912345678", "漕溪北路", "0013 9999"] {
        assert!(!stored.contains(secret), "{secret} is still stored");
    }
    // Nor a piece of them for the search: only the order ids' pieces remain.
    for order in [&id, &other_id] {
        let only_the_id =
            order_search_pieces::pieces_of(&format!("{}\u{1f}\u{1f}", order.to_lowercase()), None);
        assert_eq!(search_pieces(&s, order).await, only_the_id, "{order}");
    }
    let (_, a) = s
        .get(&format!("/api/assignments/{id}"), &s.dispatcher)
        .await;
    for f in ["name", "phone", "address", "location"] {
        assert!(a["customer"][f].is_null(), "{f}: {a}");
    }
    assert_eq!(a["product"]["model"], "Haier BCD-216", "the rest is kept");

    // The audit: who, when, why, which orders.
    let (st, audit) = s.get("/api/customers/erasures", &s.admin).await;
    assert_eq!(st, 200, "{audit}");
    assert_eq!(audit[0]["requested_by"], "desk");
    assert_eq!(
        audit[0]["reason"],
        "客户来电要求删除个人信息（工单回访 2026-12-01）"
    );
    assert_eq!(
        audit[0]["assignments"].as_array().unwrap().len(),
        3,
        "both orders and the consultation: {audit}"
    );
    let consultation = format!("intake:{}", consulted["intake"]["id"].as_str().unwrap());
    assert!(audit[0]["assignments"]
        .as_array()
        .unwrap()
        .contains(&json!(consultation)));
    assert!(audit[0]["requested_at"].is_string());

    // The phone's next sync blanks its copy.
    phone.sync(&s).await;
    let state = phone
        .store
        .state(doorstep_core::AssignmentId::new(&id).unwrap())
        .unwrap();
    let held = state.assignment.unwrap();
    assert_eq!(held.notes.as_deref(), Some("白天打儿子电话 ***"));
    let customer = held.customer;
    assert_eq!(
        (
            customer.name,
            customer.phone,
            customer.address,
            customer.location
        ),
        (None, None, None, None)
    );
    let history = serde_json::to_string(
        &phone
            .store
            .history(doorstep_core::AssignmentId::new(&id).unwrap())
            .unwrap(),
    )
    .unwrap();
    for secret in [NAME, PHONE, "漕溪北路", "0013 9999"] {
        assert!(
            !history.contains(secret),
            "{secret} is still in the phone's events"
        );
    }
    assert!(phone.store.verify_projections().unwrap().is_empty());
}

async fn an_erasure_refuses_an_open_order_a_missing_reason_and_a_second_time(b: Backend) {
    let s = Srv::start(b).await;
    let a = order_for(&s, None, PHONE, Utc::now() + Duration::hours(2)).await;
    let id = a["id"].as_str().unwrap();
    let (st, r) = s
        .post(
            "/api/customers/erasure",
            &s.dispatcher,
            json!({"assignment_id": id, "reason": "客户要求"}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (409, Some("order_open")),
        "{r}"
    );
    assert_eq!(r["error"]["assignments"], json!([id]));

    let (st, r) = s
        .post(
            "/api/customers/erasure",
            &s.dispatcher,
            json!({"assignment_id": id, "reason": " "}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("reason")),
        "{r}"
    );

    let (st, r) = s
        .post(
            "/api/customers/erasure",
            &s.dispatcher,
            json!({"phone": "13912345x", "reason": "客户要求"}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("phone")),
        "{r}"
    );
    assert!(
        !r.to_string().contains("13912345x"),
        "the refusal does not echo the number: {r}"
    );

    let (st, r) = s
        .post(
            "/api/customers/erasure",
            &s.dispatcher,
            json!({"phone": "13700000000", "reason": "客户要求"}),
        )
        .await;
    assert_eq!(st, 404, "{r}");
    assert!(!r.to_string().contains("13700000000"), "{r}");

    s.post(
        &format!("/api/assignments/{id}/cancel"),
        &s.dispatcher,
        json!({"reason": "客户取消"}),
    )
    .await;
    let erase = json!({"assignment_id": id, "reason": "客户要求"});
    let (st, r) = s
        .post("/api/customers/erasure", &s.dispatcher, erase.clone())
        .await;
    assert_eq!(st, 200, "{r}");
    let (st, r) = s.post("/api/customers/erasure", &s.dispatcher, erase).await;
    assert_eq!(
        (st, r["error"]["code"].as_str()),
        (409, Some("already_erased")),
        "{r}"
    );
}

async fn an_access_request_exports_one_customers_orders_and_is_itself_logged(b: Backend) {
    let s = Srv::start(b).await;
    let first = order_for(&s, None, PHONE, Utc::now() + Duration::hours(2)).await;
    let second = order_for(&s, None, "13912345678", Utc::now() + Duration::hours(4)).await;
    let stranger = order_for(&s, None, "138 0000 1111", Utc::now() + Duration::hours(4)).await;
    let (st, data) = s
        .post(
            "/api/customers/export",
            &s.dispatcher,
            json!({"phone": "+86 139-1234-5678"}),
        )
        .await;
    assert_eq!(st, 200, "{data}");
    let ids: Vec<&str> = data["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["assignment"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{data}");
    for a in [&first, &second] {
        assert!(ids.contains(&a["id"].as_str().unwrap()), "{data}");
    }
    assert!(!ids.contains(&stranger["id"].as_str().unwrap()));
    let o = &data["orders"][0];
    assert_eq!(o["assignment"]["customer"]["name"], NAME);
    assert_eq!(o["assignment"]["fault_description"], "冰箱不制冷");
    assert!(o["visits"].is_array() && o["intakes"].is_array());
    assert_eq!(data["exported_by"], "desk");

    // By work order, and the export is in the access log.
    let id = first["id"].as_str().unwrap();
    let (st, one) = s
        .post(
            "/api/customers/export",
            &s.dispatcher,
            json!({"assignment_id": id}),
        )
        .await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["orders"].as_array().unwrap().len(), 1);
    let (_, log) = s
        .get(
            &format!("/api/personal-data/access-log?assignment_id={id}"),
            &s.admin,
        )
        .await;
    let purposes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(purposes, ["export", "export"], "{log}");

    let (st, r) = s
        .post(
            "/api/customers/export",
            &s.dispatcher,
            json!({"phone": PHONE, "assignment_id": id}),
        )
        .await;
    assert_eq!(
        (st, r["error"]["field"].as_str()),
        (400, Some("phone")),
        "{r}"
    );
}

async fn the_access_log_records_who_viewed_full_contact_details(b: Backend) {
    let s = Srv::start(b).await;
    let (order, visit) = signed_visit(&s, "T-log1").await;
    let (_, token) = s.technician("T-log2", &["appliance_repair"]).await;
    let before = Utc::now();
    let (st, _) = s
        .get(&format!("/api/assignments/{order}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200);
    let (st, _) = s.get(&format!("/api/visits/{visit}"), &s.admin).await;
    assert_eq!(st, 200);
    // A technician's device reading its work is not a contact view; this
    // one may not read it at all.
    let (st, _) = s.get(&format!("/api/assignments/{order}"), &token).await;
    assert_eq!(st, 403);

    let (st, r) = s.get("/api/personal-data/access-log", &s.dispatcher).await;
    assert_eq!(st, 403, "the access log is for admins: {r}");
    let (st, log) = s
        .get(
            &format!("/api/personal-data/access-log?assignment_id={order}"),
            &s.admin,
        )
        .await;
    assert_eq!(st, 200, "{log}");
    let rows = log.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{log}");
    assert_eq!(
        (rows[0]["username"].as_str(), rows[0]["purpose"].as_str()),
        (Some("root"), Some("visit_detail"))
    );
    assert_eq!(
        (rows[1]["username"].as_str(), rows[1]["purpose"].as_str()),
        (Some("desk"), Some("assignment_detail"))
    );
    let at: chrono::DateTime<Utc> = serde_json::from_value(rows[1]["accessed_at"].clone()).unwrap();
    assert!(at >= before - Duration::seconds(1) && at <= Utc::now());
    let (_, mine) = s
        .get("/api/personal-data/access-log?username=desk", &s.admin)
        .await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|r| r["username"] == "desk"),
        "{mine}"
    );

    // A search and a customer's history show full contacts too: each order
    // on the answer is logged, and a search that finds nothing logs nothing.
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    let (st, found) = s
        .get(
            &format!("/api/search?q={}", &digits[digits.len() - 8..]),
            &s.dispatcher,
        )
        .await;
    assert_eq!(
        (st, found.as_array().map(Vec::len)),
        (200, Some(1)),
        "{found}"
    );
    let (st, _) = s
        .get(
            &format!("/api/customers/history?phone={digits}"),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200);
    let (_, nothing) = s.get("/api/search?q=nobody-at-all", &s.dispatcher).await;
    assert_eq!(nothing.as_array().map(Vec::len), Some(0), "{nothing}");
    let (_, log) = s
        .get(
            &format!("/api/personal-data/access-log?assignment_id={order}"),
            &s.admin,
        )
        .await;
    let purposes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["purpose"].as_str().unwrap())
        .collect();
    assert_eq!(
        purposes,
        [
            "customer_history",
            "search",
            "visit_detail",
            "assignment_detail"
        ],
        "{log}"
    );
    let (_, all) = s.get("/api/personal-data/access-log", &s.admin).await;
    assert_eq!(all.as_array().map(Vec::len), Some(4), "{all}");
}

/// PIPL: the list of orders the board re-reads shows staff no full contact
/// (each phone masked, so nothing to log), the order's page shows it in
/// full and is logged; the callbacks due give who to call in full, and each
/// order they list is logged as `callback`.
async fn the_lists_show_no_full_contact_and_the_callbacks_due_are_logged(b: Backend) {
    let s = Srv::start(b).await;
    let (order, _visit) = signed_visit(&s, "T-list").await;
    let log_of = |purpose: &'static str| {
        let s = &s;
        let order = order.clone();
        async move {
            let (_, log) = s
                .get(
                    &format!("/api/personal-data/access-log?assignment_id={order}"),
                    &s.admin,
                )
                .await;
            log.as_array()
                .unwrap()
                .iter()
                .filter(|r| r["purpose"] == purpose)
                .count()
        }
    };
    let (st, listed) = s.get("/api/assignments?limit=2000", &s.dispatcher).await;
    assert_eq!(st, 200, "{listed}");
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == order.as_str())
        .unwrap();
    assert_eq!(row["customer"]["phone"], "139****5678");
    assert_eq!(
        row["customer"]["name"], NAME,
        "the board names the customer"
    );
    let digits: String = PHONE.chars().filter(char::is_ascii_digit).collect();
    assert!(!listed.to_string().contains(&digits) && !listed.to_string().contains(PHONE));
    assert_eq!(
        log_of("assignment_detail").await,
        0,
        "a list is no contact view"
    );
    let (_, page) = s
        .get(&format!("/api/assignments/{order}"), &s.dispatcher)
        .await;
    assert_eq!(page["customer"]["phone"], PHONE);
    assert_eq!(log_of("assignment_detail").await, 1);

    let until = (Utc::now() + Duration::days(400)).to_rfc3339();
    let (st, due) = s
        .get(
            &format!("/api/callbacks?until={}", until.replace('+', "%2B")),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 200, "{due}");
    let ours: Vec<&Value> = due
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["assignment_id"] == order.as_str())
        .collect();
    assert!(
        !ours.is_empty(),
        "the signed visit's callback is due by then: {due}"
    );
    assert_eq!(ours[0]["customer_phone"], PHONE, "who to call, in full");
    assert_eq!(log_of("callback").await, 1, "one row per order listed");
}

/// A customer's consultations and the orders due for retention are read
/// through their partial indexes (migrations 0039 and 0040), not by
/// reading every intake or every finished order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_consultations_and_the_orders_due_are_found_through_indexes() {
    use doorstep_server::store::personal_data as store;
    let s = Srv::start(Backend::Sqlite).await;
    let due = s
        .sqlite_plan(
            store::DUE_FOR_RETENTION_SQL,
            vec![0_i64.into(), 101_i64.into()],
        )
        .await;
    assert_eq!(
        due,
        ["SEARCH assignments USING INDEX assignments_due_for_retention (finished_at<?)"],
        "{due:?}"
    );
    let consultations = s
        .sqlite_plan(
            store::UNLINKED_INTAKES_OF_PHONE_DIGITS_SQL,
            vec!["13912345678".into(), "008613912345678".into()],
        )
        .await;
    assert!(
        consultations[0].starts_with(
            "SEARCH intakes USING INDEX intakes_by_order_and_caller_phone (assignment_id=? AND caller_phone_digits=?)"
        ),
        "{consultations:?}"
    );
}
