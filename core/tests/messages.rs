//! What the product says: every refusal has a stable snake_case code and a
//! message in zh-CN and en; refusals carry no customer data; every script
//! moment renders in both languages with the company filled in.

mod support;

use doorstep_core::assignment::AssignmentField;
use doorstep_core::playbook::{Playbook, Step};
use doorstep_core::scripts::{script, ScriptMoment};
use doorstep_core::workflow::command::WorkKind;
use doorstep_core::workflow::{Outcome, WorkflowError};
use doorstep_core::{Lang, Stage, Text};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use support::{strokes, tomorrow_json, window_json, Run};

/// One of each refusal, with the variants whose wording depends on their
/// fields given in each form.
fn one_of_each() -> Vec<WorkflowError> {
    use WorkflowError::*;
    let items = || vec!["drop_cloth".to_string(), "work_permit".to_string()];
    vec![
        VisitNotStarted,
        StepNotInPlaybook { step: Step::Triage },
        OutOfOrder {
            command: "depart".into(),
            stage: Stage::Intake,
            needs: "confirm the appointment".into(),
        },
        VisitClosed {
            outcome: Outcome::Fixed,
        },
        StaleAssignment { have: 3, got: 2 },
        InvalidInput {
            field: "reason".into(),
            problem: Text::new("must not be empty", "不能为空"),
        },
        MissingAssignmentInfo {
            fields: vec![
                AssignmentField::ProductModel,
                AssignmentField::CustomerPhone,
            ],
        },
        NoCustomerAgreement,
        CustomerNotYetUnreachable {
            attempts: 1,
            needed: 3,
        },
        KitIncomplete {
            items: items(),
            names: vec![
                Text::new("Drop cloth", "垫布"),
                Text::new("Work permit", "上岗证"),
            ],
        },
        OutsideGeofence {
            distance_m: 1500,
            radius_m: 200,
        },
        LatenessApologyRequired {
            minutes_late: 10,
            gift_required: false,
        },
        LatenessApologyRequired {
            minutes_late: 20,
            gift_required: true,
        },
        AppearanceIncomplete {
            items: vec!["uniform".into()],
            names: vec![Text::new("Uniform on and tidy", "工装整洁")],
        },
        KnockTooSoon { wait_seconds: 20 },
        AbsentTooSoon {
            minutes_logged: 2,
            minimum: 5,
            calls: 0,
            door_note: false,
            center_notified: false,
            neighbour_asked: false,
        },
        AbsentTooSoon {
            minutes_logged: 6,
            minimum: 5,
            calls: 1,
            door_note: true,
            center_notified: false,
            neighbour_asked: true,
        },
        EntryIncomplete,
        ProtectionMissing {
            shoe_covers: false,
            drop_cloth: false,
        },
        ProtectionMissing {
            shoe_covers: true,
            drop_cloth: false,
        },
        BackupConsentRequired { warned: false },
        BackupConsentRequired { warned: true },
        TakeBackIncomplete {
            loaner: false,
            appearance: true,
            receipt: false,
        },
        FeeScheduleNotShown,
        DiscountNeedsApproval,
        DiscountOverApproval {
            approved: 1500,
            asked: 2000,
        },
        DiscountApprovalUnknown {
            approval_code: "12345678".into(),
        },
        WarrantyCardUnevidenced {
            item: "part_compressor_relay".into(),
            name: Some(Text::new("Compressor start relay", "压缩机启动继电器")),
        },
        QuoteInvalid {
            problem: Text::new("a quote needs at least one line", "报价至少需要一项"),
        },
        QuoteNotAccepted { revision: None },
        QuoteNotAccepted { revision: Some(2) },
        QuoteRevisionMismatch {
            current: 2,
            accepted: 1,
        },
        PartNotQuoted {
            item: "part_door_seal".into(),
            name: Some(Text::new("Door seal", "门封条")),
        },
        NotTested,
        CleanUpIncomplete {
            items: vec!["no_tool_left".into()],
        },
        PaymentMismatch {
            expected: 14500,
            got: -5,
        },
        DepositIou { deposit: 6000 },
        InspectionFailed {
            items: vec!["bottle_18_9l".into()],
            names: vec![Text::new("18.9 L bottle", "18.9升桶装水")],
        },
        WorkNotOffered {
            kind: WorkKind::Repair,
        },
        GuardianRequired,
        ReportSigned { version: 1 },
        SignatureInvalid {
            problem: "ratings are whole numbers from 1 to 5".into(),
        },
        NotReadyToSign {
            missing: vec!["clean up".into()],
        },
        BelongingsNotChecked,
        NoSignOff,
        AcceptanceCodeRequired { wrong_codes: 0 },
        AcceptanceCodeRequired { wrong_codes: 2 },
        AcceptanceCodeNotIssued,
        AcceptanceCodeAlreadyAccepted,
        Money {
            problem: Text::new("amount overflow", "金额超出可表示的范围"),
        },
        PhotoRequired {
            step: doorstep_core::playbook::Step::Diagnose,
            moments: vec!["nameplate".into()],
            names: vec![doorstep_core::Text::new(
                "Nameplate and serial number",
                "铭牌及序列号",
            )],
        },
    ]
}

/// Which variant an error is. No wildcard: a new variant does not compile
/// here until it is added to `one_of_each` as well.
fn variant(e: &WorkflowError) -> &'static str {
    use WorkflowError::*;
    match e {
        VisitNotStarted => "VisitNotStarted",
        StepNotInPlaybook { .. } => "StepNotInPlaybook",
        OutOfOrder { .. } => "OutOfOrder",
        VisitClosed { .. } => "VisitClosed",
        StaleAssignment { .. } => "StaleAssignment",
        InvalidInput { .. } => "InvalidInput",
        MissingAssignmentInfo { .. } => "MissingAssignmentInfo",
        NoCustomerAgreement => "NoCustomerAgreement",
        CustomerNotYetUnreachable { .. } => "CustomerNotYetUnreachable",
        KitIncomplete { .. } => "KitIncomplete",
        OutsideGeofence { .. } => "OutsideGeofence",
        LatenessApologyRequired { .. } => "LatenessApologyRequired",
        AppearanceIncomplete { .. } => "AppearanceIncomplete",
        KnockTooSoon { .. } => "KnockTooSoon",
        AbsentTooSoon { .. } => "AbsentTooSoon",
        EntryIncomplete => "EntryIncomplete",
        ProtectionMissing { .. } => "ProtectionMissing",
        BackupConsentRequired { .. } => "BackupConsentRequired",
        TakeBackIncomplete { .. } => "TakeBackIncomplete",
        FeeScheduleNotShown => "FeeScheduleNotShown",
        DiscountNeedsApproval => "DiscountNeedsApproval",
        DiscountOverApproval { .. } => "DiscountOverApproval",
        DiscountApprovalUnknown { .. } => "DiscountApprovalUnknown",
        WarrantyCardUnevidenced { .. } => "WarrantyCardUnevidenced",
        QuoteInvalid { .. } => "QuoteInvalid",
        QuoteNotAccepted { .. } => "QuoteNotAccepted",
        QuoteRevisionMismatch { .. } => "QuoteRevisionMismatch",
        PartNotQuoted { .. } => "PartNotQuoted",
        NotTested => "NotTested",
        CleanUpIncomplete { .. } => "CleanUpIncomplete",
        PaymentMismatch { .. } => "PaymentMismatch",
        DepositIou { .. } => "DepositIou",
        InspectionFailed { .. } => "InspectionFailed",
        WorkNotOffered { .. } => "WorkNotOffered",
        GuardianRequired => "GuardianRequired",
        ReportSigned { .. } => "ReportSigned",
        SignatureInvalid { .. } => "SignatureInvalid",
        NotReadyToSign { .. } => "NotReadyToSign",
        BelongingsNotChecked => "BelongingsNotChecked",
        NoSignOff => "NoSignOff",
        AcceptanceCodeRequired { .. } => "AcceptanceCodeRequired",
        AcceptanceCodeNotIssued => "AcceptanceCodeNotIssued",
        AcceptanceCodeAlreadyAccepted => "AcceptanceCodeAlreadyAccepted",
        Money { .. } => "Money",
        PhotoRequired { .. } => "PhotoRequired",
    }
}

/// The number of arms in `variant`.
const VARIANTS: usize = 45;

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

fn check_text(what: &str, zh: &str, en: &str) {
    assert!(!zh.trim().is_empty(), "{what}: empty zh-CN");
    assert!(!en.trim().is_empty(), "{what}: empty en");
    assert_ne!(zh, en, "{what}: the same in both languages");
    assert!(has_cjk(zh), "{what}: zh-CN has no Chinese: {zh}");
    assert!(!has_cjk(en), "{what}: en has Chinese: {en}");
}

#[test]
fn every_refusal_has_a_stable_distinct_snake_case_code_and_both_languages() {
    let all = one_of_each();
    let variants: BTreeSet<&str> = all.iter().map(variant).collect();
    assert_eq!(variants.len(), VARIANTS, "one_of_each misses a variant");

    let mut code_of_variant = std::collections::BTreeMap::new();
    for e in &all {
        let code = e.code();
        assert!(is_snake_case(code), "{code:?} is not snake_case");
        // Stable: the same variant has the same code whatever its fields.
        let previous = code_of_variant.insert(variant(e), code);
        assert!(previous.is_none_or(|p| p == code), "{e:?}");
        // The wire form carries the same code.
        assert_eq!(
            serde_json::to_value(e).unwrap()["code"],
            json!(code),
            "{e:?}"
        );
        check_text(code, &e.message(Lang::ZhCn), &e.message(Lang::En));
        assert_eq!(e.text().get(Lang::En), e.message(Lang::En));
        assert_eq!(e.to_string(), e.message(Lang::En));
        assert!(!e.rule().trim().is_empty(), "{code}: no rule");
    }
    let codes: BTreeSet<&str> = code_of_variant.values().copied().collect();
    assert_eq!(codes.len(), VARIANTS, "two variants share a code");

    // Codes are an API: the ones the standards' rules are known by.
    for (v, code) in [
        ("KitIncomplete", "kit_incomplete"),
        ("KnockTooSoon", "knock_too_soon"),
        ("MissingAssignmentInfo", "missing_assignment_info"),
        ("DepositIou", "deposit_iou"),
        ("ReportSigned", "report_signed"),
        ("QuoteNotAccepted", "quote_not_accepted"),
        ("PaymentMismatch", "payment_mismatch"),
        ("NotTested", "not_tested"),
    ] {
        assert_eq!(code_of_variant[v], code);
    }
}

#[test]
fn wording_that_depends_on_the_fields_says_what_is_missing() {
    let msg = |e: WorkflowError, lang| e.message(lang);
    let gift = msg(
        WorkflowError::LatenessApologyRequired {
            minutes_late: 20,
            gift_required: true,
        },
        Lang::En,
    );
    let no_gift = msg(
        WorkflowError::LatenessApologyRequired {
            minutes_late: 10,
            gift_required: false,
        },
        Lang::En,
    );
    assert!(gift.contains("gift") && !no_gift.contains("gift"));
    assert!(gift.contains("20") && no_gift.contains("10"));
    let absent = WorkflowError::AbsentTooSoon {
        minutes_logged: 6,
        minimum: 5,
        calls: 1,
        door_note: true,
        center_notified: false,
        neighbour_asked: true,
    };
    let en = absent.message(Lang::En);
    assert!(
        en.contains("notify the center") && !en.contains("phone the customer"),
        "{en}"
    );
    assert!(absent.message(Lang::ZhCn).contains("通知服务中心"));
    let pay = WorkflowError::PaymentMismatch {
        expected: 14500,
        got: -5,
    };
    assert!(pay.message(Lang::En).contains("145.00") && pay.message(Lang::En).contains("-0.05"));
    assert!(pay.message(Lang::ZhCn).contains("145.00元"));
}

// ---- no customer data in refusals --------------------------------------------

/// Commands worth trying at every stage; free-text fields carry ordinary
/// technician input, never the customer's details.
fn probes(pb: &Playbook) -> Vec<Value> {
    let fee = pb.fees[0].id.clone();
    let kit = pb.kit[0].id.clone();
    vec![
        json!({"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": false}),
        json!({"type": "proceed_unconfirmed"}),
        json!({"type": "agree_new_window", "window": window_json("06:00", "07:00"), "reason": "earlier"}),
        json!({"type": "agree_new_window", "window": tomorrow_json("10:00", "11:00"), "reason": "later"}),
        json!({"type": "resolve_remotely", "guidance": "reset"}),
        json!({"type": "verify_with_center", "fields": []}),
        json!({"type": "waive_fields", "fields": ["customer_phone"], "approved_by": "", "approval_code": ""}),
        json!({"type": "check_kit_item", "item": "umbrella"}),
        json!({"type": "skip_kit_item", "item": kit, "reason": ""}),
        json!({"type": "depart", "travel_minutes": 20}),
        json!({"type": "notify_running_late", "outcome": "busy", "choice": {"choice": "wait"}}),
        json!({"type": "arrive", "location": support::fix_near(5000.0)}),
        json!({"type": "apologise_for_lateness", "gift_offered": false, "gift_accepted": false}),
        json!({"type": "check_appearance", "items": []}),
        json!({"type": "knock", "method": "knock"}),
        json!({"type": "knock", "method": "knock"}),
        json!({"type": "declare_customer_absent"}),
        json!({"type": "enter", "greeted": true, "permit_shown": false}),
        json!({"type": "record_entry_exception", "exception": "power_cut", "new_window": tomorrow_json("10:00", "12:00")}),
        json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "relay", "decision": "take_back"}),
        json!({"type": "take_back", "return_by": "2026-12-01"}),
        json!({"type": "sign_backup_consent", "strokes": []}),
        json!({"type": "inspect_item", "item": "tap_water", "seal_intact": true, "no_leaks": true, "no_foreign_matter": true}),
        json!({"type": "present_quote", "quote": {"lines": [{"item": fee, "qty": 0}]}}),
        json!({"type": "present_quote", "quote": {"lines": []}}),
        json!({"type": "present_quote", "quote": {"lines": [{"item": fee}], "discount": {"amount": 100}}}),
        json!({"type": "accept_quote", "revision": 9}),
        json!({"type": "record_work", "description": "work", "kind": "disk_or_os"}),
        json!({"type": "record_work", "description": "work", "parts_used": [{"item": "unobtainium"}]}),
        json!({"type": "record_test_run", "passed": false}),
        json!({"type": "clean_up", "product_restored": false, "wiped": true, "floor_cleaned": true, "no_tool_left": false}),
        json!({"type": "collect_payment", "amount": 1, "method": "iou", "receipt": {"kind": "receipt", "number": "R"}}),
        json!({"type": "sign_off", "ratings": {"quality": 9, "attitude": 0}, "strokes": strokes(), "consent_text": "ok"}),
        json!({"type": "decline_signature", "reason": "busy"}),
        json!({"type": "reopen_report", "reason": "change"}),
        json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}),
        json!({"type": "record_incident", "kind": "damage", "description": "vase", "compensation": -1}),
    ]
}

#[test]
fn refusals_never_contain_the_customers_name_phone_or_address() {
    let a = support::assignment("appliance_repair");
    let secrets = [
        a.customer.name.clone().unwrap(),
        a.customer.phone.clone().unwrap(),
        a.customer.address.clone().unwrap(),
        "13800138000".to_string(),
    ];
    let stages: [fn(&mut Run); 9] = [
        |_| {},
        |r| {
            r.scheduled();
        },
        |r| {
            r.departed();
        },
        |r| {
            r.at_door();
        },
        |r| {
            r.inside();
        },
        |r| {
            r.diagnosed("fix_on_site");
        },
        |r| {
            r.quote_accepted();
        },
        |r| {
            r.cleaned_up();
        },
        |r| {
            r.signed();
        },
    ];
    let mut seen = BTreeSet::new();
    for trade in [
        "appliance_repair",
        "computer_repair",
        "water_delivery",
        "home_care",
        "property_maintenance",
        "heating_service",
    ] {
        for (i, stage) in stages.iter().enumerate() {
            // Trades whose fees differ from the appliance-shaped harness stop at the quote.
            if i >= 6 && trade != "appliance_repair" {
                continue;
            }
            let has_diagnose = Playbook::shipped_by_id(trade).unwrap().has(Step::Diagnose);
            if i == 5 && !has_diagnose {
                continue;
            }
            let mut run = Run::new(trade);
            stage(&mut run);
            let probes = probes(run.playbook());
            for p in probes {
                let c = support::cmd(p);
                let ctx = doorstep_core::workflow::Context::new(run.now, run.device.clone());
                let Err(e) = run.visit.handle(&c, &ctx, &mut run.stamper) else {
                    continue;
                };
                seen.insert(e.code());
                let shown = [
                    e.message(Lang::ZhCn),
                    e.message(Lang::En),
                    e.to_string(),
                    serde_json::to_string(&e).unwrap(),
                ];
                for s in &shown {
                    for secret in &secrets {
                        assert!(
                            !s.contains(secret.as_str()),
                            "{trade}: refusal leaks {secret:?}: {s}"
                        );
                    }
                }
                check_text(e.code(), &shown[0], &shown[1]);
            }
        }
    }
    // The sweep really exercised the refusals.
    assert!(
        seen.len() >= 20,
        "only {} kinds of refusal seen: {seen:?}",
        seen.len()
    );
}

// ---- scripts -------------------------------------------------------------------

#[test]
fn every_script_moment_renders_in_both_languages_with_the_company_filled_in() {
    for pb in Playbook::shipped() {
        let company = &pb.company.name;
        for moment in ScriptMoment::ALL {
            let template = moment.default_text();
            let text = script(pb, moment, "Wang Wei");
            let what = format!("{} {moment:?}", pb.id);
            check_text(&what, &text.zh, &text.en);
            for s in [&text.en, &text.zh] {
                assert!(
                    !s.contains('{') && !s.contains('}'),
                    "{what}: unfilled placeholder: {s}"
                );
            }
            for (lang, t, name) in [
                ("en", &template.en, &company.en),
                ("zh", &template.zh, &company.zh),
            ] {
                let out = if lang == "en" { &text.en } else { &text.zh };
                if t.contains("{company}") {
                    assert!(
                        out.contains(name.as_str()),
                        "{what} {lang}: no company name: {out}"
                    );
                }
                if t.contains("{service_number}") {
                    assert!(
                        out.contains(&pb.company.service_number),
                        "{what} {lang}: {out}"
                    );
                }
                if t.contains("{technician}") {
                    assert!(out.contains("Wang Wei"), "{what} {lang}: {out}");
                }
            }
        }
        // The farewell gives the company's service number, in both languages.
        let farewell = script(pb, ScriptMoment::Farewell, "Wang Wei");
        assert!(farewell.en.contains(&pb.company.service_number));
        assert!(farewell.zh.contains(&pb.company.service_number));
        assert!(farewell.en.contains(&company.en) && farewell.zh.contains(&company.zh));
        // The moments that introduce the technician name the company.
        for m in [
            ScriptMoment::AppointmentCall,
            ScriptMoment::AtTheDoor,
            ScriptMoment::RunningLate,
        ] {
            let t = script(pb, m, "Wang Wei");
            assert!(
                t.en.contains(&company.en) && t.zh.contains(&company.zh),
                "{m:?}"
            );
        }
    }
}

#[test]
fn a_companys_own_script_overrides_the_default_and_is_filled_the_same_way() {
    let mut pb = Playbook::shipped_by_id("property_maintenance").unwrap();
    pb.scripts.insert(
        ScriptMoment::Farewell,
        Text::new(
            "Thanks! {company} is on {service_number}, {technician} says bye.",
            "谢谢!{company}服务电话{service_number},{technician}再见。",
        ),
    );
    let t = script(&pb, ScriptMoment::Farewell, "Wang Wei");
    assert_eq!(
        t.en,
        format!(
            "Thanks! {} is on {}, Wang Wei says bye.",
            pb.company.name.en, pb.company.service_number
        )
    );
    assert!(t.zh.starts_with("谢谢!到家物业服务服务电话"), "{}", t.zh);
    assert!(!t.zh.contains('{'));
    // Moments it does not override keep the default wording.
    assert_eq!(
        script(&pb, ScriptMoment::AtTheDoor, "Wang Wei"),
        script(
            &Playbook::shipped_by_id("property_maintenance").unwrap(),
            ScriptMoment::AtTheDoor,
            "Wang Wei"
        )
    );
}

#[test]
fn language_tags_choose_english_only_for_english() {
    assert_eq!(Lang::from_tag("en-GB"), Lang::En);
    assert_eq!(Lang::from_tag("EN"), Lang::En);
    assert_eq!(Lang::from_tag("zh-CN"), Lang::ZhCn);
    assert_eq!(Lang::from_tag("zh-Hans"), Lang::ZhCn);
    assert_eq!(Lang::from_tag(""), Lang::ZhCn);
    assert_eq!(serde_json::to_value(Lang::ZhCn).unwrap(), json!("zh-CN"));
}
