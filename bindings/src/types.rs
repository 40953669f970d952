//! The records and enums that cross the FFI, and their `From` conversions
//! from the core's types. Task-shaped: what a screen needs, not a mirror of
//! the core's internals. Time crosses as [`Timestamp`], the core's own
//! `DateTime<Utc>` bridged by uniffi's `custom_type!` to its timestamp (Kotlin
//! `Instant`, Swift `Date`): no conversions at the call sites, money as integer minor units (fen), ids as strings that the
//! core validated, closed sets the shell branches on (stage, outcome) as
//! enums, open ones (fee kinds, callback reasons) as their stable snake_case
//! tags.

use chrono::{DateTime, Utc};
use doorstep_core::playbook::Playbook;
use doorstep_core::signoff::{short_digest, Ratings, Report, Stroke};
use doorstep_core::workflow::view::{ChecklistEntry, NextAction, Prompt, Timers, VisitView};
use doorstep_core::workflow::VisitState;
use doorstep_core::{Outcome, Stage, Text};
// The serde tag of a unit enum value (`out_of_warranty`, `labour`, ...).
use doorstep_core::wire::wire_name as tag;
use std::time::SystemTime;

/// A point in time as the core keeps it. It crosses the FFI as uniffi's
/// timestamp (`SystemTime` on the wire; Kotlin `Instant`, Swift `Date`).
pub type Timestamp = DateTime<Utc>;

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |t| t.into(),
    try_lift: |t| Ok(t.into()),
});

/// One text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LocalizedText {
    pub en: String,
    pub zh: String,
}

impl From<Text> for LocalizedText {
    fn from(t: Text) -> Self {
        Self { en: t.en, zh: t.zh }
    }
}

/// A shipped or custom trade playbook, as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PlaybookInfo {
    /// Trade id, e.g. `appliance_repair`.
    pub id: String,
    pub version: i64,
    pub name: LocalizedText,
    /// The steps the trade walks, in the standard's order (`receive`, `triage`, ...).
    pub steps: Vec<String>,
    /// ISO 4217 currency of the fee schedule.
    pub currency: String,
}

impl From<&Playbook> for PlaybookInfo {
    fn from(p: &Playbook) -> Self {
        Self {
            id: p.id.to_string(),
            version: p.version,
            name: p.name.clone().into(),
            steps: p.steps.iter().map(|s| s.as_str().to_string()).collect(),
            currency: p.currency.as_str().to_string(),
        }
    }
}

// The core's stage and outcome cross as they are (`uniffi::remote`), under
// the names the shells know; their labels come from the core
// ([`stage_label`], [`outcome_label`]).

/// Where the visit stands, coarsely: the core's `Stage`.
#[uniffi::remote(Enum)]
#[uniffi(name = "VisitStage")]
pub enum Stage {
    New,
    Intake,
    Scheduled,
    EnRoute,
    AtDoor,
    OnSite,
    Closed,
}

/// The stage under its FFI name.
pub type VisitStage = Stage;

/// How a closed visit ended: the core's `Outcome`.
#[uniffi::remote(Enum)]
#[uniffi(name = "VisitOutcome")]
pub enum Outcome {
    Fixed,
    Completed,
    ResolvedRemotely,
    CustomerAbsent,
    TakenBack,
    QuoteRefused,
    HandedBack,
    Cancelled,
    Reassigned,
}

/// The outcome under its FFI name.
pub type VisitOutcome = Outcome;

/// The stage's name on screens, in both languages.
#[uniffi::export]
pub fn stage_label(stage: VisitStage) -> LocalizedText {
    stage.label().into()
}

/// The outcome's name on screens, in both languages.
#[uniffi::export]
pub fn outcome_label(outcome: VisitOutcome) -> LocalizedText {
    outcome.label().into()
}

/// Minor units of `currency` as a screen shows them (`¥168.50`, `HKD 1.00`):
/// the core's one money formatting.
#[uniffi::export]
pub fn format_money(minor: i64, currency: String) -> String {
    doorstep_core::money::format_money(minor, &currency)
}

/// An appointment window.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Something the technician can do now. `command` is the command's `type`
/// for the JSON the shell sends back.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActionItem {
    pub command: String,
    pub label: LocalizedText,
    /// The standard requires this before the visit can move on.
    pub required: bool,
}

impl From<NextAction> for ActionItem {
    fn from(a: NextAction) -> Self {
        Self {
            command: a.command,
            label: a.label.into(),
            required: a.required,
        }
    }
}

/// Something the standard asks the technician to do or say now.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PromptItem {
    pub code: String,
    pub text: LocalizedText,
    /// A standard spoken line to say to the customer (话术); otherwise an
    /// instruction to the technician.
    pub spoken: bool,
}

impl From<Prompt> for PromptItem {
    fn from(p: Prompt) -> Self {
        Self {
            spoken: p.spoken(),
            code: p.code,
            text: p.text.into(),
        }
    }
}

/// One checklist line (the kit self-check).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChecklistItem {
    pub id: String,
    pub name: LocalizedText,
    pub mandatory: bool,
    /// `checked`, `skipped` or `open`.
    pub status: String,
}

impl From<ChecklistEntry> for ChecklistItem {
    fn from(c: ChecklistEntry) -> Self {
        Self {
            id: c.id,
            name: c.name.into(),
            mandatory: c.mandatory,
            status: c.status,
        }
    }
}

/// A field of the assignment that is missing or inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldIssueItem {
    /// `customer_phone`, `product_model`, ...
    pub field: String,
    /// The field's name in Chinese.
    pub field_zh: String,
    /// `missing` or `inconsistent`.
    pub problem: String,
    /// The stored reason of an inconsistent field (English).
    pub reason: Option<String>,
    /// The issue as the screen shows it, the field named: "联系电话：缺失".
    pub text: LocalizedText,
}

/// One priced quote line. Money in minor units.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuoteLineItem {
    /// Fee-schedule item id.
    pub item: String,
    /// The item's name in the trade's fee schedule.
    pub name: LocalizedText,
    /// `visit`, `labour`, `part`, `goods`, `deposit` or `service`.
    pub kind: String,
    pub qty: u32,
    pub unit_price: i64,
    pub amount: i64,
    /// `customer`, `warranty` or `free`.
    pub payer: String,
}

/// The quote on screen. Money in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuoteSummary {
    /// Acceptance names this revision.
    pub revision: u32,
    pub currency: String,
    /// `in_warranty`, `out_of_warranty` or `unknown`.
    pub warranty: String,
    pub lines: Vec<QuoteLineItem>,
    pub discount: i64,
    pub customer_total: i64,
    pub covered_total: i64,
    pub deposit_total: i64,
    pub accepted: bool,
}

/// A callback the center owes the customer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CallbackItem {
    /// `remote_guidance`, `untested_repair`, `second_level`, ...
    pub reason: String,
    pub due_at: Timestamp,
}

/// The clock-driven parts of the screen (the knock timer among them).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitTimers {
    /// Leave by this time to arrive 5-10 minutes early.
    pub depart_by: Option<Timestamp>,
    /// Before departing: leave from this time (with `depart_by`, the "leave
    /// between … and …" of STANDARDS §2.5).
    pub leave_from: Option<Timestamp>,
    /// Before departing: the expected travel time in minutes (the
    /// technician's estimate, or the distance at the trade's speed).
    pub expected_travel_minutes: Option<u32>,
    /// The next knock is allowed at.
    pub next_knock_at: Option<Timestamp>,
    /// Phone the customer from this time if the door stays closed.
    pub call_customer_at: Option<Timestamp>,
    /// "Customer absent" may be declared from this time.
    pub absent_allowed_at: Option<Timestamp>,
    pub callbacks: Vec<CallbackItem>,
}

impl From<Timers> for VisitTimers {
    fn from(t: Timers) -> Self {
        Self {
            depart_by: t.depart_by,
            leave_from: t.leave_from,
            expected_travel_minutes: t.expected_travel.map(|e| e.minutes),
            next_knock_at: t.next_knock_at,
            call_customer_at: t.call_customer_at,
            absent_allowed_at: t.absent_allowed_at,
            callbacks: t
                .callbacks
                .into_iter()
                .map(|c| CallbackItem {
                    reason: tag(&c.reason),
                    due_at: c.due_at,
                })
                .collect(),
        }
    }
}

/// One line of the report the customer is about to sign, as the signing
/// screen shows it: `到达时间` / `11月25日 09:50`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportLine {
    pub label: LocalizedText,
    pub value: LocalizedText,
}

impl From<doorstep_core::workflow::report_summary::SummaryLine> for ReportLine {
    fn from(l: doorstep_core::workflow::report_summary::SummaryLine) -> Self {
        Self {
            label: l.label.into(),
            value: l.value.into(),
        }
    }
}

/// The report digest: the SHA-256 of what the customer signs (or would sign now).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportDigest {
    /// 64 hex characters.
    pub full: String,
    /// The first 8, shown on the signing screen and in the report.
    pub short: String,
}

/// The screen model of one visit.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitScreen {
    pub visit_id: Option<String>,
    pub assignment_id: Option<String>,
    pub trade: String,
    pub trade_name: LocalizedText,
    pub stage: VisitStage,
    pub outcome: Option<VisitOutcome>,
    /// 1 for the first trip; a missing part or reschedule starts another.
    pub trip: u32,
    pub window: Option<Window>,
    /// The customer card (absent before the assignment arrives).
    pub customer: Option<CustomerCard>,
    /// `cancelled_after_start` or `reassigned_after_start` when the center
    /// changed the assignment after the technician started.
    pub conflict: Option<String>,
    pub field_issues: Vec<FieldIssueItem>,
    pub next_actions: Vec<ActionItem>,
    pub prompts: Vec<PromptItem>,
    /// The kit self-check before departure.
    pub checklist: Vec<ChecklistItem>,
    /// The appearance self-check before knocking (checked all at once).
    pub appearance: Vec<ChecklistItem>,
    pub quote: Option<QuoteSummary>,
    pub timers: VisitTimers,
    pub report_digest: Option<ReportDigest>,
    pub signed: bool,
}

impl VisitScreen {
    /// The screen of `v`, with the appearance checklist from the playbook
    /// (the core's view carries the kit only).
    pub(crate) fn of(v: VisitView, playbook: &Playbook, appearance_checked: bool) -> Self {
        let mut screen = Self::from(v);
        screen.appearance = playbook
            .appearance
            .iter()
            .map(|a| ChecklistItem {
                id: a.id.clone(),
                name: a.name.clone().into(),
                mandatory: a.mandatory,
                status: if appearance_checked {
                    "checked"
                } else {
                    "open"
                }
                .to_string(),
            })
            .collect();
        screen
    }
}

impl From<VisitView> for VisitScreen {
    fn from(v: VisitView) -> Self {
        let report_digest = match (v.report_digest, v.report_digest_short) {
            (Some(full), Some(short)) => Some(ReportDigest { full, short }),
            _ => None,
        };
        let accepted = v.quote_accepted;
        let names = v.quote_line_names;
        Self {
            visit_id: v.visit_id.map(|i| i.to_string()),
            assignment_id: v.assignment_id.map(|i| i.to_string()),
            trade: v.trade,
            trade_name: v.trade_name.into(),
            stage: v.stage,
            outcome: v.outcome,
            trip: v.trip,
            window: v.window.map(|w| Window {
                start: w.start,
                end: w.end,
            }),
            customer: v.customer.map(Into::into),
            conflict: v.conflict.map(|c| tag(&c.kind)),
            field_issues: v
                .field_issues
                .into_iter()
                .map(|f| {
                    let text = f.text().into();
                    let (problem, reason) = match f.problem {
                        doorstep_core::assignment::FieldProblem::Missing => {
                            ("missing".to_string(), None)
                        }
                        doorstep_core::assignment::FieldProblem::Inconsistent { reason } => {
                            ("inconsistent".to_string(), Some(reason))
                        }
                    };
                    FieldIssueItem {
                        field: f.field.as_str().to_string(),
                        field_zh: f.field.zh().to_string(),
                        problem,
                        reason,
                        text,
                    }
                })
                .collect(),
            next_actions: v.next_actions.into_iter().map(Into::into).collect(),
            prompts: v.prompts.into_iter().map(Into::into).collect(),
            checklist: v.kit.into_iter().map(Into::into).collect(),
            appearance: vec![],
            quote: v.quote.map(|q| QuoteSummary {
                revision: q.revision,
                currency: q.currency.as_str().to_string(),
                warranty: tag(&q.warranty),
                discount: q.discount.as_ref().map_or(0, |d| d.amount),
                lines: q
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| QuoteLineItem {
                        item: l.item.clone(),
                        name: names
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| Text::new(&l.item, &l.item))
                            .into(),
                        kind: tag(&l.kind),
                        qty: l.qty,
                        unit_price: l.unit_price,
                        amount: l.amount,
                        payer: tag(&l.payer),
                    })
                    .collect(),
                customer_total: q.customer_total,
                covered_total: q.covered_total,
                deposit_total: q.deposit_total,
                accepted,
            }),
            timers: v.timers.into(),
            report_digest,
            signed: v.signed,
        }
    }
}

/// A location fix from the phone.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius in metres, as the OS reports it.
    pub accuracy_m: f64,
}

impl From<Location> for doorstep_core::location::GeoFix {
    fn from(l: Location) -> Self {
        Self {
            point: doorstep_core::location::GeoPoint {
                lat: l.lat,
                lon: l.lon,
            },
            accuracy_m: l.accuracy_m,
        }
    }
}

/// One point of a signature stroke, in device-independent units, with its
/// time offset in milliseconds from the start of the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SignaturePoint {
    pub x: i32,
    pub y: i32,
    pub t_ms: u32,
}

/// One continuous pen-down stroke.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignatureStroke {
    pub points: Vec<SignaturePoint>,
}

impl From<SignatureStroke> for doorstep_core::signoff::Stroke {
    fn from(s: SignatureStroke) -> Self {
        Self {
            points: s
                .points
                .into_iter()
                .map(|p| doorstep_core::signoff::StrokePoint {
                    x: p.x,
                    y: p.y,
                    t_ms: p.t_ms,
                })
                .collect(),
        }
    }
}

impl From<doorstep_core::signoff::Stroke> for SignatureStroke {
    fn from(s: doorstep_core::signoff::Stroke) -> Self {
        Self {
            points: s
                .points
                .into_iter()
                .map(|p| SignaturePoint {
                    x: p.x,
                    y: p.y,
                    t_ms: p.t_ms,
                })
                .collect(),
        }
    }
}

/// The customer card: who, where, what and when.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerCard {
    pub name: Option<String>,
    /// The number to dial (the customer's today; a privacy number once orders mask it).
    pub phone: Option<String>,
    pub address: Option<String>,
    /// WGS-84 (convert to GCJ-02/BD-09 for AMap/Baidu hand-offs).
    pub location: Option<Location>,
    /// IANA zone of the address, for local times.
    pub time_zone: Option<String>,
    pub product_model: Option<String>,
    pub fault_description: Option<String>,
    pub window: Option<Window>,
}

impl From<doorstep_core::workflow::view::CustomerCard> for CustomerCard {
    fn from(c: doorstep_core::workflow::view::CustomerCard) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
            address: c.address,
            location: c.location.map(|p| Location {
                lat: p.lat,
                lon: p.lon,
                accuracy_m: 0.0,
            }),
            time_zone: c.time_zone,
            product_model: c.product_model,
            fault_description: c.fault_description,
            window: c.window.map(|w| Window {
                start: w.start,
                end: w.end,
            }),
        }
    }
}

/// The customer's sign-off: ratings 1-5, an optional comment, the strokes,
/// the consent text shown on the signing screen, and the report digest the
/// screen showed (from `preview_sign_off`); when given, signing is refused
/// if the report is no longer exactly what the customer saw.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CustomerSignOff {
    pub quality: u8,
    pub attitude: u8,
    pub comment: Option<String>,
    pub strokes: Vec<SignatureStroke>,
    pub consent_text: String,
    pub shown_digest: Option<String>,
}

impl CustomerSignOff {
    /// The digest of exactly what the customer would sign on `state`.
    pub(crate) fn preview(&self, state: &VisitState) -> ReportDigest {
        let full = Report::of(
            state,
            Some(self.ratings()),
            self.comment.clone(),
            &self.consent_text,
        )
        .digest();
        ReportDigest {
            short: short_digest(&full).to_string(),
            full,
        }
    }

    /// The sign-off as the workflow's command.
    pub(crate) fn into_command(self) -> doorstep_core::VisitCommand {
        doorstep_core::VisitCommand::SignOff {
            ratings: self.ratings(),
            comment: self.comment,
            strokes: self.strokes.into_iter().map(Stroke::from).collect(),
            consent_text: self.consent_text,
            shown_digest: self.shown_digest,
        }
    }

    fn ratings(&self) -> Ratings {
        Ratings {
            quality: self.quality,
            attitude: self.attitude,
        }
    }
}

/// What one accepted command did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CommandResult {
    /// The kinds of the events recorded (`kit_item_checked`, ...).
    pub events: Vec<String>,
    /// The visit as it stands afterwards.
    pub screen: VisitScreen,
}
