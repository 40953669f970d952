//! One full happy-path visit per shipped trade, walked command by command in
//! the order of its standard (STANDARDS.md §1-§2). Each visit ends closed
//! with the trade's outcome, a sign-off that verifies against the report, the
//! callbacks the outcome calls for, and a state that replays from its events.
//! The refusals met on the way are the trade's own rules biting at the moment
//! the standard places them; the exhaustive rule tests live in `rules_*.rs`.

mod support;

use chrono::Duration;
use doorstep_core::callbacks::{self, CallbackDue, CallbackReason};
use doorstep_core::quote::Payer;
use doorstep_core::signoff;
use doorstep_core::workflow::view::view;
use doorstep_core::{EventKind, Outcome, Stage, VisitState};
use serde_json::json;
use support::{at, fix_near, strokes, Run};

/// The checks every finished visit must pass: closed with `outcome`, signed
/// report verifies, one 48 h second-level callback from the time it closed,
/// and the state is exactly the replay of its events.
fn assert_closed_and_verified(run: &Run, outcome: Outcome, left_at: &str) {
    let s = run.state();
    assert_eq!(s.stage, Stage::Closed);
    assert_eq!(s.outcome, Some(outcome));
    assert_eq!(s.closed_at, Some(at(left_at)));
    signoff::verify(s).expect("the signed report verifies after leaving");
    assert_eq!(
        callbacks::schedule(s, run.playbook()),
        vec![CallbackDue {
            reason: CallbackReason::SecondLevel,
            due_at: at(left_at) + Duration::hours(48),
        }],
        "a satisfied, closed visit owes exactly the 48 h second-level callback"
    );
    assert_eq!(VisitState::replay(&run.visit.events), *s);
    let v = view(s, run.playbook(), at(left_at), "王伟");
    assert_eq!(v.outcome, Some(outcome));
    assert!(v.signed && v.next_actions.is_empty());
}

fn code(run: &mut Run, command: serde_json::Value) -> &'static str {
    run.refused(command).code()
}

/// The commands the screen offers now.
fn offered(run: &Run) -> Vec<String> {
    view(run.state(), run.playbook(), run.now, "王伟")
        .next_actions
        .into_iter()
        .map(|a| a.command)
        .collect()
}

fn appearance_items(run: &Run) -> Vec<String> {
    run.playbook()
        .appearance
        .iter()
        .map(|a| a.id.clone())
        .collect()
}

fn sign_off(run: &mut Run) {
    run.ok(json!({
        "type": "sign_off",
        "ratings": {"quality": 5, "attitude": 5},
        "comment": "师傅很专业",
        "strokes": strokes(),
        "consent_text": "本人确认以上服务内容及金额。"
    }));
}

fn leave(run: &mut Run) -> Vec<EventKind> {
    run.ok(json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}))
}

#[test]
fn appliance_repair_follows_the_repair_standard_end_to_end() {
    let mut run = Run::new("appliance_repair");
    assert!(run.state().open_field_issues().is_empty());

    // §2.2 Triage: not a misuse case, so no phone guidance; parts to bring.
    run.at("08:05");
    run.ok(
        json!({"type": "record_triage", "likely_causes": ["压缩机启动继电器损坏", "温控器故障"],
                  "parts_to_bring": ["part_compressor_relay"], "remote_fixable": false}),
    );
    // §2.3 Confirm: a busy line first, then (in `protected`) the customer is
    // reached at 08:10 and confirms; §2.4-2.10: kit checked, depart 09:30,
    // arrive 09:50 inside the geofence, door, shoe covers and drop cloth.
    run.at("08:08");
    run.ok(json!({"type": "log_call", "outcome": "busy"}));
    run.protected();
    assert_eq!(run.state().calls.len(), 2);
    assert!(matches!(
        run.state().arrival.as_ref().unwrap().punctuality,
        doorstep_core::workflow::Punctuality::Early { minutes_early: 10 }
    ));
    assert!(
        run.state()
            .arrival
            .as_ref()
            .unwrap()
            .geofence
            .unwrap()
            .inside
    );

    // §2.11 Diagnose with the customer; fix on site.
    run.at("10:05");
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true,
                  "cause": "压缩机启动继电器烧毁", "parts": ["part_compressor_relay"],
                  "decision": "fix_on_site"}));
    // §2.12 Quote: out of warranty; the warranty card's lower relay price applies.
    run.at("10:08");
    assert_eq!(
        code(
            &mut run,
            json!({"type": "record_work", "description": "更换启动继电器"})
        ),
        "quote_not_accepted"
    );
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"},
        {"item": "labour_basic"},
        {"item": "part_compressor_relay", "warranty_card_price": 6000, "warranty_card_photo": "photo-card-1"}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(q.lines[2].unit_price, 6000, "the lower price applies");
    assert_eq!(q.customer_total, 3000 + 5000 + 6000);
    assert!(q.lines.iter().all(|l| l.payer == Payer::Customer));
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));

    // §2.13 Repair and test run.
    run.at("10:30");
    run.ok(json!({"type": "record_work", "description": "更换压缩机启动继电器",
                  "parts_used": [{"item": "part_compressor_relay", "old_serial": "JDQ-2023-118", "new_serial": "JDQ-2026-907"}]}));
    run.at("10:40");
    run.ok(json!({"type": "record_test_run", "passed": true, "notes": "制冷正常,冷藏室 4°C"}));
    // §2.14 Teach and clean up.
    run.at("10:45");
    run.ok(json!({"type": "brief_customer"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    // §2.15 Payment: exactly the accepted quote.
    run.at("10:50");
    assert_eq!(
        code(
            &mut run,
            json!({"type": "collect_payment", "amount": 15000, "method": "mobile",
                              "receipt": {"kind": "invoice", "number": "FP-2026-11-0042"}})
        ),
        "payment_mismatch"
    );
    run.ok(
        json!({"type": "collect_payment", "amount": 14000, "method": "mobile",
                  "receipt": {"kind": "invoice", "number": "FP-2026-11-0042"}}),
    );
    // §2.16 Sign-off; §2.17 leave.
    run.at("10:55");
    sign_off(&mut run);
    run.at("11:00");
    let left = leave(&mut run);
    assert!(matches!(
        left.as_slice(),
        [EventKind::Left {
            outcome: Outcome::Fixed,
            ..
        }]
    ));
    assert_closed_and_verified(&run, Outcome::Fixed, "11:00");
}

#[test]
fn computer_repair_follows_the_data_risk_standard_end_to_end() {
    let mut a = support::assignment("computer_repair");
    a.product.model = Some("ThinkPad X1 Carbon".into());
    a.fault_description = Some("开机蓝屏,无法进入系统".into());
    let mut run = Run::with_assignment(a);

    // Remote fix first: triage finds it is not a software setting fixable by phone.
    run.at("08:05");
    run.ok(
        json!({"type": "record_triage", "likely_causes": ["硬盘坏道", "系统文件损坏"],
                  "parts_to_bring": ["part_ssd_512"], "remote_fixable": false}),
    );
    assert_eq!(
        code(
            &mut run,
            json!({"type": "resolve_remotely", "guidance": "重启"})
        ),
        "out_of_order"
    );
    run.protected();

    // §2.11: diagnosis, then the data-risk warning and a signed backup consent before disk/OS work.
    run.at("10:05");
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true,
                  "cause": "固态硬盘坏块导致系统文件损坏", "parts": ["part_ssd_512"],
                  "decision": "fix_on_site"}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"}, {"item": "diagnosis"}, {"item": "data_backup"},
        {"item": "hardware_labour"}, {"item": "part_ssd_512"}, {"item": "os_reinstall"}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(q.customer_total, 3000 + 2000 + 5000 + 6000 + 39900 + 8000);
    run.at("10:10");
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));

    let reinstall =
        json!({"type": "record_work", "description": "重装 Windows 11 系统", "kind": "disk_or_os"});
    assert_eq!(
        run.refused(reinstall.clone()),
        doorstep_core::WorkflowError::BackupConsentRequired { warned: false }
    );
    // The screen offers the warning after the diagnosis, when disk/OS work is in sight.
    assert!(offered(&run).contains(&"warn_data_risk".to_string()));
    run.ok(json!({"type": "warn_data_risk"}));
    assert!(offered(&run).contains(&"sign_backup_consent".to_string()));
    assert_eq!(
        run.refused(reinstall.clone()),
        doorstep_core::WorkflowError::BackupConsentRequired { warned: true }
    );
    run.at("10:12");
    run.ok(json!({"type": "sign_backup_consent", "strokes": strokes()}));
    assert!(run.state().backup_consent_digest.is_some());

    run.at("10:40");
    run.ok(json!({"type": "record_work", "description": "备份用户文档至备份盘(约 38 GB)", "kind": "disk_or_os"}));
    run.at("11:00");
    run.ok(json!({"type": "record_work", "description": "更换固态硬盘", "kind": "repair",
                  "parts_used": [{"item": "part_ssd_512", "old_serial": "S4EWNX0R1234", "new_serial": "S6B0NL0W5678"}]}));
    run.at("11:30");
    run.ok(reinstall);
    run.ok(
        json!({"type": "record_work", "description": "恢复用户文档并核对", "kind": "disk_or_os"}),
    );
    run.at("11:35");
    run.ok(json!({"type": "record_test_run", "passed": true, "notes": "开机正常,文档已恢复"}));
    run.ok(json!({"type": "brief_customer"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.at("11:40");
    run.ok(
        json!({"type": "collect_payment", "amount": q.customer_total, "method": "card",
                  "receipt": {"kind": "invoice_to_be_delivered", "by": "2026-11-27"}}),
    );
    run.at("11:42");
    sign_off(&mut run);
    run.at("11:45");
    leave(&mut run);
    assert_eq!(run.state().work.len(), 4);
    assert_closed_and_verified(&run, Outcome::Fixed, "11:45");
}

#[test]
fn water_delivery_follows_the_delivery_standard_end_to_end() {
    let mut a = support::assignment("water_delivery");
    a.product = Default::default();
    a.fault_description = None;
    let mut run = Run::with_assignment(a);
    assert!(run.state().open_field_issues().is_empty());
    // No diagnosis and no triage in this trade.
    assert_eq!(
        code(
            &mut run,
            json!({"type": "record_triage", "likely_causes": [], "parts_to_bring": [], "remote_fixable": false})
        ),
        "step_not_in_playbook"
    );
    run.protected();
    assert_eq!(run.state().shoe_covers, Some(true));

    // Inspection before installing: a leaking bottle is refused, its replacement passes.
    run.at("09:55");
    run.ok(json!({"type": "inspect_item", "item": "bottle_18_9l", "seal_intact": true, "no_leaks": false, "no_foreign_matter": true}));
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"}, {"item": "bottle_18_9l", "qty": 2}, {"item": "bottle_deposit", "qty": 2}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(q.customer_total, 2 * 1800 + 2 * 3000);
    assert_eq!(q.deposit_total, 2 * 3000);
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));
    let install = json!({"type": "record_work", "description": "取下桶盖、擦拭桶口,将两桶水装上饮水机", "kind": "install"});
    assert_eq!(code(&mut run, install.clone()), "inspection_failed");
    run.at("09:57");
    assert!(
        offered(&run).contains(&"inspect_item".to_string()),
        "the replacement is inspected"
    );
    run.ok(json!({"type": "inspect_item", "item": "bottle_18_9l", "seal_intact": true, "no_leaks": true, "no_foreign_matter": true}));
    assert!(!offered(&run).contains(&"inspect_item".to_string()));
    run.ok(install);
    // Cleaning the dispenser is booked as its own service, not done ad hoc.
    assert_eq!(
        code(
            &mut run,
            json!({"type": "record_work", "description": "清洗饮水机", "kind": "repair"})
        ),
        "work_not_offered"
    );
    run.at("10:00");
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));

    // Payment at the door: never an IOU for the bottle deposit; cash is fine.
    run.at("10:02");
    let iou = json!({"type": "collect_payment", "amount": q.customer_total, "method": "iou",
                     "receipt": {"kind": "receipt", "number": "YJ-0086"}});
    assert_eq!(
        run.refused(iou),
        doorstep_core::WorkflowError::DepositIou { deposit: 6000 }
    );
    run.ok(
        json!({"type": "collect_payment", "amount": q.customer_total, "method": "cash",
                  "receipt": {"kind": "receipt", "number": "YJ-0086"}}),
    );
    run.at("10:04");
    sign_off(&mut run);
    run.at("10:05");
    leave(&mut run);
    assert_closed_and_verified(&run, Outcome::Completed, "10:05");
}

#[test]
fn home_care_follows_the_elderly_care_standard_end_to_end() {
    let mut a = support::assignment("home_care");
    a.product = Default::default();
    a.fault_description = None;
    a.customer.name = Some("赵秀英".into());
    let mut run = Run::with_assignment(a);
    assert!(run.state().open_field_issues().is_empty());
    run.protected();
    assert!(!run.playbook().rules.drop_cloth);

    // Service items agreed for this visit, from the schedule.
    run.at("10:00");
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"}, {"item": "personal_care"}, {"item": "health_check"}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(q.customer_total, 6000 + 2000);
    let agreed: Vec<&str> = q
        .lines
        .iter()
        .filter(|l| l.kind == doorstep_core::playbook::FeeKind::Service)
        .map(|l| l.item.as_str())
        .collect();
    let planned = &run.state().assignment.as_ref().unwrap().service_items;
    assert_eq!(
        agreed, *planned,
        "the quote carries the planned service items"
    );
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));

    // The guardian is present before any care work.
    let care = json!({"type": "record_work", "description": "协助洗漱、更换衣物", "kind": "care"});
    assert_eq!(code(&mut run, care.clone()), "guardian_required");
    run.ok(json!({"type": "record_guardian", "name": "周建国", "relation": "儿子"}));
    run.at("10:05");
    run.ok(care);
    run.at("11:00");
    run.ok(json!({"type": "record_work", "description": "测量血压 128/82 mmHg、体温 36.5°C", "kind": "care"}));
    // No gifts: the offered gift is declined and recorded.
    run.ok(json!({"type": "record_incident", "kind": "gift_declined", "description": "老人要送一盒茶叶,已婉拒"}));
    run.at("11:10");
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.ok(
        json!({"type": "collect_payment", "amount": 8000, "method": "mobile",
                  "receipt": {"kind": "receipt", "number": "YL-2026-1125-07"}}),
    );
    run.at("11:15");
    sign_off(&mut run);

    // Belongings are checked together with the client before leaving.
    run.at("11:20");
    assert_eq!(
        code(
            &mut run,
            json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true})
        ),
        "belongings_not_checked"
    );
    run.ok(json!({"type": "check_belongings"}));
    leave(&mut run);
    assert_eq!(run.state().guardian.as_deref(), Some("周建国"));
    assert_eq!(run.state().incidents.len(), 1);
    assert_closed_and_verified(&run, Outcome::Completed, "11:20");
}

#[test]
fn property_maintenance_follows_the_property_standard_end_to_end() {
    let mut a = support::assignment("property_maintenance");
    a.product = Default::default();
    a.fault_description = Some("厨房水龙头漏水".into());
    let mut run = Run::with_assignment(a);
    assert!(run.state().open_field_issues().is_empty());
    run.departed().at("09:50");
    run.ok(json!({"type": "arrive", "location": fix_near(20.0)}));

    // Ring once, then wait 10 s (not 30) before the next attempt.
    run.at("09:51");
    let items = appearance_items(&run);
    run.ok(json!({"type": "check_appearance", "items": items}));
    run.ok(json!({"type": "knock", "method": "bell"}));
    run.at("09:51:04");
    assert_eq!(
        run.refused(json!({"type": "knock", "method": "knock"})),
        doorstep_core::WorkflowError::KnockTooSoon { wait_seconds: 6 }
    );
    run.at("09:51:10");
    run.ok(json!({"type": "knock", "method": "knock"}));
    assert_eq!(run.state().door.knocks.len(), 2);
    let v = view(run.state(), run.playbook(), at("09:51:10"), "王伟");
    assert_eq!(v.timers.next_knock_at, Some(at("09:51:20")));
    run.at("09:51:15");
    run.ok(json!({"type": "door_answered"}));
    run.ok(json!({"type": "enter", "greeted": true, "permit_shown": true}));
    run.ok(json!({"type": "put_on_shoe_covers"}));
    run.ok(json!({"type": "lay_drop_cloth"}));

    run.at("09:55");
    run.ok(
        json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "水龙头阀芯老化",
                  "parts": ["part_tap"], "decision": "fix_on_site"}),
    );
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_tap"}, {"item": "part_seal", "qty": 2}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(q.customer_total, 2000 + 3500 + 2 * 300);
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));
    run.at("10:10");
    run.ok(
        json!({"type": "record_work", "description": "更换厨房水龙头及密封圈",
                  "parts_used": [{"item": "part_tap"}, {"item": "part_seal"}]}),
    );
    run.at("10:15");
    run.ok(json!({"type": "record_test_run", "passed": true, "notes": "开关水 10 次无渗漏"}));
    // No separate teaching step in the property standard.
    assert_eq!(
        code(&mut run, json!({"type": "brief_customer"})),
        "step_not_in_playbook"
    );
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.at("10:18");
    run.ok(
        json!({"type": "collect_payment", "amount": q.customer_total, "method": "mobile",
                  "receipt": {"kind": "receipt", "number": "WY-3-1201-0451"}}),
    );
    run.at("10:20");
    sign_off(&mut run);
    run.at("10:22");
    leave(&mut run);
    assert_closed_and_verified(&run, Outcome::Fixed, "10:22");
}

#[test]
fn heating_service_follows_the_heating_standard_end_to_end() {
    let mut a = support::assignment("heating_service");
    a.product = Default::default();
    a.fault_description = Some("卧室暖气片不热;另想把客厅暖气片移到窗下".into());
    let mut run = Run::with_assignment(a);
    assert!(run.state().open_field_issues().is_empty());
    run.at("08:05");
    run.ok(
        json!({"type": "record_triage", "likely_causes": ["暖气片内有空气"],
                  "parts_to_bring": [], "remote_fixable": false}),
    );
    run.protected();

    run.at("10:00");
    run.ok(json!({"type": "record_diagnosis", "fault_reproduced": true,
                  "cause": "卧室暖气片积气;客户另要求暖气片移位(有偿服务)", "parts": [],
                  "decision": "fix_on_site"}));
    // Paid services are announced as paid before work: the schedule first, then the quote.
    assert_eq!(
        code(
            &mut run,
            json!({"type": "record_work", "description": "暖气片移位"})
        ),
        "quote_not_accepted"
    );
    assert_eq!(
        code(
            &mut run,
            json!({"type": "present_quote", "quote": {"lines": [{"item": "radiator_relocation"}]}})
        ),
        "fee_schedule_not_shown"
    );
    run.ok(json!({"type": "show_fee_schedule"}));
    run.ok(json!({"type": "present_quote", "quote": {"lines": [
        {"item": "visit_fee"}, {"item": "bleed_radiators"}, {"item": "radiator_relocation"}
    ]}}));
    let q = run.state().quote.clone().unwrap();
    assert_eq!(
        q.customer_total, 30000,
        "bleeding is free, relocation is paid"
    );
    assert_eq!(
        code(
            &mut run,
            json!({"type": "record_work", "description": "暖气片移位"})
        ),
        "quote_not_accepted"
    );
    run.ok(json!({"type": "accept_quote", "revision": q.revision}));

    run.at("10:20");
    run.ok(json!({"type": "record_work", "description": "卧室暖气片放气"}));
    run.at("11:30");
    run.ok(json!({"type": "record_work", "description": "客厅暖气片移位至窗下并试压"}));
    run.at("11:40");
    run.ok(json!({"type": "record_test_run", "passed": true, "notes": "各暖气片温度均匀,试压 0.6 MPa 无渗漏"}));
    run.ok(json!({"type": "brief_customer"}));
    run.ok(json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true}));
    run.at("11:45");
    run.ok(
        json!({"type": "collect_payment", "amount": 30000, "method": "bank_transfer",
                  "receipt": {"kind": "invoice", "number": "GN-FP-20261125-3"}}),
    );
    run.at("11:48");
    sign_off(&mut run);
    run.at("11:50");
    leave(&mut run);
    assert_closed_and_verified(&run, Outcome::Fixed, "11:50");
}
