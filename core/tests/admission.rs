//! Event admission (`doorstep_core::admission`): one pushed fact at a time,
//! admitted only when the workflow would have produced it from the facts
//! admitted before it. A visit walked by the book is admitted fact by fact
//! (whole or split across pushes); each forged fact class is refused with
//! its stable code and leaves the state as it was.

mod common;

use chrono::{Duration, Utc};
use common::assignment;
use doorstep_core::admission::{unknown_field, AdmissionRefusal, VisitAdmission};
use doorstep_core::assignment::OrderLine;
use doorstep_core::discount_approval::{short_code, SharedDiscountKey, SoftwareDiscountKey};
use doorstep_core::protocol::RefusalCode;
use doorstep_core::quote::{price, Discount, QuoteLineRequest, QuoteRequest};
use doorstep_core::signoff::{self, Ratings, Report, SignOffEvidence};
use doorstep_core::walkthrough::{signature, Walkthrough, CONSENT_TEXT};
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord};
use doorstep_core::VisitCommand;
use doorstep_core::{
    BusinessZone, DeviceId, EventId, EventKind, Playbook, TradeId, VisitEvent, VisitState,
};
use std::sync::Arc;

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

fn walk(trade: &str) -> Walkthrough {
    let pb = Playbook::shipped_by_id(trade).unwrap();
    let start = Utc::now() - Duration::hours(5);
    let mut a = assignment("A-1", start);
    a.trade = TradeId::new(trade).unwrap();
    a.received_at = Some(start - Duration::hours(3));
    if trade == "water_delivery" {
        a.order = vec![OrderLine {
            item: "bottle_18_9l".into(),
            qty: 1,
        }];
    }
    if trade == "home_care" {
        a.service_items = vec!["personal_care".into()];
    }
    let at = a.received_at.unwrap() + Duration::minutes(10);
    Walkthrough::new(&pb, &a, &DeviceId::new("phone-1").unwrap(), at)
}

fn admission(stored: &[VisitEvent]) -> VisitAdmission {
    VisitAdmission::resume(stored, BusinessZone::default(), Default::default())
}

/// `kind` as the device would have stamped it, `minutes` after the last fact.
fn next_fact(events: &[VisitEvent], minutes: i64, kind: EventKind) -> VisitEvent {
    let last = events.last().expect("a started visit").clone();
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
        ..last
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

/// Admits `forged` after `stored`: refused with `code`, the state unchanged.
fn assert_refused(stored: &[VisitEvent], forged: &VisitEvent, code: RefusalCode) {
    let mut adm = admission(stored);
    let before = adm.state().clone();
    let refusal = adm.admit(forged).expect_err("a forged fact is refused");
    assert_eq!(refusal.code(), code, "{refusal}");
    assert_eq!(adm.state(), &before, "nothing of a refused fact is applied");
}

#[test]
fn every_fact_of_a_visit_walked_by_the_book_is_admitted_in_every_trade() {
    let mut chain = None;
    for pb in Playbook::shipped() {
        let mut w = walk(pb.id.as_str());
        w.completed(Some(20), GOOD, &mut chain);
        let mut adm = admission(&[]);
        for (i, e) in w.events.iter().enumerate() {
            adm.admit(e)
                .unwrap_or_else(|r| panic!("{} fact {i} ({}): {r}", pb.id, e.kind.name()));
        }
        assert_eq!(adm.state(), &VisitState::replay(&w.events), "{}", pb.id);
    }
}

#[test]
fn a_visit_pushed_in_pieces_is_admitted_resuming_from_the_stored_facts() {
    let mut w = walk("appliance_repair");
    w.completed(None, GOOD, &mut None);
    for split in 1..w.events.len() {
        let mut adm = admission(&w.events[..split]);
        for e in &w.events[split..] {
            adm.admit(e)
                .unwrap_or_else(|r| panic!("split at {split}, {}: {r}", e.kind.name()));
        }
    }
}

#[test]
fn a_negative_payment_and_an_i64_max_payment_are_refused() {
    let mut w = walk("appliance_repair");
    w.go(None).repair();
    for amount in [-14_000, i64::MAX] {
        let forged = next_fact(&w.events, 5, payment(amount));
        let mut adm = admission(&w.events);
        let refusal = adm.admit(&forged).expect_err("refused");
        assert!(
            matches!(
                refusal.code(),
                RefusalCode::WorkflowRefused | RefusalCode::NotWorkflowFact
            ),
            "{amount}: {refusal}"
        );
    }
}

#[test]
fn a_sign_off_and_a_payment_on_a_visit_in_stage_new_are_refused() {
    let w = walk("appliance_repair");
    assert_refused(
        &w.events,
        &next_fact(&w.events, 5, payment(-50_000)),
        RefusalCode::WorkflowRefused,
    );
    let report = Report::of(&w.state, Some(GOOD), None, CONSENT_TEXT);
    let strokes = signature();
    let evidence = SignOffEvidence {
        report_digest: report.digest(),
        strokes_digest: signoff::strokes_digest(&strokes),
        consent_digest: report.consent_digest.clone(),
        device_id: w.device.clone(),
        signed_at: w.events[0].recorded_at + Duration::minutes(5),
        location: None,
        previous_evidence_digest: None,
        device_signature: None,
    };
    let sign_off = EventKind::CustomerSignedOff {
        report_version: 1,
        ratings: GOOD,
        comment: None,
        strokes,
        evidence,
    };
    assert_refused(
        &w.events,
        &next_fact(&w.events, 5, sign_off),
        RefusalCode::WorkflowRefused,
    );
}

#[test]
fn a_negative_clock_stamp_and_one_before_the_previous_fact_are_refused() {
    let mut w = walk("appliance_repair");
    w.go(None);
    let honest = next_fact(&w.events, 1, EventKind::DoorAnswered);
    let mut negative = honest.clone();
    negative.hlc.millis = -5;
    assert_refused(&w.events, &negative, RefusalCode::InvalidClock);
    let mut backwards = honest;
    backwards.hlc = w.events[0].hlc;
    assert_refused(&w.events, &backwards, RefusalCode::InvalidClock);
}

#[test]
fn a_sign_off_bound_to_another_report_is_refused() {
    let mut w = walk("appliance_repair");
    w.go(None).repair().pay().sign(GOOD, None, &mut None);
    let mut forged = w.events.pop().unwrap();
    if let EventKind::CustomerSignedOff { evidence, .. } = &mut forged.kind {
        evidence.report_digest = "0".repeat(64);
    }
    assert_refused(&w.events, &forged, RefusalCode::NotWorkflowFact);
}

#[test]
fn a_sign_off_with_any_consent_text_is_admitted_as_recorded() {
    let mut w = walk("appliance_repair");
    w.go(None).repair().pay().sign(GOOD, None, &mut None);
    let signed = w.events.pop().unwrap();
    admission(&w.events).admit(&signed).expect("admitted");
}

/// The device key's signature over the evidence is checked against the
/// enrolled key (the server's reconciliation), not re-decided: a sign-off
/// the device signed is admitted as one it did not.
#[test]
fn a_sign_off_signed_by_the_device_key_is_admitted_its_signature_aside() {
    let mut w = walk("appliance_repair");
    w.go(None).repair().pay().sign(GOOD, None, &mut None);
    let mut signed = w.events.pop().unwrap();
    if let EventKind::CustomerSignedOff { evidence, .. } = &mut signed.kind {
        evidence.device_signature = Some("MEUCIQDsignedbythedevicekey".into());
    }
    admission(&w.events).admit(&signed).expect("admitted");
}

/// Every line of the sign-off's evidence is what the workflow records: one
/// that misstates its strokes' digest, its signing time or its device is
/// refused, whatever the rest says. (The previous evidence it chains to is
/// the device's to state: the server checks the chain per device.)
#[test]
fn a_sign_off_whose_evidence_misstates_any_line_is_refused() {
    let mut w = walk("appliance_repair");
    w.go(None).repair().pay().sign(GOOD, None, &mut None);
    let signed = w.events.pop().unwrap();
    let forgeries: [fn(&mut SignOffEvidence); 3] = [
        |e| e.strokes_digest = "0".repeat(64),
        |e| e.signed_at += Duration::minutes(30),
        |e| e.device_id = DeviceId::new("phone-2").unwrap(),
    ];
    for forge in forgeries {
        let mut forged = signed.clone();
        if let EventKind::CustomerSignedOff { evidence, .. } = &mut forged.kind {
            forge(evidence);
        }
        assert_refused(&w.events, &forged, RefusalCode::NotWorkflowFact);
    }
}

#[test]
fn a_rating_outside_a_sign_off_is_an_unknown_field() {
    let mut w = walk("appliance_repair");
    w.go(None).repair();
    let fact = next_fact(&w.events, 2, payment(100));
    let mut raw = serde_json::to_value(&fact).unwrap();
    assert_eq!(unknown_field(&raw, &fact), None, "the fact as sent");
    raw["ratings"] = serde_json::json!({"quality": 5, "attitude": 5});
    assert_eq!(unknown_field(&raw, &fact).as_deref(), Some("event.ratings"));
    assert_eq!(
        AdmissionRefusal::UnknownField("event.ratings".into()).code(),
        RefusalCode::UnknownField
    );
}

#[test]
fn a_refusal_code_this_build_does_not_know_is_read_as_unrecognised() {
    let code: RefusalCode = serde_json::from_str("\"from_the_future\"").unwrap();
    assert_eq!(code, RefusalCode::Unrecognised);
    let code: RefusalCode = serde_json::from_str("\"workflow_refused\"").unwrap();
    assert_eq!(code, RefusalCode::WorkflowRefused);
}

/// A refused quote is followed by a fact the workflow adds on its own (the
/// order escalated to the center). Pushed in two pieces split between the
/// refusal and that follow-on fact, or just after it, the visit is admitted
/// whole: admission resumes the open command from the stored facts.
#[test]
fn a_follow_on_fact_pushed_apart_from_its_command_is_admitted_as_its_rest() {
    let mut w = walk("appliance_repair");
    w.go(None).repair();
    w.apply(
        2,
        VisitCommand::RefuseQuote {
            reason: "太贵".into(),
        },
        None,
        None,
    )
    .expect("the customer may refuse the quote");
    let follow_on = w
        .events
        .iter()
        .position(|e| matches!(e.kind, EventKind::EscalatedToCenter { .. }))
        .expect("a refused quote is escalated");
    assert!(follow_on + 1 == w.events.len());
    for split in [follow_on - 1, follow_on, follow_on + 1] {
        let mut adm = admission(&w.events[..split]);
        for e in &w.events[split..] {
            adm.admit(e)
                .unwrap_or_else(|r| panic!("split at {split}, {}: {r}", e.kind.name()));
        }
        assert_eq!(
            adm.state(),
            &VisitState::replay(&w.events),
            "split at {split}"
        );
    }
    // The follow-on fact alone, without its command, is not admitted.
    let mut alone = w.events[follow_on].clone();
    alone.hlc.counter += 1;
    assert!(admission(&w.events[..follow_on - 1]).admit(&alone).is_err());
}

/// A fact sent again under another sequence number is known by its id,
/// whether it was stored before or admitted in this push.
#[test]
fn a_fact_sent_again_is_known_by_its_id() {
    let mut w = walk("appliance_repair");
    w.go(None);
    let (stored, rest) = w.events.split_at(3);
    let mut adm = admission(stored);
    assert!(stored.iter().all(|e| adm.knows(e.id)));
    assert!(!adm.knows(rest[0].id));
    adm.admit(&rest[0]).expect("the next fact by the book");
    assert!(adm.knows(rest[0].id));
    assert!(!adm.knows(EventId::new_v7()));
}

/// A fact whose content differs from what the workflow records for its
/// command (an accepted quote claiming another total) is refused, even
/// though the command itself would be accepted.
#[test]
fn a_fact_the_workflow_would_record_differently_is_refused() {
    let mut w = walk("appliance_repair");
    w.completed(None, GOOD, &mut None);
    let at = w
        .events
        .iter()
        .position(|e| matches!(e.kind, EventKind::QuoteAccepted { .. }))
        .expect("the quote is accepted");
    let mut forged = w.events[at].clone();
    if let EventKind::QuoteAccepted { customer_total, .. } = &mut forged.kind {
        *customer_total += 10_000;
    }
    assert_refused(&w.events[..at], &forged, RefusalCode::NotWorkflowFact);
    // The refusal says what the workflow records there instead.
    let refusal = admission(&w.events[..at]).admit(&forged).unwrap_err();
    let expected = match &w.events[at].kind {
        EventKind::QuoteAccepted { customer_total, .. } => {
            format!("\"customer_total\":{customer_total}")
        }
        _ => unreachable!(),
    };
    assert!(refusal.to_string().contains(&expected), "{refusal}");
}

/// The first array of objects in `value` and its path, for planting a field.
fn first_object_in_array(
    value: &mut serde_json::Value,
    path: String,
) -> Option<(String, &mut serde_json::Map<String, serde_json::Value>)> {
    match value {
        serde_json::Value::Array(items) => match items.first_mut() {
            Some(serde_json::Value::Object(o)) => Some((format!("{path}[0]"), o)),
            Some(other) => first_object_in_array(other, format!("{path}[0]")),
            None => None,
        },
        serde_json::Value::Object(o) => o
            .iter_mut()
            .find_map(|(k, v)| first_object_in_array(v, format!("{path}.{k}"))),
        _ => None,
    }
}

/// An unknown field is found inside lists too (a stroke of the signature),
/// and a field sent as null that the fact does not have is no news.
#[test]
fn an_unknown_field_inside_a_list_is_named_and_an_absent_null_is_not() {
    let mut w = walk("appliance_repair");
    w.go(None).repair().pay().sign(GOOD, None, &mut None);
    let signed = w.events.last().unwrap().clone();
    let mut raw = serde_json::to_value(&signed).unwrap();
    raw["not_a_field"] = serde_json::Value::Null;
    assert_eq!(
        unknown_field(&raw, &signed),
        None,
        "null for a field the fact lacks"
    );
    let (at, object) = first_object_in_array(&mut raw, "event".into()).expect("a list of objects");
    object.insert("pressure".into(), serde_json::json!(0.7));
    assert_eq!(unknown_field(&raw, &signed), Some(format!("{at}.pressure")));
}

/// STANDARDS §2.12: the server re-checks a quote recorded under the center's
/// offline short code with the secret it issued the device; without that
/// key, under another key or for another amount the quote is refused.
#[test]
fn a_quote_under_the_centers_short_code_is_admitted_only_under_the_devices_key() {
    let mut w = walk("appliance_repair");
    w.go(None).repair();
    let at = w
        .events
        .iter()
        .position(|e| matches!(e.kind, EventKind::QuotePresented { .. }))
        .expect("a quote");
    let stored = &w.events[..at];
    let state = VisitState::replay(stored);
    let assignment = state.assignment.clone().unwrap();
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let EventKind::QuotePresented { quote: by_the_book } = &w.events[at].kind else {
        unreachable!()
    };
    let key = SoftwareDiscountKey::new(&[0x42; 32]);
    let device = w.events[at].device_id.clone();
    let with_discount = |amount: i64, code: &str| {
        let request = QuoteRequest {
            lines: by_the_book
                .lines
                .iter()
                .map(|l| QuoteLineRequest {
                    item: l.item.clone(),
                    qty: l.qty,
                    warranty_card_price: None,
                    warranty_card_photo: None,
                })
                .collect(),
            discount: Some(Discount {
                amount,
                approval_code: Some(code.to_string()),
                approved_by: Some("desk".into()),
            }),
        };
        let today = w.events[at].recorded_at.date_naive();
        let quote = price(&pb, &assignment, &request, today, 1).unwrap();
        let mut fact = w.events[at].clone();
        fact.kind = EventKind::QuotePresented { quote };
        fact
    };
    let code = short_code(&key, assignment.id.as_str(), 500).unwrap();
    let fact = with_discount(500, &code);
    let judged = |key: Option<&SoftwareDiscountKey>, fact: &VisitEvent| {
        let mut adm = admission(stored);
        assert!(!adm.has_discount_key(&device), "no key until one is given");
        if let Some(k) = key {
            adm.use_discount_key(device.clone(), SharedDiscountKey(Arc::new(k.clone())));
            assert!(adm.has_discount_key(&device), "the device's key is known");
        }
        adm.admit(fact)
    };
    let refused = judged(None, &fact).expect_err("no key: refused");
    assert_eq!(refused.code(), RefusalCode::WorkflowRefused, "{refused}");
    assert!(
        refused.to_string().contains("discount_approval_unknown"),
        "{refused}"
    );
    let other_key = SoftwareDiscountKey::new(&[0x43; 32]);
    assert!(judged(Some(&other_key), &fact).is_err());
    assert!(judged(Some(&key), &with_discount(600, &code)).is_err());
    judged(Some(&key), &fact).expect("the device's key admits its code");
}
