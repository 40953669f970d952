//! One test per exception path of STANDARDS.md §2: what the visit does when
//! the happy path breaks, and the outcome it ends in.

mod support;

use doorstep_core::callbacks::{self, CallbackReason};
use doorstep_core::workflow::command::{EntryException, MissingPartResolution};
use doorstep_core::workflow::event::{ConflictKind, Punctuality};
use doorstep_core::workflow::view::view;
use doorstep_core::workflow::{EventKind, Outcome, WorkflowError};
use doorstep_core::{Lang, Stage};
use serde_json::{json, Value};
use support::{at, fix_near, strokes, tomorrow_json, window, window_json, Run};

fn refused_with(e: &WorkflowError, code: &str) {
    assert_eq!(e.code(), code, "unexpected refusal: {e:?}");
    let (zh, en) = (e.message(Lang::ZhCn), e.message(Lang::En));
    assert!(!zh.trim().is_empty() && !en.trim().is_empty() && zh != en);
}

fn prompt_codes(run: &Run) -> Vec<String> {
    view(run.state(), run.playbook(), run.now, "Wang Wei")
        .prompts
        .into_iter()
        .map(|p| p.code)
        .collect()
}

fn confirm() -> Value {
    json!({"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true})
}

fn appearance(run: &mut Run) {
    run.appearance_checked();
}

fn leave() -> Value {
    json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true})
}

fn due(run: &Run, reason: CallbackReason) -> Option<chrono::DateTime<chrono::Utc>> {
    callbacks::schedule(run.state(), run.playbook())
        .into_iter()
        .find(|d| d.reason == reason)
        .map(|d| d.due_at)
}

// ---- §2.1 -------------------------------------------------------------------

#[test]
fn missing_information_is_verified_with_the_center() {
    let mut a = support::assignment("appliance_repair");
    a.product.purchase_date = None;
    let mut run = Run::with_assignment(a.clone());
    assert!(prompt_codes(&run).contains(&"missing_information".to_string()));
    let v = view(run.state(), run.playbook(), run.now, "Wang Wei");
    assert!(v
        .next_actions
        .iter()
        .any(|n| n.command == "verify_with_center" && n.required));
    refused_with(
        &run.refused(json!({"type": "verify_with_center", "fields": []})),
        "invalid_input",
    );
    let events = run.ok(json!({"type": "verify_with_center", "fields": ["purchase_date"], "note": "no purchase date on the order"}));
    assert!(matches!(
        events[0],
        EventKind::CenterVerificationRequested { .. }
    ));
    assert!(run.state().verification_requested);
    // The center answers with a corrected assignment.
    a.version = 2;
    a.product.purchase_date = chrono::NaiveDate::from_ymd_opt(2024, 3, 1);
    run.at("08:30");
    run.ok(json!({"type": "receive_assignment", "assignment": a}));
    assert!(run.state().open_field_issues().is_empty());
    assert!(!prompt_codes(&run).contains(&"missing_information".to_string()));
    run.ok(json!({"type": "log_call", "outcome": "reached"}));
    run.ok(confirm());
}

// ---- §2.2 -------------------------------------------------------------------

#[test]
fn phone_guidance_resolves_remotely_with_a_callback_two_hours_later() {
    let mut run = Run::new("appliance_repair");
    run.at("08:05");
    let resolve = json!({"type": "resolve_remotely", "guidance": "Set the thermostat back to 4; the child lock had moved it"});
    // Not before triage finds it fixable by phone.
    refused_with(&run.refused(resolve.clone()), "out_of_order");
    run.ok(json!({"type": "record_triage", "likely_causes": ["thermostat set to 0"], "parts_to_bring": [], "remote_fixable": true}));
    // And the customer must be reached to be guided.
    refused_with(&run.refused(resolve.clone()), "out_of_order");
    run.ok(json!({"type": "log_call", "outcome": "reached"}));
    run.ok(resolve);
    assert_eq!(run.state().outcome, Some(Outcome::ResolvedRemotely));
    assert_eq!(due(&run, CallbackReason::RemoteGuidance), Some(at("10:05")));

    // Trades that resolve on site only have no triage step.
    let mut water = Run::new("water_delivery");
    refused_with(
        &water.refused(json!({"type": "resolve_remotely", "guidance": "x"})),
        "step_not_in_playbook",
    );
}

// ---- §2.3 -------------------------------------------------------------------

#[test]
fn an_unreachable_customer_is_still_visited_at_the_promised_time() {
    let mut run = Run::new("appliance_repair");
    let needed = run.playbook().timing.call_attempts_before_unreachable as u32;
    for (i, outcome) in ["no_answer", "busy"].iter().enumerate() {
        run.at(&format!("08:{:02}", 10 + i * 10));
        run.ok(json!({"type": "log_call", "outcome": outcome}));
    }
    // A call about something else that went unanswered is no appointment attempt.
    run.at("08:35");
    run.ok(json!({"type": "log_call", "outcome": "no_answer", "purpose": "running_late"}));
    match run.refused(json!({"type": "proceed_unconfirmed"})) {
        e @ WorkflowError::CustomerNotYetUnreachable { attempts: 2, .. } => {
            refused_with(&e, "customer_not_yet_unreachable")
        }
        other => panic!("expected customer_not_yet_unreachable, got {other:?}"),
    }
    // Confirming needs the customer reached.
    refused_with(&run.refused(confirm()), "out_of_order");
    run.at("08:40");
    run.ok(json!({"type": "log_call", "outcome": "powered_off"}));
    assert_eq!(needed, 3);
    let events = run.ok(json!({"type": "proceed_unconfirmed"}));
    assert!(matches!(
        events[0],
        EventKind::ProceedingUnconfirmed { failed_attempts: 3, window } if window == support::window("10:00", "12:00")
    ));
    assert_eq!(run.state().stage, Stage::Scheduled);
    // ...and the visit goes on at the promised time.
    run.kit_checked().at("09:30");
    run.ok(json!({"type": "depart", "travel_minutes": 20}));
    run.at("09:50");
    let events = run.ok(json!({"type": "arrive", "location": fix_near(20.0)}));
    assert!(matches!(
        events[0],
        EventKind::Arrived {
            punctuality: Punctuality::Early { minutes_early: 10 },
            ..
        }
    ));
}

#[test]
fn a_window_conflict_ends_in_a_new_agreed_time_or_a_hand_back_to_the_center() {
    let mut run = Run::new("appliance_repair");
    run.at("08:10");
    run.ok(json!({"type": "log_call", "outcome": "reached"}));
    refused_with(
        &run.refused(json!({"type": "report_window_conflict", "reason": ""})),
        "invalid_input",
    );
    run.ok(json!({"type": "report_window_conflict", "reason": "30 min travel from the previous visit ending 10:00"}));
    // The conflicting window cannot be confirmed.
    refused_with(&run.refused(confirm()), "out_of_order");
    // A window in the past is no window.
    refused_with(
        &run.refused(json!({"type": "agree_new_window", "window": window_json("06:00", "07:00"), "reason": "x"})),
        "invalid_input",
    );
    run.ok(json!({"type": "agree_new_window", "window": window_json("11:00", "13:00"), "reason": "customer prefers late morning"}));
    run.ok(confirm());
    assert_eq!(run.state().window, Some(window("11:00", "13:00")));
    assert!(!run.state().window_conflict);

    // Or give the assignment back to the center for reassignment.
    let mut run = Run::new("appliance_repair");
    run.at("08:10");
    run.ok(json!({"type": "report_window_conflict", "reason": "double-booked"}));
    run.ok(json!({"type": "hand_back_to_center", "reason": "no slot today; please reassign"}));
    assert_eq!(run.state().outcome, Some(Outcome::HandedBack));
    refused_with(&run.refused(confirm()), "visit_closed");
}

// ---- §2.5 -------------------------------------------------------------------

#[test]
fn a_late_departure_prompts_the_running_late_call() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked().at("09:50");
    let events = run.ok(json!({"type": "depart", "travel_minutes": 20}));
    assert!(matches!(
        events[0],
        EventKind::Departed {
            late_risk: true,
            ..
        }
    ));
    let codes = prompt_codes(&run);
    assert!(codes.contains(&"late_risk".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"script.running_late".to_string()),
        "{codes:?}"
    );
    // A new window on that call needs the customer reached.
    refused_with(
        &run.refused(json!({"type": "notify_running_late", "outcome": "no_answer", "choice": {"choice": "new_window", "window": window_json("14:00", "16:00")}})),
        "no_customer_agreement",
    );
    run.at("09:52");
    run.ok(
        json!({"type": "notify_running_late", "outcome": "reached", "choice": {"choice": "wait"}}),
    );
    assert!(!prompt_codes(&run).contains(&"late_risk".to_string()));

    // On time: no prompt.
    let mut run = Run::new("appliance_repair");
    run.departed();
    assert!(!prompt_codes(&run).contains(&"late_risk".to_string()));

    // Arriving exactly as the window opens is on time; a minute later is a late risk.
    let late_risk_leaving_at = |hm: &str| {
        let mut run = Run::new("appliance_repair");
        run.scheduled().kit_checked().at(hm);
        match &run.ok(json!({"type": "depart", "travel_minutes": 20}))[0] {
            EventKind::Departed { late_risk, .. } => *late_risk,
            other => panic!("{other:?}"),
        }
    };
    assert!(!late_risk_leaving_at("09:40"));
    assert!(late_risk_leaving_at("09:41"));
}

// ---- §2.6 -------------------------------------------------------------------

fn arrive_at(hm: &str) -> Run {
    let mut run = Run::new("appliance_repair");
    run.departed().at(hm);
    run.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
    run
}

fn enter(run: &mut Run) -> Result<(), WorkflowError> {
    appearance(run);
    run.ok(json!({"type": "knock", "method": "bell"}));
    run.ok(json!({"type": "door_answered"}));
    let c = support::cmd(json!({"type": "enter", "greeted": true, "permit_shown": true}));
    let ctx = doorstep_core::workflow::Context::new(run.now, run.device.clone());
    run.visit.handle(&c, &ctx, &mut run.stamper).map(|_| ())
}

#[test]
fn arrival_is_classified_early_on_time_late_and_seriously_late() {
    let p = |run: &Run| run.state().arrival.as_ref().unwrap().punctuality;

    let mut early = arrive_at("09:50");
    assert_eq!(p(&early), Punctuality::Early { minutes_early: 10 });
    enter(&mut early).unwrap();

    let mut on_time = arrive_at("09:57");
    assert_eq!(p(&on_time), Punctuality::OnTime);
    enter(&mut on_time).unwrap();

    // Late by less than 15 minutes: apologise before entering.
    let mut minor = arrive_at("10:10");
    assert_eq!(p(&minor), Punctuality::LateMinor { minutes_late: 10 });
    assert!(
        minor
            .state()
            .arrival
            .as_ref()
            .unwrap()
            .late_without_prior_call
    );
    assert!(prompt_codes(&minor).contains(&"late_minor".to_string()));
    let e = enter(&mut minor).unwrap_err();
    assert!(matches!(
        e,
        WorkflowError::LatenessApologyRequired {
            minutes_late: 10,
            gift_required: false
        }
    ));
    refused_with(&e, "lateness_apology_required");
    minor.ok(
        json!({"type": "apologise_for_lateness", "gift_offered": false, "gift_accepted": false}),
    );
    minor.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
    assert!(!minor.state().manager_visit_requested);

    // Late by 15 minutes or more: sincere apology with a gift; not accepted -> a manager visits.
    let mut serious = arrive_at("10:15");
    assert_eq!(p(&serious), Punctuality::LateSerious { minutes_late: 15 });
    assert!(prompt_codes(&serious).contains(&"late_serious".to_string()));
    let e = serious.refused(
        json!({"type": "apologise_for_lateness", "gift_offered": false, "gift_accepted": false}),
    );
    assert!(matches!(
        e,
        WorkflowError::LatenessApologyRequired {
            gift_required: true,
            ..
        }
    ));
    refused_with(&e, "lateness_apology_required");
    let events = serious.ok(
        json!({"type": "apologise_for_lateness", "gift_offered": true, "gift_accepted": false}),
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, EventKind::ManagerVisitRequested { .. })));
    assert!(serious.state().manager_visit_requested);
    enter(&mut serious).unwrap();

    // Gift accepted: no manager visit.
    let mut accepted = arrive_at("10:30");
    let events = accepted
        .ok(json!({"type": "apologise_for_lateness", "gift_offered": true, "gift_accepted": true}));
    assert_eq!(events.len(), 1);

    // A running-late call before the appointment is recorded as such.
    let mut called = Run::new("appliance_repair");
    called.departed().at("09:45");
    called.ok(
        json!({"type": "notify_running_late", "outcome": "reached", "choice": {"choice": "wait"}}),
    );
    called.at("10:05");
    called.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
    assert!(
        !called
            .state()
            .arrival
            .as_ref()
            .unwrap()
            .late_without_prior_call
    );
}

#[test]
fn a_late_arrival_is_excused_only_by_a_running_late_call_made_by_a_minute_before_the_window() {
    // The appliance trade's lead is one minute: the call is due by 09:59 for a 10:00 window.
    let late_arrival_after_a_call_at = |call: &str| {
        let mut run = Run::new("appliance_repair");
        run.departed().at(call);
        run.ok(
            json!({"type": "notify_running_late", "outcome": "reached", "choice": {"choice": "wait"}}),
        );
        run.at("10:05");
        run.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
        let arrival = run.state().arrival.clone().unwrap();
        assert_eq!(
            arrival.punctuality,
            Punctuality::LateMinor { minutes_late: 5 }
        );
        arrival.late_without_prior_call
    };
    assert!(!late_arrival_after_a_call_at("09:40"), "a call well before");
    assert!(
        !late_arrival_after_a_call_at("09:59"),
        "a call exactly at the deadline"
    );
    assert!(
        late_arrival_after_a_call_at("09:59:30"),
        "a call half a minute late"
    );
    assert!(
        late_arrival_after_a_call_at("10:02"),
        "a call after the window started"
    );
}

#[test]
fn a_seriously_late_technician_enters_only_after_the_apology_with_a_gift() {
    let mut serious = arrive_at("10:20");
    let e = enter(&mut serious).unwrap_err();
    assert!(matches!(
        e,
        WorkflowError::LatenessApologyRequired {
            minutes_late: 20,
            gift_required: true
        }
    ));
    serious
        .ok(json!({"type": "apologise_for_lateness", "gift_offered": true, "gift_accepted": true}));
    serious.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
}

#[test]
fn a_trade_that_waives_the_minor_lateness_apology_still_owes_it_when_seriously_late() {
    let mut pb = doorstep_core::Playbook::shipped_by_id("appliance_repair").unwrap();
    pb.rules.lateness_apology = false;
    let late_by = |hm: &str| {
        let mut run = Run::with_playbook(pb.clone(), support::assignment("appliance_repair"));
        run.departed().at(hm);
        run.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
        run
    };
    // Ten minutes late: in without an apology, as this trade asks.
    enter(&mut late_by("10:10")).unwrap();
    // Twenty minutes late: the apology with a gift is the standard's, whatever the trade.
    assert!(matches!(
        enter(&mut late_by("10:20")).unwrap_err(),
        WorkflowError::LatenessApologyRequired {
            gift_required: true,
            ..
        }
    ));
}

// ---- §2.8 -------------------------------------------------------------------

#[test]
fn the_knock_protocol_spaces_attempts_by_the_trades_interval() {
    let mut run = Run::new("appliance_repair");
    run.at_door().at("09:51");
    // Appearance first.
    refused_with(
        &run.refused(json!({"type": "knock", "method": "knock"})),
        "out_of_order",
    );
    appearance(&mut run);
    // The door is not answered before anyone knocked.
    refused_with(
        &run.refused(json!({"type": "door_answered"})),
        "out_of_order",
    );
    run.ok(json!({"type": "knock", "method": "knock"}));
    assert!(prompt_codes(&run).contains(&"knock_protocol".to_string()));
    run.at("09:51:10");
    match run.refused(json!({"type": "knock", "method": "knock"})) {
        e @ WorkflowError::KnockTooSoon { wait_seconds: 20 } => refused_with(&e, "knock_too_soon"),
        other => panic!("expected knock_too_soon, got {other:?}"),
    }
    let v = view(run.state(), run.playbook(), run.now, "Wang Wei");
    assert_eq!(v.timers.next_knock_at, Some(at("09:51:30")));
    assert_eq!(v.timers.call_customer_at, Some(at("09:56")));
    run.at("09:51:30");
    run.ok(json!({"type": "knock", "method": "knock"}));
    run.at("09:52");
    run.ok(json!({"type": "door_answered"}));
    // Once answered, there is nothing to knock on.
    refused_with(
        &run.refused(json!({"type": "knock", "method": "knock"})),
        "out_of_order",
    );
    run.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
}

// ---- §2.9 -------------------------------------------------------------------

#[test]
fn an_entry_exception_is_met_at_the_door_never_once_the_work_started() {
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested().at("10:45");
    let e = run.refused(json!({"type": "record_entry_exception", "exception": "power_cut", "new_window": tomorrow_json("10:00", "12:00")}));
    refused_with(&e, "out_of_order");
    assert!(e.message(Lang::En).contains("before work starts"), "{e:?}");
}

#[test]
fn a_report_is_reopened_only_once_signed_or_declined() {
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:52");
    let e = run.refused(json!({"type": "reopen_report", "reason": "wrong part number"}));
    refused_with(&e, "out_of_order");
    assert!(e.message(Lang::En).contains("can still change"), "{e:?}");
}

#[test]
fn every_entry_exception_reschedules_to_a_new_agreed_time_as_trip_two() {
    for exception in [
        EntryException::CustomerNotHome,
        EntryException::NannyRefuses,
        EntryException::ProductElsewhere,
        EntryException::PowerCut,
        EntryException::CustomerBusy,
    ] {
        let mut run = Run::new("appliance_repair");
        run.at_door().at("09:51");
        appearance(&mut run);
        run.ok(json!({"type": "knock", "method": "bell"}));
        let record = json!({"type": "record_entry_exception", "exception": exception, "new_window": tomorrow_json("10:00", "12:00")});
        // Nobody agreed a new time yet.
        refused_with(&run.refused(record.clone()), "no_customer_agreement");
        run.at("09:52");
        if exception == EntryException::CustomerNotHome {
            // Agreed on the phone from the door.
            run.ok(json!({"type": "log_call", "outcome": "reached", "purpose": "at_the_door"}));
        } else {
            run.ok(json!({"type": "door_answered"}));
        }
        let events = run.ok(record);
        assert!(
            matches!(events[0], EventKind::EntryExceptionRecorded { exception: x, .. } if x == exception)
        );
        let s = run.state();
        assert_eq!(
            (s.trip, s.stage, s.outcome),
            (2, Stage::Scheduled, None),
            "{exception:?}"
        );
        assert_eq!(
            s.window.unwrap().start,
            at("10:00") + chrono::Duration::days(1)
        );
        assert!(s.kit.is_empty() && s.arrival.is_none() && !s.door.answered);
        // Trip 2 walks the visit again.
        run.at("12:00");
        run.kit_checked();
    }
}

// ---- §2.10 ------------------------------------------------------------------

#[test]
fn the_customer_may_waive_shoe_covers_as_a_recorded_waiver() {
    let mut run = Run::new("appliance_repair");
    run.inside().at("09:53");
    let diagnose = json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "Relay", "decision": "fix_on_site"});
    match run.refused(diagnose.clone()) {
        e @ WorkflowError::ProtectionMissing {
            shoe_covers: false,
            drop_cloth: false,
        } => refused_with(&e, "protection_missing"),
        other => panic!("expected protection_missing, got {other:?}"),
    }
    refused_with(
        &run.refused(json!({"type": "waive_shoe_covers", "note": ""})),
        "invalid_input",
    );
    run.ok(json!({"type": "waive_shoe_covers", "note": "Customer: 'no need, the floor is being redone'"}));
    assert_eq!(run.state().shoe_covers, Some(false));
    assert!(run.state().shoe_covers_waiver.is_some());
    // The waiver covers the shoe covers, not the drop cloth.
    match run.refused(diagnose.clone()) {
        WorkflowError::ProtectionMissing {
            shoe_covers: true,
            drop_cloth: false,
        } => {}
        other => panic!("expected protection_missing (drop cloth), got {other:?}"),
    }
    run.ok(json!({"type": "lay_drop_cloth"}));
    run.ok(diagnose);
}

// ---- §2.11 ------------------------------------------------------------------

#[test]
fn a_missing_part_is_fetched_now_or_brought_on_a_new_visit() {
    let report = |resolution: Value| json!({"type": "report_missing_part", "part": "part_control_board", "resolution": resolution});

    // A part is missing only for a diagnosis that named what is needed.
    let mut run = Run::new("appliance_repair");
    run.protected().at("10:05");
    let e = run.refused(report(json!({"resolution": "fetch_now"})));
    refused_with(&e, "out_of_order");
    assert!(
        e.message(Lang::En).contains("record the diagnosis"),
        "{e:?}"
    );

    let mut run = Run::new("appliance_repair");
    run.diagnosed("missing_part").at("10:10");
    run.ok(report(json!({"resolution": "fetch_now"})));
    assert_eq!(run.state().missing_parts, vec!["part_control_board"]);
    assert_eq!((run.state().trip, run.state().stage), (1, Stage::OnSite));
    // Continues on this visit.
    run.ok(json!({"type": "show_fee_schedule"}));

    let mut run = Run::new("appliance_repair");
    run.diagnosed("missing_part").at("10:10");
    refused_with(
        &run.refused(report(
            json!({"resolution": "new_visit", "window": window_json("09:00", "09:30")}),
        )),
        "invalid_input",
    );
    let events = run.ok(report(
        json!({"resolution": "new_visit", "window": tomorrow_json("14:00", "16:00")}),
    ));
    assert!(matches!(
        events[0],
        EventKind::PartMissing {
            resolution: MissingPartResolution::NewVisit { .. },
            ..
        }
    ));
    assert_eq!((run.state().trip, run.state().stage), (2, Stage::Scheduled));
    assert_eq!(
        run.state().window.unwrap().start,
        at("14:00") + chrono::Duration::days(1)
    );
}

#[test]
fn work_follows_a_diagnosis_that_decided_to_fix_on_site() {
    let in_warranty = || {
        let mut a = support::assignment("appliance_repair");
        a.product.warranty = doorstep_core::assignment::Warranty::InWarranty;
        Run::with_assignment(a)
    };
    let replace = json!({"type": "record_work", "description": "Replaced compressor start relay"});
    // The unit is taken back: nothing is repaired on site.
    let mut run = in_warranty();
    run.diagnosed("take_back").at("10:10");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    let e = run.refused(replace.clone());
    refused_with(&e, "out_of_order");
    assert!(e.message(Lang::En).contains("take the unit back"), "{e:?}");
    // No diagnosis yet: the work waits for it.
    let mut run = in_warranty();
    run.protected().at("10:20");
    let e = run.refused(replace.clone());
    refused_with(&e, "out_of_order");
    assert!(
        e.message(Lang::En).contains("record the diagnosis"),
        "{e:?}"
    );
    // Diagnosed to fix on site: the work is recorded.
    let mut run = in_warranty();
    run.diagnosed("fix_on_site").at("10:10");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(replace);
}

// ---- §2.12 ------------------------------------------------------------------

#[test]
fn a_refused_quote_is_escalated_and_the_visit_ends_as_quote_refused() {
    let mut run = Run::new("appliance_repair");
    run.diagnosed("fix_on_site").at("10:10");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "part_control_board"}]}}));
    let events = run.ok(json!({"type": "refuse_quote", "reason": "too expensive; thinks it should be under warranty"}));
    assert!(matches!(events[0], EventKind::QuoteRefused { .. }));
    assert!(matches!(events[1], EventKind::EscalatedToCenter { .. }));
    assert_eq!(run.state().escalations.len(), 1);
    assert!(prompt_codes(&run).contains(&"script.three_guarantees".to_string()));
    refused_with(
        &run.refused(json!({"type": "record_work", "description": "Replace board"})),
        "quote_not_accepted",
    );
    run.at("10:20");
    run.ok(json!({"type": "decline_signature", "reason": "disputes the charge"}));
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::QuoteRefused));
    assert!(due(&run, CallbackReason::DeclinedSignature).is_some());
}

// ---- §2.13 ------------------------------------------------------------------

#[test]
fn a_hidden_fault_on_a_chargeable_visit_needs_a_new_quote_accepted() {
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested().at("10:42");
    run.ok(
        json!({"type": "report_hidden_fault", "description": "Door seal torn behind the hinge"}),
    );
    assert!(run.state().requote_pending);
    assert!(
        run.state().test_run.is_none(),
        "the hidden fault voids the test run"
    );
    let fix_seal = json!({"type": "record_work", "description": "Replaced door seal", "parts_used": [{"item": "part_door_seal"}]});
    refused_with(&run.refused(fix_seal.clone()), "quote_not_accepted");
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}, {"item": "part_door_seal"}]}}));
    refused_with(&run.refused(fix_seal.clone()), "quote_not_accepted");
    run.ok(json!({"type": "accept_quote", "revision": 2}));
    run.ok(fix_seal);
    run.ok(json!({"type": "record_test_run", "passed": true}));

    // In warranty, the hidden fault is simply fixed too.
    let mut a = support::assignment("appliance_repair");
    a.product.warranty = doorstep_core::assignment::Warranty::InWarranty;
    let mut run = Run::with_assignment(a);
    run.repaired_and_tested().at("10:42");
    run.ok(json!({"type": "report_hidden_fault", "description": "Door seal torn"}));
    assert!(!run.state().requote_pending);
    run.ok(json!({"type": "record_work", "description": "Replaced door seal"}));
}

#[test]
fn a_failed_test_is_repaired_and_tested_again_never_covered_by_the_no_time_callback() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted().at("10:30");
    run.ok(json!({"type": "record_work", "description": "Replaced relay"}));
    run.at("10:40");
    run.ok(json!({"type": "record_test_run", "passed": false, "notes": "still trips"}));
    let no_time = json!({"type": "schedule_untested_callback", "reason": "no time to test again"});
    let e = run.refused(no_time.clone());
    refused_with(&e, "out_of_order");
    assert!(e.message(Lang::En).contains("test run failed"), "{e:?}");
    // Repaired again after the failed test: now there may be no time to test.
    run.at("10:50");
    run.ok(json!({"type": "record_work", "description": "Re-seated the relay connector"}));
    run.at("10:55");
    run.ok(no_time);
    assert_eq!(due(&run, CallbackReason::UntestedRepair), Some(at("12:55")));
}

#[test]
fn a_refused_revision_after_the_work_closes_the_visit_on_the_work_done() {
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested().at("10:42");
    run.ok(
        json!({"type": "report_hidden_fault", "description": "Door seal torn behind the hinge"}),
    );
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}, {"item": "part_door_seal"}]}}));
    run.ok(json!({"type": "refuse_quote", "reason": "the seal can wait"}));
    run.at("10:48");
    run.ok(json!({"type": "record_test_run", "passed": true}));
    run.ok(json!({"type": "decline_signature", "reason": "disputes the seal"}));
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::Fixed));
}

#[test]
fn no_time_to_test_schedules_a_callback_two_hours_later() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted().at("10:30");
    refused_with(
        &run.refused(json!({"type": "schedule_untested_callback", "reason": "no time"})),
        "out_of_order",
    );
    run.ok(json!({"type": "record_work", "description": "Replaced relay"}));
    run.at("10:45");
    run.ok(json!({"type": "schedule_untested_callback", "reason": "needs hours to cool down"}));
    assert_eq!(due(&run, CallbackReason::UntestedRepair), Some(at("12:45")));
}

#[test]
fn an_uncertain_fix_schedules_a_callback_three_hours_later() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted().at("10:30");
    run.ok(json!({"type": "record_work", "description": "Cleaned condenser; intermittent fault"}));
    run.at("10:40");
    run.ok(json!({"type": "record_test_run", "passed": true, "uncertain": true}));
    assert_eq!(due(&run, CallbackReason::UncertainFix), Some(at("13:40")));
    // A certain fix needs no such callback.
    let mut run = Run::new("appliance_repair");
    run.repaired_and_tested();
    assert_eq!(due(&run, CallbackReason::UncertainFix), None);
}

// ---- §2.15 ------------------------------------------------------------------

#[test]
fn an_invoice_not_at_hand_is_recorded_as_to_be_delivered_by_a_date() {
    let mut run = Run::new("appliance_repair");
    run.cleaned_up().at("10:50");
    let total = run.state().accepted_quote().unwrap().customer_total;
    let pay = |receipt: Value| json!({"type": "collect_payment", "amount": total, "method": "card", "receipt": receipt});
    refused_with(
        &run.refused(pay(
            json!({"kind": "invoice_to_be_delivered", "by": "2026-11-24"}),
        )),
        "invalid_input",
    );
    refused_with(
        &run.refused(pay(json!({"kind": "invoice", "number": " "}))),
        "invalid_input",
    );
    // Due today (the business day of the payment, 25 November) is not in the past.
    run.ok(pay(
        json!({"kind": "invoice_to_be_delivered", "by": "2026-11-25"}),
    ));
    assert!(matches!(
        run.state().payment.as_ref().unwrap().receipt,
        doorstep_core::workflow::command::ReceiptRecord::InvoiceToBeDelivered { .. }
    ));
}

// ---- §2.16 ------------------------------------------------------------------

#[test]
fn a_declined_signature_is_a_valid_outcome_that_triggers_a_follow_up() {
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:55");
    refused_with(&run.refused(leave()), "no_sign_off");
    refused_with(
        &run.refused(json!({"type": "decline_signature", "reason": ""})),
        "invalid_input",
    );
    run.ok(json!({"type": "decline_signature", "reason": "does not sign anything on a phone"}));
    assert!(run.state().sign_off.is_none());
    let follow_up = due(&run, CallbackReason::DeclinedSignature).unwrap();
    assert_eq!(
        follow_up,
        at("10:55")
            + chrono::Duration::hours(run.playbook().callbacks.dissatisfied_follow_up_hours)
    );
    assert!(prompt_codes(&run).contains(&"script.upset_customer".to_string()));
    run.ok(leave());
    assert_eq!(run.state().outcome, Some(Outcome::Fixed));
}

#[test]
fn dissatisfied_ratings_trigger_a_follow_up() {
    let mut run = Run::new("appliance_repair");
    run.paid().at("10:55");
    run.ok(json!({"type": "sign_off", "ratings": {"quality": 4, "attitude": 2}, "comment": "Arrived in a hurry", "strokes": strokes(), "consent_text": "I confirm."}));
    assert!(due(&run, CallbackReason::Dissatisfied).is_some());
    assert!(prompt_codes(&run).contains(&"script.upset_customer".to_string()));
    // Satisfied customers get no such follow-up.
    let mut run = Run::new("appliance_repair");
    run.signed();
    assert!(due(&run, CallbackReason::Dissatisfied).is_none());
}

// ---- §3 Center changes ------------------------------------------------------

#[test]
fn a_cancel_before_the_technician_sets_off_closes_the_visit_as_cancelled() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked().at("09:10");
    let events = run.ok(
        json!({"type": "cancel_assignment", "version": 2, "reason": "customer cancelled by phone"}),
    );
    assert_eq!(events.len(), 1, "no conflict before departure");
    assert_eq!(run.state().outcome, Some(Outcome::Cancelled));
    assert!(run.state().conflict.is_none());
    refused_with(
        &run.refused(json!({"type": "depart", "travel_minutes": 20})),
        "visit_closed",
    );
    // The same cancel again is idempotent.
    assert!(run
        .ok(json!({"type": "cancel_assignment", "version": 2, "reason": "again"}))
        .is_empty());

    let mut run = Run::new("appliance_repair");
    run.ok(json!({"type": "reassign_assignment", "version": 2, "to": "T-9"}));
    assert_eq!(run.state().outcome, Some(Outcome::Reassigned));
}

#[test]
fn a_cancel_or_reassign_after_departure_raises_a_conflict_and_keeps_every_fact() {
    for (command, kind) in [
        (
            json!({"type": "cancel_assignment", "version": 2, "reason": "customer cancelled"}),
            ConflictKind::CancelledAfterStart,
        ),
        (
            json!({"type": "reassign_assignment", "version": 2, "to": "T-9"}),
            ConflictKind::ReassignedAfterStart,
        ),
    ] {
        let mut run = Run::new("appliance_repair");
        run.departed().at("09:40");
        let before = run.visit.events.clone();
        let events = run.ok(command);
        assert!(
            matches!(events.last(), Some(EventKind::ConflictRaised { kind: k, version: 2 }) if *k == kind)
        );
        let s = run.state();
        assert_eq!(
            s.outcome, None,
            "the center's change does not erase the visit"
        );
        assert!(s.conflict.is_some() && s.departure.is_some());
        assert_eq!(&run.visit.events[..before.len()], &before[..], "facts kept");
        assert!(prompt_codes(&run).contains(&"conflict".to_string()));
        // What the technician records next is still recorded.
        run.at("09:50");
        run.ok(json!({"type": "arrive", "location": fix_near(30.0)}));
    }
}

#[test]
fn a_reassignment_is_recorded_once_per_new_holder_and_never_to_the_one_who_holds_it() {
    let mut run = Run::new("appliance_repair");
    // To the technician already holding it (T-7): nothing happens.
    assert!(run
        .ok(json!({"type": "reassign_assignment", "version": 2, "to": "T-7"}))
        .is_empty());
    assert_eq!(run.state().outcome, None);
    let events = run.ok(json!({"type": "reassign_assignment", "version": 2, "to": "T-9"}));
    assert!(matches!(
        events.as_slice(),
        [EventKind::AssignmentReassigned { version: 2, .. }]
    ));
    // The center moves it on again, to a third technician: that is recorded too.
    let events = run.ok(json!({"type": "reassign_assignment", "version": 3, "to": "T-8"}));
    assert!(
        matches!(
            events.as_slice(),
            [EventKind::AssignmentReassigned { version: 3, .. }]
        ),
        "{events:?}"
    );
}

#[test]
fn an_assignment_is_walked_only_with_its_own_trades_playbook() {
    let mut run = Run::new("appliance_repair");
    run.visit = doorstep_core::workflow::Visit::new(
        doorstep_core::Playbook::shipped_by_id("water_delivery").unwrap(),
    );
    let e = run.refused(
        json!({"type": "receive_assignment", "assignment": support::assignment("appliance_repair")}),
    );
    refused_with(&e, "invalid_input");
    assert_eq!(e.field(), Some("assignment.trade"));
}

#[test]
fn an_older_version_of_the_assignment_never_replaces_a_newer_one() {
    let mut newer = support::assignment("appliance_repair");
    newer.version = 3;
    newer.notes = Some("call before 10:00".into());
    let mut run = Run::with_assignment(newer.clone());
    let mut older = newer.clone();
    older.version = 2;
    older.notes = None;
    match run.refused(json!({"type": "receive_assignment", "assignment": older})) {
        e @ WorkflowError::StaleAssignment { have: 3, got: 2 } => {
            refused_with(&e, "stale_assignment")
        }
        other => panic!("expected stale_assignment, got {other:?}"),
    }
    assert_eq!(run.state().assignment.as_ref().unwrap().version, 3);
    // The same version again changes nothing; a newer one replaces it.
    assert!(run
        .ok(json!({"type": "receive_assignment", "assignment": newer.clone()}))
        .is_empty());
    let mut newest = newer;
    newest.version = 4;
    newest.notes = None;
    run.ok(json!({"type": "receive_assignment", "assignment": newest}));
    assert_eq!(run.state().assignment.as_ref().unwrap().notes, None);
}

// ---- §2.6 Geofence ----------------------------------------------------------

#[test]
fn arrival_outside_the_geofence_is_refused_unless_a_reason_is_given() {
    let mut run = Run::new("appliance_repair");
    run.departed().at("09:50");
    match run.refused(json!({"type": "arrive", "location": fix_near(1500.0)})) {
        e @ WorkflowError::OutsideGeofence { .. } => refused_with(&e, "outside_geofence"),
        other => panic!("expected outside_geofence, got {other:?}"),
    }
    refused_with(
        &run.refused(json!({"type": "arrive", "location": fix_near(1500.0), "outside_geofence_reason": "  "})),
        "outside_geofence",
    );
    let events = run.ok(json!({"type": "arrive", "location": fix_near(1500.0), "outside_geofence_reason": "map pin is on the estate gate; customer's block is 1.5 km in"}));
    match &events[0] {
        EventKind::Arrived {
            geofence: Some(g),
            outside_geofence_reason: Some(_),
            ..
        } => assert!(!g.inside),
        other => panic!("unexpected {other:?}"),
    }
    // Inside the geofence no reason is needed.
    let mut run = Run::new("appliance_repair");
    run.departed().at("09:50");
    // A fix that is no place on earth is refused, reason or not.
    refused_with(
        &run.refused(json!({"type": "arrive", "location": {"lat": 95.0, "lon": 121.4, "accuracy_m": 5.0}, "outside_geofence_reason": "gate"})),
        "invalid_input",
    );
    run.ok(json!({"type": "arrive", "location": fix_near(100.0)}));
}

#[test]
fn a_center_change_after_the_customer_signed_does_not_break_the_signature() {
    for change in [
        json!({"type": "cancel_assignment", "version": 2, "reason": "closed by the center"}),
        json!({"type": "reassign_assignment", "version": 2, "to": "T-9"}),
    ] {
        let mut run = Run::new("appliance_repair");
        run.signed().at("11:00");
        run.ok(leave());
        run.at("11:30");
        run.ok(change.clone());
        assert_eq!(run.state().assignment_version(), 2);
        doorstep_core::signoff::verify(run.state())
            .unwrap_or_else(|p| panic!("{change}: the signature no longer verifies: {p}"));
    }
    // A corrected assignment arriving after the signature likewise.
    let mut run = Run::new("appliance_repair");
    run.signed();
    let mut a = support::assignment("appliance_repair");
    a.version = 2;
    a.notes = Some("address corrected".into());
    run.ok(json!({"type": "receive_assignment", "assignment": a}));
    doorstep_core::signoff::verify(run.state()).unwrap();
}
