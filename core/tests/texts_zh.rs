//! What a technician reads in Chinese: full-width punctuation beside Chinese
//! text (，：；（）), and never a code name — no `snake_case` id, no
//! Debug-style enum name (`AtDoor`, `Fixed`), no untranslated "needs" key.
//! Every refusal, form, prompt, label and playbook text is scanned.

mod support;

use doorstep_core::playbook::{Playbook, Step, WorkKind};
use doorstep_core::scripts::{script, ScriptMoment};
use doorstep_core::workflow::bounds;
use doorstep_core::workflow::command_table::{Issuer, COMMANDS};
use doorstep_core::workflow::event::Outcome;
use doorstep_core::workflow::form::form;
use doorstep_core::workflow::needs;
use doorstep_core::workflow::view::view;
use doorstep_core::workflow::{fill, FormValue, WorkflowError};
use doorstep_core::{Lang, Stage, Text};
use serde_json::{json, Value};
use support::{strokes, window_json, Run};

fn is_cjk(c: char) -> bool {
    ('\u{3400}'..='\u{9fff}').contains(&c)
}

/// The Debug names of the enums a screen shows by their labels.
fn debug_names() -> Vec<String> {
    let mut out = vec![];
    for s in [
        Stage::New,
        Stage::Intake,
        Stage::Scheduled,
        Stage::EnRoute,
        Stage::AtDoor,
        Stage::OnSite,
        Stage::Closed,
    ] {
        out.push(format!("{s:?}"));
    }
    for o in [
        Outcome::Fixed,
        Outcome::Completed,
        Outcome::ResolvedRemotely,
        Outcome::CustomerAbsent,
        Outcome::TakenBack,
        Outcome::QuoteRefused,
        Outcome::HandedBack,
        Outcome::Cancelled,
        Outcome::Reassigned,
    ] {
        out.push(format!("{o:?}"));
    }
    for k in [
        WorkKind::Repair,
        WorkKind::DiskOrOs,
        WorkKind::Install,
        WorkKind::Care,
    ] {
        out.push(format!("{k:?}"));
    }
    out
}

/// What is wrong with one Chinese text, if anything.
fn zh_problems(zh: &str, debug: &[String]) -> Vec<String> {
    let mut out = vec![];
    let chars: Vec<char> = zh.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if ",:;()?!".contains(*c) {
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            if before.is_some_and(is_cjk) || after.is_some_and(is_cjk) {
                out.push(format!("ASCII {c:?} beside Chinese at {i}"));
            }
        }
    }
    // Words: runs of ASCII letters, digits and underscores.
    let mut word = String::new();
    for c in chars.iter().chain(std::iter::once(&' ')) {
        if c.is_ascii_alphanumeric() || *c == '_' {
            word.push(*c);
            continue;
        }
        if !word.is_empty() {
            let snake = word.contains('_')
                && word.split('_').filter(|p| !p.is_empty()).count() >= 2
                && word.chars().any(|c| c.is_ascii_lowercase());
            if snake {
                out.push(format!("code name {word:?}"));
            }
            if debug.contains(&word) {
                out.push(format!("Debug-style name {word:?}"));
            }
            word.clear();
        }
    }
    out
}

struct Scan {
    debug: Vec<String>,
    bad: Vec<String>,
    seen: usize,
}

impl Scan {
    fn new() -> Scan {
        Scan {
            debug: debug_names(),
            bad: vec![],
            seen: 0,
        }
    }
    fn zh(&mut self, what: &str, zh: &str) {
        self.seen += 1;
        for p in zh_problems(zh, &self.debug) {
            self.bad.push(format!("{what}: {p}: {zh}"));
        }
    }
    fn text(&mut self, what: &str, t: &Text) {
        self.zh(what, &t.zh);
    }
}

const TRADES: [&str; 6] = [
    "appliance_repair",
    "computer_repair",
    "water_delivery",
    "home_care",
    "property_maintenance",
    "heating_service",
];

/// The visit at each stage the harness reaches.
fn stages() -> Vec<fn(&mut Run)> {
    vec![
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
            r.protected();
        },
    ]
}

/// Further along, for the appliance-shaped harness only.
fn appliance_stages() -> Vec<fn(&mut Run)> {
    vec![
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
    ]
}

/// Commands that each refuse somewhere along the visit.
fn probes(pb: &Playbook) -> Vec<Value> {
    let fee = pb.fees[0].id.clone();
    vec![
        json!({"type": "confirm_appointment", "address_confirmed": false, "product_confirmed": false}),
        json!({"type": "proceed_unconfirmed"}),
        json!({"type": "resolve_remotely", "guidance": "reset"}),
        json!({"type": "verify_with_center", "fields": []}),
        json!({"type": "check_kit_item", "item": "hammer"}),
        json!({"type": "skip_kit_item", "item": pb.kit[0].id, "reason": ""}),
        json!({"type": "depart", "travel_minutes": 4_294_967_295u32}),
        json!({"type": "depart", "travel_minutes": 20}),
        json!({"type": "arrive", "location": support::fix_near(5000.0)}),
        json!({"type": "arrive", "location": support::fix_near(10.0)}),
        json!({"type": "check_appearance", "items": []}),
        json!({"type": "declare_customer_absent"}),
        json!({"type": "enter", "greeted": true, "permit_shown": false}),
        json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "x", "decision": "take_back"}),
        json!({"type": "record_diagnosis", "fault_reproduced": true, "fault_code": "no_such_fault", "decision": "fix_on_site"}),
        json!({"type": "take_back", "return_by": "2020-01-01"}),
        json!({"type": "present_quote", "quote": {"lines": []}}),
        json!({"type": "present_quote", "quote": {"lines": [{"item": fee, "qty": 0}]}}),
        json!({"type": "present_quote", "quote": {"lines": [{"item": fee}], "discount": {"amount": 100}}}),
        json!({"type": "accept_quote", "revision": 9}),
        json!({"type": "record_work", "description": "work", "kind": "disk_or_os"}),
        json!({"type": "record_work", "description": "work", "kind": "care"}),
        json!({"type": "record_work", "description": "work", "parts_used": [{"item": "unobtainium"}]}),
        json!({"type": "clean_up", "product_restored": false, "wiped": true, "floor_cleaned": true, "no_tool_left": false}),
        json!({"type": "collect_payment", "amount": -1, "method": "cash", "receipt": {"kind": "receipt", "number": "R"}}),
        json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes(), "consent_text": "ok"}),
        json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true}),
        json!({"type": "record_incident", "kind": "damage", "description": "x".repeat(3000)}),
        json!({"type": "agree_new_window", "window": window_json("06:00", "07:00"), "reason": "earlier"}),
    ]
}

#[test]
fn chinese_texts_use_full_width_punctuation_and_never_show_code_names() {
    let mut scan = Scan::new();

    // Labels of the command table, steps, stages, outcomes and work kinds.
    for row in COMMANDS {
        scan.zh(row.name, row.label_zh);
    }
    for step in [Step::Receive, Step::Protect, Step::CleanUp, Step::SignOff] {
        scan.text("step", &step.label());
    }
    for key in needs::keys() {
        scan.text(key, &needs::needs_text(key));
    }
    for b in bounds::NUMBERS {
        scan.text(b.field, &bounds::field_label(b.field));
        scan.text(b.field, &bounds::range_text(b, "0"));
    }

    for trade in TRADES {
        let pb = Playbook::shipped_by_id(trade).unwrap();
        // The playbook's own texts and its scripts.
        scan.text("trade name", &pb.name);
        scan.text("conduct reminder", &pb.conduct_reminder);
        for k in pb.kit.iter().chain(&pb.appearance) {
            scan.text(&k.id, &k.name);
        }
        for f in &pb.fees {
            scan.text(&f.id, &f.name);
        }
        for c in &pb.fault_codes {
            scan.text(&c.id, &c.name);
        }
        for m in ScriptMoment::ALL {
            scan.text("script", &script(&pb, m, "李伟"));
        }

        let mut all = stages();
        if trade == "appliance_repair" {
            all.extend(appliance_stages());
        }
        for stage in all {
            let mut run = Run::new(trade);
            stage(&mut run);
            let (s, pb) = (run.state().clone(), run.playbook().clone());
            // Forms of every technician command, offered or not.
            for row in COMMANDS.iter().filter(|r| r.issuer == Issuer::Technician) {
                let Some(f) = form(row.name, &s, &pb, false) else {
                    continue;
                };
                scan.text(row.name, &f.label);
                if let Some(h) = &f.help {
                    scan.text(row.name, h);
                }
                for field in f
                    .fields
                    .iter()
                    .chain(f.fields.iter().flat_map(|f| &f.item_fields))
                {
                    scan.text(&field.name, &field.label);
                    if let Some(h) = &field.help {
                        scan.text(&field.name, h);
                    }
                    for o in &field.options {
                        scan.text(&o.id, &o.label);
                    }
                }
                // A form filled with nonsense: every field's refusal.
                let junk: Vec<FormValue> = f
                    .fields
                    .iter()
                    .filter(|field| field.kind != doorstep_core::workflow::FieldKind::List)
                    .map(|field| FormValue::text(field.name.clone(), "??"))
                    .collect();
                if let Err(e) = fill(
                    row.name,
                    &junk,
                    &s,
                    &pb,
                    &doorstep_core::BusinessZone::default(),
                ) {
                    scan.text(row.name, &e.text());
                }
            }
            // The screen's prompts and actions.
            let v = view(&s, &pb, run.now, "李伟");
            for p in &v.prompts {
                scan.text(&p.code, &p.text);
            }
            for a in &v.next_actions {
                scan.text(&a.command, &a.label);
            }
            // Real refusals at this stage.
            for p in probes(&pb) {
                let c = support::cmd(p);
                let ctx = doorstep_core::workflow::Context::new(run.now, run.device.clone());
                if let Err(e) = run.visit.handle(&c, &ctx, &mut run.stamper) {
                    scan.text(e.code(), &e.text());
                }
            }
        }
    }
    assert!(scan.seen > 1000, "only {} texts scanned", scan.seen);
    assert!(
        scan.bad.is_empty(),
        "{} Chinese texts break the rules:\n{}",
        scan.bad.len(),
        scan.bad.join("\n")
    );
}

#[test]
fn the_scan_catches_ascii_punctuation_code_names_and_debug_names() {
    let debug = debug_names();
    assert!(!zh_problems("请先完成:depart。", &debug).is_empty());
    assert!(!zh_problems("当前阶段：AtDoor", &debug).is_empty());
    assert!(!zh_problems("物品：drop_cloth", &debug).is_empty());
    assert!(!zh_problems("鞋套(备用一双)", &debug).is_empty());
    assert!(zh_problems("鞋套（备用一双），例如 2026-12-01T10:00:00+08:00。", &debug).is_empty());
}

/// Every key the rules and the command table name as what a command needs
/// first has its words, so no refusal shows the English key in Chinese.
#[test]
fn every_out_of_order_need_has_its_words_in_both_languages() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("src/workflow");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir.join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(dir.join("command_table.rs"));
    let mut keys = vec![];
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        // The string literal after each call or table entry that names a need.
        for marker in [
            "out_of_order(",
            "require_work_recorded(",
            "missing.push(",
            "only(&[",
        ] {
            for (at, _) in src.match_indices(marker) {
                let rest = &src[at + marker.len()..];
                // The first literal of the call, if it comes before the call ends.
                let Some(q) = rest.find('"') else { continue };
                if rest[..q].contains(';') || rest[..q].contains('{') {
                    continue;
                }
                let lit = &rest[q + 1..];
                if let Some(close) = lit.find('"') {
                    keys.push(lit[..close].to_string());
                }
            }
        }
    }
    assert!(keys.len() > 20, "found only {keys:?}");
    for key in &keys {
        assert!(needs::is_known(key), "no words for the need {key:?}");
        let t = needs::needs_text(key);
        assert!(t.zh.chars().any(is_cjk), "{key}: {}", t.zh);
    }
    assert!(needs::is_known(needs::ALREADY_PAST));
}

#[test]
fn a_command_whose_step_is_past_says_so_not_what_came_before_it() {
    let mut run = Run::new("appliance_repair");
    run.at_door();
    // Departed and arrived: arriving again is not "depart first".
    let e = run.refused(json!({"type": "arrive", "location": support::fix_near(10.0)}));
    let zh = e.message(Lang::ZhCn);
    let en = e.message(Lang::En);
    assert_eq!(e.code(), "out_of_order");
    assert!(
        !zh.contains("depart") && !zh.contains("请先记录出发"),
        "{zh}"
    );
    assert!(zh.contains("已到达") && zh.contains("已到门口"), "{zh}");
    assert!(en.contains("already past"), "{en}");
    // Before departing, arriving still says what comes first.
    let mut run = Run::new("appliance_repair");
    run.scheduled().kit_checked();
    let e = run.refused(json!({"type": "arrive", "location": support::fix_near(10.0)}));
    assert!(
        e.message(Lang::ZhCn).contains("请先记录出发"),
        "{}",
        e.message(Lang::ZhCn)
    );
    // A refusal after closing names the outcome by its label.
    let closed = WorkflowError::VisitClosed {
        outcome: Outcome::Fixed,
    };
    assert!(closed.message(Lang::ZhCn).contains("已修复"));
    assert!(!closed.message(Lang::ZhCn).contains("Fixed"));
}

#[test]
fn an_item_not_on_the_kit_list_is_refused_naming_the_list_by_name() {
    let mut run = Run::new("appliance_repair");
    run.scheduled();
    let e = run.refused(json!({"type": "check_kit_item", "item": "hammer"}));
    assert_eq!(e.field(), Some("item"));
    let zh = e.message(Lang::ZhCn);
    assert!(zh.starts_with("物品：不在物品清单上"), "{zh}");
    assert!(zh.contains("垫布") && !zh.contains("drop_cloth"), "{zh}");
    // Kit items still open are named by their names too.
    let e = run.refused(json!({"type": "depart", "travel_minutes": 20}));
    let zh = e.message(Lang::ZhCn);
    assert!(zh.contains("垫布") && !zh.contains("drop_cloth"), "{zh}");
    let en = e.message(Lang::En);
    assert!(en.contains("Drop cloth"), "{en}");
}

/// The store's and the sync client's own refusals (a full disk, a damaged
/// file, no network) are read by the technician too.
#[test]
fn store_and_sync_errors_read_in_chinese_with_full_width_punctuation() {
    use doorstep_core::store::StoreError;
    use doorstep_core::{AssignmentId, VisitId};
    let debug = debug_names();
    // The sync client's refusals join them when the core is built with sync.
    #[cfg_attr(not(feature = "sync"), allow(unused_mut))]
    let mut errors = vec![
        StoreError::NotADatabase,
        StoreError::Truncated {
            expected_bytes: 8192,
            actual_bytes: 100,
        },
        StoreError::Corrupt {
            detail: "page 3".into(),
        },
        StoreError::SchemaTooNew {
            found: 9,
            supported: 4,
        },
        StoreError::ForeignDatabase {
            application_id: 1,
            user_version: 2,
        },
        StoreError::ReadOnly,
        StoreError::DiskFull,
        StoreError::BlobAreaFull {
            used_bytes: 10,
            limit_bytes: 10,
            needed_bytes: 5,
        },
        StoreError::Busy,
        StoreError::CannotOpen {
            detail: "no such directory".into(),
        },
        StoreError::DeviceMismatch {
            stored: "D-1".into(),
            given: "D-2".into(),
        },
        StoreError::UnknownVisit(VisitId::new_v7()),
        StoreError::UnknownAssignment(AssignmentId::new("A-1").unwrap()),
        StoreError::UnknownTrade("tailoring".into()),
        StoreError::UnknownPlaybookVersion {
            trade: "appliance_repair".into(),
            version: 3,
        },
        StoreError::UnknownOutboxEntry(7),
        StoreError::StoredDataInvalid {
            what: "event",
            category: "syntax",
            line: 1,
            column: 2,
        },
        StoreError::Sqlite("disk I/O error".into()),
        StoreError::Io("permission denied".into()),
    ]
    .into_iter()
    .map(|e| (e.code().to_string(), e.text().zh))
    .collect::<Vec<_>>();
    #[cfg(feature = "sync")]
    {
        use doorstep_core::sync::SyncError;
        let sync = [
            SyncError::Network("connection refused".into()),
            SyncError::ServerBusy {
                status: 503,
                message: "busy".into(),
                retry_after: None,
            },
            SyncError::Unauthorized {
                status: 401,
                message: "revoked".into(),
            },
            SyncError::Protocol {
                message: "version".into(),
            },
            SyncError::Refused {
                status: 400,
                code: "bad_event".into(),
                message: "no".into(),
                message_zh: None,
            },
            SyncError::QrPayment {
                code: "amount_not_due".into(),
                en: "The amount due is ¥80.00.".into(),
                zh: "应收金额为 ¥80.00。".into(),
            },
            SyncError::LostEvents {
                expected: 3,
                first_pending: 5,
            },
            SyncError::Decode("eof".into()),
            SyncError::Store(StoreError::DiskFull),
            SyncError::Cancelled,
            SyncError::Offline,
            SyncError::Enrolment {
                status: 403,
                code: "enrol_refused".into(),
                message: "no".into(),
            },
        ];
        errors.extend(
            sync.into_iter()
                .map(|e| (e.code().to_string(), e.text().zh)),
        );
    }
    let mut problems = vec![];
    for (code, zh) in &errors {
        assert!(zh.chars().any(is_cjk), "{code} has no Chinese text: {zh}");
        for p in zh_problems(zh, &debug) {
            problems.push(format!("{code}: {p}: {zh}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// STANDARDS §2.1 (接活): the technician checks the order's fields before
/// calling; each field the center left out or got wrong is named on the
/// screen, in Chinese with its reason in Chinese, and in English by name,
/// never by code.
#[test]
fn each_missing_or_inconsistent_field_is_named_with_its_reason_in_both_languages() {
    use doorstep_core::assignment::{AssignmentField, FieldProblem};
    let mut wrong = support::assignment("water_delivery");
    wrong.customer.name = None;
    wrong.customer.address = Some("  ".into());
    wrong.customer.phone = Some("call me".into());
    wrong.customer.location = Some(doorstep_core::location::GeoPoint {
        lat: 91.0,
        lon: 0.0,
    });
    wrong.product.model = None;
    wrong.product.purchase_date = Some(chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap());
    wrong.fault_description = None;
    wrong.requested_window = Some(support::window("12:00", "10:00"));
    wrong.order.clear();
    wrong.service_items.clear();
    let issues = wrong.field_issues(
        &AssignmentField::ALL,
        &doorstep_core::BusinessZone::default(),
    );
    assert_eq!(issues.len(), AssignmentField::ALL.len(), "{issues:?}");
    let debug = debug_names();
    for issue in &issues {
        let text = issue.text();
        let (en_name, zh_name) = (issue.field.en(), issue.field.zh());
        assert!(text.zh.starts_with(&format!("{zh_name}：")), "{}", text.zh);
        assert!(text.en.starts_with(&format!("{en_name}: ")), "{}", text.en);
        assert!(
            !text.zh.chars().any(|c| c.is_ascii_alphabetic()),
            "English in the Chinese: {}",
            text.zh
        );
        assert_eq!(zh_problems(&text.zh, &debug), Vec::<String>::new());
        match &issue.problem {
            FieldProblem::Missing => {
                assert_eq!(text.zh, format!("{zh_name}：缺失"));
                assert_eq!(text.en, format!("{en_name}: missing"));
            }
            FieldProblem::Inconsistent { reason } => {
                // Each reason the core gives has Chinese of its own, not the
                // catch-all a later build's reason falls back to.
                assert_ne!(text.zh, format!("{zh_name}：不一致"), "{reason}");
                assert_eq!(text.en, format!("{en_name}: {reason}"));
            }
        }
    }
    let inconsistent = issues
        .iter()
        .filter(|i| matches!(i.problem, FieldProblem::Inconsistent { .. }))
        .count();
    assert_eq!(inconsistent, 4, "{issues:?}");
    // A reason stored by a later build reads as "inconsistent" in Chinese.
    let later = doorstep_core::assignment::FieldIssue {
        field: AssignmentField::CustomerPhone,
        problem: FieldProblem::Inconsistent {
            reason: "a reason from a later build".into(),
        },
    };
    assert_eq!(later.text().zh, "联系电话：不一致");
    assert_eq!(later.text().en, "Phone: a reason from a later build");
}
