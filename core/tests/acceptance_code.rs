//! The customer's acceptance code (验收码, issue 19), one scenario per rule:
//! asked after the sign-off where the trade walks the step and the center
//! issued a code; checked on the phone against a slow hash bound to the
//! work order; a wrong code refused and counted; after five wrong codes the
//! phone stops checking and the codes go to the center; the code never
//! replaces the signature (STANDARDS §2.16); a code withheld is recorded
//! for the center to follow up.

mod support;

use doorstep_core::acceptance_code::{AcceptanceCheck, HashCost};
use doorstep_core::playbook::{Playbook, Step};
use doorstep_core::workflow::view::view;
use doorstep_core::workflow::{EventKind, Outcome, WorkflowError};
use doorstep_core::Lang;
use serde_json::{json, Value};
use support::Run;

const CODE: &str = "482913";
const CHEAP: HashCost = HashCost {
    memory_kib: 64,
    passes: 1,
};

/// Appliance repair with the acceptance step in the company's playbook, on
/// a work order whose code was issued for `issued_for`.
fn visit_with_code_issued_for(issued_for: &str) -> Run {
    let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let at = pb.steps.iter().position(|s| *s == Step::Leave).unwrap();
    pb.steps.insert(at, Step::Acceptance);
    let mut a = support::assignment("appliance_repair");
    a.acceptance = Some(Box::new(AcceptanceCheck::issue(
        issued_for, CODE, [9; 16], CHEAP,
    )));
    Run::with_playbook(pb, a)
}

fn visit_with_code() -> Run {
    let id = support::assignment("appliance_repair").id.to_string();
    visit_with_code_issued_for(&id)
}

fn enter(code: &str) -> Value {
    json!({"type": "enter_acceptance_code", "code": code})
}

fn leave() -> Value {
    json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true})
}

fn entered(events: &[EventKind]) -> Option<bool> {
    match &events[0] {
        EventKind::AcceptanceCodeEntered { matched, .. } => *matched,
        other => panic!("not an acceptance code: {other:?}"),
    }
}

fn prompt_codes(run: &Run) -> Vec<String> {
    view(run.state(), run.playbook(), run.now, "王伟")
        .prompts
        .into_iter()
        .map(|p| p.code)
        .collect()
}

fn offers(run: &Run, command: &str) -> Option<bool> {
    view(run.state(), run.playbook(), run.now, "王伟")
        .next_actions
        .into_iter()
        .find(|a| a.command == command)
        .map(|a| a.required)
}

fn refused_with(e: &WorkflowError, code: &str) {
    assert_eq!(e.code(), code, "unexpected refusal: {e:?}");
    assert_ne!(e.message(Lang::ZhCn), e.message(Lang::En));
}

#[test]
fn the_code_is_asked_after_the_sign_off_and_closes_the_visit() {
    let mut run = visit_with_code();
    run.signed();
    assert_eq!(offers(&run, "enter_acceptance_code"), Some(true));
    assert_eq!(offers(&run, "withhold_acceptance_code"), Some(false));
    assert!(prompt_codes(&run).contains(&"acceptance_code".to_string()));
    let e = run.refused(leave());
    refused_with(&e, "acceptance_code_required");
    assert!(e.message(Lang::ZhCn).contains("验收码"), "{e:?}");

    assert_eq!(entered(&run.ok(enter(CODE))), Some(true));
    assert!(run.state().acceptance.matched);
    assert_eq!(offers(&run, "enter_acceptance_code"), None);
    refused_with(
        &run.refused(enter(CODE)),
        "acceptance_code_already_accepted",
    );
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::Fixed));
}

#[test]
fn the_code_never_replaces_the_signature() {
    let mut run = visit_with_code();
    run.paid();
    let e = run.refused(enter(CODE));
    refused_with(&e, "out_of_order");
    assert!(e.message(Lang::En).contains("sign-off"), "{e:?}");
    assert_eq!(offers(&run, "enter_acceptance_code"), None);
    // The fact carries the code and the check, never a rating.
    run.at("10:55");
    run.ok(json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": support::strokes(), "consent_text": "I confirm the work and amounts above."}));
    let fact = serde_json::to_value(&run.ok(enter(CODE))[0]).unwrap();
    let keys: Vec<&str> = fact
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys.len(), 3, "{fact}");
    assert!(
        keys.contains(&"code") && keys.contains(&"matched"),
        "{fact}"
    );
}

#[test]
fn a_wrong_code_is_refused_and_counted() {
    let mut run = visit_with_code();
    run.signed();
    assert_eq!(entered(&run.ok(enter("482914"))), Some(false));
    assert_eq!(run.state().acceptance.wrong_codes, 1);
    assert!(!run.state().acceptance.matched);
    let prompt = view(run.state(), run.playbook(), run.now, "王伟")
        .prompts
        .into_iter()
        .find(|p| p.code == "acceptance_code_wrong")
        .expect("the wrong-code prompt");
    assert!(prompt.text.zh.contains("再输错4次"), "{prompt:?}");
    assert_eq!(offers(&run, "enter_acceptance_code"), Some(true));
    refused_with(&run.refused(leave()), "acceptance_code_required");
    assert_eq!(entered(&run.ok(enter(CODE))), Some(true));
    run.ok(leave());
}

#[test]
fn after_five_wrong_codes_the_phone_stops_checking_and_the_codes_go_to_the_center() {
    let mut run = visit_with_code();
    run.signed();
    for wrong in ["000001", "000002", "000003", "000004"] {
        assert_eq!(entered(&run.ok(enter(wrong))), Some(false));
    }
    refused_with(&run.refused(leave()), "acceptance_code_required");
    assert_eq!(entered(&run.ok(enter("000005"))), Some(false));
    assert!(run.state().acceptance.offline_check_stopped());
    assert!(prompt_codes(&run).contains(&"acceptance_code_to_center".to_string()));
    // Even the right code is no longer checked here: no oracle on the phone.
    assert_eq!(entered(&run.ok(enter(CODE))), None);
    assert_eq!(run.state().acceptance.sent_to_center, 1);
    assert!(!run.state().acceptance.matched);
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::Fixed));
}

#[test]
fn a_code_is_the_six_digits_the_customer_received() {
    let mut run = visit_with_code();
    run.signed();
    for bad in ["48291", "4829133", "48291a", "４８２９１３"] {
        let e = run.refused(enter(bad));
        refused_with(&e, "invalid_input");
        assert_eq!(e.field(), Some("code"));
        assert!(e.message(Lang::ZhCn).contains("6位数字"), "{e:?}");
    }
    assert_eq!(
        run.state().acceptance.wrong_codes,
        0,
        "a typo is not an attempt"
    );
}

#[test]
fn a_check_issued_for_another_work_order_accepts_no_code() {
    let mut run = visit_with_code_issued_for("A-OTHER");
    run.signed();
    assert_eq!(entered(&run.ok(enter(CODE))), Some(false));
}

#[test]
fn a_customer_who_withholds_the_code_is_followed_up_by_the_center() {
    let mut run = visit_with_code();
    run.signed();
    refused_with(
        &run.refused(json!({"type": "withhold_acceptance_code", "reason": "  "})),
        "invalid_input",
    );
    run.ok(json!({"type": "withhold_acceptance_code", "reason": "did not receive the SMS"}));
    assert_eq!(
        run.state().acceptance.withheld.as_deref(),
        Some("did not receive the SMS")
    );
    assert_eq!(offers(&run, "enter_acceptance_code"), None);
    run.ok(leave());
}

#[test]
fn no_code_is_asked_where_the_center_issued_none() {
    let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let at = pb.steps.iter().position(|s| *s == Step::Leave).unwrap();
    pb.steps.insert(at, Step::Acceptance);
    let mut run = Run::with_playbook(pb, support::assignment("appliance_repair"));
    run.signed();
    assert_eq!(offers(&run, "enter_acceptance_code"), None);
    refused_with(&run.refused(enter(CODE)), "acceptance_code_not_issued");
    run.ok(leave());
}

#[test]
fn a_trade_without_the_step_never_asks_for_the_code() {
    let mut a = support::assignment("appliance_repair");
    a.acceptance = Some(Box::new(AcceptanceCheck::issue(
        a.id.as_str(),
        CODE,
        [9; 16],
        CHEAP,
    )));
    let mut run = Run::with_assignment(a);
    run.signed();
    assert_eq!(offers(&run, "enter_acceptance_code"), None);
    refused_with(&run.refused(enter(CODE)), "step_not_in_playbook");
    run.ok(leave());
}

#[test]
fn a_visit_that_ends_without_work_needs_no_code() {
    let mut run = visit_with_code();
    run.diagnosed("fix_on_site").at("10:10");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "part_control_board"}]}}));
    run.ok(json!({"type": "refuse_quote", "reason": "too expensive"}));
    run.ok(json!({"type": "decline_signature", "reason": "disputes the charge"}));
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::QuoteRefused));
}
