//! Hand-made device histories the workflow refuses: what a tampered or
//! buggy phone could push. Only the tests of the server's own defences
//! (reconciliation flags a sign-off that does not cover the report, a
//! payment that is not the quote, a visit closed without a signature) use
//! them; each starts from a visit walked by the book and then appends facts
//! no command produces there. `forged_histories_are_not_workflow_histories`
//! proves each really is impossible on a phone.

use chrono::Duration;
use doorstep_core::history_check::check_history;
use doorstep_core::signoff::{self, Ratings, Report, SignOffEvidence};
use doorstep_core::walkthrough::{signature, Walkthrough, CONSENT_TEXT};
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord, WorkKind};
use doorstep_core::{EventId, EventKind, Outcome, Playbook};

/// Appends `kind` as the device would have stamped it, `minutes` after the
/// last fact, bypassing the rules.
pub fn append(w: &mut Walkthrough, minutes: i64, kind: EventKind) {
    let last = w.events.last().expect("a started visit").clone();
    let at = last.recorded_at + Duration::minutes(minutes);
    let mut hlc = last.hlc;
    hlc.millis = hlc.millis.max(at.timestamp_millis());
    hlc.counter = if hlc.millis == last.hlc.millis {
        last.hlc.counter + 1
    } else {
        0
    };
    let e = doorstep_core::VisitEvent {
        id: EventId::new_v7(),
        recorded_at: at,
        hlc,
        location: None,
        kind,
        ..last
    };
    w.state.apply(&e);
    w.events.push(e);
}

/// A payment of `amount`, whatever the quote says.
pub fn pay(w: &mut Walkthrough, amount: i64) {
    append(
        w,
        5,
        EventKind::PaymentCollected {
            amount,
            method: PaymentMethod::Mobile,
            receipt: ReceiptRecord::Receipt {
                number: "R-forged".into(),
            },
            qr: None,
        },
    );
}

/// A sign-off bound to the report as it stands, whether or not the rules
/// allow signing now; `chain` moves on as on a phone.
pub fn sign(w: &mut Walkthrough, ratings: Ratings, chain: &mut Option<String>) {
    let at = w.events.last().unwrap().recorded_at + Duration::minutes(3);
    let report = Report::of(&w.state, Some(ratings), None, CONSENT_TEXT);
    let strokes = signature();
    let evidence = SignOffEvidence {
        report_digest: report.digest(),
        strokes_digest: signoff::strokes_digest(&strokes),
        consent_digest: report.consent_digest.clone(),
        device_id: w.device.clone(),
        signed_at: at,
        location: None,
        previous_evidence_digest: chain.clone(),
        device_signature: None,
    };
    *chain = Some(evidence.digest());
    let report_version = w.state.report_version;
    append(
        w,
        3,
        EventKind::CustomerSignedOff {
            report_version,
            ratings,
            comment: None,
            strokes,
            evidence,
        },
    );
}

/// More work after the customer signed.
pub fn work(w: &mut Walkthrough) {
    append(
        w,
        5,
        EventKind::WorkRecorded {
            description: "one more thing".into(),
            kind: WorkKind::Repair,
            parts_used: vec![],
        },
    );
}

/// Leaving as fixed, whatever is missing.
pub fn leave_fixed(w: &mut Walkthrough) {
    append(
        w,
        4,
        EventKind::Left {
            outcome: Outcome::Fixed,
            service_card_given: true,
            shoe_covers_off_at_door: true,
        },
    );
}

#[test]
fn forged_histories_are_not_workflow_histories() {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let a: doorstep_core::Assignment = serde_json::from_value(serde_json::json!({
        "id": "A-1", "version": 1, "trade": "appliance_repair", "technician": "T-1",
        "customer": {"name": "Test Customer", "phone": "138 0000 0000", "address": "1 Test Rd",
                     "location": {"lat": 31.23, "lon": 121.47}},
        "product": {"model": "M-1", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
        "fault_description": "it is broken",
        "requested_window": {"start": "2026-11-25T10:00:00Z", "end": "2026-11-25T12:00:00Z"},
        "received_at": "2026-11-25T07:00:00Z"
    }))
    .unwrap();
    let start = a.received_at.unwrap();
    let device = doorstep_core::DeviceId::new("phone-1").unwrap();
    let good = Ratings {
        quality: 5,
        attitude: 5,
    };
    let walked = || {
        let mut w = Walkthrough::new(&pb, &a, &device, start);
        w.go(None).repair();
        w
    };
    let forgeries: Vec<(&str, Walkthrough)> = vec![
        ("underpaid", {
            let mut w = walked();
            pay(&mut w, 100);
            sign(&mut w, good, &mut None);
            leave_fixed(&mut w);
            w
        }),
        ("work after signing", {
            let mut w = walked();
            w.pay().sign(good, None, &mut None);
            work(&mut w);
            leave_fixed(&mut w);
            w
        }),
        ("unsigned", {
            let mut w = walked();
            w.pay();
            leave_fixed(&mut w);
            w
        }),
    ];
    for (name, w) in forgeries {
        assert!(
            check_history(&pb, &w.events, &[CONSENT_TEXT]).is_err(),
            "{name} passes for a workflow history"
        );
    }
    let mut honest = walked();
    honest.pay().sign(good, None, &mut None).leave();
    check_history(&pb, &honest.events, &[CONSENT_TEXT]).unwrap();
}
