//! The engineers' cash ledger (issue 19, item 4) on both databases: visits
//! walked by the book and paid in cash or otherwise, over two business days
//! and two technicians; the reconciliation per technician per day is exact
//! (collected, remitted, outstanding); a fact pushed twice counts once;
//! non-cash payments are never on the ledger; a remittance that would take
//! more than the technician holds is refused naming what he holds; a bad
//! amount names the field; a remittance entered wrongly is voided with a
//! reason, stays listed and counts no more.

use crate::both_backends;
use crate::harness::{assignment, device, numbered, past_window_start, Backend, Srv};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord};
use doorstep_core::{Playbook, VisitCommand, VisitEvent};
use serde_json::{json, Value};

both_backends!(
    cash_ledger_totals_per_technician_per_day,
    remittances_are_checked_against_the_cash_in_hand,
    a_remittance_entered_wrongly_is_voided_with_a_reason_and_counts_no_more,
);

const TRADE: &str = "appliance_repair";

/// A technician's phone: its id, token and next sequence.
struct Phone {
    tech: String,
    dev: String,
    token: String,
    seq: u64,
}

async fn phone(s: &Srv, tech: &str) -> Phone {
    let (dev, token) = s.technician(tech, &[TRADE]).await;
    Phone {
        tech: tech.into(),
        dev,
        token,
        seq: 0,
    }
}

/// A paid visit pushed from the phone.
struct Paid {
    amount: i64,
    visit: String,
    order: String,
    receipt: String,
    events: Vec<(u64, VisitEvent)>,
}

/// Walks a visit of a window starting at `start` by the book, paid by
/// `method` with exactly what is due, and pushes it.
async fn paid_visit(s: &Srv, p: &mut Phone, start: DateTime<Utc>, method: PaymentMethod) -> Paid {
    let a = assignment(&s.assignment_at(TRADE, Some(&p.tech), start).await);
    let pb = Playbook::shipped_by_id(TRADE).unwrap();
    let mut w = Walkthrough::new(&pb, &a, &device(&p.dev), start - Duration::hours(2));
    w.go(None).repair();
    let amount = w.state.amount_due().expect("an accepted quote");
    assert!(amount > 0);
    let receipt = format!("R-{}", &w.visit.to_string()[..8]);
    w.apply(
        5,
        VisitCommand::CollectPayment {
            amount,
            method,
            receipt: ReceiptRecord::Receipt {
                number: receipt.clone(),
            },
            qr: None,
        },
        None,
        None,
    )
    .expect("the payment is taken");
    let events = numbered(&w.events, p.seq + 1);
    p.seq += events.len() as u64;
    let (st, r) = s.push(&p.token, &p.dev, &events).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["refused"].as_array().unwrap().len(), 0, "{r}");
    Paid {
        amount,
        visit: w.visit.to_string(),
        order: a.id.to_string(),
        receipt,
        events,
    }
}

async fn remit(s: &Srv, tech: &str, amount: i64, at: DateTime<Utc>) -> (u16, Value) {
    s.post(
        &format!("/api/technicians/{tech}/remittances"),
        &s.dispatcher,
        json!({"amount": amount, "remitted_at": at, "note": "交到前台"}),
    )
    .await
}

async fn ledger(s: &Srv, query: &str) -> Value {
    let (st, l) = s
        .get(&format!("/api/cash-ledger?{query}"), &s.dispatcher)
        .await;
    assert_eq!(st, 200, "{l}");
    l
}

/// The day row of `tech` on `day`: (collected, remitted, outstanding).
fn day_row(l: &Value, tech: &str, day: NaiveDate) -> Option<(i64, i64, i64)> {
    l["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["technician_id"] == tech && d["business_day"] == day.to_string())
        .map(|d| {
            (
                d["collected"].as_i64().unwrap(),
                d["remitted"].as_i64().unwrap(),
                d["outstanding"].as_i64().unwrap(),
            )
        })
}

fn totals(l: &Value) -> (i64, i64, i64, i64) {
    let t = &l["totals"];
    (
        t["opening"].as_i64().unwrap(),
        t["collected"].as_i64().unwrap(),
        t["remitted"].as_i64().unwrap(),
        t["outstanding"].as_i64().unwrap(),
    )
}

/// Two business days (yesterday's window and today's) of two technicians.
struct Days {
    start1: DateTime<Utc>,
    start2: DateTime<Utc>,
    day1: NaiveDate,
    day2: NaiveDate,
}

fn days(s: &Srv) -> Days {
    let start2 = past_window_start(&s.state.zone);
    let start1 = start2 - Duration::days(1);
    Days {
        start1,
        start2,
        day1: s.state.zone.date_of(start1),
        day2: s.state.zone.date_of(start2),
    }
}

async fn cash_ledger_totals_per_technician_per_day(b: Backend) {
    let s = Srv::start(b).await;
    let d = days(&s);
    assert_eq!(d.day2 - d.day1, Duration::days(1));
    let mut t1 = phone(&s, "T-1").await;
    let mut t2 = phone(&s, "T-2").await;

    let a1 = paid_visit(&s, &mut t1, d.start1, PaymentMethod::Cash).await;
    let mobile = paid_visit(&s, &mut t1, d.start1, PaymentMethod::Mobile).await;
    let a2 = paid_visit(&s, &mut t1, d.start2, PaymentMethod::Cash).await;
    let card = paid_visit(&s, &mut t2, d.start1, PaymentMethod::Card).await;
    let transfer = paid_visit(&s, &mut t2, d.start2, PaymentMethod::BankTransfer).await;
    let c1 = paid_visit(&s, &mut t2, d.start2, PaymentMethod::Cash).await;

    // The same facts pushed again: under their sequence numbers (a retried
    // upload) and under new ones (refused as duplicate event ids).
    let (st, r) = s.push(&t1.token, &t1.dev, &a1.events).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["applied"], 0, "{r}");
    let again: Vec<_> = a2
        .events
        .iter()
        .enumerate()
        .map(|(i, (_, e))| (t1.seq + 1 + i as u64, e.clone()))
        .collect();
    t1.seq += again.len() as u64;
    let (st, r) = s.push(&t1.token, &t1.dev, &again).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["applied"], 0, "{r}");

    let period = format!("from={}&to={}", d.day1, d.day2);
    let l = ledger(&s, &period).await;
    assert_eq!(day_row(&l, "T-1", d.day1), Some((a1.amount, 0, a1.amount)));
    assert_eq!(
        day_row(&l, "T-1", d.day2),
        Some((a2.amount, 0, a1.amount + a2.amount))
    );
    // T-2 paid by card on day 1: no cash, no row.
    assert_eq!(day_row(&l, "T-2", d.day1), None);
    assert_eq!(day_row(&l, "T-2", d.day2), Some((c1.amount, 0, c1.amount)));
    assert_eq!(l["days"].as_array().unwrap().len(), 3, "{l}");
    assert_eq!(
        totals(&l),
        (
            0,
            a1.amount + a2.amount + c1.amount,
            0,
            a1.amount + a2.amount + c1.amount
        )
    );

    // The payments behind the figures: cash only, each with its visit,
    // work order and receipt.
    let payments: Vec<&Value> = l["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["payments"].as_array().unwrap())
        .collect();
    assert_eq!(payments.len(), 3, "{l}");
    for p in [&a1, &a2, &c1] {
        let row = payments
            .iter()
            .find(|r| r["visit_id"] == p.visit)
            .unwrap_or_else(|| panic!("{} not on the ledger: {l}", p.visit));
        assert_eq!(row["assignment_id"], p.order);
        assert_eq!(row["receipt"], p.receipt);
        assert_eq!(row["amount"], p.amount);
    }
    for p in [&mobile, &card, &transfer] {
        assert!(
            !payments.iter().any(|r| r["visit_id"] == p.visit),
            "a non-cash payment is on the ledger: {l}"
        );
    }

    // T-1 hands over part of day 1's cash on day 1 and day 2's on day 2.
    let r1 = a1.amount / 2;
    let (st, r) = remit(&s, "T-1", r1, d.start1 + Duration::hours(1)).await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["business_day"], d.day1.to_string());
    assert_eq!(r["received_by"], "desk", "the dispatcher of the session");
    let (st, r) = remit(&s, "T-1", a2.amount, d.start2 + Duration::hours(1)).await;
    assert_eq!(st, 201, "{r}");

    let l = ledger(&s, &period).await;
    assert_eq!(
        day_row(&l, "T-1", d.day1),
        Some((a1.amount, r1, a1.amount - r1))
    );
    assert_eq!(
        day_row(&l, "T-1", d.day2),
        Some((a2.amount, a2.amount, a1.amount - r1))
    );
    assert_eq!(day_row(&l, "T-2", d.day2), Some((c1.amount, 0, c1.amount)));
    assert_eq!(
        totals(&l),
        (
            0,
            a1.amount + a2.amount + c1.amount,
            r1 + a2.amount,
            a1.amount - r1 + c1.amount
        )
    );

    // Day 2 alone carries day 1's balance in.
    let l = ledger(&s, &format!("from={0}&to={0}", d.day2)).await;
    assert_eq!(
        totals(&l),
        (
            a1.amount - r1,
            a2.amount + c1.amount,
            a2.amount,
            a1.amount - r1 + c1.amount
        )
    );
    // One technician.
    let l = ledger(&s, &format!("{period}&technician=T-2")).await;
    assert_eq!(totals(&l), (0, c1.amount, 0, c1.amount));
    assert_eq!(l["days"].as_array().unwrap().len(), 1, "{l}");
    // A period running backwards names the field.
    let (st, e) = s
        .get(
            &format!("/api/cash-ledger?from={}&to={}", d.day2, d.day1),
            &s.dispatcher,
        )
        .await;
    assert_eq!(st, 400, "{e}");
    assert_eq!(e["error"]["field"], "from", "{e}");
}

async fn remittances_are_checked_against_the_cash_in_hand(b: Backend) {
    let s = Srv::start(b).await;
    let d = days(&s);
    let mut t1 = phone(&s, "T-1").await;
    let mut t2 = phone(&s, "T-2").await;
    let a1 = paid_visit(&s, &mut t1, d.start1, PaymentMethod::Cash).await;
    let c1 = paid_visit(&s, &mut t2, d.start2, PaymentMethod::Cash).await;
    paid_visit(&s, &mut t2, d.start1, PaymentMethod::Mobile).await;

    // More than T-1 holds: refused, naming what he holds.
    let (st, e) = remit(&s, "T-1", a1.amount + 1, d.start2).await;
    assert_eq!(st, 409, "{e}");
    let e = &e["error"];
    assert_eq!(e["code"], "remittance_exceeds_outstanding", "{e}");
    assert_eq!(e["field"], "amount");
    assert_eq!(e["outstanding"], a1.amount);
    let shown = doorstep_server::domain::cash_ledger::yuan(a1.amount);
    assert!(e["message"].as_str().unwrap().contains(&shown), "{e}");
    assert!(e["message_zh"].as_str().unwrap().contains(&shown), "{e}");
    assert!(
        e["message_zh"].as_str().unwrap().starts_with("金额："),
        "{e}"
    );

    // Exactly what he holds is taken; then nothing more, not even dated
    // back to day 1, when he still held day 1's cash: day 2's remittance
    // took it.
    let (st, r) = remit(&s, "T-1", a1.amount, d.start2).await;
    assert_eq!(st, 201, "{r}");
    for at in [d.start2, d.start1 + Duration::hours(1)] {
        let (st, e) = remit(&s, "T-1", 1, at).await;
        assert_eq!(st, 409, "{e}");
        assert_eq!(e["error"]["outstanding"], 0);
    }

    // Cash T-2 collected on day 2 cannot be handed over on day 1 (his
    // mobile payment of day 1 is no cash); on day 2 it can.
    let (st, e) = remit(&s, "T-2", 1, d.start1 + Duration::hours(1)).await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["outstanding"], 0);
    let (st, r) = remit(&s, "T-2", c1.amount, d.start2 + Duration::hours(1)).await;
    assert_eq!(st, 201, "{r}");

    // Bad fields are named, in both languages.
    for (body, field) in [
        (json!({"amount": 0}), "amount"),
        (json!({"amount": -500}), "amount"),
        (
            json!({"amount": 100, "remitted_at": Utc::now() + Duration::days(1)}),
            "remitted_at",
        ),
        (json!({"amount": 100, "note": "备".repeat(1001)}), "note"),
    ] {
        let (st, e) = s
            .post(
                "/api/technicians/T-1/remittances",
                &s.dispatcher,
                body.clone(),
            )
            .await;
        assert_eq!(st, 400, "{body}: {e}");
        assert_eq!(e["error"]["code"], "invalid_field", "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
        assert!(
            e["error"]["message"].as_str().unwrap().starts_with(field),
            "{e}"
        );
        let zh = e["error"]["message_zh"].as_str().unwrap();
        assert!(!zh.contains(field) && zh.contains('：'), "{e}");
    }
    let (st, e) = s
        .post(
            "/api/technicians/T-1/remittances",
            &s.dispatcher,
            json!({"amount": "十元"}),
        )
        .await;
    assert_eq!(st, 400, "{e}");
    assert!(e["error"].to_string().contains("amount"), "{e}");

    // Only the desk records remittances, for technicians that exist.
    let (st, _) = s
        .post(
            "/api/technicians/T-1/remittances",
            &t1.token,
            json!({"amount": 100}),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .post(
            "/api/technicians/T-9/remittances",
            &s.dispatcher,
            json!({"amount": 100}),
        )
        .await;
    assert_eq!(st, 404);

    // What stands: T-1 remitted all he collected, T-2 too; the refusals
    // recorded nothing.
    let l = ledger(&s, &format!("from={}&to={}", d.day1, d.day2)).await;
    assert_eq!(
        totals(&l),
        (0, a1.amount + c1.amount, a1.amount + c1.amount, 0)
    );
}

async fn void(s: &Srv, tech: &str, id: &str, reason: &str) -> (u16, Value) {
    s.post(
        &format!("/api/technicians/{tech}/remittances/{id}/void"),
        &s.dispatcher,
        json!({ "reason": reason }),
    )
    .await
}

async fn a_remittance_entered_wrongly_is_voided_with_a_reason_and_counts_no_more(b: Backend) {
    let s = Srv::start(b).await;
    let d = days(&s);
    let mut t1 = phone(&s, "T-1").await;
    let mut t2 = phone(&s, "T-2").await;
    let a1 = paid_visit(&s, &mut t1, d.start2, PaymentMethod::Cash).await;
    paid_visit(&s, &mut t2, d.start2, PaymentMethod::Cash).await;

    // The desk records T-1's cash twice by mistake: the second is refused
    // (he holds nothing more), so the mistake here is the wrong amount.
    let wrong = a1.amount / 2;
    let (st, r) = remit(&s, "T-1", wrong, d.start2).await;
    assert_eq!(st, 201, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let today = format!("from={}&to={}", d.day2, d.day2);
    assert_eq!(
        day_row(&ledger(&s, &today).await, "T-1", d.day2),
        Some((a1.amount, wrong, a1.amount - wrong))
    );

    // No reason, or a reason too long: refused naming the field, nothing voided.
    for reason in ["", "   ", &"错".repeat(1001)] {
        let (st, e) = void(&s, "T-1", &id, reason).await;
        assert_eq!(st, 400, "{e}");
        assert_eq!(e["error"]["field"], "reason", "{e}");
        assert!(
            e["error"]["message_zh"]
                .as_str()
                .unwrap()
                .starts_with("作废原因："),
            "{e}"
        );
    }
    // Not T-2's remittance, not a technician's to void, no such remittance.
    assert_eq!(void(&s, "T-2", &id, "金额有误").await.0, 404);
    assert_eq!(
        void(&s, "T-1", "no-such-remittance", "金额有误").await.0,
        404
    );
    let (st, _) = s
        .post(
            &format!("/api/technicians/T-1/remittances/{id}/void"),
            &t1.token,
            json!({"reason": "金额有误"}),
        )
        .await;
    assert_eq!(st, 403);
    assert_eq!(
        day_row(&ledger(&s, &today).await, "T-1", d.day2),
        Some((a1.amount, wrong, a1.amount - wrong)),
        "the refusals voided nothing"
    );

    // Voided: it stays listed with who, when and why, and counts no more.
    let (st, v) = void(&s, "T-1", &id, "  金额有误，应为全部现金  ").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["voided"]["by"], "desk", "{v}");
    assert_eq!(v["voided"]["reason"], "金额有误，应为全部现金");
    let l = ledger(&s, &today).await;
    assert_eq!(day_row(&l, "T-1", d.day2), Some((a1.amount, 0, a1.amount)));
    let listed = l["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["technician_id"] == "T-1")
        .unwrap()["remittances"]
        .clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["voided"]["reason"], "金额有误，应为全部现金");

    // Once only.
    let (st, e) = void(&s, "T-1", &id, "再作废一次").await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "remittance_voided", "{e}");
    assert_eq!(e["error"]["voided_by"], "desk");
    assert!(e["error"]["message_zh"]
        .as_str()
        .unwrap()
        .contains("已由 desk 作废"));

    // The correction: the whole amount is in his hands again and can be
    // remitted; the carried balance of the next day knows nothing of the void.
    let (st, r) = remit(&s, "T-1", a1.amount, d.start2 + Duration::hours(1)).await;
    assert_eq!(st, 201, "{r}");
    let next = d.day2 + Duration::days(1);
    let l = ledger(&s, &format!("from={next}&to={next}&technician=T-1")).await;
    assert_eq!(totals(&l), (0, 0, 0, 0), "{l}");
    let l = ledger(&s, &today).await;
    assert_eq!(day_row(&l, "T-1", d.day2), Some((a1.amount, a1.amount, 0)));
}
