//! Photos as evidence in the workflow (issue 12): the playbook's photo
//! moments, a required photo missing refusing the step after it, a photo
//! that cannot be taken recorded with a reason, and the photos joining the
//! signed report (format 2) by digest.

mod support;

use doorstep_core::canonical::sha256_hex;
use doorstep_core::playbook::{Playbook, Step};
use doorstep_core::signoff::{self, Report, SignOffProblem};
use doorstep_core::workflow::EventKind;
use doorstep_core::{Stage, VisitState, WorkflowError};
use serde_json::json;
use support::*;

fn photo(moment: &str, bytes: &str) -> serde_json::Value {
    json!({"type": "take_photo", "moment": moment, "digest": sha256_hex(bytes.as_bytes()),
           "size_bytes": bytes.len(), "width": 1280, "height": 960})
}

/// Appliance repair, diagnosed, with no photo taken yet (the canned
/// progression would take them).
fn diagnosed_without_photos() -> Run {
    let mut run = Run::new("appliance_repair");
    run.protected().at("10:05");
    let diagnosis = json!({"type": "record_diagnosis", "fault_reproduced": true,
        "cause": "Start relay burnt out", "parts": ["part_compressor_relay"], "decision": "fix_on_site"});
    run.ok(diagnosis);
    run
}

#[test]
fn each_trade_declares_its_photo_moments_tied_to_steps_it_walks() {
    let moments = |trade: &str| -> Vec<(String, Step, bool)> {
        Playbook::shipped_by_id(trade)
            .unwrap()
            .photos
            .iter()
            .map(|m| (m.id.clone(), m.step, m.required))
            .collect()
    };
    let appliance = moments("appliance_repair");
    for id in ["nameplate", "fault_before", "after_repair", "old_part"] {
        assert!(
            appliance.iter().any(|(m, ..)| m == id),
            "appliance lacks {id}"
        );
    }
    assert!(appliance.contains(&("after_repair".into(), Step::Work, true)));
    assert!(moments("water_delivery").contains(&("seal_intact".into(), Step::Inspect, true)));
    assert!(moments("computer_repair").contains(&("screen_after".into(), Step::Test, true)));
    assert_eq!(moments("property_maintenance").len(), 2);
    assert_eq!(moments("heating_service").len(), 2);
    assert!(
        moments("home_care").is_empty(),
        "elderly care takes no photos by default"
    );
}

#[test]
fn a_playbook_photo_of_a_step_the_trade_does_not_walk_is_refused_naming_the_field() {
    let text = doorstep_core::playbook::SHIPPED[3].1.to_string()
        + "\n[[photos]]\nid = \"x\"\nname = { en = \"X\", zh = \"某\" }\nstep = \"diagnose\"\nrequired = true\n";
    let e = Playbook::from_toml("home_care.toml", &text).unwrap_err();
    assert!(e.to_string().contains("photos[0].step"), "{e}");
}

#[test]
fn a_required_photo_missing_refuses_the_next_step() {
    let mut run = diagnosed_without_photos();
    let e = run.refused_as_is(json!({"type": "show_fee_schedule"}));
    match &e {
        WorkflowError::PhotoRequired {
            step,
            moments,
            names,
        } => {
            assert_eq!(*step, Step::Diagnose);
            assert_eq!(
                moments,
                &vec!["nameplate".to_string(), "fault_before".into()]
            );
            assert_eq!(names[0].zh, "铭牌及序列号");
        }
        other => panic!("expected photo_required, got {other:?}"),
    }
    assert_eq!(e.code(), "photo_required");
    assert!(e.text().zh.contains("铭牌及序列号"), "{}", e.text().zh);
    assert!(e.text().en.contains("Nameplate"), "{}", e.text().en);
    // Calls and incidents belong to no step: never held back by a photo.
    run.ok(json!({"type": "record_incident", "kind": "other", "description": "dog barking"}));
}

#[test]
fn each_required_photo_is_its_own_and_a_step_is_not_held_back_by_its_own_photos() {
    let mut run = diagnosed_without_photos();
    // The nameplate alone does not stand in for the fault before the repair.
    run.ok(photo("nameplate", "n"));
    match run.refused_as_is(json!({"type": "show_fee_schedule"})) {
        WorkflowError::PhotoRequired { moments, .. } => assert_eq!(moments, ["fault_before"]),
        other => panic!("expected photo_required, got {other:?}"),
    }
    run.ok(photo("fault_before", "f"));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(json!({"type": "record_work", "description": "Cleaned the condenser"}));
    // More of the work's own step goes on before the after-repair photo...
    run.ok(json!({"type": "report_hidden_fault", "description": "power cord worn"}));
    // ...but the test run, the next step, waits for it.
    match run.refused_as_is(json!({"type": "record_test_run", "passed": true})) {
        WorkflowError::PhotoRequired { step, moments, .. } => {
            assert_eq!(
                (step, moments),
                (Step::Work, vec!["after_repair".to_string()])
            )
        }
        other => panic!("expected photo_required, got {other:?}"),
    }
}

#[test]
fn a_photo_that_cannot_be_taken_is_recorded_with_a_reason_instead() {
    let mut run = diagnosed_without_photos();
    run.ok(photo("nameplate", "nameplate bytes"));
    let e = run.refused(
        json!({"type": "record_photo_not_taken", "moment": "fault_before", "reason": "  "}),
    );
    assert_eq!(e.code(), "invalid_input");
    run.ok_as_is(json!({"type": "record_photo_not_taken", "moment": "fault_before", "reason": "客户不同意拍摄室内"}));
    // The reason stands in for the photo: the quote, the next step, goes on
    // with no photo of the fault.
    run.ok_as_is(json!({"type": "show_fee_schedule"}));
    run.ok_as_is(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    assert!(run
        .state()
        .photos
        .iter()
        .all(|p| p.moment != "fault_before"));
    assert_eq!(run.state().photos_not_taken[0].reason, "客户不同意拍摄室内");
}

#[test]
fn a_photo_names_a_moment_of_the_trade_and_a_sha256_digest() {
    let mut run = diagnosed_without_photos();
    let e = run.refused(photo("selfie", "x"));
    assert_eq!(e.field(), Some("moment"));
    assert!(
        e.to_string().contains("Nameplate and serial number"),
        "the moments by name: {e}"
    );
    let e = run.refused(
        json!({"type": "take_photo", "moment": "nameplate", "digest": "abc",
        "size_bytes": 10, "width": 10, "height": 10}),
    );
    assert_eq!(e.field(), Some("digest"));
    let e = run.refused(json!({"type": "take_photo", "moment": "nameplate",
        "digest": sha256_hex(b"x"), "size_bytes": 10, "width": 0, "height": 10}));
    assert_eq!(e.field(), Some("width"));
}

#[test]
fn a_photo_taken_event_carries_moment_digest_size_dimensions_time_place_and_technician() {
    let mut run = diagnosed_without_photos();
    run.location = Some(fix_near(5.0));
    let kinds = run.ok(photo("nameplate", "nameplate bytes"));
    match &kinds[..] {
        [EventKind::PhotoTaken {
            moment,
            digest,
            size_bytes,
            width,
            height,
            technician,
        }] => {
            assert_eq!(moment, "nameplate");
            assert_eq!(digest, &sha256_hex(b"nameplate bytes"));
            assert_eq!((*size_bytes, *width, *height), (15, 1280, 960));
            assert!(technician.is_some());
        }
        other => panic!("{other:?}"),
    }
    let p = &run.state().photos[0];
    assert_eq!(p.taken_at, run.now);
    assert!(p.location.is_some());
}

#[test]
fn a_step_never_walked_does_not_wait_for_its_photos() {
    // The customer refuses the quote: no repair, so no after-repair photo.
    let mut run = diagnosed_without_photos();
    run.ok(photo("nameplate", "n"));
    run.ok(photo("fault_before", "f"));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "refuse_quote", "reason": "too expensive"}));
    assert!(doorstep_core::workflow::missing_required_photos(
        run.state(),
        run.playbook(),
        Step::Leave
    )
    .is_empty());
}

#[test]
fn a_required_photo_is_due_only_once_its_step_was_walked() {
    // A company playbook asking for a photo at each of these steps.
    let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let steps = [
        ("at_arrival", Step::Arrive),
        ("at_entry", Step::Enter),
        ("at_diagnosis", Step::Diagnose),
        ("at_inspection", Step::Inspect),
        ("at_test", Step::Test),
    ];
    pb.photos.retain(|m| !m.required);
    for (id, step) in steps {
        pb.photos.push(doorstep_core::playbook::PhotoMoment {
            id: id.into(),
            name: doorstep_core::messages::Text::new(id, id),
            step,
            required: true,
        });
    }
    let due = |run: &Run| -> Vec<String> {
        doorstep_core::workflow::missing_required_photos(run.state(), run.playbook(), Step::Leave)
            .into_iter()
            .map(|m| m.id.clone())
            .collect()
    };
    let mut run = Run::with_playbook(pb, assignment("appliance_repair"));
    assert!(due(&run).is_empty(), "nothing walked yet: {:?}", due(&run));
    run.at_door();
    assert_eq!(due(&run), ["at_arrival"]);
    run.ok(photo("at_arrival", "a"));
    run.appearance_checked();
    run.ok(json!({"type": "knock", "method": "bell"}));
    run.ok(json!({"type": "door_answered"}));
    run.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
    assert_eq!(due(&run), ["at_entry"]);
    run.ok(photo("at_entry", "e"));
    run.ok(json!({"type": "put_on_shoe_covers"}));
    run.ok(json!({"type": "lay_drop_cloth"}));
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true,
        "cause": "Start relay burnt out", "parts": ["part_compressor_relay"], "decision": "fix_on_site"}));
    // The appliance trade never inspects: its inspection photo is never due.
    assert_eq!(due(&run), ["at_diagnosis"]);
    run.ok(photo("at_diagnosis", "d"));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(json!({"type": "record_work", "description": "Cleaned the condenser"}));
    assert!(due(&run).is_empty(), "{:?}", due(&run));
    // A test run walks the test step, passed or not.
    run.ok(json!({"type": "record_test_run", "passed": true}));
    assert_eq!(due(&run), ["at_test"]);
}

#[test]
fn the_signed_report_includes_each_photo_digest() {
    let mut run = Run::new("appliance_repair");
    run.signed();
    let state = run.state();
    let report = Report::of(state, None, None, "");
    assert!(report.format >= 2, "format {} has photos", report.format);
    let photos = report.photos.unwrap();
    let moments: Vec<&str> = photos.iter().map(|p| p.moment.as_str()).collect();
    assert_eq!(moments, ["nameplate", "fault_before", "after_repair"]);
    for p in &photos {
        assert_eq!(
            p.digest.as_deref(),
            Some(sha256_hex(p.moment.as_bytes()).as_str())
        );
    }
    signoff::verify(state).unwrap();
}

/// The state as the server would rebuild it from events where one photo's
/// digest was swapped for another's.
fn with_photo_replaced(events: &[doorstep_core::VisitEvent]) -> VisitState {
    let mut events = events.to_vec();
    for e in &mut events {
        if let EventKind::PhotoTaken { moment, digest, .. } = &mut e.kind {
            if moment == "after_repair" {
                *digest = sha256_hex(b"a nicer picture taken later");
            }
        }
    }
    VisitState::replay(&events)
}

#[test]
fn replacing_a_photo_after_signing_breaks_verification() {
    let mut run = Run::new("appliance_repair");
    run.signed();
    signoff::verify(run.state()).unwrap();
    let tampered = with_photo_replaced(&run.visit.events);
    assert!(matches!(
        signoff::verify(&tampered),
        Err(SignOffProblem::ReportChanged { .. })
    ));
    // And on the device, a photo after signing changes the report: refused.
    let e = run.refused(photo("old_part", "old part"));
    assert_eq!(e.code(), "report_signed");
}

#[test]
fn a_report_signed_in_format_1_verifies_unchanged() {
    let mut run = Run::new("appliance_repair");
    run.signed();
    let signed = run.state().sign_off.clone().unwrap();
    // What a device of format 1 signed: the same report without photos.
    let mut format_1 = Report::of_format(
        1,
        run.state(),
        Some(signed.ratings),
        signed.comment.clone(),
        "I confirm the work and amounts above.",
    );
    format_1.report_version = signed.report_version;
    assert!(!format_1.canonical_json().contains("photos"));
    assert_ne!(format_1.digest(), signed.evidence.report_digest);
    let mut state = run.state().clone();
    state.sign_off.as_mut().unwrap().evidence.report_digest = format_1.digest();
    signoff::verify(&state).unwrap();
}

#[test]
fn photos_are_offered_on_site_and_due_while_a_required_one_is_missing() {
    let run = diagnosed_without_photos();
    assert_eq!(run.state().stage, Stage::OnSite);
    let offered = doorstep_core::workflow::view::offered_actions(run.state(), run.playbook());
    assert!(offered.contains(&("take_photo", true)), "{offered:?}");
    assert!(offered.contains(&("record_photo_not_taken", false)));
}
