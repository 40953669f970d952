//! Trade playbooks: the data that tells the workflow which steps a trade
//! walks, what the kit is, its timings, fee schedule, scripts and which rules
//! apply. Six trades ship, written in TOML (`trades/`) and compiled into the
//! crate as JSON made from it at build time (`build.rs`), so that reading
//! them takes serde_json only; a company may load its own from JSON, or from
//! TOML with the `toml` feature (the server and the CLI: the phone library
//! carries no TOML parser). Loading validates everything and names the
//! file, field and problem when it refuses. A company publishes its own
//! versions from the server, signed (`published`); the phone and the
//! server walk each visit with the version it started with (`catalog`).

mod catalog;
mod published;
mod validate;

pub use catalog::PlaybookCatalog;
pub use published::{PlaybookSigningKey, PublishedPlaybook, PublishedPlaybookError};
pub use validate::PlaybookError;

use crate::assignment::AssignmentField;
use crate::ids::TradeId;
use crate::messages::Text;
use crate::money::Currency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The steps of a visit, in the order of STANDARDS.md §2. A playbook lists
/// the ones its trade walks, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// 接活: required fields present, or verified with / waived by the center.
    Receive,
    /// 分析: likely causes and parts; remote resolution where possible.
    Triage,
    /// 预约: call the customer and confirm the window.
    Confirm,
    /// 准备: kit self-check.
    Prepare,
    /// Leave for the customer in time to arrive 5-10 minutes early.
    Depart,
    /// Arrival, geofence and punctuality.
    Arrive,
    /// Appearance self-check before the door.
    Appearance,
    /// 敲门: the door-knock protocol.
    Knock,
    /// Greet, introduce, show the permit, enter.
    Enter,
    /// 鞋套 and 垫布: shoe covers and drop cloth.
    Protect,
    /// 故障诊断.
    Diagnose,
    /// Goods inspection before installing (water bottles: seal, leaks, foreign matter).
    Inspect,
    /// 报价 from the fee schedule, and its acceptance.
    Quote,
    /// The work itself: repair, installation or care items.
    Work,
    /// 试机通检.
    Test,
    /// Brief the customer on use and care.
    Teach,
    /// Restore, wipe, clean the floor, no tool left behind.
    CleanUp,
    /// 收费.
    Payment,
    /// 签字/征询意见.
    SignOff,
    /// 验收码: the customer's acceptance code, in addition to the sign-off.
    Acceptance,
    /// Home care: check belongings together with the client.
    Belongings,
    /// Leave: service card, shoe covers off at the door.
    Leave,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Receive => "receive",
            Step::Triage => "triage",
            Step::Confirm => "confirm",
            Step::Prepare => "prepare",
            Step::Depart => "depart",
            Step::Arrive => "arrive",
            Step::Appearance => "appearance",
            Step::Knock => "knock",
            Step::Enter => "enter",
            Step::Protect => "protect",
            Step::Diagnose => "diagnose",
            Step::Inspect => "inspect",
            Step::Quote => "quote",
            Step::Work => "work",
            Step::Test => "test",
            Step::Teach => "teach",
            Step::CleanUp => "clean_up",
            Step::Payment => "payment",
            Step::SignOff => "sign_off",
            Step::Acceptance => "acceptance",
            Step::Belongings => "belongings",
            Step::Leave => "leave",
        }
    }

    /// The step's name on screens and in refusals, in both languages.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            Step::Receive => ("Receive", "接活"),
            Step::Triage => ("Triage", "故障分析"),
            Step::Confirm => ("Confirm the appointment", "预约"),
            Step::Prepare => ("Prepare", "准备"),
            Step::Depart => ("Depart", "出发"),
            Step::Arrive => ("Arrive", "到达"),
            Step::Appearance => ("Appearance self-check", "仪容仪表自检"),
            Step::Knock => ("Knock", "敲门"),
            Step::Enter => ("Enter", "进门"),
            Step::Protect => ("Shoe covers and drop cloth", "鞋套和垫布"),
            Step::Diagnose => ("Diagnose", "故障诊断"),
            Step::Inspect => ("Inspect the goods", "货品检查"),
            Step::Quote => ("Quote", "报价"),
            Step::Work => ("Work", "服务"),
            Step::Test => ("Test run", "试机"),
            Step::Teach => ("Teach the customer", "使用讲解"),
            Step::CleanUp => ("Clean up", "清洁整理"),
            Step::Payment => ("Payment", "收费"),
            Step::SignOff => ("Sign-off", "签字确认"),
            Step::Acceptance => ("Acceptance code", "验收码"),
            Step::Belongings => ("Belongings check", "清点物品"),
            Step::Leave => ("Leave", "离开"),
        };
        Text::new(en, zh)
    }
}

/// Timings in minutes or seconds, as the standards give them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Arrive at least this many minutes before the window starts (5).
    pub early_arrival_min_minutes: i64,
    /// ... and at most this many (10).
    pub early_arrival_max_minutes: i64,
    /// Lateness below this is "late < 15 min"; at or above it, the serious tier.
    pub late_serious_minutes: i64,
    /// Call the customer at least this many minutes before the window when late is foreseeable (1).
    pub late_call_lead_minutes: i64,
    /// Failed call attempts after which the customer counts as unreachable.
    pub call_attempts_before_unreachable: i64,
    /// Radius of the arrival geofence around the customer's location.
    pub geofence_radius_m: i64,
    /// Door-to-door travel speed over the straight-line distance, km/h: the
    /// expected travel time before departing when the technician gives no
    /// estimate (§2.5).
    #[serde(default = "default_travel_speed_kmh")]
    pub travel_speed_kmh: i64,
}

fn default_travel_speed_kmh() -> i64 {
    20
}

/// The door-knock protocol (敲门).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KnockProtocol {
    /// Light knocks per round (3).
    pub knocks_per_round: i64,
    /// Rounds before waiting (2; property: 1 ring).
    pub rounds: i64,
    /// Minimum seconds between attempts (30; property: 10).
    pub interval_seconds: i64,
    /// Minutes of logged attempts before a phone call is due (5).
    pub call_after_minutes: i64,
    /// Minutes of logged attempts before "customer absent" may be declared (5).
    pub absent_minimum_minutes: i64,
    /// Leave a notice/note on the door when nobody is home.
    pub door_note_required: bool,
    /// Ask a neighbour before declaring the customer absent.
    pub neighbour_check: bool,
}

/// Callback delays and the monthly sample (回访).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallbackPolicy {
    /// After phone guidance / remote resolution (2 h).
    pub remote_guidance_hours: i64,
    /// After a repair that could not be test-run (2 h).
    pub untested_repair_hours: i64,
    /// After an uncertain fix (3 h).
    pub uncertain_fix_hours: i64,
    /// Second-level callback (48 h).
    pub second_level_hours: i64,
    /// Follow-up of a dissatisfied customer or a declined signature.
    pub dissatisfied_follow_up_hours: i64,
    /// Monthly random sample of served customers, percent (10-20).
    pub monthly_sample_min_percent: i64,
    pub monthly_sample_max_percent: i64,
}

/// Which of the enforceable rules apply to this trade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Triage may close a visit as resolved remotely (phone guidance).
    pub remote_resolution: bool,
    /// Disk/OS work needs a data-risk warning and a signed backup consent.
    pub data_risk_consent: bool,
    /// The unit may be taken back (拉修) with loaner, appearance record and receipt.
    pub take_back: bool,
    /// Shoe covers (customer may waive).
    pub shoe_covers: bool,
    /// Drop cloth under the toolbox.
    pub drop_cloth: bool,
    /// Never an IOU for the bottle deposit.
    pub no_deposit_iou: bool,
    /// A guardian must be present for the work (home care).
    pub guardian_present: bool,
    /// Gifts from the client are declined (home care).
    pub no_gifts: bool,
    /// Paid services are announced as paid before work (heating; every quote step).
    pub announce_paid_services: bool,
    /// Minor lateness requires an apology before entering.
    pub lateness_apology: bool,
    /// The fault is reproduced with the customer before a repair on site
    /// (§2.11): a diagnosis that did not reproduce it is recorded again first.
    #[serde(default)]
    pub reproduce_before_repair: bool,
    /// The kinds of work done on a visit; anything else is booked as its own
    /// service (water delivery: install only). The first is the default.
    #[serde(default = "all_work_kinds")]
    pub work_kinds: Vec<WorkKind>,
}

/// The kind of work a step records; disk/OS work is guarded by consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    #[default]
    Repair,
    DiskOrOs,
    Install,
    Care,
}

impl WorkKind {
    /// The kind's name on screens and in refusals, in both languages.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            WorkKind::Repair => ("Repair", "维修"),
            WorkKind::DiskOrOs => ("Disk or operating system", "硬盘/系统"),
            WorkKind::Install => ("Installation", "安装"),
            WorkKind::Care => ("Care service", "护理服务"),
        };
        Text::new(en, zh)
    }
}

fn all_work_kinds() -> Vec<WorkKind> {
    vec![
        WorkKind::Repair,
        WorkKind::DiskOrOs,
        WorkKind::Install,
        WorkKind::Care,
    ]
}

/// The moments at which the standards give a spoken line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScriptMoment {
    AppointmentCall,
    RunningLate,
    AtTheDoor,
    BeforeMovingAnything,
    DecliningHospitality,
    CannotSolveNow,
    TestWithCustomer,
    EndOfService,
    Farewell,
    UpsetCustomer,
    ThreeGuarantees,
}

impl ScriptMoment {
    pub const ALL: [ScriptMoment; 11] = [
        Self::AppointmentCall,
        Self::RunningLate,
        Self::AtTheDoor,
        Self::BeforeMovingAnything,
        Self::DecliningHospitality,
        Self::CannotSolveNow,
        Self::TestWithCustomer,
        Self::EndOfService,
        Self::Farewell,
        Self::UpsetCustomer,
        Self::ThreeGuarantees,
    ];
}

/// The id of the kit item that is the drop cloth (垫布): skipped at the kit
/// check, the protection step records a waiver instead of laying it.
pub const DROP_CLOTH_KIT_ITEM: &str = "drop_cloth";

/// One kit item for the departure self-check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KitItem {
    pub id: String,
    pub name: Text,
    pub mandatory: bool,
}

/// A photo moment (拍照节点): a picture the trade's standard asks for at one
/// step of the visit (the nameplate at diagnosis, the repair after the work).
/// A required moment must be taken, or recorded as not taken with a reason,
/// before the visit moves past its step (`workflow::rules::photos`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoMoment {
    pub id: String,
    pub name: Text,
    /// The step the photo belongs to: the shell offers it there, and the
    /// steps after it wait for it when it is required.
    pub step: Step,
    pub required: bool,
}

/// What a fee-schedule line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// 上门费.
    Visit,
    Labour,
    Part,
    /// Goods sold (water bottles).
    Goods,
    /// Refundable deposit (bottle deposit, never an IOU).
    Deposit,
    /// Care service items.
    Service,
}

/// One line of the official fee schedule (收费标准).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeeItem {
    pub id: String,
    pub kind: FeeKind,
    pub name: Text,
    /// Price in minor units (fen).
    pub price: i64,
    /// Software adjustment: free within the free-adjustment period after installation.
    #[serde(default)]
    pub software_adjustment: bool,
    /// Covered by the warranty when the product is in warranty (三包).
    #[serde(default = "yes")]
    pub warranty_covered: bool,
    /// The work on this line touches the customer's disk or operating system
    /// (an OS reinstall, a disk replaced): where the trade asks for it, it
    /// needs the data-risk warning and a signed backup consent (§2.11),
    /// whatever kind of work the technician records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_risk: bool,
    /// A part whose old and new serial numbers are recorded when fitted (§2.13).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serial_numbers: bool,
}

fn yes() -> bool {
    true
}

/// A fault the trade's technicians diagnose (the diagnosis form offers these
/// as the cause, plus "other" with free text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FaultCode {
    pub id: String,
    pub name: Text,
}

/// The company as the customer sees it: scripts and the service card use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Company {
    pub name: Text,
    /// The company service number; never a technician's personal number.
    pub service_number: String,
}

/// A trade's playbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub id: TradeId,
    pub version: i64,
    pub name: Text,
    pub currency: Currency,
    pub steps: Vec<Step>,
    pub required_fields: Vec<AssignmentField>,
    pub timing: Timing,
    pub knock: KnockProtocol,
    pub callbacks: CallbackPolicy,
    pub rules: Rules,
    /// Whether software adjustment is free within one calendar month of
    /// installation (STANDARDS §2.12): any positive value (the shipped 30)
    /// grants the month, counted to the same day of the next month in the
    /// business time zone; 0 means the trade has no free period.
    pub free_software_adjustment_days: i64,
    pub kit: Vec<KitItem>,
    pub appearance: Vec<KitItem>,
    pub fees: Vec<FeeItem>,
    /// The trade's common faults, for the diagnosis (and triage) forms.
    #[serde(default)]
    pub fault_codes: Vec<FaultCode>,
    /// Short pre-entry reminder of the conduct rules (§4).
    pub conduct_reminder: Text,
    pub company: Company,
    /// Overrides of the standard scripts (话术).
    #[serde(default)]
    pub scripts: BTreeMap<ScriptMoment, Text>,
    /// The photos the trade's standard asks for, each tied to its step.
    #[serde(default)]
    pub photos: Vec<PhotoMoment>,
}

/// The shipped trades, as (file name, JSON text): the TOML files of
/// `trades/` as JSON, made by the build script (`build.rs`). What
/// [`Playbook::shipped`] reads; a test checks each parses to the same
/// playbook as its TOML source (`SHIPPED`, with the `toml` feature).
pub const SHIPPED_JSON: [(&str, &str); 6] = [
    (
        "appliance_repair.json",
        include_str!(concat!(env!("OUT_DIR"), "/playbooks/appliance_repair.json")),
    ),
    (
        "computer_repair.json",
        include_str!(concat!(env!("OUT_DIR"), "/playbooks/computer_repair.json")),
    ),
    (
        "water_delivery.json",
        include_str!(concat!(env!("OUT_DIR"), "/playbooks/water_delivery.json")),
    ),
    (
        "home_care.json",
        include_str!(concat!(env!("OUT_DIR"), "/playbooks/home_care.json")),
    ),
    (
        "property_maintenance.json",
        include_str!(concat!(
            env!("OUT_DIR"),
            "/playbooks/property_maintenance.json"
        )),
    ),
    (
        "heating_service.json",
        include_str!(concat!(env!("OUT_DIR"), "/playbooks/heating_service.json")),
    ),
];

/// The shipped trades as written, (file name, TOML source), in the order of
/// [`SHIPPED_JSON`]; with the `toml` feature.
#[cfg(feature = "toml")]
pub const SHIPPED: [(&str, &str); 6] = [
    (
        "appliance_repair.toml",
        include_str!("trades/appliance_repair.toml"),
    ),
    (
        "computer_repair.toml",
        include_str!("trades/computer_repair.toml"),
    ),
    (
        "water_delivery.toml",
        include_str!("trades/water_delivery.toml"),
    ),
    ("home_care.toml", include_str!("trades/home_care.toml")),
    (
        "property_maintenance.toml",
        include_str!("trades/property_maintenance.toml"),
    ),
    (
        "heating_service.toml",
        include_str!("trades/heating_service.toml"),
    ),
];

impl Playbook {
    /// Parses and validates a TOML playbook; `source` names it in errors.
    /// With the `toml` feature (the server, the CLI; not the phone).
    #[cfg(feature = "toml")]
    pub fn from_toml(source: &str, text: &str) -> Result<Playbook, PlaybookError> {
        let pb: Playbook =
            toml::from_str(text).map_err(|e| PlaybookError::parse(source, text, &e))?;
        pb.validate(source)?;
        Ok(pb)
    }

    /// Parses and validates a JSON playbook; `source` names it in errors.
    pub fn from_json(source: &str, text: &str) -> Result<Playbook, PlaybookError> {
        let pb: Playbook =
            serde_json::from_str(text).map_err(|e| PlaybookError::parse_json(source, text, &e))?;
        pb.validate(source)?;
        Ok(pb)
    }

    /// Loads a playbook file, choosing the format by its extension (.toml,
    /// with the `toml` feature, or .json).
    pub fn from_path(path: &std::path::Path) -> Result<Playbook, PlaybookError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PlaybookError {
            source_name: source.clone(),
            field: String::new(),
            problem: format!("cannot read the file: {e}"),
        })?;
        let refused = |problem: &str| PlaybookError {
            source_name: source.clone(),
            field: String::new(),
            problem: problem.into(),
        };
        match path.extension().and_then(|e| e.to_str()) {
            #[cfg(feature = "toml")]
            Some("toml") => Self::from_toml(&source, &text),
            #[cfg(not(feature = "toml"))]
            Some("toml") => Err(refused(
                "TOML playbooks are not read by this build (no `toml` feature): give it as JSON",
            )),
            Some("json") => Self::from_json(&source, &text),
            _ if cfg!(feature = "toml") => {
                Err(refused("unknown format: expected a .toml or .json file"))
            }
            _ => Err(refused("unknown format: expected a .json file")),
        }
    }

    /// The six shipped playbooks.
    ///
    /// Parsed once per process. The shipped files are part of the build and a
    /// test checks each validates, so one that does not is skipped here rather
    /// than panicking inside a phone app.
    pub fn shipped() -> &'static [Playbook] {
        static SHIPPED_PLAYBOOKS: std::sync::OnceLock<Vec<Playbook>> = std::sync::OnceLock::new();
        SHIPPED_PLAYBOOKS.get_or_init(|| {
            SHIPPED_JSON
                .iter()
                .filter_map(|(name, text)| Self::from_json(name, text).ok())
                .collect()
        })
    }

    /// Checks every shipped playbook, reporting the first that does not validate.
    pub fn check_shipped() -> Result<(), PlaybookError> {
        SHIPPED_JSON
            .iter()
            .try_for_each(|(name, text)| Self::from_json(name, text).map(|_| ()))
    }

    /// A shipped playbook by trade id.
    pub fn shipped_by_id(id: &str) -> Option<Playbook> {
        Self::shipped_ref(id).cloned()
    }

    /// The shipped playbook of trade `id`, borrowed (parsed once per
    /// process): the one lookup of a shipped playbook by its id.
    pub fn shipped_ref(id: &str) -> Option<&'static Playbook> {
        Self::shipped().iter().find(|p| p.id.as_str() == id)
    }

    pub fn has(&self, step: Step) -> bool {
        self.steps.contains(&step)
    }

    pub fn fee(&self, id: &str) -> Option<&FeeItem> {
        self.fees.iter().find(|f| f.id == id)
    }

    /// The photo moment `id` of this trade.
    pub fn photo_moment(&self, id: &str) -> Option<&PhotoMoment> {
        self.photos.iter().find(|m| m.id == id)
    }

    /// Whether work on fee item `id` touches the customer's data (§2.11).
    pub fn touches_data(&self, id: &str) -> bool {
        self.fee(id).is_some_and(|f| f.data_risk)
    }

    pub fn kit_item(&self, id: &str) -> Option<&KitItem> {
        self.kit.iter().find(|k| k.id == id)
    }

    /// The first step of the playbook after `step`, if any.
    pub fn next_step(&self, step: Step) -> Option<Step> {
        self.steps.iter().copied().find(|s| *s > step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_playbook_validates() {
        Playbook::check_shipped().unwrap();
        assert_eq!(Playbook::shipped().len(), SHIPPED_JSON.len());
    }
}
