//! STANDARDS §2.16 (签字): what the signature binds. `Report::of` carries every
//! fact of the visit (arrival, fault cause, work, hidden faults, test result,
//! acceptance, payment), each one changes the digest; the evidence digest
//! covers every field but the device signature; the per-device chain refuses
//! a missing or foreign link; ratings are 1 to 5 each; strokes must look like
//! a signature.
mod support;

use doorstep_core::signoff::{
    self, short_digest, strokes_are_signature, strokes_digest, Ratings, Report, SignOffEvidence,
    SignOffProblem, Stroke, StrokePoint,
};
use doorstep_core::workflow::VisitState;
use serde_json::json;
use support::{at, strokes, Run};

const CONSENT: &str = "I confirm the work and amounts above.";

/// One change to a visit state, or to an evidence record, that must change a digest.
type StateChange = Box<dyn Fn(&mut VisitState)>;
type EvidenceChange = Box<dyn Fn(&mut SignOffEvidence)>;

/// Paid at 10:50, with a hidden fault noted on the state.
fn paid_with_hidden_fault() -> VisitState {
    let mut run = Run::new("appliance_repair");
    run.paid();
    let mut s = run.state().clone();
    s.hidden_faults.push("Door hinge cracked".into());
    s
}

fn digest_of(s: &VisitState) -> String {
    Report::of(s, None, None, CONSENT).digest()
}

#[test]
fn the_report_carries_every_fact_of_the_visit() {
    let s = paid_with_hidden_fault();
    let r = Report::of(&s, None, None, CONSENT);
    assert_eq!(r.arrived_at, Some(at("09:50")));
    assert_eq!(r.fault_cause.as_deref(), Some("Start relay burnt out"));
    assert_eq!(r.hidden_faults, vec!["Door hinge cracked".to_string()]);
    assert_eq!(r.test_passed, Some(true));
    assert!(r.quote_accepted);
    assert_eq!(r.quote.as_ref().unwrap().customer_total, 14500);
    assert_eq!(r.work.len(), 1);
    assert_eq!(r.work[0].at, at("10:30"));
    assert_eq!(
        r.work[0].parts_used[0].new_serial.as_deref(),
        Some("R-NEW-9")
    );
    assert_eq!(r.payment.as_ref().unwrap().amount, 14500);
    assert_eq!(r.paid_total, 14500);
    assert_eq!(r.trip, 1);
    assert_eq!(r.assignment_id.as_ref().unwrap().as_str(), "A-1001");
    assert_eq!(r.trade.as_ref().unwrap().as_str(), "appliance_repair");
    assert_eq!(r.visit_id, s.visit_id);
    assert_eq!(r.report_version, 1);
    assert_eq!(r.assignment_version, 1);
    assert_eq!(
        r.consent_digest,
        doorstep_core::canonical::sha256_hex(CONSENT.as_bytes())
    );
}

#[test]
fn the_report_says_quote_accepted_only_once_it_is_accepted() {
    let mut run = Run::new("appliance_repair");
    run.diagnosed("fix_on_site").at("10:10");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    let presented = Report::of(run.state(), None, None, CONSENT);
    assert!(presented.quote.is_some());
    assert!(!presented.quote_accepted, "presented is not accepted");
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    assert!(Report::of(run.state(), None, None, CONSENT).quote_accepted);
}

#[test]
fn the_report_says_a_failed_test_failed() {
    let mut s = paid_with_hidden_fault();
    s.test_run.as_mut().unwrap().passed = false;
    assert_eq!(Report::of(&s, None, None, CONSENT).test_passed, Some(false));
    s.test_run = None;
    assert_eq!(Report::of(&s, None, None, CONSENT).test_passed, None);
}

#[test]
fn every_fact_of_the_visit_changes_the_report_digest() {
    let base = paid_with_hidden_fault();
    let signed = digest_of(&base);
    let changes: Vec<(&str, StateChange)> = vec![
        (
            "hidden fault dropped",
            Box::new(|s| s.hidden_faults.clear()),
        ),
        (
            "test result flipped",
            Box::new(|s| s.test_run.as_mut().unwrap().passed = false),
        ),
        (
            "fault cause changed",
            Box::new(|s| s.diagnosis.as_mut().unwrap().cause = "Thermostat".into()),
        ),
        (
            "arrival time moved",
            Box::new(|s| s.arrival.as_mut().unwrap().at = at("09:40")),
        ),
        (
            "quote no longer accepted",
            Box::new(|s| s.accepted_revision = None),
        ),
        (
            "work description changed",
            Box::new(|s| s.work[0].description = "Nothing".into()),
        ),
        ("paid total changed", Box::new(|s| s.paid_total += 1)),
        ("payment dropped", Box::new(|s| s.payment = None)),
        ("trip changed", Box::new(|s| s.trip = 2)),
        ("report version changed", Box::new(|s| s.report_version = 2)),
    ];
    for (what, change) in changes {
        let mut s = base.clone();
        change(&mut s);
        assert_ne!(digest_of(&s), signed, "{what} left the digest unchanged");
    }
    let rated = Ratings {
        quality: 5,
        attitude: 4,
    };
    assert_ne!(
        Report::of(&base, Some(rated), None, CONSENT).digest(),
        signed,
        "ratings"
    );
    assert_ne!(
        Report::of(&base, None, Some("ok".into()), CONSENT).digest(),
        signed,
        "comment"
    );
    assert_ne!(
        Report::of(&base, None, None, "other consent").digest(),
        signed,
        "consent"
    );
}

#[test]
fn a_report_digest_is_sha256_hex_and_the_screen_shows_its_first_8_characters() {
    let d = digest_of(&paid_with_hidden_fault());
    assert_eq!(d.len(), 64);
    assert!(d
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(short_digest(&d), &d[..8]);
    assert_eq!(short_digest("abc"), "abc", "a short text is shown whole");
}

// ---- the evidence record and the per-device chain ----

fn signed_evidence(run: &mut Run) -> SignOffEvidence {
    run.state().sign_off.as_ref().unwrap().evidence.clone()
}

fn evidence(report_digest: &str, previous: Option<String>) -> SignOffEvidence {
    let mut run = Run::new("appliance_repair");
    run.signed();
    let mut e = signed_evidence(&mut run);
    e.report_digest = report_digest.into();
    e.previous_evidence_digest = previous;
    e
}

#[test]
fn the_evidence_digest_covers_every_field_but_the_device_signature() {
    let e = evidence("r1", None);
    let d = e.digest();
    assert_eq!(d.len(), 64);
    let changes: Vec<(&str, EvidenceChange)> = vec![
        ("report digest", Box::new(|e| e.report_digest = "r2".into())),
        (
            "strokes digest",
            Box::new(|e| e.strokes_digest = "s2".into()),
        ),
        (
            "consent digest",
            Box::new(|e| e.consent_digest = "c2".into()),
        ),
        ("signed at", Box::new(|e| e.signed_at = at("11:00"))),
        (
            "previous record",
            Box::new(|e| e.previous_evidence_digest = Some("p".into())),
        ),
        (
            "location",
            Box::new(|e| e.location = Some(support::fix_near(5.0))),
        ),
    ];
    for (what, change) in changes {
        let mut other = e.clone();
        change(&mut other);
        assert_ne!(
            other.digest(),
            d,
            "{what} is not bound by the evidence digest"
        );
    }
}

#[test]
fn an_unbroken_evidence_chain_verifies() {
    let first = evidence("r1", None);
    let second = evidence("r2", Some(first.digest()));
    let third = evidence("r3", Some(second.digest()));
    assert_eq!(signoff::verify_chain([&first, &second, &third]), Ok(()));
    assert_eq!(signoff::verify_chain([]), Ok(()));
}

#[test]
fn a_chain_with_a_missing_record_is_broken() {
    let first = evidence("r1", None);
    let second = evidence("r2", Some(first.digest()));
    let third = evidence("r3", Some(second.digest()));
    assert_eq!(
        signoff::verify_chain([&first, &third]),
        Err(SignOffProblem::ChainBroken {
            expected: Some(first.digest()),
            found: Some(second.digest()),
        })
    );
}

#[test]
fn a_chain_must_start_without_a_previous_record() {
    let first = evidence("r1", Some("0".repeat(64)));
    assert_eq!(
        signoff::verify_chain([&first]),
        Err(SignOffProblem::ChainBroken {
            expected: None,
            found: Some("0".repeat(64)),
        })
    );
}

#[test]
fn a_record_changed_after_the_next_one_chained_to_it_breaks_the_chain() {
    let mut first = evidence("r1", None);
    let second = evidence("r2", Some(first.digest()));
    first.report_digest = "forged".into();
    assert!(matches!(
        signoff::verify_chain([&first, &second]),
        Err(SignOffProblem::ChainBroken { .. })
    ));
}

// ---- ratings ----

#[test]
fn ratings_are_in_range_only_when_both_are_1_to_5() {
    for (quality, attitude) in [(1, 1), (5, 5), (1, 5), (5, 1), (3, 4)] {
        assert!(
            Ratings { quality, attitude }.in_range(),
            "({quality}, {attitude})"
        );
    }
    for (quality, attitude) in [(5, 9), (9, 5), (0, 3), (3, 0), (6, 5), (5, 6), (0, 0)] {
        assert!(
            !Ratings { quality, attitude }.in_range(),
            "({quality}, {attitude})"
        );
    }
}

#[test]
fn ratings_out_of_range_are_refused_at_sign_off() {
    for ratings in [
        json!({"quality": 5, "attitude": 9}),
        json!({"quality": 0, "attitude": 5}),
    ] {
        let mut run = Run::new("appliance_repair");
        run.paid().at("10:55");
        let e = run.refused(json!({"type": "sign_off", "ratings": ratings, "strokes": strokes(), "consent_text": CONSENT}));
        assert_eq!(e.code(), "signature_invalid", "{ratings}");
    }
}

#[test]
fn satisfied_means_both_ratings_are_4_or_5() {
    assert!(Ratings {
        quality: 4,
        attitude: 4
    }
    .satisfied());
    assert!(Ratings {
        quality: 5,
        attitude: 5
    }
    .satisfied());
    assert!(!Ratings {
        quality: 3,
        attitude: 5
    }
    .satisfied());
    assert!(!Ratings {
        quality: 5,
        attitude: 3
    }
    .satisfied());
}

// ---- strokes ----

fn point(x: i32, t_ms: u32) -> StrokePoint {
    StrokePoint { x, y: 0, t_ms }
}

#[test]
fn strokes_are_a_signature_with_two_points_in_time_order() {
    let good = vec![Stroke {
        points: vec![point(0, 0), point(5, 0), point(9, 40)],
    }];
    assert!(strokes_are_signature(&good));
    assert!(!strokes_are_signature(&[]));
    assert!(
        !strokes_are_signature(&[Stroke {
            points: vec![point(0, 0)]
        }]),
        "a dot"
    );
    let backwards = vec![Stroke {
        points: vec![point(0, 50), point(5, 10)],
    }];
    assert!(!strokes_are_signature(&backwards), "time runs backwards");
    let mixed = vec![good[0].clone(), backwards[0].clone()];
    assert!(
        !strokes_are_signature(&mixed),
        "one bad stroke spoils the signature"
    );
    let dot_and_line = vec![
        Stroke {
            points: vec![point(0, 0)],
        },
        good[0].clone(),
    ];
    assert!(
        strokes_are_signature(&dot_and_line),
        "a dot over the i is fine"
    );
}

#[test]
fn the_strokes_digest_binds_every_point() {
    let a = vec![Stroke {
        points: vec![point(0, 0), point(5, 10)],
    }];
    let b = vec![Stroke {
        points: vec![point(0, 0), point(6, 10)],
    }];
    assert_eq!(strokes_digest(&a).len(), 64);
    assert_ne!(strokes_digest(&a), strokes_digest(&b));
}
