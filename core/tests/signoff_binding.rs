//! §2.16: the signature is bound to the exact report the customer saw.
mod support;

use doorstep_core::signoff::{self, Ratings, Report};
use serde_json::json;
use support::{strokes, Run};

const CONSENT: &str = "I confirm the work and amounts above.";

#[test]
fn the_digest_shown_on_the_signing_screen_is_the_digest_that_is_signed() {
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:55");
    let ratings = Ratings {
        quality: 5,
        attitude: 4,
    };
    let shown = Report::of(run.state(), Some(ratings), Some("快".into()), CONSENT).digest();
    run.ok(json!({"type": "sign_off", "ratings": ratings, "comment": "快", "strokes": strokes(), "consent_text": CONSENT, "shown_digest": shown}));
    let signed = run.state().sign_off.as_ref().unwrap();
    assert_eq!(signed.evidence.report_digest, shown);
    assert_eq!(signoff::short_digest(&shown).len(), 8);
    signoff::verify(run.state()).unwrap();
}

#[test]
fn signing_is_refused_when_the_report_changed_after_the_screen_showed_it() {
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:55");
    let ratings = Ratings {
        quality: 5,
        attitude: 5,
    };
    // The screen showed a report with another comment (or an older state).
    let stale = Report::of(run.state(), Some(ratings), Some("other".into()), CONSENT).digest();
    let e = run.refused(json!({"type": "sign_off", "ratings": ratings, "strokes": strokes(), "consent_text": CONSENT, "shown_digest": stale}));
    assert_eq!(e.code(), "signature_invalid");
    assert!(e
        .message(doorstep_core::Lang::En)
        .contains(signoff::short_digest(&stale)));
    // Shown again and signed.
    let fresh = Report::of(run.state(), Some(ratings), None, CONSENT).digest();
    run.ok(json!({"type": "sign_off", "ratings": ratings, "strokes": strokes(), "consent_text": CONSENT, "shown_digest": fresh}));
}

#[test]
fn a_part_not_on_the_quote_needs_a_revised_quote_before_it_is_fitted() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted().at("10:30");
    let fit_seal = json!({"type": "record_work", "description": "Replaced door seal", "parts_used": [{"item": "part_door_seal"}]});
    let e = run.refused(fit_seal.clone());
    assert_eq!(e.code(), "part_not_quoted");
    // Revised quote with the seal, accepted: now it can be fitted.
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}, {"item": "part_door_seal"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 2}));
    run.ok(fit_seal);
}

#[test]
fn a_reopened_report_with_a_higher_total_collects_only_the_difference() {
    let mut run = Run::new("appliance_repair");
    run.signed().at("11:00");
    let first = run.state().paid_total;
    run.ok(
        json!({"type": "reopen_report", "reason": "customer asked to replace the door seal too"}),
    );
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}, {"item": "part_door_seal"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 2}));
    run.ok(json!({"type": "record_work", "description": "Replaced door seal", "parts_used": [{"item": "part_door_seal"}]}));
    run.ok(json!({"type": "record_test_run", "passed": true}));
    let total = run.state().accepted_quote().unwrap().customer_total;
    let pay = |amount: i64| json!({"type": "collect_payment", "amount": amount, "method": "cash", "receipt": {"kind": "receipt", "number": "R-2026-0043"}});
    let e = run.refused(pay(total));
    assert_eq!(e.code(), "payment_mismatch");
    run.ok(pay(total - first));
    assert_eq!(run.state().paid_total, total);
    run.ok(json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes(), "consent_text": CONSENT}));
    signoff::verify(run.state()).unwrap();
}
