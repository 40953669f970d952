//! Form descriptions: for every technician command, the fields a screen (or
//! the CLI) asks for — name, kind, bounds, default, zh-CN/en label and help,
//! choices from the playbook and the visit's state — so no shell lists kit
//! items, fee lines or fault codes, and none writes command JSON by hand.
//! Filling a form into a command is `form_fill::fill`.

use super::bounds;
use super::command::{PaymentMethod, RepairDecision};
use super::command_table::{self, Issuer};
use super::state::VisitState;
use crate::assignment::AssignmentField;
use crate::location::{GeoFix, LocationUnavailable};
use crate::messages::Text;
use crate::money::format_yuan;
use crate::playbook::{FeeItem, FeeKind, Playbook, Step};
use crate::signoff::Stroke;
use serde::{Deserialize, Serialize};

/// What kind of input a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// One line of text; `max` is its length in characters.
    Text,
    /// Several lines of text.
    LongText,
    /// A whole number within `min`..=`max`.
    Integer,
    /// Money in fen, shown and typed as yuan (`168.50`, `¥168.5`).
    Money,
    /// One of `options` (by id).
    Choice,
    /// Any of `options`: one value per chosen option.
    MultiChoice,
    /// `yes` or `no`.
    YesNo,
    /// A moment, RFC 3339 (`2026-12-01T10:00:00+08:00`).
    DateTime,
    /// A day, `2026-12-01`.
    Date,
    /// Whole minutes.
    Duration,
    /// A photo reference (the id of a photo the phone stored).
    Photo,
    /// A signature: strokes drawn on the screen.
    Signature,
    /// The phone's location fix, or why there is none.
    Location,
    /// 1 to 5 stars; never defaulted.
    Rating,
    /// Rows of `item_fields` (`parts_used`, `quote.lines`).
    List,
}

/// One option of a choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChoiceOption {
    pub id: String,
    pub label: Text,
}

/// A field shown only while another field holds one of some values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisibleWhen {
    /// The controlling field's name.
    pub field: String,
    pub any_of: Vec<String>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    /// Dotted path into the command (`amount`, `receipt.number`,
    /// `window.start`); list rows are addressed `parts_used[0].item`.
    pub name: String,
    pub kind: FieldKind,
    /// Required while visible.
    pub required: bool,
    pub label: Text,
    pub help: Option<Text>,
    /// The value the form starts with, as it would be typed.
    pub default: Option<String>,
    /// A starting value worded for the reader (the consent text the customer
    /// signs under): a shell starts the field with the text in its user's
    /// language; `default` holds the zh-CN one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_text: Option<Text>,
    /// Integer/duration/rating bounds, money in fen, text length.
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub options: Vec<ChoiceOption>,
    pub visible_when: Option<VisibleWhen>,
    /// Shown, not edited (the consent text the customer signs).
    pub read_only: bool,
    /// The fields of one row of a `List`.
    pub item_fields: Vec<FormField>,
    /// The rows a `List` starts with (values named by item field).
    pub default_items: Vec<Vec<FormValue>>,
}

/// The form of one action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionForm {
    /// The command's wire name.
    pub action: String,
    pub step: Option<Step>,
    pub label: Text,
    pub help: Option<Text>,
    /// The standard requires this action before the visit can move on.
    pub required: bool,
    pub fields: Vec<FormField>,
}

/// A value typed or captured for one field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum FieldValue {
    Text(String),
    Strokes(Vec<Stroke>),
    Location(GeoFix),
    NoLocation(LocationUnavailable),
}

/// A field's name and its value. Repeat the name for each option of a
/// multi-choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormValue {
    pub name: String,
    pub value: FieldValue,
}

impl FormValue {
    pub fn text(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: FieldValue::Text(value.into()),
        }
    }
}

/// The consent the customer signs under (the sign-off form's consent text).
pub fn consent_text() -> Text {
    Text::new(
        "I confirm the work and the amounts above.",
        "本人确认以上服务内容及金额。",
    )
}

/// Text lengths come from the one bounds table (`workflow::bounds`).
pub use super::bounds::{LONG_TEXT_MAX, TEXT_MAX};
/// The fault-code choice's free-text option.
pub const OTHER: &str = "other";

fn field(name: &str, kind: FieldKind, required: bool, en: &str, zh: &str) -> FormField {
    // The bounds are the core's (`workflow::bounds`): what a form lets
    // through is what `decide` accepts.
    let last = name.rsplit('.').next().unwrap_or(name);
    let number = bounds::number(last);
    let max = match kind {
        FieldKind::Text | FieldKind::LongText => Some(bounds::text_max(last)),
        FieldKind::Rating => Some(5),
        _ => number.map(|b| b.max),
    };
    let min = match kind {
        FieldKind::Rating => Some(1),
        FieldKind::Money | FieldKind::Duration => number.map_or(Some(0), |b| Some(b.min)),
        _ => number.map(|b| b.min),
    };
    FormField {
        name: name.into(),
        kind,
        required,
        label: Text::new(en, zh),
        help: None,
        default: None,
        default_text: None,
        min,
        max,
        options: vec![],
        visible_when: None,
        read_only: false,
        item_fields: vec![],
        default_items: vec![],
    }
}

impl FormField {
    fn help(mut self, en: impl Into<String>, zh: impl Into<String>) -> Self {
        self.help = Some(Text::new(en, zh));
        self
    }
    fn default(mut self, v: impl Into<String>) -> Self {
        self.default = Some(v.into());
        self
    }
    /// A default in both languages: `default` takes the zh-CN one.
    fn default_text(mut self, text: Text) -> Self {
        self.default = Some(text.zh.clone());
        self.default_text = Some(text);
        self
    }
    fn default_opt(mut self, v: Option<String>) -> Self {
        self.default = v;
        self
    }
    fn options(mut self, options: Vec<ChoiceOption>) -> Self {
        self.options = options;
        self
    }
    fn visible_when(mut self, field: &str, any_of: &[&str]) -> Self {
        self.visible_when = Some(VisibleWhen {
            field: field.into(),
            any_of: any_of.iter().map(|s| s.to_string()).collect(),
        });
        self
    }
    fn items(mut self, fields: Vec<FormField>, defaults: Vec<Vec<FormValue>>) -> Self {
        self.item_fields = fields;
        self.default_items = defaults;
        self
    }
}

fn opt(id: &str, en: &str, zh: &str) -> ChoiceOption {
    ChoiceOption {
        id: id.into(),
        label: Text::new(en, zh),
    }
}

/// A choice of a vocabulary type, named as the type names itself.
fn opt_of<T: Serialize>(value: T, label: Text) -> ChoiceOption {
    ChoiceOption {
        id: crate::wire::wire_name(&value),
        label,
    }
}

fn text(name: &str, required: bool, en: &str, zh: &str) -> FormField {
    field(name, FieldKind::Text, required, en, zh)
}

fn long(name: &str, required: bool, en: &str, zh: &str) -> FormField {
    field(name, FieldKind::LongText, required, en, zh)
}

fn yes_no(name: &str, en: &str, zh: &str) -> FormField {
    field(name, FieldKind::YesNo, true, en, zh)
}

fn reason() -> FormField {
    long("reason", true, "Reason", "原因")
}

fn window(prefix: &str, visible: Option<(&str, &[&str])>) -> Vec<FormField> {
    let start = field(
        &format!("{prefix}.start"),
        FieldKind::DateTime,
        true,
        "From",
        "开始时间",
    );
    let end = field(
        &format!("{prefix}.end"),
        FieldKind::DateTime,
        true,
        "Until",
        "结束时间",
    );
    match visible {
        Some((f, v)) => vec![start.visible_when(f, v), end.visible_when(f, v)],
        None => vec![start, end],
    }
}

/// A fee line's label with its price: `上门费 ¥30.00`.
pub fn fee_label(f: &FeeItem) -> Text {
    let price = format_yuan(f.price);
    Text::new(
        format!("{} {price}", f.name.en),
        format!("{} {price}", f.name.zh),
    )
}

fn fee_options(pb: &Playbook, keep: impl Fn(&FeeItem) -> bool) -> Vec<ChoiceOption> {
    pb.fees
        .iter()
        .filter(|f| keep(f))
        .map(|f| ChoiceOption {
            id: f.id.clone(),
            label: fee_label(f),
        })
        .collect()
}

fn parts(pb: &Playbook) -> Vec<ChoiceOption> {
    fee_options(pb, |f| f.kind == FeeKind::Part)
}

/// The kit items still open; all of them once none is (a re-check is allowed).
fn kit_options(s: &VisitState, pb: &Playbook) -> Vec<ChoiceOption> {
    let all_done = pb.kit.iter().all(|k| s.kit.contains_key(&k.id));
    pb.kit
        .iter()
        .filter(|k| all_done || !s.kit.contains_key(&k.id))
        .map(|k| ChoiceOption {
            id: k.id.clone(),
            label: k.name.clone(),
        })
        .collect()
}

fn assignment_fields(s: &VisitState) -> (Vec<ChoiceOption>, Vec<String>) {
    let options = AssignmentField::ALL
        .iter()
        .map(|f| ChoiceOption {
            id: f.as_str().into(),
            label: Text::new(f.en(), f.zh()),
        })
        .collect();
    let open = s
        .open_field_issues()
        .iter()
        .map(|i| i.field.as_str().to_string())
        .collect();
    (options, open)
}

/// The multi-choice default: one value per chosen option, joined by commas
/// (how the CLI and a shell's initial state read it).
fn join(ids: &[String]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.join(","))
}

fn call_outcomes() -> Vec<ChoiceOption> {
    vec![
        opt("reached", "Reached", "已接通"),
        opt("no_answer", "No answer", "无人接听"),
        opt("busy", "Busy", "占线"),
        opt("powered_off", "Phone off", "关机"),
    ]
}

fn work_kind_option(k: super::command::WorkKind) -> ChoiceOption {
    ChoiceOption {
        id: crate::wire::wire_name(&k),
        label: k.label(),
    }
}

fn fault_options(pb: &Playbook) -> Vec<ChoiceOption> {
    let mut out: Vec<ChoiceOption> = pb
        .fault_codes
        .iter()
        .map(|c| ChoiceOption {
            id: c.id.clone(),
            label: c.name.clone(),
        })
        .collect();
    out.push(opt(OTHER, "Other (describe)", "其他（请描述）"));
    out
}

/// The fields of a technician command; `None` for center facts and unknown names.
pub fn fields_of(action: &str, s: &VisitState, pb: &Playbook) -> Option<Vec<FormField>> {
    let row = command_table::row_named(action)?;
    if row.issuer == Issuer::Center {
        return None;
    }
    use FieldKind::*;
    let fields = match action {
        "verify_with_center" => {
            let (options, open) = assignment_fields(s);
            vec![
                field(
                    "fields",
                    MultiChoice,
                    true,
                    "Fields to verify",
                    "需核实的信息",
                )
                .options(options)
                .default_opt(join(&open)),
                long("note", false, "Note to the center", "给中心的备注"),
            ]
        }
        "waive_fields" => {
            let (options, open) = assignment_fields(s);
            vec![
                field("fields", MultiChoice, true, "Fields waived", "免填的信息")
                    .options(options)
                    .default_opt(join(&open)),
                text("approved_by", true, "Approved by", "批准人"),
                text("approval_code", true, "Approval code", "批准码"),
            ]
        }
        "record_triage" => {
            let likely = if pb.fault_codes.is_empty() {
                field(
                    "likely_causes",
                    MultiChoice,
                    false,
                    "Likely causes",
                    "可能原因",
                )
            } else {
                field(
                    "likely_causes",
                    MultiChoice,
                    false,
                    "Likely causes",
                    "可能原因",
                )
                .options(
                    pb.fault_codes
                        .iter()
                        .map(|c| ChoiceOption {
                            id: c.id.clone(),
                            label: c.name.clone(),
                        })
                        .collect(),
                )
            };
            vec![
                likely,
                field(
                    "parts_to_bring",
                    MultiChoice,
                    false,
                    "Parts to bring",
                    "需携带备件",
                )
                .options(parts(pb)),
                yes_no(
                    "remote_fixable",
                    "Fixable by phone guidance",
                    "可电话指导解决",
                )
                .default("no"),
            ]
        }
        "resolve_remotely" => vec![long("guidance", true, "Guidance given", "电话指导内容")],
        "log_call" => {
            let purpose = match s.stage {
                super::state::Stage::AtDoor => "at_the_door",
                _ => "appointment",
            };
            vec![
                field("outcome", Choice, true, "Call outcome", "通话结果").options(call_outcomes()),
                field("purpose", Choice, true, "Purpose", "通话目的")
                    .options(vec![
                        opt("appointment", "Appointment", "预约"),
                        opt("running_late", "Running late", "告知迟到"),
                        opt("at_the_door", "At the door", "已到门口"),
                    ])
                    .default(purpose),
                text("note", false, "Note", "备注"),
            ]
        }
        "confirm_appointment" => vec![
            yes_no(
                "address_confirmed",
                "Address confirmed with the customer",
                "已与客户确认地址",
            ),
            yes_no(
                "product_confirmed",
                "Product confirmed (model, purchase date, fault)",
                "已确认产品（型号、购买日期、故障）",
            ),
        ],
        "report_window_conflict" => vec![reason()],
        "agree_new_window" => {
            let mut f = window("window", None);
            f.push(reason());
            f
        }
        "hand_back_to_center" => vec![reason()],
        "check_kit_item" => {
            let options = kit_options(s, pb);
            let first = pb
                .kit
                .iter()
                .filter(|k| !s.kit.contains_key(&k.id))
                .max_by_key(|k| k.mandatory)
                .map(|k| k.id.clone());
            vec![field("item", Choice, true, "Kit item", "物品")
                .options(options)
                .default_opt(first)]
        }
        "skip_kit_item" => vec![
            field("item", Choice, true, "Kit item", "物品").options(kit_options(s, pb)),
            reason(),
        ],
        "depart" => vec![field(
            "travel_minutes",
            Duration,
            true,
            "Travel time (minutes)",
            "路程时间（分钟）",
        )
        .help(
            "The departure plan: leave in time to arrive 5-10 minutes early.",
            "据此计算出发时间：提前5-10分钟到达。",
        )],
        "notify_running_late" => {
            let mut f = vec![
                field("outcome", Choice, true, "Call outcome", "通话结果").options(call_outcomes()),
                field(
                    "choice.choice",
                    Choice,
                    false,
                    "Customer's choice",
                    "客户的选择",
                )
                .options(vec![
                    opt("wait", "Will wait", "愿意等候"),
                    opt("new_window", "A new time", "改约时间"),
                    opt("reassign", "Another technician", "请中心改派"),
                ]),
            ];
            f.extend(window(
                "choice.window",
                Some(("choice.choice", &["new_window"])),
            ));
            f
        }
        "plan_travel" => vec![
            field(
                "estimated_travel_minutes",
                Duration,
                false,
                "Estimated travel time",
                "预计路程时间（分钟）",
            )
            .help(
                "Leave it empty to work it out from where you set off.",
                "不填则按出发地点到客户的距离计算。",
            ),
            field(
                "from",
                Location,
                false,
                "Setting off from (previous job)",
                "出发地点（上一单）",
            )
            .help(
                "Where the trip starts; empty: your last recorded position.",
                "行程起点；不填则用最近记录的位置。",
            ),
        ],
        "arrive" => vec![
            field("location", Location, true, "Your location", "当前位置").help(
                "The phone's fix; if location is refused or there is no fix, that is recorded.",
                "手机定位；拒绝定位权限或无法定位时如实记录。",
            ),
            text(
                "outside_geofence_reason",
                false,
                "Why outside the address area",
                "不在地址范围内的原因",
            ),
        ],
        "apologise_for_lateness" => vec![
            yes_no("gift_offered", "Small gift offered", "已赠送小礼品"),
            yes_no("gift_accepted", "Apology accepted", "客户接受道歉"),
        ],
        "check_appearance" => vec![
            field("items", MultiChoice, true, "Checked", "已检查").options(
                pb.appearance
                    .iter()
                    .map(|a| ChoiceOption {
                        id: a.id.clone(),
                        label: a.name.clone(),
                    })
                    .collect(),
            ),
        ],
        "knock" => vec![field("method", Choice, true, "How", "方式")
            .options(vec![
                opt("bell", "Rang the bell", "按门铃"),
                opt("knock", "Knocked", "敲门"),
            ])
            .default("knock")],
        "ask_neighbour" => vec![long("note", true, "What the neighbour said", "邻居的说法")],
        "enter" => vec![
            yes_no(
                "greeted",
                "Greeted and introduced myself",
                "已问候并自我介绍",
            ),
            yes_no("permit_shown", "Work permit shown", "已出示上岗证"),
        ],
        "record_entry_exception" => {
            let mut f = vec![
                field("exception", Choice, true, "What happened", "情况").options(vec![
                    opt("customer_not_home", "Customer not home", "客户不在家"),
                    opt("nanny_refuses", "Nanny refuses entry", "保姆不让进门"),
                    opt("product_elsewhere", "Product is elsewhere", "产品不在此处"),
                    opt("power_cut", "Power cut", "停电"),
                    opt("customer_busy", "Customer busy", "客户没空"),
                ]),
            ];
            f.extend(window("new_window", None));
            f
        }
        "waive_shoe_covers" => vec![long("note", true, "What the customer said", "客户的要求")],
        "waive_drop_cloth" => {
            // Skipped at the kit check: the skip's reason is the waiver's note.
            let skipped = match s.kit.get(crate::playbook::DROP_CLOTH_KIT_ITEM) {
                Some(super::state::KitStatus::Skipped { reason }) => Some(reason.clone()),
                _ => None,
            };
            vec![long("note", true, "Why no drop cloth", "未铺垫布的原因").default_opt(skipped)]
        }
        "record_diagnosis" => {
            let cause = if pb.fault_codes.is_empty() {
                text("cause", true, "Cause", "故障原因")
            } else {
                field("cause", Choice, true, "Cause", "故障原因").options(fault_options(pb))
            };
            let decisions = RepairDecision::ALL
                .into_iter()
                .filter(|d| *d != RepairDecision::TakeBack || pb.rules.take_back)
                .map(|d| opt_of(d, d.label()))
                .collect();
            let mut f = vec![
                yes_no("fault_reproduced", "Fault reproduced", "故障已复现"),
                cause,
            ];
            if !pb.fault_codes.is_empty() {
                f.push(
                    text("cause_other", true, "Cause (describe)", "故障原因（描述）")
                        .visible_when("cause", &[OTHER]),
                );
            }
            f.push(long(
                "note",
                false,
                "Note (what else was found)",
                "备注（其他发现）",
            ));
            f.push(
                field("parts", MultiChoice, false, "Parts needed", "所需备件").options(parts(pb)),
            );
            f.push(
                field("decision", Choice, true, "Decision", "处理方式")
                    .options(decisions)
                    .default("fix_on_site"),
            );
            f
        }
        "sign_backup_consent" => vec![field(
            "strokes",
            Signature,
            true,
            "Customer's signature",
            "客户签字",
        )
        .help(
            "The customer agrees that data may be lost and a backup was offered.",
            "客户确认知晓数据可能丢失，并已提供备份。",
        )],
        "offer_loaner" => vec![yes_no("accepted", "Loaner accepted", "客户接受周转机")],
        "record_unit_appearance" => vec![long(
            "description",
            true,
            "Unit appearance (scratches, dents, accessories)",
            "机器外观（划痕、磕碰、附件）",
        )],
        "sign_custody_receipt" => vec![field(
            "strokes",
            Signature,
            true,
            "Customer's signature",
            "客户签字",
        )],
        "take_back" => vec![field("return_by", Date, true, "Return by", "承诺归还日期")],
        "report_missing_part" => {
            let first = s.diagnosis.as_ref().and_then(|d| d.parts.first().cloned());
            let mut f = vec![
                field("part", Choice, true, "Missing part", "缺少的备件")
                    .options(parts(pb))
                    .default_opt(first),
                field("resolution.resolution", Choice, true, "Then", "处理方式").options(vec![
                    opt("fetch_now", "Fetch it now", "马上取件"),
                    opt("new_visit", "A new visit", "改约上门"),
                ]),
            ];
            f.extend(window(
                "resolution.window",
                Some(("resolution.resolution", &["new_visit"])),
            ));
            f
        }
        "inspect_item" => {
            let goods = fee_options(pb, |f| f.kind == FeeKind::Goods);
            let options = if goods.is_empty() {
                fee_options(pb, |_| true)
            } else {
                goods
            };
            let next = s
                .assignment
                .as_ref()
                .and_then(|a| {
                    a.order
                        .iter()
                        .find(|l| !s.inspected.get(&l.item).copied().unwrap_or(false))
                })
                .map(|l| l.item.clone())
                .filter(|i| options.iter().any(|o| &o.id == i));
            vec![
                field("item", Choice, true, "Item", "物品")
                    .options(options)
                    .default_opt(next),
                yes_no("seal_intact", "Seal intact", "封口完好"),
                yes_no("no_leaks", "No leaks", "无渗漏"),
                yes_no("no_foreign_matter", "No foreign matter", "无异物"),
            ]
        }
        "present_quote" => vec![
            field("quote.lines", List, true, "Quote lines", "报价明细").items(
                vec![
                    field("item", Choice, true, "Fee item", "收费项目")
                        .options(fee_options(pb, |_| true)),
                    field("qty", Integer, true, "Quantity", "数量").default("1"),
                    field(
                        "warranty_card_price",
                        Money,
                        false,
                        "Price on the warranty card",
                        "保修卡价格",
                    ),
                    field(
                        "warranty_card_photo",
                        Photo,
                        false,
                        "Photo of the warranty card",
                        "保修卡照片",
                    )
                    .help(
                        "Needed when the card's price is lower than the schedule's.",
                        "保修卡价格低于收费标准时必须拍照。",
                    ),
                ],
                quote_defaults(s, pb),
            ),
            field(
                "quote.discount.amount",
                Money,
                false,
                "Discount",
                "优惠金额",
            ),
            text(
                "quote.discount.approval_code",
                false,
                "Discount approval code",
                "优惠批准码",
            ),
            text(
                "quote.discount.approved_by",
                false,
                "Discount approved by",
                "优惠批准人",
            ),
        ],
        "accept_quote" => {
            let revision = s.quote.as_ref().map(|q| q.revision);
            let total = s.quote.as_ref().map(|q| format_yuan(q.customer_total));
            let mut f = field("revision", Integer, true, "Quote revision", "报价版本")
                .default_opt(revision.map(|r| r.to_string()));
            f.read_only = true;
            if let Some(total) = total {
                f = f.help(
                    format!("The customer pays {total}."),
                    format!("客户应付{total}。"),
                );
            }
            vec![f]
        }
        "refuse_quote" => vec![reason()],
        "record_guardian" => vec![
            text("name", true, "Guardian's name", "监护人姓名"),
            text("relation", true, "Relation to the client", "与客户关系"),
        ],
        "record_work" => {
            let kinds: Vec<ChoiceOption> = pb
                .rules
                .work_kinds
                .iter()
                .map(|k| work_kind_option(*k))
                .collect();
            let first = kinds.first().map(|k| k.id.clone());
            let quoted_parts: Vec<ChoiceOption> = s
                .quote
                .as_ref()
                .map(|q| {
                    q.lines
                        .iter()
                        .filter(|l| l.kind == FeeKind::Part)
                        .filter_map(|l| pb.fee(&l.item))
                        .map(|f| ChoiceOption {
                            id: f.id.clone(),
                            label: fee_label(f),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let defaults = quoted_parts
                .iter()
                .map(|p| vec![FormValue::text("item", p.id.clone())])
                .collect();
            vec![
                long("description", true, "Work done", "服务内容"),
                field("kind", Choice, true, "Kind of work", "服务类型")
                    .options(kinds)
                    .default_opt(first),
                field("parts_used", List, false, "Parts fitted", "更换的备件").items(
                    vec![
                        field("item", Choice, true, "Part", "备件").options(quoted_parts),
                        text("old_serial", false, "Old serial number", "旧件序列号"),
                        text("new_serial", false, "New serial number", "新件序列号"),
                    ],
                    defaults,
                ),
            ]
        }
        "report_hidden_fault" => vec![long("description", true, "Hidden fault", "隐藏故障")],
        "record_test_run" => vec![
            yes_no("passed", "Test run passed", "试机正常"),
            field(
                "uncertain",
                YesNo,
                false,
                "Fix uncertain (3 h callback)",
                "修复效果不确定（3小时回访）",
            )
            .default("no"),
            long("notes", false, "Notes", "备注"),
        ],
        "schedule_untested_callback" => vec![reason()],
        "clean_up" => vec![
            yes_no(
                "product_restored",
                "Product put back in place",
                "产品已复位",
            ),
            yes_no("wiped", "Product wiped clean", "产品已擦拭干净"),
            yes_no("floor_cleaned", "Floor cleaned", "地面已清洁"),
            yes_no("no_tool_left", "No tool left behind", "工具已清点，无遗留"),
        ],
        "collect_payment" => {
            let due = s.amount_due().filter(|d| *d > 0);
            let mut amount = field("amount", Money, true, "Amount", "收费金额")
                .default_opt(due.map(crate::money::yuan_digits));
            if let Some(d) = due {
                amount = amount.help(
                    format!("Amount due: {}", format_yuan(d)),
                    format!("应收金额：{}", format_yuan(d)),
                );
            }
            vec![
                amount,
                field("method", Choice, true, "Payment method", "付款方式").options(
                    PaymentMethod::ALL
                        .into_iter()
                        .map(|m| opt_of(m, m.label()))
                        .collect(),
                ),
                field("receipt.kind", Choice, true, "Receipt", "票据")
                    .options(vec![
                        opt("receipt", "Receipt", "收据"),
                        opt("invoice", "Invoice", "发票"),
                        opt(
                            "invoice_to_be_delivered",
                            "Invoice delivered later",
                            "发票后补",
                        ),
                    ])
                    .default("receipt"),
                text(
                    "receipt.number",
                    true,
                    "Receipt or invoice number",
                    "票据号码",
                )
                .visible_when("receipt.kind", &["receipt", "invoice"]),
                field(
                    "receipt.by",
                    Date,
                    true,
                    "Invoice delivered by",
                    "发票送达日期",
                )
                .visible_when("receipt.kind", &["invoice_to_be_delivered"]),
            ]
        }
        "refuse_payment" | "defer_payment" => vec![reason()],
        "request_invoice" => vec![
            field("buyer.buyer_type", Choice, true, "Buyer", "购买方类型")
                .options(vec![
                    opt("personal", "Personal", "个人"),
                    opt("company", "Company", "单位"),
                ])
                .default("personal"),
            text("buyer.title", true, "Invoice title", "发票抬头").help(
                "The company's registered name, or the person's name",
                "单位的登记名称或个人姓名",
            ),
            text("buyer.tax_number", true, "Tax number", "纳税人识别号")
                .help(
                    "18-character unified social credit code",
                    "18 位统一社会信用代码",
                )
                .visible_when("buyer.buyer_type", &["company"]),
            text(
                "buyer.email",
                false,
                "E-mail for the invoice",
                "接收发票的电子邮箱",
            ),
            text(
                "buyer.phone",
                false,
                "Mobile for the invoice",
                "接收发票的手机号",
            )
            .help(
                "An e-mail address or a mobile number, or both",
                "电子邮箱和手机号至少填一项",
            ),
        ],
        "sign_off" => {
            let mut consent_field =
                long("consent_text", true, "Consent", "确认声明").default_text(consent_text());
            consent_field.read_only = true;
            let mut digest = text(
                "shown_digest",
                false,
                "Report digest shown to the customer",
                "向客户展示的报告摘要",
            );
            digest.read_only = true;
            vec![
                field("ratings.quality", Rating, true, "Service quality", "服务质量"),
                field("ratings.attitude", Rating, true, "Service attitude", "服务态度"),
                long("comment", false, "Comment", "意见或建议"),
                field("strokes", Signature, true, "Customer's signature", "客户签字"),
                consent_field,
                digest.help(
                    "The digest of the report the signing screen showed (preview); signing is refused if the report changed.",
                    "签字界面展示的报告摘要；报告若已变化则拒绝签字。",
                ),
            ]
        }
        "decline_signature" => vec![reason()],
        "enter_acceptance_code" => vec![text("code", true, "Acceptance code", "验收码").help(
            "The 6 digits the customer received by SMS from the center.",
            "客户收到的服务中心短信中的6位数字。",
        )],
        "withhold_acceptance_code" => vec![reason()],
        "reopen_report" => vec![reason()],
        "leave" => vec![
            yes_no("service_card_given", "Service card given", "已递交服务卡"),
            yes_no(
                "shoe_covers_off_at_door",
                "Shoe covers taken off at the door",
                "在门口脱鞋套",
            ),
        ],
        "record_incident" => vec![
            field("kind", Choice, true, "Incident", "事件类型").options(vec![
                opt("damage", "Damage", "物品损坏"),
                opt("gift_declined", "Gift declined", "婉拒礼品"),
                opt("hospitality_declined", "Hospitality declined", "婉拒招待"),
                opt("complaint", "Complaint", "客户投诉"),
                opt("other", "Other", "其他"),
            ]),
            long("description", true, "What happened", "经过"),
            field("compensation", Money, false, "Compensation", "赔偿金额"),
        ],
        "take_photo" | "record_photo_not_taken" => {
            let moment = field("moment", Choice, true, "Photo", "拍照节点").options(
                pb.photos
                    .iter()
                    .map(|m| opt(&m.id, &m.name.en, &m.name.zh))
                    .collect(),
            );
            if action == "record_photo_not_taken" {
                vec![moment, reason()]
            } else {
                let digest = field("digest", Photo, true, "Photo", "照片").help(
                    "The SHA-256 of the stored photo: the phone fills it in when it stores the picture.",
                    "已保存照片的SHA-256摘要，由手机保存照片时自动填写。",
                );
                let pixels = |name: &str, en: &str, zh: &str| field(name, Integer, true, en, zh);
                vec![
                    moment,
                    digest,
                    field("size_bytes", Integer, true, "Size (bytes)", "大小（字节）"),
                    pixels("width", "Width (pixels)", "宽度（像素）"),
                    pixels("height", "Height (pixels)", "高度（像素）"),
                ]
            }
        }
        // Commands with nothing to fill in.
        _ => vec![],
    };
    Some(fields)
}

/// The quote's starting lines: the visit fee, the parts the diagnosis named
/// (fee items), and a delivery's ordered goods.
fn quote_defaults(s: &VisitState, pb: &Playbook) -> Vec<Vec<FormValue>> {
    let mut lines: Vec<(String, u32)> = pb
        .fees
        .iter()
        .filter(|f| f.kind == FeeKind::Visit)
        .map(|f| (f.id.clone(), 1))
        .collect();
    if let Some(d) = &s.diagnosis {
        for p in &d.parts {
            if pb.fee(p).is_some() && !lines.iter().any(|(i, _)| i == p) {
                lines.push((p.clone(), 1));
            }
        }
    }
    if let Some(a) = &s.assignment {
        for l in &a.order {
            if pb.fee(&l.item).is_some() && !lines.iter().any(|(i, _)| *i == l.item) {
                lines.push((l.item.clone(), l.qty));
            }
        }
    }
    lines
        .into_iter()
        .map(|(item, qty)| {
            vec![
                FormValue::text("item", item),
                FormValue::text("qty", qty.to_string()),
            ]
        })
        .collect()
}

/// The form of one technician action at this state of the visit; `None` for
/// center facts and unknown names.
pub fn form(action: &str, s: &VisitState, pb: &Playbook, required: bool) -> Option<ActionForm> {
    let row = command_table::row_named(action)?;
    let fields = fields_of(action, s, pb)?;
    let help = match action {
        "show_fee_schedule" => Some(fee_schedule_help(pb)),
        "warn_data_risk" => Some(Text::new(
            "Tell the customer that disk or system work may lose data, and offer a backup.",
            "告知客户硬盘或系统操作可能导致数据丢失，并提供备份。",
        )),
        _ => None,
    };
    Some(ActionForm {
        action: row.name.to_string(),
        step: row.step,
        label: row.label(),
        help,
        required,
        fields,
    })
}

fn fee_schedule_help(pb: &Playbook) -> Text {
    let lines = |zh: bool| {
        pb.fees
            .iter()
            .map(|f| {
                let t = fee_label(f);
                if zh {
                    t.zh
                } else {
                    t.en
                }
            })
            .collect::<Vec<_>>()
    };
    Text::new(lines(false).join("; "), lines(true).join("；"))
}

/// The form of every action the visit offers now (`next_actions`), in order.
pub fn action_forms(s: &VisitState, pb: &Playbook) -> Vec<ActionForm> {
    super::view::offered_actions(s, pb)
        .into_iter()
        .filter_map(|(name, required)| form(name, s, pb, required))
        .collect()
}
