//! The visit as a screen shows it: stage, what may be done next (with
//! localized labels), prompts the standard requires at this moment (late
//! risk, apology, scripts), the checklist, the quote, timers and the report
//! digest. Derived from the state; never stored.

use super::decide::departure_plan;
use super::event::{Outcome, Punctuality};
use super::state::{Conflict, KitStatus, Stage, VisitState};
use super::VisitCommand;
use crate::assignment::{FieldIssue, TimeWindow};
use crate::callbacks::{self, CallbackDue};
use crate::clock;
use crate::ids::{AssignmentId, VisitId};
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::quote::Quote;
use crate::scripts::{script, ScriptMoment};
use crate::signoff::{short_digest, Report};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An action the technician can take now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextAction {
    /// The command's `type`.
    pub command: String,
    pub label: Text,
    /// The standard requires this before the visit can move on.
    pub required: bool,
}

/// Something the standard asks the technician to do or say now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub code: String,
    pub text: Text,
}

/// One checklist line (kit or appearance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    pub id: String,
    pub name: Text,
    pub mandatory: bool,
    /// `checked`, `skipped` or `open`.
    pub status: String,
}

/// The clock-driven parts of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Timers {
    /// Leave by this time to arrive 5-10 minutes early (given the last known travel time).
    pub depart_by: Option<DateTime<Utc>>,
    /// The next knock is allowed at.
    pub next_knock_at: Option<DateTime<Utc>>,
    /// Phone the customer from this time if the door stays closed.
    pub call_customer_at: Option<DateTime<Utc>>,
    /// "Customer absent" may be declared from this time.
    pub absent_allowed_at: Option<DateTime<Utc>>,
    pub callbacks: Vec<CallbackDue>,
}

/// The screen model of one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitView {
    pub visit_id: Option<VisitId>,
    pub assignment_id: Option<AssignmentId>,
    pub trade: String,
    pub trade_name: Text,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
    pub trip: u32,
    pub window: Option<TimeWindow>,
    pub conflict: Option<Conflict>,
    pub field_issues: Vec<FieldIssue>,
    pub next_actions: Vec<NextAction>,
    pub prompts: Vec<Prompt>,
    pub kit: Vec<ChecklistEntry>,
    pub quote: Option<Quote>,
    pub quote_accepted: bool,
    pub timers: Timers,
    /// Digest of the report as it stands (what the customer would sign now).
    pub report_digest: Option<String>,
    pub report_digest_short: Option<String>,
    pub signed: bool,
}

/// Label of a command, by its `type`.
pub fn action_label(command: &str) -> Text {
    let (en, zh) = match command {
        "verify_with_center" => ("Verify with center", "与服务中心核实"),
        "waive_fields" => ("Record center waiver", "记录中心免填确认"),
        "record_triage" => ("Record triage", "故障分析"),
        "resolve_remotely" => ("Resolved by phone guidance", "电话指导已解决"),
        "log_call" => ("Log a call", "记录通话"),
        "confirm_appointment" => ("Confirm appointment", "确认预约"),
        "proceed_unconfirmed" => ("Go at the promised time", "按承诺时间上门"),
        "report_window_conflict" => ("Report time conflict", "报告时间冲突"),
        "agree_new_window" => ("Agree a new time", "改约时间"),
        "hand_back_to_center" => ("Hand back to center", "退回服务中心"),
        "check_kit_item" => ("Check kit item", "检查物品"),
        "skip_kit_item" => ("Skip kit item (reason)", "跳过物品(注明原因)"),
        "depart" => ("Depart", "出发"),
        "notify_running_late" => ("Call: running late", "致电告知迟到"),
        "arrive" => ("Arrived", "已到达"),
        "apologise_for_lateness" => ("Apologise for lateness", "迟到致歉"),
        "check_appearance" => ("Appearance self-check", "仪容仪表自检"),
        "knock" => ("Knock / ring", "敲门/按门铃"),
        "door_answered" => ("Door answered", "客户已开门"),
        "ask_neighbour" => ("Ask a neighbour", "询问邻居"),
        "leave_door_note" => ("Leave a note on the door", "门上留言"),
        "notify_center_absent" => ("Notify center: nobody home", "通知中心:客户不在家"),
        "declare_customer_absent" => ("Customer absent", "客户不在家"),
        "enter" => ("Greet, show permit, enter", "问候、出示上岗证、进门"),
        "record_entry_exception" => ("Cannot serve now: reschedule", "无法服务:改约"),
        "put_on_shoe_covers" => ("Shoe covers on", "穿鞋套"),
        "waive_shoe_covers" => ("Customer declines shoe covers", "客户免穿鞋套"),
        "lay_drop_cloth" => ("Lay drop cloth", "铺垫布"),
        "record_diagnosis" => ("Record diagnosis", "记录诊断"),
        "warn_data_risk" => ("Warn of data loss risk", "告知数据风险"),
        "sign_backup_consent" => ("Backup consent signature", "数据备份确认签字"),
        "offer_loaner" => ("Offer loaner unit", "提供周转机"),
        "record_unit_appearance" => ("Record unit appearance", "记录机器外观"),
        "sign_custody_receipt" => ("Customer signs receipt", "客户签收条"),
        "take_back" => ("Take unit back", "拉修"),
        "report_missing_part" => ("Part missing", "缺少备件"),
        "inspect_item" => ("Inspect bottle", "检查水桶"),
        "show_fee_schedule" => ("Show fee schedule", "出示收费标准"),
        "present_quote" => ("Present quote", "报价"),
        "accept_quote" => ("Customer accepts quote", "客户确认报价"),
        "refuse_quote" => ("Customer refuses quote", "客户不同意报价"),
        "record_guardian" => ("Record guardian present", "记录监护人在场"),
        "record_work" => ("Record work done", "记录服务内容"),
        "report_hidden_fault" => ("Hidden fault found", "发现隐藏故障"),
        "record_test_run" => ("Test run", "试机"),
        "schedule_untested_callback" => ("No time to test: 2 h callback", "未能试机:2小时后回访"),
        "brief_customer" => ("Brief customer on use and care", "讲解使用和保养"),
        "clean_up" => ("Clean up, check no tool left", "清洁现场、清点工具"),
        "collect_payment" => ("Collect payment", "收费"),
        "refuse_payment" => ("Customer refuses to pay", "客户拒绝付款"),
        "sign_off" => ("Customer rates and signs", "客户评价并签字"),
        "decline_signature" => ("Customer declines to sign", "客户拒绝签字"),
        "reopen_report" => ("Reopen report (new version)", "重开报告(新版本)"),
        "check_belongings" => ("Check belongings with client", "与客户清点物品"),
        "leave" => ("Leave", "离开"),
        "record_incident" => ("Record incident", "记录事件"),
        other => (other, other),
    };
    Text::new(en, zh)
}

fn prompt(code: &str, en: impl Into<String>, zh: impl Into<String>) -> Prompt {
    Prompt {
        code: code.into(),
        text: Text::new(en, zh),
    }
}

fn script_prompt(pb: &Playbook, moment: ScriptMoment, technician: &str) -> Prompt {
    let code = crate::wire::wire_name(&moment);
    Prompt {
        code: format!("script.{code}"),
        text: script(pb, moment, technician),
    }
}

/// Builds the screen model. `technician` fills the scripts.
pub fn view(s: &VisitState, pb: &Playbook, now: DateTime<Utc>, technician: &str) -> VisitView {
    let candidates = candidate_actions(s, pb);
    let mut next_actions = vec![];
    for (cmd, required) in candidates {
        next_actions.push(NextAction {
            command: cmd.to_string(),
            label: action_label(cmd),
            required,
        });
    }
    let prompts = prompts(s, pb, now, technician);
    let kit = pb
        .kit
        .iter()
        .map(|k| ChecklistEntry {
            id: k.id.clone(),
            name: k.name.clone(),
            mandatory: k.mandatory,
            status: match s.kit.get(&k.id) {
                Some(KitStatus::Checked) => "checked",
                Some(KitStatus::Skipped { .. }) => "skipped",
                None => "open",
            }
            .into(),
        })
        .collect();
    let mut timers = Timers {
        callbacks: callbacks::schedule(s, pb),
        ..Timers::default()
    };
    if let (Some(w), Some(d)) = (s.window, &s.departure) {
        timers.depart_by = Some(departure_plan(&w, d.travel_minutes, pb, now).latest_departure);
    }
    if s.stage == Stage::AtDoor && !s.door.answered {
        if let Some(first) = s.door.knocks.first() {
            timers.call_customer_at = Some(clock::shift(
                *first,
                clock::minutes(pb.knock.call_after_minutes),
            ));
            timers.absent_allowed_at = Some(clock::shift(
                *first,
                clock::minutes(pb.knock.absent_minimum_minutes),
            ));
        }
        if let Some(last) = s.door.knocks.last() {
            timers.next_knock_at = Some(clock::shift(
                *last,
                clock::seconds(pb.knock.interval_seconds),
            ));
        }
    }
    let report = (s.stage == Stage::OnSite || s.sign_off.is_some()).then(|| match &s.sign_off {
        Some(so) => so.evidence.report_digest.clone(),
        None => Report::of(s, None, None, "").digest(),
    });
    VisitView {
        visit_id: s.visit_id,
        assignment_id: s.assignment_id().cloned(),
        trade: pb.id.to_string(),
        trade_name: pb.name.clone(),
        stage: s.stage,
        outcome: s.outcome,
        trip: s.trip,
        window: s.window,
        conflict: s.conflict.clone(),
        field_issues: s.open_field_issues().into_iter().cloned().collect(),
        next_actions,
        prompts,
        kit,
        quote: s.quote.clone(),
        quote_accepted: s.accepted_quote().is_some(),
        timers,
        report_digest_short: report.as_deref().map(|d| short_digest(d).to_string()),
        report_digest: report,
        signed: s.sign_off.is_some(),
    }
}

/// The commands worth offering at this point, with whether the standard requires them.
fn candidate_actions(s: &VisitState, pb: &Playbook) -> Vec<(&'static str, bool)> {
    let mut out: Vec<(&'static str, bool)> = vec![];
    let mut add = |step: Option<Step>, cmd: &'static str, required: bool| {
        if step.is_none_or(|st| pb.has(st)) {
            out.push((cmd, required));
        }
    };
    match s.stage {
        Stage::New => add(None, "receive_assignment", true),
        Stage::Intake => {
            let issues = !s.open_field_issues().is_empty();
            if issues {
                add(Some(Step::Receive), "verify_with_center", true);
                add(Some(Step::Receive), "waive_fields", false);
            }
            if !s.triaged {
                add(Some(Step::Triage), "record_triage", false);
            }
            if s.remote_fixable {
                add(Some(Step::Triage), "resolve_remotely", false);
            }
            add(None, "log_call", true);
            if !issues {
                add(Some(Step::Confirm), "confirm_appointment", true);
                add(Some(Step::Confirm), "proceed_unconfirmed", false);
            }
            add(Some(Step::Confirm), "report_window_conflict", false);
            if s.window_conflict {
                add(Some(Step::Confirm), "agree_new_window", true);
                add(Some(Step::Confirm), "hand_back_to_center", false);
            }
        }
        Stage::Scheduled => {
            add(Some(Step::Prepare), "check_kit_item", true);
            add(Some(Step::Prepare), "skip_kit_item", false);
            add(Some(Step::Depart), "depart", true);
            add(Some(Step::Depart), "notify_running_late", false);
            add(Some(Step::Confirm), "agree_new_window", false);
            add(Some(Step::Confirm), "hand_back_to_center", false);
            if !pb.has(Step::Depart) {
                add(None, "arrive", true);
            }
        }
        Stage::EnRoute => {
            add(None, "arrive", true);
            add(Some(Step::Depart), "notify_running_late", false);
        }
        Stage::AtDoor => {
            let late = s.arrival.as_ref().is_some_and(|a| a.punctuality.is_late());
            if late && !s.lateness_apologised {
                add(Some(Step::Arrive), "apologise_for_lateness", true);
            }
            if !s.appearance_checked {
                add(Some(Step::Appearance), "check_appearance", true);
            }
            if !s.door.answered {
                add(Some(Step::Knock), "knock", true);
                if !s.door.knocks.is_empty() {
                    add(Some(Step::Knock), "door_answered", false);
                    add(None, "log_call", false);
                    if pb.knock.neighbour_check && !s.door.neighbour_asked {
                        add(Some(Step::Knock), "ask_neighbour", false);
                    }
                    if !s.door.note_left {
                        add(Some(Step::Knock), "leave_door_note", false);
                    }
                    if !s.door.center_notified {
                        add(Some(Step::Knock), "notify_center_absent", false);
                    }
                    add(Some(Step::Knock), "declare_customer_absent", false);
                }
            }
            if s.door.answered || !pb.has(Step::Knock) {
                add(Some(Step::Enter), "enter", true);
            }
            add(Some(Step::Enter), "record_entry_exception", false);
        }
        Stage::OnSite => on_site_actions(s, pb, &mut add),
        Stage::Closed => {}
    }
    out
}

fn on_site_actions(
    s: &VisitState,
    pb: &Playbook,
    add: &mut dyn FnMut(Option<Step>, &'static str, bool),
) {
    if pb.rules.shoe_covers && s.shoe_covers.is_none() {
        add(Some(Step::Protect), "put_on_shoe_covers", true);
        add(Some(Step::Protect), "waive_shoe_covers", false);
    }
    if pb.rules.drop_cloth && !s.drop_cloth_laid {
        add(Some(Step::Protect), "lay_drop_cloth", true);
    }
    if s.sign_off.is_some() || s.declined.is_some() {
        add(Some(Step::SignOff), "reopen_report", false);
        if pb.has(Step::Belongings) && !s.belongings_checked {
            add(Some(Step::Belongings), "check_belongings", true);
        }
        add(Some(Step::Leave), "leave", true);
        return;
    }
    if s.diagnosis.is_none() && pb.has(Step::Diagnose) {
        add(Some(Step::Diagnose), "record_diagnosis", true);
        if pb.rules.data_risk_consent && !s.data_risk_warned {
            add(Some(Step::Diagnose), "warn_data_risk", false);
        }
        add(Some(Step::Enter), "record_entry_exception", false);
        return;
    }
    // §2.11: the data-risk warning comes before disk/OS work, usually after the diagnosis.
    if pb.rules.data_risk_consent && !s.data_risk_warned {
        add(Some(Step::Diagnose), "warn_data_risk", false);
    }
    if pb.rules.data_risk_consent && s.data_risk_warned && s.backup_consent_digest.is_none() {
        add(Some(Step::Diagnose), "sign_backup_consent", false);
    }
    if let Some(d) = &s.diagnosis {
        if d.decision == super::command::RepairDecision::TakeBack {
            if s.take_back.loaner_offered.is_none() {
                add(Some(Step::Diagnose), "offer_loaner", true);
            }
            if s.take_back.appearance.is_none() {
                add(Some(Step::Diagnose), "record_unit_appearance", true);
            }
            if s.take_back.receipt_digest.is_none() {
                add(Some(Step::Diagnose), "sign_custody_receipt", true);
            }
            add(Some(Step::Diagnose), "take_back", true);
            return;
        }
        if d.decision == super::command::RepairDecision::MissingPart {
            add(Some(Step::Diagnose), "report_missing_part", true);
        }
    }
    // A bottle that failed inspection is replaced and the replacement inspected.
    let inspection_failed = s.inspected.values().any(|ok| !ok);
    if pb.has(Step::Inspect) && (s.quote.is_none() || inspection_failed) {
        add(Some(Step::Inspect), "inspect_item", true);
    }
    if !s.fee_schedule_shown {
        add(Some(Step::Quote), "show_fee_schedule", true);
    } else if s.quote.is_none() || s.requote_pending {
        add(Some(Step::Quote), "present_quote", true);
    }
    if s.quote.is_some() && s.accepted_quote().is_none() && !s.quote_refused {
        add(Some(Step::Quote), "accept_quote", true);
        add(Some(Step::Quote), "refuse_quote", false);
    }
    if pb.rules.guardian_present && s.guardian.is_none() {
        add(Some(Step::Work), "record_guardian", true);
    }
    let work_allowed = s.quote.is_some() && !s.quote_refused;
    if work_allowed {
        add(Some(Step::Work), "record_work", s.work.is_empty());
    }
    if !s.work.is_empty() {
        add(Some(Step::Work), "report_hidden_fault", false);
        if s.test_run.as_ref().is_none_or(|t| !t.passed) {
            add(Some(Step::Test), "record_test_run", true);
            add(Some(Step::Test), "schedule_untested_callback", false);
        }
        if !s.briefed {
            add(Some(Step::Teach), "brief_customer", true);
        }
        if !s.cleaned_up {
            add(Some(Step::CleanUp), "clean_up", true);
        }
    }
    if let Some(q) = s.accepted_quote() {
        if q.chargeable()
            && s.payment.is_none()
            && !s.payment_refused
            && (s.cleaned_up || !pb.has(Step::CleanUp))
        {
            add(Some(Step::Payment), "collect_payment", true);
            add(Some(Step::Payment), "refuse_payment", false);
        }
    }
    if (s.cleaned_up || s.quote_refused) && s.sign_off.is_none() {
        add(Some(Step::SignOff), "sign_off", true);
        add(Some(Step::SignOff), "decline_signature", false);
    }
    add(None, "record_incident", false);
}

fn prompts(s: &VisitState, pb: &Playbook, now: DateTime<Utc>, technician: &str) -> Vec<Prompt> {
    let mut out = vec![];
    match s.stage {
        Stage::Intake => {
            if !s.open_field_issues().is_empty() {
                out.push(prompt(
                    "missing_information",
                    "Information is missing or inconsistent: verify with the center before confirming.",
                    "工单信息不全或不一致:确认预约前请与服务中心核实。",
                ));
            }
            if s.assignment
                .as_ref()
                .is_some_and(|a| a.product.warranty != crate::assignment::Warranty::InWarranty)
                && pb.has(Step::Quote)
            {
                out.push(prompt(
                    "out_of_warranty",
                    "Out of warranty (or unknown): tell the customer the visit may be chargeable; bring the fee schedule and receipts.",
                    "产品已过保或保修状态不明:请告知客户可能收费,并携带收费标准和收据。",
                ));
            }
            out.push(script_prompt(pb, ScriptMoment::AppointmentCall, technician));
        }
        Stage::Scheduled | Stage::EnRoute => {
            if let Some(d) = &s.departure {
                if d.late_risk && s.running_late_notified.is_none() {
                    out.push(prompt(
                        "late_risk",
                        "You will arrive late: call the customer before the appointment, apologise, and agree a new time or ask the center to reassign.",
                        "预计会迟到:请在约定时间前致电客户道歉,并改约时间或请服务中心改派。",
                    ));
                    out.push(script_prompt(pb, ScriptMoment::RunningLate, technician));
                }
            }
            if let (None, Some(w)) = (&s.departure, s.window) {
                let leave_by = clock::shift(
                    w.start,
                    -clock::minutes(pb.timing.early_arrival_max_minutes),
                );
                if now > leave_by && s.stage == Stage::Scheduled {
                    out.push(prompt(
                        "behind_schedule",
                        "It is past the time to arrive 10 minutes early: depart now, or call the customer.",
                        "已过提前10分钟到达的时间:请立即出发,或致电客户。",
                    ));
                }
            }
        }
        Stage::AtDoor => {
            if let Some(a) = &s.arrival {
                match a.punctuality {
                    Punctuality::LateSerious { minutes_late } if !s.lateness_apologised => out.push(prompt(
                        "late_serious",
                        format!("{minutes_late} min late: apologise sincerely and offer a small gift; if not accepted, a manager visits."),
                        format!("迟到{minutes_late}分钟:请诚恳道歉并赠送小礼品;客户不接受时由主管上门。"),
                    )),
                    Punctuality::LateMinor { minutes_late } if !s.lateness_apologised => out.push(prompt(
                        "late_minor",
                        format!("{minutes_late} min late: apologise (traffic) and offer to reschedule if the customer is in a hurry."),
                        format!("迟到{minutes_late}分钟:请道歉并说明原因;如客户赶时间,可提出改约。"),
                    )),
                    _ => {}
                }
            }
            if !s.door.answered {
                out.push(prompt(
                    "knock_protocol",
                    format!(
                        "Ring the bell if there is one, else {} rounds of {} light knocks; repeat every {} s; phone after {} min.",
                        pb.knock.rounds, pb.knock.knocks_per_round, pb.knock.interval_seconds, pb.knock.call_after_minutes
                    ),
                    format!(
                        "有门铃先按门铃,否则轻敲{}轮、每轮{}下;每{}秒重复一次;{}分钟后给客户打电话。",
                        pb.knock.rounds, pb.knock.knocks_per_round, pb.knock.interval_seconds, pb.knock.call_after_minutes
                    ),
                ));
                out.push(prompt(
                    "conduct",
                    pb.conduct_reminder.en.clone(),
                    pb.conduct_reminder.zh.clone(),
                ));
            } else {
                out.push(script_prompt(pb, ScriptMoment::AtTheDoor, technician));
            }
        }
        Stage::OnSite => {
            if s.quote_refused || s.payment_refused {
                out.push(script_prompt(pb, ScriptMoment::ThreeGuarantees, technician));
            }
            if !s.work.is_empty() && s.test_run.is_none() {
                out.push(script_prompt(
                    pb,
                    ScriptMoment::TestWithCustomer,
                    technician,
                ));
            }
            if s.cleaned_up && s.sign_off.is_none() {
                out.push(script_prompt(pb, ScriptMoment::EndOfService, technician));
            }
            if pb.rules.no_deposit_iou && s.accepted_quote().is_some() && s.payment.is_none() {
                out.push(prompt(
                    "step_back_to_pay",
                    "Step back to the door while the customer pays. The bottle deposit is never an IOU.",
                    "客户付款时请退到门口等候。桶押金不能打欠条。",
                ));
            }
            if s.sign_off.is_some() || s.declined.is_some() {
                out.push(script_prompt(pb, ScriptMoment::Farewell, technician));
            }
            if s.sign_off
                .as_ref()
                .is_some_and(|so| !so.ratings.satisfied())
                || s.declined.is_some()
            {
                out.push(script_prompt(pb, ScriptMoment::UpsetCustomer, technician));
            }
        }
        _ => {}
    }
    if let Some(c) = &s.conflict {
        out.push(prompt(
            "conflict",
            format!("The center changed this assignment after you started ({:?}). Your records are kept; the center will decide.", c.kind),
            "您开始服务后服务中心变更了工单。您的记录全部保留,由服务中心处理。".to_string(),
        ));
    }
    out
}

/// Convenience for callers that hold a command: its label.
pub fn command_label(cmd: &VisitCommand) -> Text {
    action_label(&cmd.name())
}
