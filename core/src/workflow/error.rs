//! Refusals. Every refusal names the rule that refused it (a stable code) and
//! what would satisfy it, in Simplified Chinese and English, in words a
//! technician can act on. No customer data goes into these strings.

use crate::assignment::AssignmentField;
use crate::messages::{Lang, Text};
use crate::money::MoneyError;
use crate::playbook::{Playbook, Step};
use crate::quote::QuoteError;
use crate::workflow::bounds::{field_label, OutOfBounds};
use crate::workflow::command_table::label_of;
use crate::workflow::event::Outcome;
use crate::workflow::state::Stage;

pub use super::needs::needs_text;
use serde::Serialize;

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "snake_case", tag = "code")]
#[error("{}", self.text().en)]
pub enum WorkflowError {
    /// The visit does not exist yet: the first command must be `receive_assignment`.
    VisitNotStarted,
    /// The command belongs to a step this trade does not walk.
    StepNotInPlaybook { step: Step },
    /// The command does not fit where the visit stands.
    OutOfOrder {
        command: String,
        stage: Stage,
        needs: String,
    },
    /// The visit is closed.
    VisitClosed { outcome: Outcome },
    /// A received assignment for another assignment id or an older version.
    StaleAssignment { have: u64, got: u64 },
    /// Input that makes no sense (empty text, bad window, unknown item, a
    /// value out of its bounds): the field's dotted path and what is wrong.
    InvalidInput { field: String, problem: Text },
    /// §2.1 enforce: the appointment may not be confirmed with missing fields.
    MissingAssignmentInfo { fields: Vec<AssignmentField> },
    /// §2.3 enforce: a new window exists only with the customer's recorded agreement.
    NoCustomerAgreement,
    /// §2.3: proceeding unconfirmed needs the retries first.
    CustomerNotYetUnreachable { attempts: u32, needed: u32 },
    /// §2.4 enforce: mandatory kit items unchecked and not skipped with a reason.
    KitIncomplete {
        items: Vec<String>,
        /// The items' names, as the kit list shows them.
        #[serde(default)]
        names: Vec<Text>,
    },
    /// §2.6: the arrival is outside the customer's geofence.
    OutsideGeofence { distance_m: u32, radius_m: u32 },
    /// §2.6: a late arrival needs its apology (and gift at 15 min or more) first.
    LatenessApologyRequired {
        minutes_late: i64,
        gift_required: bool,
    },
    /// §2.7: the appearance self-check is incomplete.
    AppearanceIncomplete {
        items: Vec<String>,
        /// The items' names, as the self-check shows them.
        #[serde(default)]
        names: Vec<Text>,
    },
    /// §2.8: attempts are spaced by the knock interval.
    KnockTooSoon { wait_seconds: i64 },
    /// §2.8 enforce: "customer absent" needs 5 minutes of attempts and a call.
    AbsentTooSoon {
        minutes_logged: i64,
        minimum: i64,
        calls: u32,
        door_note: bool,
        center_notified: bool,
        neighbour_asked: bool,
    },
    /// §2.9: entering needs the door answered, greeting and permit.
    EntryIncomplete,
    /// §2.10: shoe covers (or the customer's waiver) and drop cloth first.
    ProtectionMissing { shoe_covers: bool, drop_cloth: bool },
    /// §2.11 enforce: no disk/OS work without data-risk warning and signed backup consent.
    BackupConsentRequired { warned: bool },
    /// §2.11 enforce: take-back needs the loaner offered or declined, appearance record, signed receipt.
    TakeBackIncomplete {
        loaner: bool,
        appearance: bool,
        receipt: bool,
    },
    /// §2.12: the fee schedule is shown before any charge.
    FeeScheduleNotShown,
    /// §2.12 enforce: discounts only with a center approval.
    DiscountNeedsApproval,
    /// §2.12: the center's approval allows less off than the discount asks.
    DiscountOverApproval { approved: i64, asked: i64 },
    /// §2.12: the code is neither an approval the center sent with this
    /// order nor the center's short code for this order and amount.
    DiscountApprovalUnknown { approval_code: String },
    /// §2.12: the warranty card's lower price applies only with the card
    /// photographed (the center reconciles the charge against it).
    WarrantyCardUnevidenced {
        item: String,
        /// The fee item's name, as the fee schedule shows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Text>,
    },
    /// §2.12: quote problems other than approval.
    QuoteInvalid { problem: Text },
    /// §2.12 enforce: no repair on a chargeable visit before the quote is accepted.
    QuoteNotAccepted { revision: Option<u32> },
    /// §2.12-13: a part fitted must be on the quote the customer saw.
    PartNotQuoted {
        item: String,
        /// The part's name, as the fee schedule shows it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Text>,
    },
    /// Acceptance must name the revision on screen.
    QuoteRevisionMismatch { current: u32, accepted: u32 },
    /// §2.13 enforce: closes as fixed only with a passed test run or a 2 h callback.
    NotTested,
    /// §2.14: clean-up self-check incomplete.
    CleanUpIncomplete { items: Vec<String> },
    /// §2.15 enforce: collect exactly the accepted quote.
    PaymentMismatch { expected: i64, got: i64 },
    /// §2.15 enforce: never an IOU for the bottle deposit.
    DepositIou { deposit: i64 },
    /// Water delivery: a bottle that failed inspection may not be installed.
    InspectionFailed {
        items: Vec<String>,
        /// The items' names, as the fee schedule shows them.
        #[serde(default)]
        names: Vec<Text>,
    },
    /// The trade books this kind of work as its own service (water: no ad-hoc repairs).
    WorkNotOffered { kind: crate::playbook::WorkKind },
    /// Home care: a guardian must be present.
    GuardianRequired,
    /// §2.16 enforce: a signed report is immutable; reopen it for a new version.
    ReportSigned { version: u32 },
    /// §2.16: ratings are 1-5 and a signature has strokes.
    SignatureInvalid { problem: String },
    /// §2.16: sign-off comes after payment (or its absence on a free visit).
    NotReadyToSign { missing: Vec<String> },
    /// Home care: belongings checked together before leaving.
    BelongingsNotChecked,
    /// Leaving needs the sign-off or a recorded decline.
    NoSignOff,
    /// Issue 19: leaving needs the customer's acceptance code (accepted,
    /// sent to the center, or withheld with a reason).
    AcceptanceCodeRequired { wrong_codes: u32 },
    /// The center issued no acceptance code with this assignment.
    AcceptanceCodeNotIssued,
    /// The acceptance code was already accepted.
    AcceptanceCodeAlreadyAccepted,
    /// Money arithmetic failed.
    Money { problem: Text },
    /// Photos as evidence: a required photo of an earlier step is neither
    /// taken nor recorded as impossible with a reason.
    PhotoRequired {
        /// The step the missing photos belong to.
        step: Step,
        /// The moments' ids (`nameplate`, `after_repair`).
        moments: Vec<String>,
        /// The moments' names, as the playbook gives them.
        names: Vec<Text>,
    },
}

impl From<OutOfBounds> for WorkflowError {
    fn from(e: OutOfBounds) -> Self {
        WorkflowError::InvalidInput {
            field: e.field,
            problem: e.problem,
        }
    }
}

impl From<MoneyError> for WorkflowError {
    fn from(e: MoneyError) -> Self {
        WorkflowError::Money {
            problem: money_problem(&e),
        }
    }
}

/// A money error in both languages.
fn money_problem(e: &MoneyError) -> Text {
    let zh = match e {
        MoneyError::BadCurrency(_) => "币种代码无效（应为三个大写字母，例如 CNY）".to_string(),
        MoneyError::Overflow => "金额超出可表示的范围".to_string(),
        MoneyError::CurrencyMismatch(..) => "不同币种的金额不能相加".to_string(),
        MoneyError::Negative => "金额不能为负数".to_string(),
    };
    Text::new(e.to_string(), zh)
}

impl From<QuoteError> for WorkflowError {
    fn from(e: QuoteError) -> Self {
        let zh = match &e {
            QuoteError::CardPriceWithoutPhoto(item) => {
                return WorkflowError::WarrantyCardUnevidenced {
                    item: item.clone(),
                    name: None,
                }
            }
            QuoteError::UnknownItem(item) => format!("收费项目“{item}”不在本行业的收费标准中"),
            QuoteError::ZeroQuantity(_) => "数量至少为1".to_string(),
            QuoteError::NegativeCardPrice(_) => "保修卡价格不能为负数".to_string(),
            QuoteError::Empty => "报价至少需要一项".to_string(),
            QuoteError::DiscountOutOfRange { discount, subtotal } => format!(
                "优惠金额{}元须大于0且不超过客户应付小计{}元",
                yuan(*discount),
                yuan(*subtotal)
            ),
            QuoteError::Money(m) => money_problem(m).zh,
        };
        WorkflowError::QuoteInvalid {
            problem: Text::new(e.to_string(), zh),
        }
    }
}

/// The items by their names (`names` lines up with `items`; an item without
/// a name is shown as given), joined in each language.
fn named(items: &[String], names: &[Text]) -> (String, String) {
    let pick = |i: usize, lang: Lang| {
        names
            .get(i)
            .map(|n| n.get(lang).to_string())
            .unwrap_or_else(|| items[i].clone())
    };
    (
        (0..items.len())
            .map(|i| pick(i, Lang::En))
            .collect::<Vec<_>>()
            .join(", "),
        (0..items.len())
            .map(|i| pick(i, Lang::ZhCn))
            .collect::<Vec<_>>()
            .join("、"),
    )
}

/// The clean-up self-check items by name.
fn clean_up_item(id: &str) -> Text {
    match id {
        "product_restored" => Text::new("restore the product", "复原产品"),
        "wiped" => Text::new("wipe the product", "擦拭产品"),
        "floor_cleaned" => Text::new("clean the floor", "清洁地面"),
        "no_tool_left" => Text::new("check that no tool is left", "清点工具，确认无遗留"),
        other => Text::new(other, other),
    }
}

fn fields(fs: &[AssignmentField]) -> (String, String) {
    (
        fs.iter().map(|f| f.en()).collect::<Vec<_>>().join(", "),
        fs.iter().map(|f| f.zh()).collect::<Vec<_>>().join("、"),
    )
}

fn yuan(minor: i64) -> String {
    crate::money::yuan_digits(minor)
}

impl WorkflowError {
    /// Names the fee item a refusal is about from the trade's fee schedule,
    /// where the refusal was raised without the playbook at hand (the
    /// quote's pricing): the texts then show its name, never its id.
    pub fn with_item_names(self, pb: &Playbook) -> Self {
        let named = |item: &str| pb.fee(item).map(|f| f.name.clone());
        match self {
            WorkflowError::WarrantyCardUnevidenced { item, name: None } => {
                let name = named(&item);
                WorkflowError::WarrantyCardUnevidenced { item, name }
            }
            WorkflowError::PartNotQuoted { item, name: None } => {
                let name = named(&item);
                WorkflowError::PartNotQuoted { item, name }
            }
            other => other,
        }
    }

    /// The stable machine-readable code, e.g. `kit_incomplete`.
    pub fn code(&self) -> &'static str {
        use WorkflowError::*;
        match self {
            VisitNotStarted => "visit_not_started",
            StepNotInPlaybook { .. } => "step_not_in_playbook",
            OutOfOrder { .. } => "out_of_order",
            VisitClosed { .. } => "visit_closed",
            StaleAssignment { .. } => "stale_assignment",
            InvalidInput { .. } => "invalid_input",
            MissingAssignmentInfo { .. } => "missing_assignment_info",
            NoCustomerAgreement => "no_customer_agreement",
            CustomerNotYetUnreachable { .. } => "customer_not_yet_unreachable",
            KitIncomplete { .. } => "kit_incomplete",
            OutsideGeofence { .. } => "outside_geofence",
            LatenessApologyRequired { .. } => "lateness_apology_required",
            AppearanceIncomplete { .. } => "appearance_incomplete",
            KnockTooSoon { .. } => "knock_too_soon",
            AbsentTooSoon { .. } => "absent_too_soon",
            EntryIncomplete => "entry_incomplete",
            ProtectionMissing { .. } => "protection_missing",
            BackupConsentRequired { .. } => "backup_consent_required",
            TakeBackIncomplete { .. } => "take_back_incomplete",
            FeeScheduleNotShown => "fee_schedule_not_shown",
            DiscountNeedsApproval => "discount_needs_approval",
            DiscountOverApproval { .. } => "discount_over_approval",
            DiscountApprovalUnknown { .. } => "discount_approval_unknown",
            WarrantyCardUnevidenced { .. } => "warranty_card_unevidenced",
            QuoteInvalid { .. } => "quote_invalid",
            QuoteNotAccepted { .. } => "quote_not_accepted",
            QuoteRevisionMismatch { .. } => "quote_revision_mismatch",
            PartNotQuoted { .. } => "part_not_quoted",
            NotTested => "not_tested",
            CleanUpIncomplete { .. } => "clean_up_incomplete",
            PaymentMismatch { .. } => "payment_mismatch",
            DepositIou { .. } => "deposit_iou",
            InspectionFailed { .. } => "inspection_failed",
            WorkNotOffered { .. } => "work_not_offered",
            GuardianRequired => "guardian_required",
            ReportSigned { .. } => "report_signed",
            SignatureInvalid { .. } => "signature_invalid",
            NotReadyToSign { .. } => "not_ready_to_sign",
            BelongingsNotChecked => "belongings_not_checked",
            NoSignOff => "no_sign_off",
            AcceptanceCodeRequired { .. } => "acceptance_code_required",
            AcceptanceCodeNotIssued => "acceptance_code_not_issued",
            AcceptanceCodeAlreadyAccepted => "acceptance_code_already_accepted",
            Money { .. } => "money",
            PhotoRequired { .. } => "photo_required",
        }
    }

    /// The form field the refusal concerns, named as the action's form names
    /// it (`amount`, `location`, `revision`), so a shell can show the refusal
    /// under that field; `None` when it concerns the action as a whole.
    pub fn field(&self) -> Option<&str> {
        use WorkflowError::*;
        match self {
            InvalidInput { field, .. } => Some(field),
            PaymentMismatch { .. } => Some("amount"),
            DepositIou { .. } => Some("method"),
            OutsideGeofence { .. } => Some("location"),
            QuoteRevisionMismatch { .. } => Some("revision"),
            _ => None,
        }
    }

    /// The rule of the service standard that refused, as STANDARDS.md numbers it.
    pub fn rule(&self) -> &'static str {
        use WorkflowError::*;
        match self {
            VisitNotStarted | StepNotInPlaybook { .. } | OutOfOrder { .. } | VisitClosed { .. } => {
                "§2 the visit, step by step"
            }
            StaleAssignment { .. } => "§3 the center owns assignment fields",
            InvalidInput { .. } | Money { .. } => "input validation",
            MissingAssignmentInfo { .. } => "§2.1 no confirmation with missing information",
            NoCustomerAgreement | CustomerNotYetUnreachable { .. } => {
                "§2.3 a new window only with the customer's agreement"
            }
            KitIncomplete { .. } => "§2.4 no departure with unchecked mandatory kit",
            OutsideGeofence { .. } | LatenessApologyRequired { .. } => "§2.6 arrival",
            AppearanceIncomplete { .. } => "§2.7 appearance self-check",
            KnockTooSoon { .. } | AbsentTooSoon { .. } => "§2.8 the door-knock protocol",
            EntryIncomplete => "§2.9 greet, introduce, show the permit",
            ProtectionMissing { .. } => "§2.10 shoe covers and drop cloth",
            BackupConsentRequired { .. } => "§2.11 no disk/OS work without signed backup consent",
            TakeBackIncomplete { .. } => {
                "§2.11 take-back needs loaner, appearance record and receipt"
            }
            FeeScheduleNotShown
            | QuoteInvalid { .. }
            | QuoteRevisionMismatch { .. }
            | PartNotQuoted { .. } => "§2.12 quote from the fee schedule",
            DiscountNeedsApproval
            | DiscountOverApproval { .. }
            | DiscountApprovalUnknown { .. } => "§2.12 discounts only with a center approval",
            WarrantyCardUnevidenced { .. } => {
                "§2.12 the lower warranty-card price, evidenced by the card"
            }
            QuoteNotAccepted { .. } => "§2.12 no repair on a chargeable visit before acceptance",
            WorkNotOffered { .. } => "§1 trade playbook (work booked, not ad hoc)",
            NotTested => "§2.13 fixed only with a passed test run or a 2 h callback",
            CleanUpIncomplete { .. } => "§2.14 clean up, no tool left",
            PaymentMismatch { .. } => "§2.15 collect exactly the accepted quote",
            DepositIou { .. } => "§2.15 never an IOU for the bottle deposit",
            InspectionFailed { .. } => "§1 water delivery bottle inspection",
            GuardianRequired => "§1 home care: guardian present",
            ReportSigned { .. } | SignatureInvalid { .. } | NotReadyToSign { .. } | NoSignOff => {
                "§2.16 customer sign-off bound to the report"
            }
            BelongingsNotChecked => "§2.16 home care: belongings checked together",
            AcceptanceCodeRequired { .. }
            | AcceptanceCodeNotIssued
            | AcceptanceCodeAlreadyAccepted => {
                "§2.16 the customer's acceptance code, in addition to the signature"
            }
            PhotoRequired { .. } => "§1 trade playbook: the required photos of each step",
        }
    }

    /// The message in one language.
    pub fn message(&self, lang: Lang) -> String {
        self.text().get(lang).to_string()
    }

    /// The message in both languages: what refused, and what would satisfy it.
    pub fn text(&self) -> Text {
        use WorkflowError::*;
        match self {
            VisitNotStarted => Text::new(
                "This visit has no assignment yet. Receive the assignment from the center first.",
                "该服务单尚未接收。请先接收服务中心派发的工单。",
            ),
            StepNotInPlaybook { step } => Text::new(
                format!("The step \"{}\" is not part of this trade's service standard.", step.label().en),
                format!("本行业服务规范中没有“{}”这一步骤。", step.label().zh),
            ),
            OutOfOrder { command, stage, needs } => {
                let action = label_of(command);
                let stage = stage.label();
                let needs = needs_text(needs);
                Text::new(
                    format!("\"{}\" is not possible now (visit stage: {}). {}.", action.en, stage.en, needs.en),
                    format!("现在不能执行“{}”（当前阶段：{}）。{}。", action.zh, stage.zh, needs.zh),
                )
            }
            VisitClosed { outcome } => {
                let outcome = outcome.label();
                Text::new(
                    format!("This visit is closed ({}). Nothing more can be recorded on it.", outcome.en),
                    format!("该服务已结束（{}），不能再记录新的操作。", outcome.zh),
                )
            }
            StaleAssignment { have, got } => Text::new(
                format!("The assignment received (version {got}) is older than the one on the device (version {have}); it was ignored."),
                format!("收到的工单版本（{got}）早于本机已有版本（{have}），已忽略。"),
            ),
            InvalidInput { field, problem } => {
                let label = field_label(field);
                Text::new(
                    format!("{}: {}.", label.en, problem.en),
                    format!("{}：{}。", label.zh, problem.zh),
                )
            }
            MissingAssignmentInfo { fields: fs } => {
                let (en, zh) = fields(fs);
                Text::new(
                    format!("The appointment cannot be confirmed: missing or inconsistent information ({en}). Verify with the center, or ask the center to waive it."),
                    format!("信息不全或不一致（{zh}），不能确认预约。请与服务中心核实，或由服务中心确认免填。"),
                )
            }
            NoCustomerAgreement => Text::new(
                "A new time needs the customer's agreement: log a call on which you reached the customer first.",
                "改约时间必须征得客户同意：请先记录一次与客户接通的电话。",
            ),
            CustomerNotYetUnreachable { attempts, needed } => Text::new(
                format!("The customer counts as unreachable after {needed} failed calls; {attempts} logged so far. Keep trying."),
                format!("连续{needed}次联系不上才可视为无法联系，目前仅记录{attempts}次，请继续联系客户。"),
            ),
            KitIncomplete { items, names } => {
                let (en, zh) = named(items, names);
                Text::new(
                    format!("You cannot depart yet: mandatory kit items not checked: {en}. Check each one, or skip it with a reason."),
                    format!("还不能出发：以下必备物品未检查：{zh}。请逐项检查，或注明原因后跳过。"),
                )
            }
            OutsideGeofence { distance_m, radius_m } => Text::new(
                format!("Your location is {distance_m} m from the customer's address (allowed {radius_m} m). Move closer, or record why arrival is elsewhere."),
                format!("当前位置距客户地址{distance_m}米（允许{radius_m}米）。请到达客户地址，或说明原因。"),
            ),
            LatenessApologyRequired { minutes_late, gift_required } => {
                if *gift_required {
                    Text::new(
                        format!("You are {minutes_late} min late: apologise sincerely and offer a small gift before entering."),
                        format!("您迟到了{minutes_late}分钟：进门前请诚恳道歉并赠送小礼品。"),
                    )
                } else {
                    Text::new(
                        format!("You are {minutes_late} min late: apologise to the customer before entering."),
                        format!("您迟到了{minutes_late}分钟：进门前请先向客户道歉。"),
                    )
                }
            }
            AppearanceIncomplete { items, names } => {
                let (en, zh) = named(items, names);
                Text::new(
                    format!("Appearance self-check incomplete: {en}. Put it right before you knock."),
                    format!("仪容仪表自检未通过：{zh}。请整理好后再敲门。"),
                )
            }
            KnockTooSoon { wait_seconds } => Text::new(
                format!("Wait {wait_seconds} s more before knocking again."),
                format!("请再等待{wait_seconds}秒后再敲门。"),
            ),
            AbsentTooSoon { minutes_logged, minimum, calls, door_note, center_notified, neighbour_asked } => {
                let mut en = vec![];
                let mut zh = vec![];
                if minutes_logged < minimum {
                    en.push(format!("keep knocking until {minimum} min of attempts are logged ({minutes_logged} min so far)"));
                    zh.push(format!("继续敲门，满{minimum}分钟（目前{minutes_logged}分钟）"));
                }
                if *calls == 0 {
                    en.push("phone the customer".to_string());
                    zh.push("给客户打电话".to_string());
                }
                if !neighbour_asked {
                    en.push("check with a neighbour".to_string());
                    zh.push("向邻居询问".to_string());
                }
                if !door_note {
                    en.push("leave a note on the door".to_string());
                    zh.push("在门上留言".to_string());
                }
                if !center_notified {
                    en.push("notify the center".to_string());
                    zh.push("通知服务中心".to_string());
                }
                Text::new(
                    format!("Not yet \"customer absent\": {}.", en.join("; ")),
                    format!("还不能记为“客户不在家”：请{}。", zh.join("；")),
                )
            }
            EntryIncomplete => Text::new(
                "Before entering: the door must be answered, then greet the customer and show your work permit.",
                "进门前：客户开门后，请先问候并出示上岗证。",
            ),
            ProtectionMissing { shoe_covers, drop_cloth } => {
                let mut en = vec![];
                let mut zh = vec![];
                if !shoe_covers {
                    en.push("put on shoe covers (or record the customer's waiver)");
                    zh.push("穿好鞋套（或记录客户免穿）");
                }
                if !drop_cloth {
                    en.push("lay the drop cloth and put the toolbox on it (or record why there is none)");
                    zh.push("铺好垫布并将工具箱放在垫布上（或记录未铺原因）");
                }
                Text::new(format!("First {}.", en.join(" and ")), format!("请先{}。", zh.join("，")))
            }
            BackupConsentRequired { warned } => Text::new(
                if *warned {
                    "No disk or OS work without the customer's signed backup consent. Ask the customer to sign it.".to_string()
                } else {
                    "No disk or OS work yet: warn the customer of possible data loss and get a signed backup consent.".to_string()
                },
                if *warned {
                    "客户未签署数据备份确认，不能进行硬盘或系统操作。请客户签字确认。".to_string()
                } else {
                    "不能进行硬盘或系统操作：请先告知客户数据可能丢失的风险，并请客户签署数据备份确认。".to_string()
                },
            ),
            TakeBackIncomplete { loaner, appearance, receipt } => {
                let mut en = vec![];
                let mut zh = vec![];
                if !loaner {
                    en.push("offer a loaner unit (accepted or declined)");
                    zh.push("向客户提供周转机（接受或拒绝）");
                }
                if !appearance {
                    en.push("record the unit's appearance");
                    zh.push("记录机器外观");
                }
                if !receipt {
                    en.push("have the customer sign the receipt");
                    zh.push("请客户签收条");
                }
                Text::new(
                    format!("The unit cannot be taken back yet: {}.", en.join("; ")),
                    format!("还不能拉修：请{}。", zh.join("；")),
                )
            }
            FeeScheduleNotShown => Text::new(
                "Show the customer the official fee schedule before quoting any charge.",
                "报价前请先向客户出示收费标准。",
            ),
            DiscountNeedsApproval => Text::new(
                "A discount needs an approval code from the center. Call the center, or quote without the discount.",
                "优惠须经服务中心批准。请联系服务中心获取批准码，或按原价报价。",
            ),
            DiscountOverApproval { approved, asked } => Text::new(
                format!("The center approved at most ¥{} off this order; the discount asks ¥{}. Quote within the approval, or ask the center for a new one.", yuan(*approved), yuan(*asked)),
                format!("服务中心为本工单批准的优惠最多{}元，本次优惠{}元超出批准额度。请在额度内报价，或请服务中心重新批准。", yuan(*approved), yuan(*asked)),
            ),
            DiscountApprovalUnknown { approval_code: code } => Text::new(
                format!("The approval code {code} is not an approval the center gave for this work order and this discount amount. Check the code and the amount with the center."),
                format!("批准码“{code}”不是服务中心为本工单及该优惠金额给出的批准码，请与服务中心核对批准码和优惠金额。"),
            ),
            WarrantyCardUnevidenced { item, name } => {
                let name = name.clone().unwrap_or_else(|| Text::new(item, item));
                Text::new(
                    format!("The warranty card's lower price for {} applies only with a photo of the card: photograph it and add the photo to the quote line.", name.en),
                    format!("“{}”按保修卡上较低的价格收费，须拍摄保修卡照片并附在报价项上。", name.zh),
                )
            }
            QuoteInvalid { problem } => Text::new(
                format!("The quote cannot be made: {}.", problem.en),
                format!("无法生成报价：{}。", problem.zh),
            ),
            QuoteNotAccepted { revision } => Text::new(
                match revision {
                    Some(r) => format!("This is a chargeable visit: the customer must accept quote revision {r} before work is recorded."),
                    None => "This is a chargeable visit: present a quote and have the customer accept it before work is recorded.".to_string(),
                },
                match revision {
                    Some(r) => format!("本次为收费服务：客户确认第{r}版报价后才能开始维修。"),
                    None => "本次为收费服务：请先报价，客户确认后才能开始维修。".to_string(),
                },
            ),
            PartNotQuoted { item, name } => {
                let name = name.clone().unwrap_or_else(|| Text::new(item, item));
                Text::new(
                    format!("The part {} is not on the quote: present a revised quote (and get it accepted if chargeable) before fitting it.", name.en),
                    format!("备件“{}”不在报价单上：请先重新报价（收费项目须经客户确认）再更换。", name.zh),
                )
            }
            QuoteRevisionMismatch { current, accepted } => Text::new(
                format!("The customer accepted revision {accepted}, but the quote on screen is revision {current}. Show the current quote again."),
                format!("客户确认的是第{accepted}版报价，当前为第{current}版，请重新出示当前报价。"),
            ),
            NotTested => Text::new(
                "The visit cannot close as fixed: run a test that passes, or schedule a callback in 2 hours if there is no time to test.",
                "不能按“已修复”结束：请试机并通过，或在来不及试机时安排2小时后回访。",
            ),
            CleanUpIncomplete { items } => {
                let names: Vec<Text> = items.iter().map(|i| clean_up_item(i)).collect();
                let (en, zh) = named(items, &names);
                Text::new(
                    format!("Clean-up not finished: {en}."),
                    format!("清洁整理未完成：{zh}。"),
                )
            }
            PaymentMismatch { expected, got } => Text::new(
                format!("Collect exactly the accepted quote: {} (entered {}). A different amount needs a new quote accepted by the customer.", yuan(*expected), yuan(*got)),
                format!("请按客户确认的报价收费：{}元（输入的是{}元）。金额变更须重新报价并经客户确认。", yuan(*expected), yuan(*got)),
            ),
            DepositIou { deposit } => Text::new(
                format!("The bottle deposit ({}) is never taken as an IOU: collect it now, or do not leave the bottle.", yuan(*deposit)),
                format!("桶押金（{}元）不能打欠条：请当场收取，否则不能留桶。", yuan(*deposit)),
            ),
            InspectionFailed { items, names } => {
                if items.is_empty() {
                    Text::new(
                        "Do not install yet: inspect the goods first (seal intact, no leaks, no foreign matter).",
                        "还不能安装：请先检查水桶（密封完好、无渗漏、无异物）。",
                    )
                } else {
                    let (en, zh) = named(items, names);
                    Text::new(
                        format!("Do not install: inspection failed for {en}. Replace with a bottle that passes (seal intact, no leaks, no foreign matter)."),
                        format!("不能安装：{zh}检查未通过。请更换密封完好、无渗漏、无异物的水桶。"),
                    )
                }
            }
            WorkNotOffered { kind } => {
                let kind = kind.label();
                Text::new(
                    format!("This trade does not do {} work on a visit: book it with the center as its own service.", kind.en.to_lowercase()),
                    format!("本服务不含“{}”类作业：请通过服务中心另行预约。", kind.zh),
                )
            }
            GuardianRequired => Text::new(
                "Care work needs the guardian present: record the guardian first.",
                "服务时须有监护人在场：请先记录在场的监护人。",
            ),
            ReportSigned { version } => Text::new(
                format!("Report version {version} is signed and cannot change. Reopen it as a new version; the customer must sign again."),
                format!("第{version}版服务报告已签字，不能修改。如需变更请重开新版本，并请客户重新签字。"),
            ),
            SignatureInvalid { problem } => Text::new(
                format!("The sign-off is not valid: {problem}."),
                format!("签字确认无效：{problem}。"),
            ),
            NotReadyToSign { missing } => {
                let needs: Vec<Text> = missing.iter().map(|m| needs_text(m)).collect();
                let (en, zh) = named(missing, &needs);
                Text::new(
                    format!("The report is not ready for the customer's signature: first {en}."),
                    format!("服务报告尚不能签字：请先完成{zh}。"),
                )
            }
            BelongingsNotChecked => Text::new(
                "Check the client's belongings together with the client before leaving.",
                "离开前请与客户一起清点物品。",
            ),
            NoSignOff => Text::new(
                "Before leaving, ask the customer to rate and sign — or record that the customer declined to sign. Never sign for the customer.",
                "离开前请客户评价并签字，或记录客户拒绝签字。严禁代签。",
            ),
            AcceptanceCodeRequired { wrong_codes: 0 } => Text::new(
                "Before leaving, ask the customer for the acceptance code the center sent by SMS and enter it — or record why the customer will not give it.",
                "离开前请向客户索取服务中心短信发送的验收码并输入；客户不提供的，请记录原因。",
            ),
            AcceptanceCodeRequired { wrong_codes } => Text::new(
                format!("The acceptance code is not accepted yet ({wrong_codes} wrong). Ask the customer to read the code from the SMS again, or record why the customer will not give it."),
                format!("验收码尚未通过（已输错{wrong_codes}次）。请客户再次核对短信中的验收码，或记录客户不提供的原因。"),
            ),
            AcceptanceCodeNotIssued => Text::new(
                "The center issued no acceptance code for this work order: nothing to enter.",
                "服务中心未给此工单发放验收码，无需输入。",
            ),
            AcceptanceCodeAlreadyAccepted => Text::new(
                "The acceptance code was already accepted.",
                "验收码已通过，无需再次输入。",
            ),
            Money { problem } => Text::new(format!("Amount error: {}.", problem.en), format!("金额错误：{}。", problem.zh)),
            PhotoRequired { step, names, .. } => {
                let en = names.iter().map(|n| n.en.as_str()).collect::<Vec<_>>().join(", ");
                let zh = names.iter().map(|n| n.zh.as_str()).collect::<Vec<_>>().join("、");
                Text::new(
                    format!("Take the required photos of the \"{}\" step first: {en}. If a photo cannot be taken (the customer refuses), record why instead.", step.label().en),
                    format!("请先拍摄上一步骤的必拍照片：{zh}。如无法拍摄（例如客户拒绝），请记录原因。"),
                )
            }
        }
    }
}
