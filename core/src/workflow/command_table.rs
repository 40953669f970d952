//! The one command table: a row per `VisitCommand` variant with its wire
//! name (the serde `type` tag), the step it belongs to, the stages in which
//! the rules accept it (and what it needs first outside them), who issues
//! it, its zh-CN/en label and whether it changes the signed report.
//! `step_of`, the stage gate in `decide`, `next_actions`, the labels, the
//! forms, the FFI and the CLI read it, so what a screen offers and what the
//! rules accept cannot drift.

use super::command::VisitCommand;
use super::state::Stage;
use crate::messages::Text;
use crate::playbook::{Playbook, Step};

/// Who issues a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// The technician, on the phone: the command has a form.
    Technician,
    /// The center, arriving through sync: a fact, no form.
    Center,
}

/// The stages in which the rules accept a command (before its own guards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageGate {
    /// Any stage, the first one included (the center's assignment).
    Always,
    /// Any stage once the visit exists, closed included (center facts).
    Started,
    /// Exactly these stages; before them the command `needs` something first
    /// (the text of the `OutOfOrder` refusal).
    Only {
        stages: &'static [Stage],
        needs: &'static str,
    },
    /// Arrival: from `EnRoute` when the trade walks the depart step, else
    /// straight from `Scheduled`.
    Arrival,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandRow {
    /// The command's `type` on the wire.
    pub name: &'static str,
    /// The step it belongs to; `None` for center facts, calls and incidents.
    pub step: Option<Step>,
    pub stages: StageGate,
    pub issuer: Issuer,
    pub label_en: &'static str,
    pub label_zh: &'static str,
    /// It changes what the customer signs: refused once the report is
    /// signed, until the report is reopened (STANDARDS §2.16).
    pub changes_report: bool,
}

impl CommandRow {
    /// The row, marked as changing what the customer signs.
    const fn changing_report(self) -> Self {
        CommandRow {
            changes_report: true,
            ..self
        }
    }

    pub fn label(&self) -> Text {
        Text::new(self.label_en, self.label_zh)
    }

    /// Whether the stage gate lets the command through at `stage` for this trade.
    pub fn allows(&self, stage: Stage, pb: &Playbook) -> bool {
        match self.stages {
            StageGate::Always => true,
            StageGate::Started => stage != Stage::New,
            StageGate::Only { stages, .. } => stages.contains(&stage),
            StageGate::Arrival => {
                stage
                    == if pb.has(Step::Depart) {
                        Stage::EnRoute
                    } else {
                        Stage::Scheduled
                    }
            }
        }
    }

    /// What the command needs first when its stage gate refuses it (the
    /// `needs` of the `OutOfOrder` refusal).
    pub fn needs(&self, pb: &Playbook) -> &'static str {
        match self.stages {
            StageGate::Only { needs, .. } => needs,
            StageGate::Arrival if pb.has(Step::Depart) => "depart",
            StageGate::Arrival => "confirm the appointment",
            // Never refused once the visit has started.
            StageGate::Always | StageGate::Started => "receive the assignment",
        }
    }

    /// What the command needs at `stage`: [`needs`](Self::needs) before its
    /// stages, and that the visit is past the step once the visit has moved
    /// beyond them (arriving again after arriving is not "depart first").
    pub fn needs_at(&self, stage: Stage, pb: &Playbook) -> &'static str {
        let last = match self.stages {
            StageGate::Only { stages, .. } => stages.iter().max().copied(),
            StageGate::Arrival if pb.has(Step::Depart) => Some(Stage::EnRoute),
            StageGate::Arrival => Some(Stage::Scheduled),
            StageGate::Always | StageGate::Started => None,
        };
        match last {
            Some(last) if stage > last => super::needs::ALREADY_PAST,
            _ => self.needs(pb),
        }
    }

    /// Whether the trade's playbook offers the command at all.
    pub fn in_playbook(&self, pb: &Playbook) -> bool {
        self.step.is_none_or(|s| pb.has(s))
    }
}

use Stage::{AtDoor, EnRoute, Intake, OnSite, Scheduled};

const fn only(stages: &'static [Stage], needs: &'static str) -> StageGate {
    StageGate::Only { stages, needs }
}

const INTAKE: StageGate = only(&[Intake], "receive the assignment");
const INTAKE_OR_SCHEDULED: StageGate = only(&[Intake, Scheduled], "receive the assignment");
const BEFORE_DEPARTING: StageGate = only(&[Intake, Scheduled], "hand back before departing");
const OPEN: StageGate = only(
    &[Intake, Scheduled, EnRoute, AtDoor, OnSite],
    "receive the assignment",
);
const SCHEDULED: StageGate = only(&[Scheduled], "confirm the appointment");
const SCHEDULED_OR_EN_ROUTE: StageGate = only(&[Scheduled, EnRoute], "depart for the customer");
const AT_DOOR: StageGate = only(&[AtDoor], "arrive");
const AT_DOOR_OR_INSIDE: StageGate = only(&[AtDoor, OnSite], "arrive");
const INSIDE: StageGate = only(&[OnSite], "enter the customer's home");

const fn row(
    name: &'static str,
    step: Option<Step>,
    stages: StageGate,
    issuer: Issuer,
    label_en: &'static str,
    label_zh: &'static str,
) -> CommandRow {
    CommandRow {
        name,
        step,
        stages,
        issuer,
        label_en,
        label_zh,
        changes_report: false,
    }
}

const fn tech(
    name: &'static str,
    step: Step,
    stages: StageGate,
    label_en: &'static str,
    label_zh: &'static str,
) -> CommandRow {
    row(
        name,
        Some(step),
        stages,
        Issuer::Technician,
        label_en,
        label_zh,
    )
}

/// Every command, in the standard's order.
#[rustfmt::skip]
pub const COMMANDS: &[CommandRow] = &[
    row("receive_assignment", None, StageGate::Always, Issuer::Center, "Receive assignment", "接收工单"),
    row("cancel_assignment", None, StageGate::Started, Issuer::Center, "Assignment cancelled", "工单已取消"),
    row("reassign_assignment", None, StageGate::Started, Issuer::Center, "Assignment reassigned", "工单已改派"),
    tech("verify_with_center", Step::Receive, INTAKE_OR_SCHEDULED, "Verify with center", "与服务中心核实"),
    tech("waive_fields", Step::Receive, INTAKE_OR_SCHEDULED, "Record center waiver", "记录中心免填确认"),
    tech("record_triage", Step::Triage, INTAKE_OR_SCHEDULED, "Record triage", "故障分析"),
    tech("resolve_remotely", Step::Triage, INTAKE_OR_SCHEDULED, "Resolved by phone guidance", "电话指导已解决"),
    row("log_call", None, OPEN, Issuer::Technician, "Log a call", "记录通话"),
    tech("confirm_appointment", Step::Confirm, INTAKE, "Confirm appointment", "确认预约"),
    tech("proceed_unconfirmed", Step::Confirm, INTAKE, "Go at the promised time", "按承诺时间上门"),
    tech("report_window_conflict", Step::Confirm, INTAKE_OR_SCHEDULED, "Report time conflict", "报告时间冲突"),
    tech("agree_new_window", Step::Confirm, INTAKE_OR_SCHEDULED, "Agree a new time", "改约时间"),
    tech("hand_back_to_center", Step::Confirm, BEFORE_DEPARTING, "Hand back to center", "退回服务中心"),
    tech("check_kit_item", Step::Prepare, SCHEDULED, "Check kit item", "检查物品"),
    tech("skip_kit_item", Step::Prepare, SCHEDULED, "Skip kit item (reason)", "跳过物品（注明原因）"),
    tech("plan_travel", Step::Depart, INTAKE_OR_SCHEDULED, "Plan the trip (travel time or starting point)", "规划行程（路程时间或出发地点）"),
    tech("depart", Step::Depart, SCHEDULED, "Depart", "出发"),
    tech("notify_running_late", Step::Depart, SCHEDULED_OR_EN_ROUTE, "Call: running late", "致电告知迟到"),
    tech("arrive", Step::Arrive, StageGate::Arrival, "Arrived", "已到达"),
    tech("apologise_for_lateness", Step::Arrive, AT_DOOR_OR_INSIDE, "Apologise for lateness", "迟到致歉"),
    tech("check_appearance", Step::Appearance, AT_DOOR, "Appearance self-check", "仪容仪表自检"),
    tech("knock", Step::Knock, AT_DOOR, "Knock / ring", "敲门/按门铃"),
    tech("door_answered", Step::Knock, AT_DOOR, "Door answered", "客户已开门"),
    tech("ask_neighbour", Step::Knock, AT_DOOR, "Ask a neighbour", "询问邻居"),
    tech("leave_door_note", Step::Knock, AT_DOOR, "Leave a note on the door", "门上留言"),
    tech("notify_center_absent", Step::Knock, AT_DOOR, "Notify center: nobody home", "通知中心：客户不在家"),
    tech("declare_customer_absent", Step::Knock, AT_DOOR, "Customer absent", "客户不在家"),
    tech("enter", Step::Enter, AT_DOOR, "Greet, show permit, enter", "问候、出示上岗证、进门"),
    // A reschedule starts another trip: the report names the trip and arrival.
    tech("record_entry_exception", Step::Enter, AT_DOOR_OR_INSIDE, "Cannot serve now: reschedule", "无法服务：改约").changing_report(),
    tech("put_on_shoe_covers", Step::Protect, INSIDE, "Shoe covers on", "穿鞋套"),
    tech("waive_shoe_covers", Step::Protect, INSIDE, "Customer declines shoe covers", "客户免穿鞋套"),
    tech("lay_drop_cloth", Step::Protect, INSIDE, "Lay drop cloth", "铺垫布"),
    tech("waive_drop_cloth", Step::Protect, INSIDE, "No drop cloth (record why)", "未铺垫布（注明原因）"),
    tech("record_diagnosis", Step::Diagnose, INSIDE, "Record diagnosis", "记录诊断").changing_report(),
    tech("warn_data_risk", Step::Diagnose, INSIDE, "Warn of data loss risk", "告知数据风险"),
    tech("sign_backup_consent", Step::Diagnose, INSIDE, "Backup consent signature", "数据备份确认签字"),
    tech("offer_loaner", Step::Diagnose, INSIDE, "Offer loaner unit", "提供周转机"),
    tech("record_unit_appearance", Step::Diagnose, INSIDE, "Record unit appearance", "记录机器外观"),
    tech("sign_custody_receipt", Step::Diagnose, INSIDE, "Customer signs receipt", "客户签收条"),
    tech("take_back", Step::Diagnose, INSIDE, "Take unit back", "拉修"),
    tech("report_missing_part", Step::Diagnose, INSIDE, "Part missing", "缺少备件").changing_report(),
    tech("inspect_item", Step::Inspect, INSIDE, "Inspect bottle", "检查水桶"),
    tech("show_fee_schedule", Step::Quote, INSIDE, "Show fee schedule", "出示收费标准"),
    tech("present_quote", Step::Quote, INSIDE, "Present quote", "报价").changing_report(),
    tech("accept_quote", Step::Quote, INSIDE, "Customer accepts quote", "客户确认报价").changing_report(),
    tech("refuse_quote", Step::Quote, INSIDE, "Customer refuses quote", "客户不同意报价").changing_report(),
    tech("record_guardian", Step::Work, INSIDE, "Record guardian present", "记录监护人在场"),
    tech("record_work", Step::Work, INSIDE, "Record work done", "记录服务内容").changing_report(),
    tech("report_hidden_fault", Step::Work, INSIDE, "Hidden fault found", "发现隐藏故障").changing_report(),
    tech("record_test_run", Step::Test, INSIDE, "Test run", "试机").changing_report(),
    tech("schedule_untested_callback", Step::Test, INSIDE, "No time to test: 2 h callback", "未能试机：2小时后回访").changing_report(),
    tech("brief_customer", Step::Teach, INSIDE, "Brief customer on use and care", "讲解使用和保养"),
    tech("clean_up", Step::CleanUp, INSIDE, "Clean up, check no tool left", "清洁现场、清点工具"),
    tech("collect_payment", Step::Payment, INSIDE, "Collect payment", "收费").changing_report(),
    tech("refuse_payment", Step::Payment, INSIDE, "Customer refuses to pay", "客户拒绝付款"),
    tech("defer_payment", Step::Payment, INSIDE, "Customer pays later", "客户稍后付款"),
    tech("request_invoice", Step::Payment, INSIDE, "Customer asks for an e-fapiao", "客户申请电子发票"),
    tech("sign_off", Step::SignOff, INSIDE, "Customer rates and signs", "客户评价并签字").changing_report(),
    tech("decline_signature", Step::SignOff, INSIDE, "Customer declines to sign", "客户拒绝签字").changing_report(),
    tech("reopen_report", Step::SignOff, INSIDE, "Reopen report (new version)", "重开报告（新版本）"),
    tech("enter_acceptance_code", Step::Acceptance, INSIDE, "Enter the customer's acceptance code", "输入客户验收码"),
    tech("withhold_acceptance_code", Step::Acceptance, INSIDE, "Customer will not give the code", "客户不提供验收码"),
    tech("check_belongings", Step::Belongings, INSIDE, "Check belongings with client", "与客户清点物品"),
    tech("leave", Step::Leave, INSIDE, "Leave", "离开"),
    row("record_incident", None, AT_DOOR_OR_INSIDE, Issuer::Technician, "Record incident", "记录事件"),
    // Photos join the signed report by digest (report format 2).
    row("take_photo", None, AT_DOOR_OR_INSIDE, Issuer::Technician, "Take photo", "拍照").changing_report(),
    row("record_photo_not_taken", None, AT_DOOR_OR_INSIDE, Issuer::Technician, "Photo cannot be taken (reason)", "无法拍照（注明原因）").changing_report(),
];

/// The row of a command by its wire name (looked up in an index built once:
/// every decision asks for its command's row several times).
pub fn row_named(name: &str) -> Option<&'static CommandRow> {
    type ByName = std::collections::HashMap<&'static str, &'static CommandRow>;
    static BY_NAME: std::sync::OnceLock<ByName> = std::sync::OnceLock::new();
    let by_name = BY_NAME.get_or_init(|| COMMANDS.iter().map(|r| (r.name, r)).collect());
    by_name.get(name).copied()
}

/// The row of a command.
pub fn row_of(cmd: &VisitCommand) -> &'static CommandRow {
    match row_named(cmd.type_name()) {
        Some(r) => r,
        // Every wire name has a row (checked by a test); never reached.
        None => &COMMANDS[0],
    }
}

/// The label of a command by its wire name (the name itself if unknown).
pub fn label_of(name: &str) -> Text {
    match row_named(name) {
        Some(r) => r.label(),
        None => Text::new(name, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_wire_name_has_exactly_one_row() {
        let mut seen = HashSet::new();
        for r in COMMANDS {
            assert!(seen.insert(r.name), "{} has two rows", r.name);
        }
    }
}
