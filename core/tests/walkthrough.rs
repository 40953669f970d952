//! Visits walked through the workflow by the book, in every shipped trade,
//! and the history checker: it accepts every walked visit and refuses a
//! history edited by hand.

mod common;

use chrono::Duration;
use common::job;
use doorstep_core::history_check::{check_history, HistoryMismatch};
use doorstep_core::signoff::Ratings;
use doorstep_core::walkthrough::{Walkthrough, CONSENT_TEXT};
use doorstep_core::workflow::command::WorkKind;
use doorstep_core::{DeviceId, EventKind, Outcome, Playbook};

const GOOD: Ratings = Ratings {
    quality: 5,
    attitude: 5,
};

fn device() -> DeviceId {
    DeviceId::new("phone-1").unwrap()
}

fn walk(trade: &str, n: u32) -> Walkthrough {
    let (pb, a) = job(trade, n);
    let at = a.received_at.unwrap() + Duration::minutes(10);
    Walkthrough::new(&pb, &a, &device(), at)
}

fn check(w: &Walkthrough) -> Result<(), HistoryMismatch> {
    let pb = Playbook::shipped_by_id(w.assignment.trade.as_str()).unwrap();
    check_history(&pb, &w.events, &[CONSENT_TEXT])
}

#[test]
fn every_trade_walks_by_the_book_and_checks() {
    let mut chain = None;
    for (n, pb) in Playbook::shipped().iter().enumerate() {
        for late in [None, Some(5), Some(20)] {
            let mut w = walk(pb.id.as_str(), n as u32);
            w.completed(late, GOOD, &mut chain);
            let outcome = w.state.outcome;
            assert!(
                matches!(outcome, Some(Outcome::Fixed | Outcome::Completed)),
                "{}: {outcome:?}",
                pb.id
            );
            assert!(w.state.sign_off.is_some(), "{}", pb.id);
            check(&w).unwrap_or_else(|e| panic!("{} late {late:?}: {e}", pb.id));
        }
    }
    assert!(chain.is_some(), "the evidence chain moved on");
}

#[test]
fn a_declined_signature_and_a_far_signature_are_by_the_book() {
    let mut w = walk("appliance_repair", 1);
    w.go(None).repair().pay().decline("in a hurry").leave();
    check(&w).unwrap();
    let mut w = walk("appliance_repair", 2);
    let station = doorstep_core::location::GeoPoint {
        lat: 31.30,
        lon: 121.47,
    };
    w.go(None)
        .repair()
        .pay()
        .sign(GOOD, Some(station), &mut None)
        .leave();
    check(&w).unwrap();
}

#[test]
fn a_chain_link_from_elsewhere_is_still_a_workflow_fact() {
    // The device's previous record is the device's business: the workflow
    // records whatever link the store gives it; the server checks the chain.
    let mut chain = Some("0".repeat(64));
    let mut w = walk("heating_service", 3);
    w.completed(None, GOOD, &mut chain);
    check(&w).unwrap();
}

fn replace(w: &mut Walkthrough, index: usize, kind: EventKind) {
    w.events[index].kind = kind;
}

fn position(w: &Walkthrough, name: &str) -> usize {
    w.events.iter().position(|e| e.kind.name() == name).unwrap()
}

#[test]
fn hand_made_histories_are_refused() {
    // No knock before the door is answered.
    let mut w = walk("appliance_repair", 4);
    w.completed(None, GOOD, &mut None);
    let knock = position(&w, "knocked");
    w.events.remove(knock);
    let err = check(&w).unwrap_err();
    assert!(
        matches!(err, HistoryMismatch::Refused { index, ref code, .. } if index == knock && code == "out_of_order"),
        "{err}"
    );

    // A payment that is not the accepted quote.
    let mut w = walk("appliance_repair", 5);
    w.completed(None, GOOD, &mut None);
    let paid = position(&w, "payment_collected");
    if let EventKind::PaymentCollected {
        method, receipt, ..
    } = w.events[paid].kind.clone()
    {
        replace(
            &mut w,
            paid,
            EventKind::PaymentCollected {
                amount: 100,
                method,
                receipt,
                qr: None,
            },
        );
    }
    let err = check(&w).unwrap_err();
    assert!(
        matches!(err, HistoryMismatch::Refused { index, ref code, .. } if index == paid && code == "payment_mismatch"),
        "{err}"
    );

    // Work recorded after the customer signed.
    let mut w = walk("appliance_repair", 6);
    w.completed(None, GOOD, &mut None);
    let left = w.events.len() - 1;
    let mut extra = w.events[left].clone();
    extra.kind = EventKind::WorkRecorded {
        description: "one more thing".into(),
        kind: WorkKind::Repair,
        parts_used: vec![],
    };
    w.events.insert(left, extra);
    let err = check(&w).unwrap_err();
    assert!(
        matches!(err, HistoryMismatch::Refused { index, ref code, .. } if index == left && code == "report_signed"),
        "{err}"
    );

    // A conflict nobody's command raised.
    let mut w = walk("appliance_repair", 7);
    w.go(None);
    let mut forged = w.events[1].clone();
    forged.kind = EventKind::ConflictRaised {
        kind: doorstep_core::workflow::event::ConflictKind::CancelledAfterStart,
        version: 2,
    };
    w.events.push(forged);
    let err = check(&w).unwrap_err();
    assert!(matches!(err, HistoryMismatch::NoCommand { .. }), "{err}");

    // An arrival whose recorded punctuality is not what its time says.
    let mut w = walk("appliance_repair", 8);
    w.go(Some(20));
    let arrived = position(&w, "arrived");
    if let EventKind::Arrived {
        location,
        geofence,
        outside_geofence_reason,
        late_without_prior_call,
        ..
    } = w.events[arrived].kind.clone()
    {
        replace(
            &mut w,
            arrived,
            EventKind::Arrived {
                location,
                geofence,
                outside_geofence_reason,
                punctuality: doorstep_core::workflow::Punctuality::Early { minutes_early: 7 },
                late_without_prior_call,
                location_unavailable: None,
            },
        );
    }
    let err = check(&w).unwrap_err();
    assert!(
        matches!(err, HistoryMismatch::Different { index, .. } if index == arrived),
        "{err}"
    );

    // Facts out of clock order.
    let mut w = walk("appliance_repair", 9);
    w.go(None);
    let (a, b) = (w.events[2].hlc, w.events[3].hlc);
    w.events[2].hlc = b;
    w.events[3].hlc = a;
    assert!(check(&w).is_err());

    // A sign-off under a consent text no signing screen shows.
    let mut w = walk("appliance_repair", 10);
    w.completed(None, GOOD, &mut None);
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let err = check_history(&pb, &w.events, &["another text"]).unwrap_err();
    assert!(
        matches!(err, HistoryMismatch::UnknownConsent { .. }),
        "{err}"
    );
}

/// A visit's history is labelled by the command table: each fact carries the
/// label of the command that recorded it (what the technician's screen
/// called the action), in Chinese and English, never a code.
#[test]
fn a_visits_history_is_labelled_by_the_command_that_recorded_each_fact() {
    use doorstep_core::history_check::{fact_label, recorded_by};
    use doorstep_core::workflow::command_table::row_named;
    let mut chain = None;
    let mut w = walk("appliance_repair", 7);
    w.completed(None, GOOD, &mut chain);
    for e in &w.events {
        let row = recorded_by(&e.kind)
            .unwrap_or_else(|| panic!("{}: no command records it", e.kind.name()));
        assert_eq!(fact_label(&e.kind), row.label(), "{}", e.kind.name());
        let zh = fact_label(&e.kind).zh;
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) && !zh.contains('_'),
            "{}: {zh}",
            e.kind.name()
        );
    }
    let label_of = |name: &str| {
        let e = w.events.iter().find(|e| e.kind.name() == name).unwrap();
        fact_label(&e.kind)
    };
    assert_eq!(
        label_of("assignment_received"),
        row_named("receive_assignment").unwrap().label()
    );
    assert_eq!(
        label_of("customer_signed_off"),
        row_named("sign_off").unwrap().label()
    );
    assert_eq!(
        label_of("payment_collected"),
        row_named("collect_payment").unwrap().label()
    );
}
