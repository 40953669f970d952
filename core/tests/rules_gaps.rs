//! The standard's last gaps in the core (issue 15), one test per rule: the
//! departure plan before departing (§2.5), the drop-cloth waiver (§2.4,
//! §2.10), backup consent keyed on the work itself (§2.11), bounds on every
//! command field, the fault catalogue, reproduction and serial numbers
//! (§2.11, §2.13), the playbook switches `announce_paid_services` and
//! `no_gifts`, and the kit check offered only while the kit is open (§2.4).

mod support;

use doorstep_core::business_time::BusinessZone;
use doorstep_core::location::GeoPoint;
use doorstep_core::playbook::Playbook;
use doorstep_core::workflow::bounds;
use doorstep_core::workflow::event::EventKind;
use doorstep_core::workflow::form::fields_of;
use doorstep_core::workflow::travel::TravelSource;
use doorstep_core::workflow::view::{view_in, VisitView};
use doorstep_core::workflow::{fill, FormValue, WorkflowError};
use doorstep_core::Lang;
use serde_json::{json, Value};
use support::{at, strokes, Run, HOME};

/// The screen with its clock times in UTC, as the scenarios' `at` times are.
fn screen(run: &Run) -> VisitView {
    let utc = BusinessZone::fixed("UTC", 0);
    view_in(run.state(), run.playbook(), run.now, "王伟", &utc)
}

fn prompt_codes(run: &Run) -> Vec<String> {
    screen(run).prompts.into_iter().map(|p| p.code).collect()
}

fn offered(run: &Run) -> Vec<(String, bool)> {
    screen(run)
        .next_actions
        .into_iter()
        .map(|a| (a.command, a.required))
        .collect()
}

fn offers(run: &Run, command: &str) -> Option<bool> {
    offered(run)
        .into_iter()
        .find(|(c, _)| c == command)
        .map(|(_, r)| r)
}

/// A point `km` kilometres north of the customer's home.
fn north_km(km: f64) -> GeoPoint {
    GeoPoint {
        lat: HOME.lat + km * 1000.0 / 111_320.0,
        lon: HOME.lon,
    }
}

fn refused_with(e: &WorkflowError, code: &str) {
    assert_eq!(e.code(), code, "unexpected refusal: {e:?}");
}

// ---- §2.5 the departure plan before departing --------------------------------

#[test]
fn before_departing_the_screen_says_when_to_leave_from_the_distance_at_the_trades_speed() {
    let mut run = Run::new("appliance_repair");
    // The technician's phone records the confirmation call 10 km from the customer.
    run.location = Some(doorstep_core::location::GeoFix {
        point: north_km(10.0),
        accuracy_m: 15.0,
    });
    run.scheduled().kit_checked();
    run.location = None;
    let v = screen(&run);
    let travel = v.timers.expected_travel.expect("an expected travel time");
    // 10 km at the appliance trade's 20 km/h: 30 minutes.
    assert_eq!(travel.minutes, 30);
    assert_eq!(travel.source, TravelSource::FromLastPosition);
    assert!(travel
        .distance_m
        .is_some_and(|d| (9_950..=10_050).contains(&d)));
    // Window at 10:00: leave between 09:20 (10 min early) and 09:25 (5 min early).
    assert_eq!(v.timers.leave_from, Some(at("09:20")));
    assert_eq!(v.timers.depart_by, Some(at("09:25")));
    let plan = v
        .prompts
        .iter()
        .find(|p| p.code == "departure_plan")
        .unwrap();
    // At the clock times of the business zone, and in minutes from now.
    assert!(
        plan.text
            .zh
            .contains("请在09:20至09:25之间出发（20至25分钟后）"),
        "{}",
        plan.text.zh
    );
    assert!(
        plan.text
            .en
            .contains("Leave between 09:20 and 09:25 (between 20 and 25 min from now)"),
        "{}",
        plan.text.en
    );
    assert!(!prompt_codes(&run).contains(&"late_risk".to_string()));
    // Inside the departure band: leave now, by its last minute.
    run.at("09:22");
    let now = screen(&run);
    let plan = now
        .prompts
        .iter()
        .find(|p| p.code == "departure_plan")
        .unwrap();
    assert!(
        plan.text.zh.contains("请现在出发，最迟09:25（3分钟内）"),
        "{}",
        plan.text.zh
    );
    assert!(
        plan.text
            .en
            .contains("Leave now, by 09:25 at the latest (in 3 min)"),
        "{}",
        plan.text.en
    );
}

#[test]
fn a_plan_that_cannot_be_met_prompts_the_late_risk_call_before_departing() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked().at("09:30");
    // The technician's own estimate: 45 minutes, so even leaving now is late.
    run.ok(json!({"type": "plan_travel", "estimated_travel_minutes": 45}));
    let v = screen(&run);
    assert_eq!(
        v.timers.expected_travel.map(|t| (t.minutes, t.source)),
        Some((45, TravelSource::TechnicianEstimate))
    );
    let codes = prompt_codes(&run);
    assert!(codes.contains(&"late_risk".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"script.running_late".to_string()),
        "{codes:?}"
    );
    assert_eq!(offers(&run, "notify_running_late"), Some(false));
    // The call is made: the prompt goes.
    run.ok(
        json!({"type": "notify_running_late", "outcome": "reached", "choice": {"choice": "wait"}}),
    );
    assert!(!prompt_codes(&run).contains(&"late_risk".to_string()));
}

#[test]
fn the_trip_from_the_previous_job_is_timed_from_there() {
    let mut run = Run::new("water_delivery");
    run.scheduled().kit_checked();
    let from = north_km(5.0);
    run.ok(json!({"type": "plan_travel", "from": from}));
    let travel = screen(&run).timers.expected_travel.unwrap();
    // 5 km at water delivery's 15 km/h: 20 minutes.
    assert_eq!(
        (travel.minutes, travel.source),
        (20, TravelSource::FromPreviousJob)
    );
    // A place that is not one is refused, naming the field.
    let e = run.refused(json!({"type": "plan_travel", "from": {"lat": 91.0, "lon": 0.0}}));
    assert_eq!(e.field(), Some("from"));
    // After departing, the plan is the declared travel time's.
    run.at("09:30");
    run.ok(json!({"type": "depart", "travel_minutes": 20}));
    assert!(screen(&run).timers.expected_travel.is_none());
}

// ---- §2.4 / §2.10 the drop cloth ------------------------------------------------

#[test]
fn drop_cloth_skipped_with_a_recorded_waiver_is_not_laid_later() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().at("09:00");
    let ids: Vec<String> = run.playbook().kit.iter().map(|k| k.id.clone()).collect();
    for id in ids.iter().filter(|id| *id != "drop_cloth") {
        run.ok(json!({"type": "check_kit_item", "item": id}));
    }
    run.ok(json!({"type": "skip_kit_item", "item": "drop_cloth", "reason": "left at the previous job"}));
    run.at("09:30");
    run.ok(json!({"type": "depart", "travel_minutes": 20}));
    run.at("09:50");
    run.ok(json!({"type": "arrive", "location": support::fix_near(30.0)}));
    run.appearance_checked();
    run.ok(json!({"type": "knock", "method": "bell"}));
    run.ok(json!({"type": "door_answered"}));
    run.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
    run.ok(json!({"type": "put_on_shoe_covers"}));
    // The waiver, not the cloth, is what the screen asks for, its note the skip's reason.
    assert_eq!(offers(&run, "waive_drop_cloth"), Some(true));
    assert_eq!(offers(&run, "lay_drop_cloth"), None);
    let note = fields_of("waive_drop_cloth", run.state(), run.playbook()).unwrap()[0]
        .default
        .clone();
    assert_eq!(note.as_deref(), Some("left at the previous job"));
    // A cloth that was not brought is not recorded as laid.
    refused_with(
        &run.refused(json!({"type": "lay_drop_cloth"})),
        "out_of_order",
    );
    refused_with(
        &run.refused(json!({"type": "waive_drop_cloth", "note": " "})),
        "invalid_input",
    );
    run.ok(json!({"type": "waive_drop_cloth", "note": "left at the previous job"}));
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "Relay", "decision": "fix_on_site"}));
    assert!(!run
        .visit
        .events
        .iter()
        .any(|e| matches!(e.kind, EventKind::DropClothLaid)));
    assert_eq!(
        run.state().drop_cloth_waiver.as_deref(),
        Some("left at the previous job")
    );
}

// ---- §2.11 backup consent on what the work is -------------------------------------

fn computer_quoted(lines: Value) -> Run {
    let mut run = Run::new("computer_repair");
    run.protected().at("10:05");
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true, "fault_code": "blue_screen", "decision": "fix_on_site"}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": lines}}));
    let rev = run.state().quote.as_ref().unwrap().revision;
    run.ok(json!({"type": "accept_quote", "revision": rev}));
    run
}

#[test]
fn backup_consent_is_keyed_on_the_quoted_work_not_only_the_chosen_kind() {
    let mut run = computer_quoted(json!([{"item": "visit_fee"}, {"item": "os_reinstall"}]));
    // The quote says OS reinstall: the warning and the consent are required.
    assert_eq!(offers(&run, "warn_data_risk"), Some(true));
    let repair =
        json!({"type": "record_work", "description": "Reinstalled Windows", "kind": "repair"});
    match run.refused(repair.clone()) {
        WorkflowError::BackupConsentRequired { warned: false } => {}
        other => panic!("expected backup_consent_required, got {other:?}"),
    }
    run.ok(json!({"type": "warn_data_risk"}));
    assert_eq!(offers(&run, "sign_backup_consent"), Some(true));
    run.ok(json!({"type": "sign_backup_consent", "strokes": strokes()}));
    run.ok(repair);

    // A disk fitted is disk work whatever the quote's labour says.
    let mut run = computer_quoted(
        json!([{"item": "visit_fee"}, {"item": "hardware_labour"}, {"item": "part_ssd_512"}]),
    );
    let fit = json!({"type": "record_work", "description": "Replaced the SSD", "kind": "repair",
        "parts_used": [{"item": "part_ssd_512", "old_serial": "S-OLD", "new_serial": "S-NEW"}]});
    refused_with(&run.refused(fit), "backup_consent_required");

    // Work that touches no data needs no consent.
    let mut run = computer_quoted(
        json!([{"item": "visit_fee"}, {"item": "hardware_labour"}, {"item": "part_power_supply"}]),
    );
    assert_eq!(offers(&run, "warn_data_risk"), Some(false));
    run.ok(json!({"type": "record_work", "description": "Replaced the power supply", "kind": "repair",
        "parts_used": [{"item": "part_power_supply", "old_serial": "P-OLD", "new_serial": "P-NEW"}]}));
}

// ---- bounds on every command field ------------------------------------------------

#[test]
fn every_command_field_is_bounded_and_the_refusal_names_the_field_and_the_range() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked().at("09:30");
    // The 4 294 967 295 minutes of travel.
    let e = run.refused(json!({"type": "depart", "travel_minutes": 4_294_967_295u32}));
    assert_eq!(e.code(), "invalid_input");
    assert_eq!(e.field(), Some("travel_minutes"));
    let (zh, en) = (e.message(Lang::ZhCn), e.message(Lang::En));
    assert!(zh.contains("路程时间") && zh.contains("0至720分钟"), "{zh}");
    assert!(
        en.contains("Travel time") && en.contains("from 0 to 720 minutes"),
        "{en}"
    );
    // The form offers the same bound.
    let f = fields_of("depart", run.state(), run.playbook()).unwrap();
    assert_eq!(
        (f[0].min, f[0].max),
        (Some(0), Some(bounds::TRAVEL_MINUTES_MAX))
    );
    let typed = fill(
        "depart",
        &[FormValue::text("travel_minutes", "721")],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    );
    assert_eq!(typed.unwrap_err().problems[0].field, "travel_minutes");
    run.ok(json!({"type": "depart", "travel_minutes": 720}));

    // Text length, list length, counts and amounts, by their dotted paths.
    let mut run = Run::new("appliance_repair");
    run.quote_accepted();
    let long = "长".repeat(bounds::LONG_TEXT_MAX as usize + 1);
    let e = run.refused(json!({"type": "report_hidden_fault", "description": long}));
    assert_eq!(e.field(), Some("description"));
    assert!(
        e.message(Lang::ZhCn).contains("最多2000个字"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let many: Vec<Value> = (0..=bounds::LIST_MAX)
        .map(|_| json!({"item": "part_door_seal"}))
        .collect();
    let e = run.refused(json!({"type": "record_work", "description": "x", "parts_used": many}));
    assert_eq!(e.field(), Some("parts_used"));
    let e = run.refused(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic", "qty": 1000}]}}));
    assert_eq!(e.field(), Some("quote.lines[1].qty"));
    assert!(e.message(Lang::ZhCn).contains("数量") && e.message(Lang::ZhCn).contains("1至999"));
    let e = run.refused(json!({"type": "record_incident", "kind": "damage", "description": "vase", "compensation": bounds::AMOUNT_MAX + 1}));
    assert_eq!(e.field(), Some("compensation"));
    assert!(
        e.message(Lang::ZhCn).contains("¥1000000.00"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let e = run.refused(json!({"type": "collect_payment", "amount": -1, "method": "cash", "receipt": {"kind": "receipt", "number": "R-1"}}));
    assert_eq!(e.field(), Some("amount"));
}

#[test]
fn a_signature_is_bounded_in_strokes_and_in_points_per_stroke() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted();
    let stroke = |points: usize| json!({"points": (0..points).map(|i| json!({"x": i, "y": 0, "t_ms": i})).collect::<Vec<_>>()});
    let sign = |strokes: Vec<Value>| json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes, "consent_text": "ok"});
    let e = run.refused(sign(vec![stroke(2); bounds::STROKES_MAX + 1]));
    assert_eq!(e.field(), Some("strokes"));
    assert!(
        e.message(Lang::ZhCn).contains("最多500项（实际501项）"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let e = run.refused(sign(vec![stroke(2), stroke(bounds::STROKE_POINTS_MAX + 1)]));
    assert_eq!(e.field(), Some("strokes[1].points"));
    assert!(
        e.message(Lang::En)
            .contains("at most 5000 entries (5001 given)"),
        "{}",
        e.message(Lang::En)
    );
    // The other signatures (backup consent, custody receipt) by the same bound.
    let e = run.refused(json!({"type": "sign_custody_receipt", "strokes": vec![stroke(1); bounds::STROKES_MAX + 1]}));
    assert_eq!(e.field(), Some("strokes"));
    let e = run.refused(
        json!({"type": "sign_backup_consent", "strokes": [stroke(bounds::STROKE_POINTS_MAX + 1)]}),
    );
    assert_eq!(e.field(), Some("strokes[0].points"));
    // At the bounds, no signature is a field's problem (the rules decide).
    let mut at_bounds = vec![stroke(1); bounds::STROKES_MAX];
    at_bounds[0] = stroke(bounds::STROKE_POINTS_MAX);
    for command in [
        sign(at_bounds.clone()),
        json!({"type": "sign_backup_consent", "strokes": at_bounds}),
        json!({"type": "sign_custody_receipt", "strokes": at_bounds}),
    ] {
        let e = run.refused(command.clone());
        assert_ne!(
            e.code(),
            "invalid_input",
            "{}: {}",
            command["type"],
            e.message(Lang::En)
        );
    }
    // The sign-off's other fields keep their own bounds.
    let mut long = sign(vec![stroke(2)]);
    long["consent_text"] = json!("字".repeat(bounds::LONG_TEXT_MAX as usize + 1));
    assert_eq!(run.refused(long).field(), Some("consent_text"));
    let mut long = sign(vec![stroke(2)]);
    long["comment"] = json!("字".repeat(bounds::LONG_TEXT_MAX as usize + 1));
    assert_eq!(run.refused(long).field(), Some("comment"));
    let mut long = sign(vec![stroke(2)]);
    long["shown_digest"] = json!("f".repeat(bounds::TEXT_MAX as usize + 1));
    assert_eq!(run.refused(long).field(), Some("shown_digest"));
}

// ---- §2.11 the fault catalogue, reproduction, §2.13 serial numbers -----------------

#[test]
fn a_fault_from_the_trades_catalogue_is_recorded_by_code_with_a_free_note_beside_it() {
    let mut run = Run::new("appliance_repair");
    run.protected().at("10:05");
    let e = run.refused(json!({"type": "record_diagnosis", "fault_reproduced": true, "fault_code": "bad_vibes", "decision": "fix_on_site"}));
    assert_eq!(e.field(), Some("fault_code"));
    assert!(
        e.message(Lang::ZhCn).contains("不制冷"),
        "{}",
        e.message(Lang::ZhCn)
    );
    let events = run.ok(
        json!({"type": "record_diagnosis", "fault_reproduced": true, "fault_code": "no_cooling",
        "note": "compressor clicks, relay hot", "decision": "fix_on_site"}),
    );
    match &events[0] {
        EventKind::DiagnosisRecorded {
            cause,
            fault_code,
            note,
            ..
        } => {
            assert_eq!(cause, "不制冷");
            assert_eq!(fault_code.as_deref(), Some("no_cooling"));
            assert_eq!(note.as_deref(), Some("compressor clicks, relay hot"));
        }
        other => panic!("{other:?}"),
    }
    // A cause in the technician's own words stands beside the code, not replaced by its name.
    let mut worded = Run::new("appliance_repair");
    worded.protected().at("10:05");
    let events = worded.ok(
        json!({"type": "record_diagnosis", "fault_reproduced": true, "fault_code": "no_cooling",
        "cause": "压缩机启动继电器烧坏", "decision": "fix_on_site"}),
    );
    match &events[0] {
        EventKind::DiagnosisRecorded {
            cause, fault_code, ..
        } => {
            assert_eq!(cause, "压缩机启动继电器烧坏");
            assert_eq!(fault_code.as_deref(), Some("no_cooling"));
        }
        other => panic!("{other:?}"),
    }
    // The form records the code beside the name, and the note.
    let f = fill(
        "record_diagnosis",
        &[
            FormValue::text("fault_reproduced", "是"),
            FormValue::text("cause", "不制冷"),
            FormValue::text("note", "继电器发烫"),
            FormValue::text("decision", "fix_on_site"),
        ],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    )
    .unwrap();
    let v = serde_json::to_value(f).unwrap();
    assert_eq!(v["fault_code"], json!("no_cooling"));
    assert_eq!(v["cause"], json!("不制冷"));
    assert_eq!(v["note"], json!("继电器发烫"));
}

#[test]
fn a_fault_not_reproduced_with_the_customer_is_reproduced_before_the_repair() {
    let mut run = Run::new("appliance_repair");
    run.protected().at("10:05");
    let diagnose = |reproduced: bool| json!({"type": "record_diagnosis", "fault_reproduced": reproduced, "fault_code": "no_cooling", "decision": "fix_on_site"});
    run.ok(diagnose(false));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    // The screen asks for the diagnosis again; the repair waits for it.
    assert_eq!(offers(&run, "record_diagnosis"), Some(true));
    let work = json!({"type": "record_work", "description": "Cleaned the condenser"});
    let e = run.refused(work.clone());
    assert_eq!(e.code(), "out_of_order");
    assert!(
        e.message(Lang::ZhCn).contains("复现故障"),
        "{}",
        e.message(Lang::ZhCn)
    );
    run.ok(diagnose(true));
    assert_eq!(offers(&run, "record_diagnosis"), None);
    run.ok(work);

    // A trade whose playbook does not ask for it repairs without reproduction.
    let mut run = Run::new("property_maintenance");
    assert!(!run.playbook().rules.reproduce_before_repair);
    run.protected().at("10:05");
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": false, "cause": "Tap worn", "decision": "fix_on_site"}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}));
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    run.ok(json!({"type": "record_work", "description": "Tightened the tap"}));
}

#[test]
fn a_serialised_part_is_fitted_with_its_old_and_new_serial_numbers() {
    let mut run = Run::new("appliance_repair");
    run.quote_accepted().at("10:30");
    let fit = |old: Value, new: Value| {
        json!({"type": "record_work", "description": "Replaced the relay",
            "parts_used": [{"item": "part_compressor_relay", "old_serial": old, "new_serial": new}]})
    };
    let e = run.refused(fit(json!("R-OLD-1"), Value::Null));
    assert_eq!(e.field(), Some("parts_used[0].new_serial"));
    let zh = e.message(Lang::ZhCn);
    assert!(
        zh.contains("新件序列号") && zh.contains("压缩机启动继电器"),
        "{zh}"
    );
    let e = run.refused(fit(json!(" "), json!("R-NEW-9")));
    assert_eq!(e.field(), Some("parts_used[0].old_serial"));
    run.ok(fit(json!("R-OLD-1"), json!("R-NEW-9")));
}

// ---- playbook switches ------------------------------------------------------------------

fn appliance_with(change: impl Fn(&mut Playbook)) -> Run {
    let mut pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    change(&mut pb);
    Run::with_playbook(pb, support::assignment("appliance_repair"))
}

#[test]
fn paid_services_are_announced_as_paid_before_work_where_the_playbook_says() {
    let quoted = |announce: bool| {
        let mut run = appliance_with(|pb| pb.rules.announce_paid_services = announce);
        run.diagnosed("fix_on_site").at("10:10");
        run.ok(json!({"type": "show_fee_schedule"}));
        run.ok(json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}]}}));
        run
    };
    let mut run = quoted(true);
    let v = screen(&run);
    let p = v
        .prompts
        .iter()
        .find(|p| p.code == "announce_paid_services")
        .unwrap();
    assert!(
        p.text.zh.contains("有偿服务") && p.text.zh.contains("80.00"),
        "{}",
        p.text.zh
    );
    run.ok(json!({"type": "accept_quote", "revision": 1}));
    assert!(!prompt_codes(&run).contains(&"announce_paid_services".to_string()));
    assert!(!prompt_codes(&quoted(false)).contains(&"announce_paid_services".to_string()));
}

#[test]
fn gifts_from_the_client_are_declined_where_the_playbook_says() {
    let mut run = Run::new("home_care");
    assert!(run.playbook().rules.no_gifts);
    run.protected();
    let v = screen(&run);
    let p = v.prompts.iter().find(|p| p.code == "no_gifts").unwrap();
    assert!(p.text.zh.contains("婉拒"), "{}", p.text.zh);
    let mut run = appliance_with(|pb| pb.rules.no_gifts = false);
    run.protected();
    assert!(!prompt_codes(&run).contains(&"no_gifts".to_string()));
}

// ---- §2.4 the kit check ----------------------------------------------------------------

#[test]
fn the_kit_check_is_not_offered_once_every_item_is_checked_or_skipped() {
    let mut run = Run::new("appliance_repair");
    run.scheduled();
    assert_eq!(offers(&run, "check_kit_item"), Some(true));
    let ids: Vec<(String, bool)> = run
        .playbook()
        .kit
        .iter()
        .map(|k| (k.id.clone(), k.mandatory))
        .collect();
    for (id, _) in ids.iter().filter(|(_, m)| *m) {
        run.ok(json!({"type": "check_kit_item", "item": id}));
    }
    // Only optional items left: offered, no longer required.
    assert_eq!(offers(&run, "check_kit_item"), Some(false));
    for (id, _) in ids.iter().filter(|(_, m)| !*m) {
        run.ok(json!({"type": "skip_kit_item", "item": id, "reason": "not needed for this fault"}));
    }
    assert_eq!(offers(&run, "check_kit_item"), None);
    assert_eq!(offers(&run, "skip_kit_item"), None);
    assert_eq!(offers(&run, "depart"), Some(true));
}

#[test]
fn the_trip_is_planned_through_its_form_before_departing() {
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked();
    assert_eq!(offers(&run, "plan_travel"), Some(false));
    let by_estimate = fill(
        "plan_travel",
        &[FormValue::text("estimated_travel_minutes", "35")],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    )
    .unwrap();
    let from_place = fill(
        "plan_travel",
        &[FormValue::text("from", "31.2754,121.4737")],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    )
    .unwrap();
    let nowhere = fill(
        "plan_travel",
        &[FormValue::text("from", "无法定位")],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    )
    .unwrap();
    let too_long = fill(
        "plan_travel",
        &[FormValue::text("estimated_travel_minutes", "721")],
        run.state(),
        run.playbook(),
        &BusinessZone::default(),
    );
    assert_eq!(
        too_long.unwrap_err().problems[0].field,
        "estimated_travel_minutes"
    );
    for c in [by_estimate, from_place, nowhere] {
        let v = serde_json::to_value(&c).unwrap();
        run.ok(v);
    }
    // The last plan holds: no estimate and no place, so the last position (none) — no plan.
    assert!(screen(&run).timers.expected_travel.is_none());
    run.at("09:30");
    run.ok(json!({"type": "depart", "travel_minutes": 20}));
    assert_eq!(offers(&run, "plan_travel"), None);
}
