//! Commands: what a technician (or the center, through sync) asks the visit
//! to do. A command is a request; the workflow decides whether it becomes
//! events or a refusal.

use super::signature::{Ratings, Stroke};
use crate::assignment::{Assignment, AssignmentField, TimeWindow};
use crate::business_time::format_date;
use crate::ids::TechnicianId;
use crate::invoice_request::InvoiceBuyer;
use crate::location::{GeoFix, GeoPoint, LocationUnavailable};
use crate::messages::{Lang, Text};
/// Work kinds belong to the playbook (which kinds a trade offers); re-exported here for the commands that carry them.
pub use crate::playbook::WorkKind;
use crate::qr_payment::QrPaymentRef;
use crate::quote::QuoteRequest;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Who was called and what happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    Reached,
    NoAnswer,
    Busy,
    PoweredOff,
}

/// Why a call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallPurpose {
    #[default]
    Appointment,
    RunningLate,
    AtTheDoor,
}

/// What the customer chose when told the technician runs late.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "choice")]
pub enum LateChoice {
    /// The customer will wait.
    Wait,
    /// A new window, agreed on the call.
    NewWindow { window: TimeWindow },
    /// The customer asks for another technician: the center reassigns.
    Reassign,
}

/// How the technician announced themselves at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KnockMethod {
    Bell,
    Knock,
}

/// The entry exceptions of STANDARDS §2.9, each ending in a new agreed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryException {
    CustomerNotHome,
    NannyRefuses,
    ProductElsewhere,
    PowerCut,
    CustomerBusy,
}

/// The decision after diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RepairDecision {
    FixOnSite,
    TakeBack,
    MissingPart,
}

impl RepairDecision {
    pub const ALL: [RepairDecision; 3] = [Self::FixOnSite, Self::TakeBack, Self::MissingPart];

    /// The decision's name on forms, screens and the report, in both languages.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            Self::FixOnSite => ("Fix on site", "现场维修"),
            Self::TakeBack => ("Take the unit back to the workshop", "带回维修"),
            Self::MissingPart => ("A part is missing", "缺少配件"),
        };
        Text::new(en, zh)
    }
}

/// What a missing part leads to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "resolution")]
pub enum MissingPartResolution {
    /// Fetch it now and continue this visit.
    FetchNow,
    /// A new visit at a window agreed with the customer.
    NewVisit { window: TimeWindow },
}

/// A part fitted, with old and new serial numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUsed {
    pub item: String,
    #[serde(default)]
    pub old_serial: Option<String>,
    #[serde(default)]
    pub new_serial: Option<String>,
}

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
    Mobile,
    BankTransfer,
    /// 欠条: a promise to pay later. Never allowed for a bottle deposit.
    Iou,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 5] = [
        Self::Cash,
        Self::Card,
        Self::Mobile,
        Self::BankTransfer,
        Self::Iou,
    ];

    /// The method's name on forms, screens and the report, in both languages.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            Self::Cash => ("Cash", "现金"),
            Self::Card => ("Bank card", "银行卡"),
            Self::Mobile => ("Mobile payment", "移动支付"),
            Self::BankTransfer => ("Bank transfer", "银行转账"),
            Self::Iou => ("IOU", "欠条"),
        };
        Text::new(en, zh)
    }
}

/// The receipt or invoice given for a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ReceiptRecord {
    Receipt {
        number: String,
    },
    Invoice {
        number: String,
    },
    /// The invoice is not at hand: delivered by the given date.
    InvoiceToBeDelivered {
        by: NaiveDate,
    },
}

impl ReceiptRecord {
    /// The record as the report and the signing screen show it:
    /// `收据 R-2026-0042`, `发票将于 2026年12月3日 前送达`.
    pub fn text(&self) -> Text {
        match self {
            Self::Receipt { number } => {
                Text::new(format!("Receipt {number}"), format!("收据 {number}"))
            }
            Self::Invoice { number } => {
                Text::new(format!("Invoice {number}"), format!("发票 {number}"))
            }
            Self::InvoiceToBeDelivered { by } => Text::new(
                format!("Invoice to be delivered by {}", format_date(*by, Lang::En)),
                format!("发票将于 {} 前送达", format_date(*by, Lang::ZhCn)),
            ),
        }
    }
}

/// Incidents recorded under the conduct rules (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Damage,
    GiftDeclined,
    HospitalityDeclined,
    Complaint,
    Other,
}

/// A request to the visit. Serialised as `{"type": "...", ...fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", deny_unknown_fields)]
pub enum VisitCommand {
    // --- Center facts arriving through sync -------------------------------
    /// The center's assignment, first or changed (the same command for both).
    ReceiveAssignment {
        assignment: Box<Assignment>,
    },
    /// The center cancelled the assignment.
    CancelAssignment {
        version: u64,
        reason: String,
    },
    /// The center gave the assignment to another technician.
    ReassignAssignment {
        version: u64,
        to: TechnicianId,
    },

    // --- 1 Receive ----------------------------------------------------------
    /// Ask the center to verify missing or inconsistent fields.
    VerifyWithCenter {
        fields: Vec<AssignmentField>,
        note: Option<String>,
    },
    /// The center waived fields (by phone or console), with its approval code.
    WaiveFields {
        fields: Vec<AssignmentField>,
        approved_by: String,
        approval_code: String,
    },

    // --- 2 Triage -------------------------------------------------------------
    RecordTriage {
        likely_causes: Vec<String>,
        parts_to_bring: Vec<String>,
        remote_fixable: bool,
    },
    /// Phone guidance solved it: close as resolved remotely, callback in 2 h.
    ResolveRemotely {
        guidance: String,
    },

    // --- 3 Confirm ------------------------------------------------------------
    LogCall {
        outcome: CallOutcome,
        #[serde(default)]
        purpose: CallPurpose,
        #[serde(default)]
        note: Option<String>,
    },
    /// Confirm the window (the requested one unless a new one was agreed).
    ConfirmAppointment {
        address_confirmed: bool,
        product_confirmed: bool,
    },
    /// The customer could not be reached after the retries: go at the promised time.
    ProceedUnconfirmed,
    /// The window collides with another visit or leaves too little travel time.
    ReportWindowConflict {
        reason: String,
    },
    /// A new window, agreed with the customer on a call.
    AgreeNewWindow {
        window: TimeWindow,
        reason: String,
    },
    /// Give the assignment back to the center for reassignment.
    HandBackToCenter {
        reason: String,
    },

    // --- 4 Prepare ------------------------------------------------------------
    CheckKitItem {
        item: String,
    },
    SkipKitItem {
        item: String,
        reason: String,
    },

    // --- 5 Depart ---------------------------------------------------------------
    /// Before departing: the technician's own travel estimate, or where the
    /// trip starts (the previous job), for the departure plan (§2.5). Either
    /// may be left out: without both, the last recorded position is used.
    PlanTravel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_travel_minutes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<GeoPoint>,
    },
    Depart {
        travel_minutes: u32,
    },
    /// The running-late call to the customer, before the appointment.
    NotifyRunningLate {
        outcome: CallOutcome,
        choice: Option<LateChoice>,
    },

    // --- 6 Arrive ---------------------------------------------------------------
    Arrive {
        location: Option<GeoFix>,
        /// Why arrival is recorded outside the geofence (wrong pin, gated estate...).
        #[serde(default)]
        outside_geofence_reason: Option<String>,
        /// Why there is no `location`: permission refused or no fix.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location_unavailable: Option<LocationUnavailable>,
    },
    ApologiseForLateness {
        gift_offered: bool,
        gift_accepted: bool,
    },

    // --- 7-8 Door -----------------------------------------------------------------
    CheckAppearance {
        items: Vec<String>,
    },
    Knock {
        method: KnockMethod,
    },
    DoorAnswered,
    AskNeighbour {
        note: String,
    },
    LeaveDoorNote,
    NotifyCenterAbsent,
    DeclareCustomerAbsent,

    // --- 9 Enter ------------------------------------------------------------------
    Enter {
        greeted: bool,
        permit_shown: bool,
    },
    RecordEntryException {
        exception: EntryException,
        new_window: TimeWindow,
    },

    // --- 10 Protect ---------------------------------------------------------------
    PutOnShoeCovers,
    WaiveShoeCovers {
        note: String,
    },
    LayDropCloth,
    /// No drop cloth: why (skipped at the kit check, or the customer declined
    /// it), recorded as a waiver like the shoe covers'.
    WaiveDropCloth {
        note: String,
    },

    // --- 11 Diagnose ------------------------------------------------------------------
    RecordDiagnosis {
        /// The fault was reproduced with the customer (STANDARDS §2.11).
        fault_reproduced: bool,
        /// The cause in words: the fault's name from the catalogue, or free
        /// text. May be left empty when `fault_code` names the fault.
        #[serde(default)]
        cause: String,
        #[serde(default)]
        parts: Vec<String>,
        decision: RepairDecision,
        /// The fault from the trade's catalogue (`Playbook::fault_codes`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault_code: Option<String>,
        /// A free note beside the catalogue's fault.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    WarnDataRisk,
    SignBackupConsent {
        strokes: Vec<Stroke>,
    },
    OfferLoaner {
        accepted: bool,
    },
    RecordUnitAppearance {
        description: String,
    },
    SignCustodyReceipt {
        strokes: Vec<Stroke>,
    },
    TakeBack {
        return_by: NaiveDate,
    },
    ReportMissingPart {
        part: String,
        resolution: MissingPartResolution,
    },

    // --- Inspect (water) ----------------------------------------------------------------
    InspectItem {
        item: String,
        seal_intact: bool,
        no_leaks: bool,
        no_foreign_matter: bool,
    },

    // --- 12 Quote ------------------------------------------------------------------------
    ShowFeeSchedule,
    PresentQuote {
        quote: QuoteRequest,
    },
    AcceptQuote {
        revision: u32,
    },
    RefuseQuote {
        reason: String,
    },

    // --- 13 Work and test ----------------------------------------------------------------
    RecordGuardian {
        name: String,
        relation: String,
    },
    RecordWork {
        description: String,
        /// Defaults to the trade's first offered kind (repair, install, care).
        #[serde(default)]
        kind: Option<WorkKind>,
        #[serde(default)]
        parts_used: Vec<PartUsed>,
    },
    ReportHiddenFault {
        description: String,
    },
    RecordTestRun {
        passed: bool,
        #[serde(default)]
        uncertain: bool,
        #[serde(default)]
        notes: Option<String>,
    },
    ScheduleUntestedCallback {
        reason: String,
    },

    // --- 14 Teach and clean up --------------------------------------------------------------
    BriefCustomer,
    CleanUp {
        product_restored: bool,
        wiped: bool,
        floor_cleaned: bool,
        no_tool_left: bool,
    },

    // --- 15 Payment ---------------------------------------------------------------------------
    CollectPayment {
        amount: i64,
        method: PaymentMethod,
        receipt: ReceiptRecord,
        /// The native-pay order the customer paid by scanning its QR code
        /// (method `mobile`); the center matches it with the provider's
        /// confirmation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qr: Option<QrPaymentRef>,
    },
    RefusePayment {
        reason: String,
    },
    /// The customer will pay but cannot now (no network for the QR code, no
    /// cash at hand): the amount due stays owed, and the center follows up.
    DeferPayment {
        reason: String,
    },
    /// The customer asks for an e-fapiao (电子发票): the buyer as given, sent
    /// to the center's invoicing provider once the visit syncs.
    RequestInvoice {
        buyer: InvoiceBuyer,
    },

    // --- 16 Sign-off --------------------------------------------------------------------------
    SignOff {
        ratings: Ratings,
        #[serde(default)]
        comment: Option<String>,
        strokes: Vec<Stroke>,
        /// The consent text shown on the signing screen.
        consent_text: String,
        /// The report digest the signing screen showed (`Report::of(..).digest()`
        /// with these ratings and comment). When given, signing is refused if
        /// the report is no longer exactly what the customer saw.
        #[serde(default)]
        shown_digest: Option<String>,
    },
    DeclineSignature {
        reason: String,
    },
    /// Change a signed report: starts a new version that needs a new signature.
    ReopenReport {
        reason: String,
    },
    CheckBelongings,

    // --- 16b Acceptance code (issue 19) ----------------------------------------------------
    /// The code the customer reads out, checked against the assignment's
    /// acceptance check (on the phone for the first five wrong ones).
    EnterAcceptanceCode {
        code: String,
    },
    /// The customer will not give the code: the center follows it up.
    WithholdAcceptanceCode {
        reason: String,
    },

    // --- 17 Leave -------------------------------------------------------------------------------
    Leave {
        service_card_given: bool,
        shoe_covers_off_at_door: bool,
    },

    // --- Photos (evidence), at the door or inside --------------------------------------------
    /// A photo of one of the trade's photo moments, stored by the core in the
    /// device's blob area: `digest` is the SHA-256 of the final bytes (the
    /// watermark burned in), the size and pixel dimensions as the shell gave them.
    TakePhoto {
        moment: String,
        digest: String,
        size_bytes: u64,
        width: u32,
        height: u32,
    },
    /// The photo of a moment cannot be taken (the customer refuses, no access): why.
    RecordPhotoNotTaken {
        moment: String,
        reason: String,
    },

    // --- Any time on site -------------------------------------------------------------------
    RecordIncident {
        kind: IncidentKind,
        description: String,
        #[serde(default)]
        compensation: Option<i64>,
    },
}

impl VisitCommand {
    /// The command's `type` tag (its wire name, the key of its row in the
    /// command table). An exhaustive match, so a new variant does not compile
    /// until it is named here (and a test then asks for its row).
    pub fn type_name(&self) -> &'static str {
        use VisitCommand::*;
        match self {
            ReceiveAssignment { .. } => "receive_assignment",
            CancelAssignment { .. } => "cancel_assignment",
            ReassignAssignment { .. } => "reassign_assignment",
            VerifyWithCenter { .. } => "verify_with_center",
            WaiveFields { .. } => "waive_fields",
            RecordTriage { .. } => "record_triage",
            ResolveRemotely { .. } => "resolve_remotely",
            LogCall { .. } => "log_call",
            ConfirmAppointment { .. } => "confirm_appointment",
            ProceedUnconfirmed => "proceed_unconfirmed",
            ReportWindowConflict { .. } => "report_window_conflict",
            AgreeNewWindow { .. } => "agree_new_window",
            HandBackToCenter { .. } => "hand_back_to_center",
            CheckKitItem { .. } => "check_kit_item",
            SkipKitItem { .. } => "skip_kit_item",
            PlanTravel { .. } => "plan_travel",
            Depart { .. } => "depart",
            NotifyRunningLate { .. } => "notify_running_late",
            Arrive { .. } => "arrive",
            ApologiseForLateness { .. } => "apologise_for_lateness",
            CheckAppearance { .. } => "check_appearance",
            Knock { .. } => "knock",
            DoorAnswered => "door_answered",
            AskNeighbour { .. } => "ask_neighbour",
            LeaveDoorNote => "leave_door_note",
            NotifyCenterAbsent => "notify_center_absent",
            DeclareCustomerAbsent => "declare_customer_absent",
            Enter { .. } => "enter",
            RecordEntryException { .. } => "record_entry_exception",
            PutOnShoeCovers => "put_on_shoe_covers",
            WaiveShoeCovers { .. } => "waive_shoe_covers",
            LayDropCloth => "lay_drop_cloth",
            WaiveDropCloth { .. } => "waive_drop_cloth",
            RecordDiagnosis { .. } => "record_diagnosis",
            WarnDataRisk => "warn_data_risk",
            SignBackupConsent { .. } => "sign_backup_consent",
            OfferLoaner { .. } => "offer_loaner",
            RecordUnitAppearance { .. } => "record_unit_appearance",
            SignCustodyReceipt { .. } => "sign_custody_receipt",
            TakeBack { .. } => "take_back",
            ReportMissingPart { .. } => "report_missing_part",
            InspectItem { .. } => "inspect_item",
            ShowFeeSchedule => "show_fee_schedule",
            PresentQuote { .. } => "present_quote",
            AcceptQuote { .. } => "accept_quote",
            RefuseQuote { .. } => "refuse_quote",
            RecordGuardian { .. } => "record_guardian",
            RecordWork { .. } => "record_work",
            ReportHiddenFault { .. } => "report_hidden_fault",
            RecordTestRun { .. } => "record_test_run",
            ScheduleUntestedCallback { .. } => "schedule_untested_callback",
            BriefCustomer => "brief_customer",
            CleanUp { .. } => "clean_up",
            CollectPayment { .. } => "collect_payment",
            RefusePayment { .. } => "refuse_payment",
            DeferPayment { .. } => "defer_payment",
            RequestInvoice { .. } => "request_invoice",
            SignOff { .. } => "sign_off",
            DeclineSignature { .. } => "decline_signature",
            ReopenReport { .. } => "reopen_report",
            CheckBelongings => "check_belongings",
            EnterAcceptanceCode { .. } => "enter_acceptance_code",
            WithholdAcceptanceCode { .. } => "withhold_acceptance_code",
            Leave { .. } => "leave",
            TakePhoto { .. } => "take_photo",
            RecordPhotoNotTaken { .. } => "record_photo_not_taken",
            RecordIncident { .. } => "record_incident",
        }
    }

    /// The command's `type` tag as an owned string.
    pub fn name(&self) -> String {
        self.type_name().to_string()
    }
}
