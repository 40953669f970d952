//! Callbacks (回访, seed 004): the schedule comes out in due order whatever
//! order the facts were recorded in; a take-back gets its 48 h second-level
//! callback like a completed visit; a dissatisfied or declined customer is
//! followed up; the monthly sample ranks SHA-256(seed ‖ 0x00 ‖ customer id),
//! pinned by a vector computed outside this crate (Python's hashlib).
mod support;

use chrono::Duration;
use doorstep_core::callbacks::{
    monthly_sample, next_follow_up, sample_size, schedule, CallbackDue, CallbackReason,
    FollowUpCall, SampleRateError,
};
use doorstep_core::playbook::Playbook;
use doorstep_core::workflow::state::{Declined, TestRun};
use doorstep_core::workflow::{Outcome, VisitState};
use serde_json::json;
use support::{at, strokes, Run};

fn appliance() -> Playbook {
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let c = &pb.callbacks;
    assert_eq!(
        (
            c.remote_guidance_hours,
            c.untested_repair_hours,
            c.uncertain_fix_hours
        ),
        (2, 2, 3)
    );
    assert_eq!(
        (c.second_level_hours, c.dissatisfied_follow_up_hours),
        (48, 24)
    );
    pb
}

fn due(reason: CallbackReason, hm: &str, plus_hours: i64) -> CallbackDue {
    CallbackDue {
        reason,
        due_at: at(hm) + Duration::hours(plus_hours),
    }
}

#[test]
fn callbacks_come_out_in_due_order() {
    // Recorded order: second-level (closed 11:00, +48 h) before the dissatisfied
    // follow-up (signed 10:55, +24 h) and the untested repair (10:40, +2 h).
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:55");
    run.ok(json!({"type": "sign_off", "ratings": {"quality": 3, "attitude": 5}, "strokes": strokes(), "consent_text": "I confirm."}));
    let mut s = run.state().clone();
    s.outcome = Some(Outcome::Fixed);
    s.closed_at = Some(at("11:00"));
    s.untested_callback = Some(at("10:40"));
    assert_eq!(
        schedule(&s, &appliance()),
        vec![
            due(CallbackReason::UntestedRepair, "10:40", 2),
            due(CallbackReason::Dissatisfied, "10:55", 24),
            due(CallbackReason::SecondLevel, "11:00", 48),
        ]
    );
}

#[test]
fn a_remote_resolution_and_an_uncertain_fix_are_called_back_in_due_order() {
    let s = VisitState {
        resolved_remotely_at: Some(at("09:00")),
        test_run: Some(TestRun {
            at: at("07:30"),
            passed: true,
            uncertain: true,
        }),
        ..VisitState::default()
    };
    assert_eq!(
        schedule(&s, &appliance()),
        vec![
            due(CallbackReason::UncertainFix, "07:30", 3),
            due(CallbackReason::RemoteGuidance, "09:00", 2),
        ]
    );
}

#[test]
fn a_certain_or_failed_test_needs_no_uncertain_fix_callback() {
    for (passed, uncertain) in [(true, false), (false, true)] {
        let s = VisitState {
            test_run: Some(TestRun {
                at: at("10:40"),
                passed,
                uncertain,
            }),
            ..VisitState::default()
        };
        assert_eq!(
            schedule(&s, &appliance()),
            vec![],
            "passed {passed}, uncertain {uncertain}"
        );
    }
}

#[test]
fn a_take_back_gets_the_second_level_callback() {
    for outcome in [Outcome::TakenBack, Outcome::Fixed, Outcome::Completed] {
        let s = VisitState {
            outcome: Some(outcome),
            closed_at: Some(at("11:00")),
            ..VisitState::default()
        };
        assert_eq!(
            schedule(&s, &appliance()),
            vec![due(CallbackReason::SecondLevel, "11:00", 48)],
            "{outcome:?}"
        );
    }
}

#[test]
fn visits_without_service_get_no_second_level_callback() {
    for outcome in [
        Outcome::CustomerAbsent,
        Outcome::QuoteRefused,
        Outcome::Cancelled,
    ] {
        let s = VisitState {
            outcome: Some(outcome),
            closed_at: Some(at("11:00")),
            ..VisitState::default()
        };
        assert_eq!(schedule(&s, &appliance()), vec![], "{outcome:?}");
    }
}

#[test]
fn a_satisfied_customer_gets_no_follow_up_and_a_declined_signature_does() {
    let mut run = Run::new("appliance_repair");
    run.signed();
    assert_eq!(schedule(run.state(), run.playbook()), vec![]);
    let s = VisitState {
        declined: Some(Declined {
            at: at("10:56"),
            report_version: 1,
            report_digest: "d".into(),
            reason: "refused to pay".into(),
        }),
        ..VisitState::default()
    };
    assert_eq!(
        schedule(&s, &appliance()),
        vec![due(CallbackReason::DeclinedSignature, "10:56", 24)]
    );
}

// ---- the monthly sample ----

const SEED: &str = "2026-11|center-secret";

fn customers() -> Vec<String> {
    (1..=20).map(|i| format!("C-{i:03}")).collect()
}

#[test]
fn the_monthly_sample_ranks_by_sha256_of_seed_nul_customer() {
    // python3: sorted(sha256(seed + b"\0" + c) for c in C-001..C-020)
    let pb = appliance();
    assert_eq!(
        monthly_sample(&customers(), SEED, 10, &pb).unwrap(),
        ["C-008", "C-018"]
    );
    assert_eq!(
        monthly_sample(&customers(), SEED, 15, &pb).unwrap(),
        ["C-008", "C-018", "C-006"]
    );
}

#[test]
fn a_monthly_sample_rate_of_10_or_20_percent_is_accepted() {
    let pb = appliance();
    assert_eq!(
        monthly_sample(&customers(), SEED, 10, &pb).unwrap().len(),
        2
    );
    assert_eq!(
        monthly_sample(&customers(), SEED, 20, &pb).unwrap(),
        ["C-008", "C-018", "C-006", "C-005"]
    );
}

#[test]
fn a_monthly_sample_rate_of_9_or_21_percent_is_refused_naming_the_field() {
    let pb = appliance();
    for percent in [9, 21] {
        let e = monthly_sample(&customers(), SEED, percent, &pb).unwrap_err();
        assert_eq!(
            e,
            SampleRateError {
                percent,
                min: 10,
                max: 20
            }
        );
        assert_eq!(SampleRateError::FIELD, "percent");
        let t = e.text();
        assert!(
            t.en.contains("percent") && t.en.contains("10 to 20"),
            "{}",
            t.en
        );
        assert!(
            t.zh.contains("percent") && t.zh.contains("10% 到 20%"),
            "{}",
            t.zh
        );
    }
}

fn follow_up(reached: bool, satisfied: Option<bool>, closed_by_center: bool) -> FollowUpCall {
    FollowUpCall {
        at: at("12:00"),
        reached,
        satisfied,
        closed_by_center,
    }
}

#[test]
fn a_dissatisfied_customer_is_followed_up_again_until_satisfied() {
    let pb = appliance();
    for call in [
        follow_up(false, None, false),
        follow_up(true, Some(false), false),
    ] {
        assert_eq!(
            next_follow_up(CallbackReason::Dissatisfied, &call, &pb),
            Some(due(CallbackReason::Dissatisfied, "12:00", 24)),
            "{call:?}"
        );
        assert_eq!(
            next_follow_up(CallbackReason::DeclinedSignature, &call, &pb),
            Some(due(CallbackReason::DeclinedSignature, "12:00", 24)),
            "{call:?}"
        );
    }
    assert_eq!(
        next_follow_up(
            CallbackReason::Dissatisfied,
            &follow_up(true, Some(true), false),
            &pb
        ),
        None,
        "satisfied: the follow-up ends"
    );
}

#[test]
fn a_follow_up_closed_by_the_center_ends_and_other_callbacks_are_made_once() {
    let pb = appliance();
    assert_eq!(
        next_follow_up(
            CallbackReason::Dissatisfied,
            &follow_up(true, Some(false), true),
            &pb
        ),
        None
    );
    assert_eq!(
        next_follow_up(
            CallbackReason::SecondLevel,
            &follow_up(false, None, false),
            &pb
        ),
        None
    );
}

#[test]
fn the_monthly_sample_counts_duplicates_once() {
    let mut twice = customers();
    twice.extend(customers());
    assert_eq!(
        monthly_sample(&twice, SEED, 10, &appliance()).unwrap(),
        ["C-008", "C-018"]
    );
}

#[test]
fn the_sample_size_rounds_up() {
    assert_eq!(sample_size(0, 10), 0);
    assert_eq!(sample_size(1, 10), 1);
    assert_eq!(sample_size(10, 10), 1);
    assert_eq!(sample_size(11, 10), 2);
    assert_eq!(sample_size(20, 15), 3);
    assert_eq!(sample_size(7, 0), 0);
    assert_eq!(sample_size(7, 200), 7, "more than 100 % is everyone");
}
