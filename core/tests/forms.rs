//! The command table and the form descriptions against the real rules:
//! every command has one row and (for technician commands) a form; the
//! table's stage gates are exactly the ones `decide` enforces; every action
//! offered along a real visit of every trade fills from its form into a
//! command the rules take; money is typed in yuan; refusals name the field.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::location::{GeoFix, GeoPoint, LocationUnavailable};
use doorstep_core::script_runner::ScriptLine;
use doorstep_core::signoff::{Stroke, StrokePoint};
use doorstep_core::workflow::command_table::{self, Issuer, COMMANDS};
use doorstep_core::workflow::event::EventKind;
use doorstep_core::workflow::form::{fields_of, form, FieldKind, FormField};
use doorstep_core::workflow::{
    action_forms, decide, fill, step_of, Context, FieldValue, FormValue, SequentialStamper, Visit,
};
use doorstep_core::{DeviceId, Playbook, Stage, VisitCommand, VisitState, WorkflowError};
use serde_json::json;
use std::collections::HashSet;

const SCRIPTS: [(&str, &str); 6] = [
    (
        "appliance_repair",
        include_str!("../../examples/appliance_repair.jsonl"),
    ),
    (
        "computer_repair",
        include_str!("../../examples/computer_repair.jsonl"),
    ),
    (
        "water_delivery",
        include_str!("../../examples/water_delivery.jsonl"),
    ),
    ("home_care", include_str!("../../examples/home_care.jsonl")),
    (
        "property_maintenance",
        include_str!("../../examples/property_maintenance.jsonl"),
    ),
    (
        "heating_service",
        include_str!("../../examples/heating_service.jsonl"),
    ),
];

/// One sample of every command variant, as the wire carries it.
fn samples() -> Vec<VisitCommand> {
    let window = json!({"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T12:00:00Z"});
    let strokes = json!([{"points": [{"x": 0, "y": 0, "t_ms": 0}, {"x": 5, "y": 5, "t_ms": 10}]}]);
    let assignment = json!({"id": "A-1", "version": 9, "trade": "appliance_repair",
        "customer": {}, "product": {"warranty": "unknown"}});
    [
        json!({"type": "receive_assignment", "assignment": assignment}),
        json!({"type": "cancel_assignment", "version": 9, "reason": "x"}),
        json!({"type": "reassign_assignment", "version": 9, "to": "T-9"}),
        json!({"type": "verify_with_center", "fields": ["purchase_date"], "note": null}),
        json!({"type": "waive_fields", "fields": ["purchase_date"], "approved_by": "a", "approval_code": "b"}),
        json!({"type": "record_triage", "likely_causes": [], "parts_to_bring": [], "remote_fixable": false}),
        json!({"type": "resolve_remotely", "guidance": "g"}),
        json!({"type": "log_call", "outcome": "reached"}),
        json!({"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true}),
        json!({"type": "proceed_unconfirmed"}),
        json!({"type": "report_window_conflict", "reason": "r"}),
        json!({"type": "agree_new_window", "window": window, "reason": "r"}),
        json!({"type": "hand_back_to_center", "reason": "r"}),
        json!({"type": "check_kit_item", "item": "tools"}),
        json!({"type": "skip_kit_item", "item": "tools", "reason": "r"}),
        json!({"type": "plan_travel", "estimated_travel_minutes": 20}),
        json!({"type": "depart", "travel_minutes": 20}),
        json!({"type": "notify_running_late", "outcome": "reached", "choice": null}),
        json!({"type": "arrive", "location": null}),
        json!({"type": "apologise_for_lateness", "gift_offered": true, "gift_accepted": true}),
        json!({"type": "check_appearance", "items": []}),
        json!({"type": "knock", "method": "knock"}),
        json!({"type": "door_answered"}),
        json!({"type": "ask_neighbour", "note": "n"}),
        json!({"type": "leave_door_note"}),
        json!({"type": "notify_center_absent"}),
        json!({"type": "declare_customer_absent"}),
        json!({"type": "enter", "greeted": true, "permit_shown": true}),
        json!({"type": "record_entry_exception", "exception": "power_cut", "new_window": window}),
        json!({"type": "put_on_shoe_covers"}),
        json!({"type": "waive_shoe_covers", "note": "n"}),
        json!({"type": "lay_drop_cloth"}),
        json!({"type": "waive_drop_cloth", "note": "n"}),
        json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "c", "decision": "fix_on_site"}),
        json!({"type": "warn_data_risk"}),
        json!({"type": "sign_backup_consent", "strokes": strokes}),
        json!({"type": "offer_loaner", "accepted": true}),
        json!({"type": "record_unit_appearance", "description": "d"}),
        json!({"type": "sign_custody_receipt", "strokes": strokes}),
        json!({"type": "take_back", "return_by": "2030-01-05"}),
        json!({"type": "report_missing_part", "part": "p", "resolution": {"resolution": "fetch_now"}}),
        json!({"type": "inspect_item", "item": "i", "seal_intact": true, "no_leaks": true, "no_foreign_matter": true}),
        json!({"type": "show_fee_schedule"}),
        json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}]}}),
        json!({"type": "accept_quote", "revision": 1}),
        json!({"type": "refuse_quote", "reason": "r"}),
        json!({"type": "record_guardian", "name": "n", "relation": "r"}),
        json!({"type": "record_work", "description": "d"}),
        json!({"type": "report_hidden_fault", "description": "d"}),
        json!({"type": "record_test_run", "passed": true}),
        json!({"type": "schedule_untested_callback", "reason": "r"}),
        json!({"type": "brief_customer"}),
        json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}),
        json!({"type": "collect_payment", "amount": 100, "method": "cash", "receipt": {"kind": "receipt", "number": "1"}}),
        json!({"type": "refuse_payment", "reason": "r"}),
        json!({"type": "defer_payment", "reason": "r"}),
        json!({"type": "request_invoice", "buyer": {"buyer_type": "personal", "title": "李明", "email": "li@example.com"}}),
        json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes, "consent_text": "c"}),
        json!({"type": "decline_signature", "reason": "r"}),
        json!({"type": "reopen_report", "reason": "r"}),
        json!({"type": "enter_acceptance_code", "code": "482913"}),
        json!({"type": "withhold_acceptance_code", "reason": "r"}),
        json!({"type": "check_belongings"}),
        json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}),
        json!({"type": "record_incident", "kind": "damage", "description": "d"}),
        json!({"type": "take_photo", "moment": "nameplate", "digest": "5f8d85373599f77b43911abd5509852a8f8816b029eaccba47c9bf8e1569591f", "size_bytes": 21, "width": 640, "height": 480}),
        json!({"type": "record_photo_not_taken", "moment": "old_part", "reason": "r"}),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}")))
    .collect()
}

#[test]
fn every_command_the_workflow_accepts_has_one_table_row_and_a_form() {
    let samples = samples();
    let names: HashSet<&str> = samples.iter().map(VisitCommand::type_name).collect();
    assert_eq!(names.len(), samples.len(), "a variant is sampled twice");
    assert_eq!(names.len(), COMMANDS.len(), "rows and variants differ");
    let pb = Playbook::shipped_by_id("appliance_repair").unwrap();
    let state = VisitState::default();
    for cmd in &samples {
        let name = cmd.type_name();
        let tag = serde_json::to_value(cmd).unwrap()["type"].clone();
        assert_eq!(tag, name, "the serde tag is the wire name");
        assert_eq!(cmd.name(), name);
        let rows: Vec<_> = COMMANDS.iter().filter(|r| r.name == name).collect();
        assert_eq!(rows.len(), 1, "{name} has {} rows", rows.len());
        assert_eq!(
            rows[0].step,
            step_of(cmd),
            "{name}: table step differs from step_of"
        );
        assert_eq!(command_table::row_of(cmd).name, name);
        match rows[0].issuer {
            Issuer::Technician => {
                assert!(fields_of(name, &state, &pb).is_some(), "{name} has no form")
            }
            Issuer::Center => assert!(
                fields_of(name, &state, &pb).is_none(),
                "{name} is a center fact"
            ),
        }
    }
}

/// The states a trade's example visit passes through, before each command,
/// and the closed one at the end; the lines are applied as the script says.
fn states_along(trade: &str, script: &str) -> (Playbook, Vec<(VisitState, DateTime<Utc>)>) {
    let pb = Playbook::shipped_by_id(trade).unwrap();
    let mut visit = Visit::new(pb.clone());
    let mut stamper = SequentialStamper::default();
    let mut out = vec![];
    let mut last = Utc::now();
    for raw in script.lines() {
        let raw = raw.trim();
        if raw.is_empty() || raw.starts_with("//") || raw.contains("\"doorstep_script\"") {
            continue;
        }
        let line: ScriptLine = serde_json::from_str(raw).unwrap();
        out.push((visit.state.clone(), line.at));
        last = line.at;
        let mut ctx = Context::new(line.at, DeviceId::new("forms-test").unwrap());
        ctx.location = line.location;
        let r = visit.handle(&line.command, &ctx, &mut stamper);
        assert_eq!(r.is_ok(), line.expect.is_none(), "{trade}: {raw}: {r:?}");
    }
    out.push((visit.state.clone(), last));
    (pb, out)
}

#[test]
fn arrival_is_gated_by_whether_the_trade_departs() {
    let with_depart = Playbook::shipped_by_id("appliance_repair").unwrap();
    let mut without = with_depart.clone();
    without.steps.retain(|s| *s != doorstep_core::Step::Depart);
    let arrive = command_table::row_named("arrive").unwrap();
    assert!(arrive.allows(Stage::EnRoute, &with_depart));
    assert!(!arrive.allows(Stage::Scheduled, &with_depart));
    assert!(arrive.allows(Stage::Scheduled, &without));
    // decide agrees: without the depart step, arriving from Scheduled passes the gate.
    let (_, states) = states_along("appliance_repair", SCRIPTS[0].1);
    let (scheduled, at) = states
        .iter()
        .find(|(s, _)| s.stage == Stage::Scheduled)
        .unwrap();
    let cmd = VisitCommand::Arrive {
        location: None,
        outside_geofence_reason: None,
        location_unavailable: Some(LocationUnavailable::NoFix),
    };
    let ctx = Context::new(*at, DeviceId::new("forms-test").unwrap());
    assert!(matches!(
        decide(scheduled, &cmd, &with_depart, &ctx),
        Err(WorkflowError::OutOfOrder { .. })
    ));
    assert!(!matches!(
        decide(scheduled, &cmd, &without, &ctx),
        Err(WorkflowError::OutOfOrder { .. })
    ));
}

#[test]
fn the_table_stage_gates_are_the_ones_decide_enforces() {
    let samples = samples();
    let mut stages_seen = std::collections::BTreeSet::new();
    for (trade, script) in SCRIPTS {
        let (pb, states) = states_along(trade, script);
        for (state, at) in &states {
            stages_seen.insert(state.stage);
            let ctx = Context::new(*at, DeviceId::new("forms-test").unwrap());
            for cmd in &samples {
                let row = command_table::row_of(cmd);
                let gate_refusal = WorkflowError::OutOfOrder {
                    command: row.name.to_string(),
                    stage: state.stage,
                    needs: row.needs_at(state.stage, &pb).to_string(),
                };
                let got = decide(state, cmd, &pb, &ctx);
                if row.allows(state.stage, &pb) {
                    // Inside the table's stages the gate lets the command through:
                    // whatever decide says, it is not the stage gate's refusal.
                    assert_ne!(
                        got.as_ref().err(),
                        Some(&gate_refusal),
                        "{trade}: the table allows {} at {:?}, decide refused it by stage",
                        row.name,
                        state.stage
                    );
                    continue;
                }
                let ok = match &got {
                    Err(WorkflowError::VisitNotStarted) => state.stage == Stage::New,
                    Err(WorkflowError::VisitClosed { .. }) => state.outcome.is_some(),
                    Err(WorkflowError::StepNotInPlaybook { step }) => !pb.has(*step),
                    Err(WorkflowError::ReportSigned { .. }) => state.sign_off.is_some(),
                    Err(refusal) => *refusal == gate_refusal,
                    Ok(_) => false,
                };
                assert!(
                    ok,
                    "{trade}: the table says {} is not allowed at {:?}, decide said {got:?}",
                    row.name, state.stage
                );
            }
        }
    }
    for stage in [
        Stage::New,
        Stage::Intake,
        Stage::Scheduled,
        Stage::EnRoute,
        Stage::AtDoor,
        Stage::OnSite,
        Stage::Closed,
    ] {
        assert!(stages_seen.contains(&stage), "no visit reached {stage:?}");
    }
}

fn strokes() -> Vec<Stroke> {
    vec![Stroke {
        points: (0..6)
            .map(|i| StrokePoint {
                x: i * 10,
                y: (i % 3) * 7,
                t_ms: (i as u32) * 16,
            })
            .collect(),
    }]
}

/// A test value for a field of each kind (the form's default when it has one).
fn test_value(f: &FormField, state: &VisitState, now: DateTime<Utc>) -> Vec<FieldValue> {
    if let Some(d) = &f.default {
        return vec![FieldValue::Text(d.clone())];
    }
    let text = |s: String| vec![FieldValue::Text(s)];
    match f.kind {
        FieldKind::Text | FieldKind::LongText => text("测试 test".into()),
        FieldKind::Integer => text(f.min.unwrap_or(1).to_string()),
        FieldKind::Money => text("1".into()),
        FieldKind::Choice => text(f.options.first().map(|o| o.id.clone()).unwrap_or_default()),
        FieldKind::MultiChoice => f
            .options
            .iter()
            .map(|o| FieldValue::Text(o.id.clone()))
            .collect(),
        FieldKind::YesNo => text("yes".into()),
        FieldKind::DateTime => text((now + Duration::days(1)).to_rfc3339()),
        FieldKind::Date => text((now + Duration::days(1)).date_naive().to_string()),
        FieldKind::Duration => text("20".into()),
        FieldKind::Photo => text("photo-1".into()),
        FieldKind::Signature => vec![FieldValue::Strokes(strokes())],
        FieldKind::Location => {
            vec![
                match state.assignment.as_ref().and_then(|a| a.customer.location) {
                    Some(point) => FieldValue::Location(GeoFix {
                        point,
                        accuracy_m: 10.0,
                    }),
                    None => FieldValue::NoLocation(LocationUnavailable::NoFix),
                },
            ]
        }
        FieldKind::Rating => text("4".into()),
        FieldKind::List => vec![],
    }
}

fn values_for(fields: &[FormField], state: &VisitState, now: DateTime<Utc>) -> Vec<FormValue> {
    let mut out = vec![];
    for f in fields {
        if f.kind == FieldKind::List {
            if f.default_items.is_empty() && f.required {
                for sub in &f.item_fields {
                    for v in test_value(sub, state, now) {
                        out.push(FormValue {
                            name: format!("{}[0].{}", f.name, sub.name),
                            value: v,
                        });
                    }
                }
            }
            continue;
        }
        if f.required || f.default.is_some() {
            for v in test_value(f, state, now) {
                out.push(FormValue {
                    name: f.name.clone(),
                    value: v,
                });
            }
        }
    }
    out
}

#[test]
fn every_offered_action_fills_into_a_command_the_rules_decide() {
    let mut filled = HashSet::new();
    for (trade, script) in SCRIPTS {
        let (pb, states) = states_along(trade, script);
        for (state, at) in &states {
            let forms = action_forms(state, &pb);
            let offered = doorstep_core::workflow::view::offered_actions(state, &pb);
            let technician: Vec<&str> = offered
                .iter()
                .map(|(n, _)| *n)
                .filter(|n| *n != "receive_assignment")
                .collect();
            let formed: Vec<&str> = forms.iter().map(|f| f.action.as_str()).collect();
            assert_eq!(
                formed, technician,
                "{trade}: every offered action has its form"
            );
            for f in &forms {
                let values = values_for(&f.fields, state, *at);
                let cmd = fill(&f.action, &values, state, &pb, &BusinessZone::default())
                    .unwrap_or_else(|e| {
                        panic!("{trade} {:?}: {} did not fill: {e}", state.stage, f.action)
                    });
                assert_eq!(cmd.name(), f.action);
                let ctx = Context::new(*at, DeviceId::new("forms-test").unwrap());
                // Accepted, or refused by a rule: never a parse error (fill typed it).
                let _ = decide(state, &cmd, &pb, &ctx);
                filled.insert(f.action.clone());
            }
        }
    }
    for must in [
        "log_call",
        "confirm_appointment",
        "check_kit_item",
        "depart",
        "arrive",
        "check_appearance",
        "knock",
        "enter",
        "record_diagnosis",
        "present_quote",
        "accept_quote",
        "record_work",
        "record_test_run",
        "clean_up",
        "collect_payment",
        "sign_off",
        "leave",
        "inspect_item",
    ] {
        assert!(filled.contains(must), "{must} was never offered and filled");
    }
}

/// The appliance visit from its example, up to the named command.
fn appliance_state_before(action: &str) -> (Playbook, VisitState, DateTime<Utc>) {
    let (pb, states) = states_along("appliance_repair", SCRIPTS[0].1);
    let (state, at) = states
        .into_iter()
        .find(|(s, _)| {
            doorstep_core::workflow::view::offered_actions(s, &pb)
                .iter()
                .any(|(n, _)| *n == action)
        })
        .unwrap();
    (pb, state, at)
}

#[test]
fn collect_payment_defaults_to_the_amount_due_typed_in_yuan() {
    let (pb, state, _) = appliance_state_before("collect_payment");
    let due = state.amount_due().unwrap();
    let form = form("collect_payment", &state, &pb, true).unwrap();
    let amount = form.fields.iter().find(|f| f.name == "amount").unwrap();
    assert_eq!(amount.kind, FieldKind::Money);
    assert_eq!(
        amount.default.as_deref(),
        Some(doorstep_core::money::yuan_digits(due).as_str())
    );
    let cmd = fill(
        "collect_payment",
        &[
            FormValue::text("method", "mobile"),
            FormValue::text("receipt.number", "R-1"),
        ],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap();
    match cmd {
        VisitCommand::CollectPayment { amount, .. } => assert_eq!(amount, due),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_time_typed_as_the_form_shows_it_is_local_time_of_the_business_zone() {
    let (pb, state, _) = appliance_state_before("agree_new_window");
    let window = |start: &str, end: &str| {
        vec![
            FormValue::text("window.start", start),
            FormValue::text("window.end", end),
            FormValue::text("reason", "客户改约"),
        ]
    };
    let agreed = |zone: &BusinessZone, start: &str, end: &str| match fill(
        "agree_new_window",
        &window(start, end),
        &state,
        &pb,
        zone,
    ) {
        Ok(VisitCommand::AgreeNewWindow { window, .. }) => (window.start, window.end),
        other => panic!("{other:?}"),
    };
    let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    // The hint's own format, "2026-12-04 09:00": Beijing time by default.
    let shanghai = BusinessZone::default();
    assert_eq!(
        agreed(&shanghai, "2026-12-04 09:00", "2026-12-04 11:00"),
        (utc("2026-12-04T01:00:00Z"), utc("2026-12-04T03:00:00Z"))
    );
    // Another company's zone reads the same wall time as its own.
    let tokyo = BusinessZone::fixed("Asia/Tokyo", 9 * 3600);
    assert_eq!(
        agreed(&tokyo, "2026-12-04T09:00", "2026-12-04 11:00:30").0,
        utc("2026-12-04T00:00:00Z")
    );
    // A time with its offset is that instant in any zone.
    assert_eq!(
        agreed(&tokyo, "2026-12-04T09:00:00+08:00", "2026-12-04 11:00").0,
        utc("2026-12-04T01:00:00Z")
    );
    // Anything else is refused, naming the field and the accepted form.
    let e = fill(
        "agree_new_window",
        &window("明天上午", "2026-12-04 11:00"),
        &state,
        &pb,
        &shanghai,
    )
    .unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.problems[0].field, "window.start");
    assert!(e.problems[0]
        .text
        .zh
        .contains("请按“2026-12-01 14:30”填写（本地时间）"));
    assert!(e.problems[0]
        .text
        .en
        .contains("2026-12-01 14:30 (local time)"));
}

#[test]
fn fill_errors_name_every_bad_field_in_zh_and_en() {
    let (pb, state, _) = appliance_state_before("collect_payment");
    let e = fill(
        "collect_payment",
        &[
            FormValue::text("amount", "168.555"),
            FormValue::text("method", "bitcoin"),
            FormValue::text("receipt.kind", "invoice"),
        ],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap_err();
    let fields: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["amount", "method", "receipt.number"]);
    let amount = &e.problems[0].text;
    assert!(
        amount.zh.contains("收费金额") && amount.zh.contains("小数超过两位"),
        "{amount:?}"
    );
    assert!(
        amount.en.contains("Amount") && amount.en.contains("never rounded"),
        "{amount:?}"
    );
    assert!(
        e.problems[1].text.zh.contains("现金"),
        "the accepted options are listed"
    );
    assert!(e.problems[2].text.zh.contains("必填"));

    for bad in ["-1", "1,68", "abc"] {
        let e = fill(
            "collect_payment",
            &[
                FormValue::text("amount", bad),
                FormValue::text("method", "cash"),
                FormValue::text("receipt.number", "R"),
            ],
            &state,
            &pb,
            &BusinessZone::default(),
        )
        .unwrap_err();
        assert_eq!(e.problems[0].field, "amount", "{bad}");
    }
    let e = fill(
        "log_call",
        &[FormValue::text("mood", "x")],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap_err();
    assert!(e.problems.iter().any(|p| p.field == "mood"));
    assert!(e.problems.iter().any(|p| p.field == "outcome"));
    let e = fill(
        "receive_assignment",
        &[],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap_err();
    assert_eq!(e.problems[0].field, "action");
}

#[test]
fn the_diagnosis_offers_the_trades_fault_codes_and_other() {
    let (pb, state, _) = appliance_state_before("record_diagnosis");
    let form = form("record_diagnosis", &state, &pb, true).unwrap();
    let cause = form.fields.iter().find(|f| f.name == "cause").unwrap();
    assert!(cause.options.iter().any(|o| o.label.zh == "不制冷"));
    assert_eq!(cause.options.last().unwrap().id, "other");
    let base = [
        FormValue::text("fault_reproduced", "yes"),
        FormValue::text("decision", "fix_on_site"),
    ];
    let with = |extra: &[FormValue]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        fill(
            "record_diagnosis",
            &v,
            &state,
            &pb,
            &BusinessZone::default(),
        )
    };
    match with(&[FormValue::text("cause", "no_cooling")]).unwrap() {
        VisitCommand::RecordDiagnosis { cause, .. } => assert_eq!(cause, "不制冷"),
        other => panic!("{other:?}"),
    }
    match with(&[
        FormValue::text("cause", "other"),
        FormValue::text("cause_other", "温控器触点粘连"),
    ])
    .unwrap()
    {
        VisitCommand::RecordDiagnosis { cause, .. } => assert_eq!(cause, "温控器触点粘连"),
        other => panic!("{other:?}"),
    }
    let e = with(&[FormValue::text("cause", "other")]).unwrap_err();
    assert_eq!(e.problems[0].field, "cause_other");
}

#[test]
fn a_refused_location_is_recorded_as_such_never_a_silent_null() {
    let (pb, state, at) = appliance_state_before("arrive");
    let e = fill("arrive", &[], &state, &pb, &BusinessZone::default()).unwrap_err();
    assert_eq!(e.problems[0].field, "location");
    let cmd = fill(
        "arrive",
        &[FormValue {
            name: "location".into(),
            value: FieldValue::NoLocation(LocationUnavailable::PermissionDenied),
        }],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap();
    let ctx = Context::new(at, DeviceId::new("forms-test").unwrap());
    let events = decide(&state, &cmd, &pb, &ctx).unwrap();
    match &events[0] {
        EventKind::Arrived {
            location: None,
            location_unavailable: Some(LocationUnavailable::PermissionDenied),
            ..
        } => {}
        other => panic!("{other:?}"),
    }
    let typed = fill(
        "arrive",
        &[FormValue::text("location", "31.2216,121.5441,8")],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap();
    match typed {
        VisitCommand::Arrive {
            location: Some(fix),
            location_unavailable: None,
            ..
        } => assert_eq!(
            fix.point,
            GeoPoint {
                lat: 31.2216,
                lon: 121.5441
            }
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_quote_starts_from_the_visit_fee_and_the_diagnosed_parts() {
    let (pb, state, _) = appliance_state_before("present_quote");
    let form = form("present_quote", &state, &pb, true).unwrap();
    let lines = form
        .fields
        .iter()
        .find(|f| f.name == "quote.lines")
        .unwrap();
    let items: Vec<String> = lines
        .default_items
        .iter()
        .filter_map(|row| row.iter().find(|v| v.name == "item"))
        .map(|v| match &v.value {
            FieldValue::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(items[0], "visit_fee");
    let diagnosed = &state.diagnosis.as_ref().unwrap().parts;
    for p in diagnosed {
        assert!(items.contains(p), "{p} from the diagnosis");
    }
    let item = lines.item_fields.iter().find(|f| f.name == "item").unwrap();
    assert!(item.options.iter().any(|o| o.label.zh == "上门费 ¥30.00"));
    // Typed rows replace the defaults; money in yuan becomes fen.
    let cmd = fill(
        "present_quote",
        &[
            FormValue::text("quote.lines[0].item", "visit_fee"),
            FormValue::text("quote.lines[1].item", "part_door_seal"),
            FormValue::text("quote.lines[1].qty", "2"),
            FormValue::text("quote.lines[1].warranty_card_price", "¥80.5"),
        ],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap();
    match cmd {
        VisitCommand::PresentQuote { quote } => {
            assert_eq!(quote.lines.len(), 2);
            assert_eq!(quote.lines[1].qty, 2);
            assert_eq!(quote.lines[1].warranty_card_price, Some(8050));
            assert!(quote.discount.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ratings_have_no_default_and_the_consent_comes_from_the_core() {
    let (pb, state, _) = appliance_state_before("sign_off");
    let form = form("sign_off", &state, &pb, true).unwrap();
    for f in &form.fields {
        if f.kind == FieldKind::Rating {
            assert_eq!(f.default, None, "{}", f.name);
            assert_eq!((f.min, f.max), (Some(1), Some(5)));
        }
    }
    let consent = form
        .fields
        .iter()
        .find(|f| f.name == "consent_text")
        .unwrap();
    assert!(consent.read_only);
    assert_eq!(
        consent.default.as_deref(),
        Some("本人确认以上服务内容及金额。")
    );
    let e = fill(
        "sign_off",
        &[FormValue {
            name: "strokes".into(),
            value: FieldValue::Strokes(strokes()),
        }],
        &state,
        &pb,
        &BusinessZone::default(),
    )
    .unwrap_err();
    let missing: Vec<&str> = e.problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(missing, ["ratings.quality", "ratings.attitude"]);
}
