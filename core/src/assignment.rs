//! The assignment (工单) as the center issues it: customer, product, fault and
//! requested window. The center owns every field here; the device only reads
//! it and reports which required fields are missing or inconsistent (接活).

use crate::acceptance_code::AcceptanceCheck;
use crate::ids::{AssignmentId, TechnicianId, TradeId};
use crate::location::GeoPoint;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A time window agreed with the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl TimeWindow {
    pub fn is_valid(&self) -> bool {
        self.end > self.start
    }
    pub fn overlaps(&self, other: &TimeWindow) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Warranty status as the center knows it (保修 / 保外).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Warranty {
    InWarranty,
    OutOfWarranty,
    #[default]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    /// IANA zone for display, e.g. `Asia/Shanghai`.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// The part of a Chinese address that names its district: up to its last
/// province, city, district or county marker among the first 12 characters
/// (`上海市浦东新区世纪大道88号` → `上海市浦东新区`); empty when it has none.
/// What may be shown where the street and house number must not be (a
/// photo's watermark, a masked contact).
pub fn district_of(address: &str) -> String {
    let chars: Vec<char> = address.trim().chars().take(12).collect();
    let cut = chars
        .iter()
        .rposition(|c| matches!(c, '省' | '市' | '区' | '县' | '州' | '旗'))
        .map_or(0, |i| i + 1);
    chars[..cut].iter().collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    /// Installation date, for the free software adjustment within a month.
    #[serde(default)]
    pub installed_on: Option<NaiveDate>,
    #[serde(default)]
    pub warranty: Warranty,
}

/// A work order pushed by the center.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assignment {
    pub id: AssignmentId,
    /// Increases with every change the center makes.
    pub version: u64,
    pub trade: TradeId,
    #[serde(default)]
    pub technician: Option<TechnicianId>,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub fault_description: Option<String>,
    #[serde(default)]
    pub requested_window: Option<TimeWindow>,
    /// When the center received the request (for the 1-hour and 24-hour rules).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// Items ordered in advance (water delivery) as fee-schedule ids and quantities.
    #[serde(default)]
    pub order: Vec<OrderLine>,
    /// Care items planned for the visit (home care).
    #[serde(default)]
    pub service_items: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// How the phone checks the customer's acceptance code offline, when
    /// the trade asks for one (`acceptance_code`; the code itself never
    /// reaches the phone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<Box<AcceptanceCheck>>,
    /// Required fields the center waived for this order, oldest first: the
    /// desk's answer to a technician's verification request, carried to the
    /// phone with the order (STANDARDS §2.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub center_waivers: Vec<CenterWaiver>,
    /// Discounts the center approved for this order, oldest first
    /// (STANDARDS §2.12; `crate::discount_approval`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discount_approvals: Vec<DiscountApproval>,
}

/// STANDARDS §2.12 (报价): "discounts only with a center approval" — the
/// online kind (`crate::discount_approval` owns the offline short code and
/// the check).
/// A discount the center approved online for one work order, carried on the
/// order's version that first held it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DiscountApproval {
    /// The center's reference: the order and the version that first
    /// carried it (`A-1001-d4`), what the technician quotes with.
    pub reference: String,
    /// The most the discount may take off, in minor units.
    pub max_amount: i64,
    /// Who at the center approved it.
    pub approver: String,
    pub at: DateTime<Utc>,
}

impl DiscountApproval {
    /// The reference of an approval carried by `assignment`'s `version`.
    pub fn reference_of(assignment: &str, version: u64) -> String {
        format!("{assignment}-d{version}")
    }
}

/// STANDARDS §2.1 (接活): missing or inconsistent fields "resolved or
/// explicitly waived by the center" — a waiver the desk gave in the console,
/// as the order carries it. Unlike a waiver the technician records after a
/// call (`waive_fields`), it needs no approval code typed on the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CenterWaiver {
    pub fields: Vec<AssignmentField>,
    /// The dispatcher who waived them.
    pub approved_by: String,
    /// The center's reference for the waiver: the order and the version that
    /// first carried it (`A-1001-v3`).
    pub approval_code: String,
    pub at: DateTime<Utc>,
}

impl CenterWaiver {
    /// The reference a waiver carried by `assignment`'s `version` has.
    pub fn approval_code_of(assignment: &AssignmentId, version: u64) -> String {
        format!("{assignment}-v{version}")
    }
}

/// An item from the fee schedule with a quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLine {
    pub item: String,
    #[serde(default = "one")]
    pub qty: u32,
}

fn one() -> u32 {
    1
}

/// The assignment fields a playbook may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentField {
    CustomerName,
    CustomerAddress,
    CustomerPhone,
    CustomerLocation,
    ProductModel,
    PurchaseDate,
    FaultDescription,
    RequestedWindow,
    Order,
    ServiceItems,
}

impl AssignmentField {
    pub const ALL: [AssignmentField; 10] = [
        Self::CustomerName,
        Self::CustomerAddress,
        Self::CustomerPhone,
        Self::CustomerLocation,
        Self::ProductModel,
        Self::PurchaseDate,
        Self::FaultDescription,
        Self::RequestedWindow,
        Self::Order,
        Self::ServiceItems,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerName => "customer_name",
            Self::CustomerAddress => "customer_address",
            Self::CustomerPhone => "customer_phone",
            Self::CustomerLocation => "customer_location",
            Self::ProductModel => "product_model",
            Self::PurchaseDate => "purchase_date",
            Self::FaultDescription => "fault_description",
            Self::RequestedWindow => "requested_window",
            Self::Order => "order",
            Self::ServiceItems => "service_items",
        }
    }

    /// The field's name in English, as the screens show it.
    pub fn en(self) -> &'static str {
        match self {
            Self::CustomerName => "Customer name",
            Self::CustomerAddress => "Address",
            Self::CustomerPhone => "Phone",
            Self::CustomerLocation => "Customer location",
            Self::ProductModel => "Product model",
            Self::PurchaseDate => "Purchase date",
            Self::FaultDescription => "Fault description",
            Self::RequestedWindow => "Requested time",
            Self::Order => "Order",
            Self::ServiceItems => "Service items",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Self::CustomerName => "客户姓名",
            Self::CustomerAddress => "地址",
            Self::CustomerPhone => "联系电话",
            Self::CustomerLocation => "客户位置",
            Self::ProductModel => "产品型号",
            Self::PurchaseDate => "购买日期",
            Self::FaultDescription => "故障现象",
            Self::RequestedWindow => "要求上门时间",
            Self::Order => "订货内容",
            Self::ServiceItems => "服务项目",
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum FieldProblem {
    Missing,
    Inconsistent { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldIssue {
    pub field: AssignmentField,
    #[serde(flatten)]
    pub problem: FieldProblem,
}

/// Why a field is inconsistent: the English sentence the issue stores (in
/// the receipt event, so it never changes) and its Chinese.
struct Inconsistency {
    en: &'static str,
    zh: &'static str,
}

const PHONE_NOT_A_NUMBER: Inconsistency = Inconsistency {
    en: "not a phone number (5-15 digits)",
    zh: "不是电话号码（应为5-15位数字）",
};
const LOCATION_OUT_OF_RANGE: Inconsistency = Inconsistency {
    en: "latitude/longitude out of range",
    zh: "经纬度超出范围",
};
const PURCHASED_AFTER_RECEIVED: Inconsistency = Inconsistency {
    en: "purchase date is after the request was received",
    zh: "晚于报修受理日期",
};
const WINDOW_ENDS_BEFORE_START: Inconsistency = Inconsistency {
    en: "window ends before it starts",
    zh: "结束时间早于开始时间",
};
const INCONSISTENCIES: [Inconsistency; 4] = [
    PHONE_NOT_A_NUMBER,
    LOCATION_OUT_OF_RANGE,
    PURCHASED_AFTER_RECEIVED,
    WINDOW_ENDS_BEFORE_START,
];

impl Inconsistency {
    fn problem(&self) -> FieldProblem {
        FieldProblem::Inconsistent {
            reason: self.en.into(),
        }
    }
}

impl FieldIssue {
    /// The issue as the screens show it, field named in each language:
    /// "Phone: not a phone number (5-15 digits)" / "联系电话：不是电话号码（应为5-15位数字）".
    /// A reason this build does not know (stored by a later one) reads
    /// "inconsistent" / "不一致" in Chinese rather than English.
    pub fn text(&self) -> crate::messages::Text {
        let (en, zh) = match &self.problem {
            FieldProblem::Missing => ("missing".to_string(), "缺失"),
            FieldProblem::Inconsistent { reason } => (
                reason.clone(),
                INCONSISTENCIES
                    .iter()
                    .find(|i| i.en == reason)
                    .map_or("不一致", |i| i.zh),
            ),
        };
        crate::messages::Text::new(
            format!("{}: {en}", self.field.en()),
            format!("{}：{zh}", self.field.zh()),
        )
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().map(str::trim).unwrap_or("").is_empty()
}

/// A phone number: 5-15 digits with the usual separators. The center may
/// send it masked (`138****8000`: the technician calls through a privacy
/// number, issue 19): a hidden digit counts as a digit, and at least four
/// stay visible.
fn phone_ok(p: &str) -> bool {
    let digits = p.chars().filter(|c| c.is_ascii_digit()).count();
    let hidden = p.chars().filter(|c| *c == '*').count();
    (5..=15).contains(&(digits + hidden))
        && digits >= 4
        && p.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '+' | '-' | ' ' | '(' | ')'))
}

impl Assignment {
    /// Every field the center has waived for this order.
    pub fn center_waived_fields(&self) -> impl Iterator<Item = AssignmentField> + '_ {
        self.center_waivers
            .iter()
            .flat_map(|w| w.fields.iter().copied())
    }

    /// Checks the required fields: each is present and consistent
    /// (a purchase date in the future, a window that ends before it starts or
    /// a phone number that is not a phone number are inconsistent). Dates
    /// are compared in the business time zone `zone`.
    pub fn field_issues(
        &self,
        required: &[AssignmentField],
        zone: &crate::business_time::BusinessZone,
    ) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        for &field in required {
            let problem = match field {
                AssignmentField::CustomerName => {
                    blank(&self.customer.name).then_some(FieldProblem::Missing)
                }
                AssignmentField::CustomerAddress => {
                    blank(&self.customer.address).then_some(FieldProblem::Missing)
                }
                AssignmentField::CustomerPhone => match self.customer.phone.as_deref() {
                    None => Some(FieldProblem::Missing),
                    Some(p) if p.trim().is_empty() => Some(FieldProblem::Missing),
                    Some(p) if !phone_ok(p) => Some(PHONE_NOT_A_NUMBER.problem()),
                    Some(_) => None,
                },
                AssignmentField::CustomerLocation => match self.customer.location {
                    None => Some(FieldProblem::Missing),
                    Some(p) if !p.is_valid() => Some(LOCATION_OUT_OF_RANGE.problem()),
                    Some(_) => None,
                },
                AssignmentField::ProductModel => {
                    blank(&self.product.model).then_some(FieldProblem::Missing)
                }
                AssignmentField::PurchaseDate => {
                    match (self.product.purchase_date, self.received_at) {
                        (None, _) => Some(FieldProblem::Missing),
                        (Some(d), Some(received)) if d > zone.date_of(received) => {
                            Some(PURCHASED_AFTER_RECEIVED.problem())
                        }
                        _ => None,
                    }
                }
                AssignmentField::FaultDescription => {
                    blank(&self.fault_description).then_some(FieldProblem::Missing)
                }
                AssignmentField::RequestedWindow => match self.requested_window {
                    None => Some(FieldProblem::Missing),
                    Some(w) if !w.is_valid() => Some(WINDOW_ENDS_BEFORE_START.problem()),
                    Some(_) => None,
                },
                AssignmentField::Order => self.order.is_empty().then_some(FieldProblem::Missing),
                AssignmentField::ServiceItems => self
                    .service_items
                    .is_empty()
                    .then_some(FieldProblem::Missing),
            };
            if let Some(problem) = problem {
                issues.push(FieldIssue { field, problem });
            }
        }
        issues
    }
}
