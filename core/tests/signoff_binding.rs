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

#[test]
fn work_after_a_passed_test_run_is_tested_again() {
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested().at("10:42");
    run.ok(json!({"type": "record_work", "description": "Tightened the relay bracket"}));
    assert!(
        run.state().test_run.is_none(),
        "the earlier test no longer covers the unit"
    );
    run.at("10:45");
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.at("10:50");
    let total = run.state().accepted_quote().unwrap().customer_total;
    run.ok(json!({"type": "collect_payment", "amount": total, "method": "cash", "receipt": {"kind": "receipt", "number": "R-2026-0044"}}));
    // Everything else is done: only the new test run is missing.
    let e = run.refused(json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes(), "consent_text": CONSENT}));
    assert_eq!(e.code(), "not_ready_to_sign");
    match e {
        doorstep_core::WorkflowError::NotReadyToSign { missing } => {
            assert_eq!(missing, vec!["the test run (or a 2-hour callback)"])
        }
        other => panic!("{other:?}"),
    }
    run.ok(json!({"type": "record_test_run", "passed": true}));
    run.ok(json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes(), "consent_text": CONSENT}));
}

#[test]
fn water_bottles_stay_only_with_their_deposit_paid() {
    let mut run = Run::new("water_delivery");
    run.protected().at("10:00");
    run.ok(json!({"type": "inspect_item", "item": "bottle_18_9l", "seal_intact": true, "no_leaks": true, "no_foreign_matter": true}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "bottle_18_9l", "qty": 2}, {"item": "bottle_deposit", "qty": 2}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(json!({"type": "record_work", "description": "Installed two bottles"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.ok(json!({"type": "refuse_payment", "reason": "customer has no money for the deposit"}));
    run.ok(json!({"type": "decline_signature", "reason": "refused to pay"}));
    let leave =
        json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true});
    let e = run.refused(leave.clone());
    assert_eq!(
        e.code(),
        "deposit_iou",
        "leaving the bottles unpaid would be an IOU for the deposit"
    );
    // Take the bottles back: a revised quote without them, accepted, and the decline re-recorded.
    run.ok(json!({"type": "reopen_report", "reason": "bottles taken back"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 2}));
    run.ok(json!({"type": "decline_signature", "reason": "refused to pay"}));
    run.ok(leave.clone());

    // Bottles without a deposit (the customer's empties exchanged): an unpaid
    // bill is the center's to follow up, not a deposit IOU.
    let mut run = Run::new("water_delivery");
    run.protected().at("10:00");
    run.ok(json!({"type": "inspect_item", "item": "bottle_18_9l", "seal_intact": true, "no_leaks": true, "no_foreign_matter": true}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(
        json!({"type": "present_quote", "quote": {"lines": [{"item": "bottle_18_9l", "qty": 2}]}}),
    );
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(json!({"type": "record_work", "description": "Installed two bottles"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.ok(json!({"type": "refuse_payment", "reason": "customer will pay the center"}));
    run.ok(json!({"type": "decline_signature", "reason": "refused to pay"}));
    run.ok(leave);
}

/// Format 3 binds the playbook version the visit was walked with; the
/// formats before it (rebuilt to verify older signatures) do not name it.
#[test]
fn the_signature_binds_the_playbook_version_from_format_3() {
    let state = doorstep_core::VisitState {
        playbook_version: Some(2),
        ..Default::default()
    };
    let now = Report::of(&state, None, None, "");
    assert_eq!((now.format, now.playbook_version), (3, Some(2)));
    let three = Report::of_format(3, &state, None, None, "");
    assert_eq!(three.playbook_version, Some(2));
    for older in [1, 2] {
        let report = Report::of_format(older, &state, None, None, "");
        assert_eq!(report.playbook_version, None, "format {older}");
    }
    let other = doorstep_core::VisitState {
        playbook_version: Some(3),
        ..Default::default()
    };
    assert_ne!(
        Report::of(&other, None, None, "").digest(),
        now.digest(),
        "another version is another report"
    );
}

/// SIGNOFF.md: a sign-off that no longer verifies is flagged to the
/// dispatcher with its reason — in Chinese too, the digests shortened to
/// what the signing screen showed; a reason an earlier build stored as an
/// English sentence still reads in Chinese by its kind.
#[test]
fn a_broken_sign_offs_reason_reads_in_chinese_as_stored_and_as_earlier_builds_stored_it() {
    use doorstep_core::signoff::SignOffProblem;
    let (signed, now) = ("a".repeat(64), "b".repeat(64));
    let problems = [
        SignOffProblem::NotSigned,
        SignOffProblem::ReportChanged {
            signed: signed.clone(),
            now: now.clone(),
        },
        SignOffProblem::StrokesChanged,
        SignOffProblem::ChainBroken {
            expected: Some(signed.clone()),
            found: None,
        },
    ];
    let mut zh_seen = std::collections::BTreeSet::new();
    for p in &problems {
        let text = SignOffProblem::text_of_stored(&p.to_stored());
        assert_eq!(text, p.text());
        assert!(
            !text
                .zh
                .chars()
                .any(|c| c.is_ascii_alphabetic() && !c.is_ascii_hexdigit()),
            "{}",
            text.zh
        );
        assert!(!text.zh.contains([',', ':', '(', ')']), "{}", text.zh);
        // What an earlier build stored: the English sentence.
        let earlier = SignOffProblem::text_of_stored(&p.to_string());
        assert_eq!(earlier.en, p.to_string());
        assert!(
            text.zh.starts_with(&earlier.zh),
            "{} / {}",
            text.zh,
            earlier.zh
        );
        zh_seen.insert(earlier.zh);
    }
    assert_eq!(
        zh_seen.len(),
        problems.len(),
        "each kind its own words: {zh_seen:?}"
    );
    assert_eq!(
        problems[1].text().zh,
        "签字后报告被改动：签署时摘要 aaaaaaaa，现为 bbbbbbbb"
    );
    assert_eq!(
        problems[3].text().en,
        "the evidence chain is broken: expected previous aaaaaaaa, found none"
    );
    assert_eq!(
        problems[3].text().zh,
        "证据链断裂：应接在 aaaaaaaa 之后，实际未接任何记录"
    );
    let first = SignOffProblem::ChainBroken {
        expected: None,
        found: Some(now),
    };
    assert_eq!(
        first.text().zh,
        "证据链断裂：应为该设备的第一条记录，实际接在 bbbbbbbb 之后"
    );
    assert_eq!(
        SignOffProblem::text_of_stored("something else").zh,
        "签字核验未通过"
    );
}
