//! Events: the append-only facts of a visit. The visit's state is a
//! projection of its events (`VisitState::replay`), rebuilt identically on
//! the device and on the server. Corrections are new events, never edits.

use super::command::*;
use super::signature::{Ratings, SignOffEvidence, Stroke};
use crate::assignment::{Assignment, AssignmentField, FieldIssue, TimeWindow};
use crate::clock::HlcStamp;
use crate::ids::{AssignmentId, DeviceId, EventId, TechnicianId, VisitId};
use crate::invoice_request::InvoiceBuyer;
use crate::location::{GeoFix, GeofenceCheck};
use crate::messages::Text;
use crate::qr_payment::QrPaymentRef;
use crate::quote::Quote;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The number of the way a [`VisitEvent`] is spelled as JSON. Bump it
/// when a field is removed or renamed or a value is spelled otherwise
/// (adding an optional field is not such a change): a phone sends each
/// waiting fact as its store keeps the text, except facts an app version
/// of another number stored, which are parsed and written again first
/// (`store::outbox_text`). `core/tests/event_text.rs` pins the spelling,
/// so a change cannot pass without a look at this number.
pub const EVENT_TEXT_FORMAT: i64 = 1;

/// The envelope every fact travels in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitEvent {
    /// Client-generated UUIDv7.
    pub id: EventId,
    pub visit_id: VisitId,
    pub assignment_id: AssignmentId,
    pub device_id: DeviceId,
    /// Orders this device's timeline even when its wall clock jumps.
    pub hlc: HlcStamp,
    /// The device's wall time when the fact was recorded.
    pub recorded_at: DateTime<Utc>,
    #[serde(default)]
    pub location: Option<GeoFix>,
    /// The assignment version the device had seen: the causal context used
    /// for conflict decisions (never device clocks).
    pub assignment_version: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// How an arrival relates to the agreed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "tier")]
pub enum Punctuality {
    /// At least the minimum early margin before the window starts.
    Early { minutes_early: i64 },
    /// Before the window starts but inside the early margin.
    OnTime,
    /// Late by less than the serious tier (15 min): apologise, citing traffic.
    LateMinor { minutes_late: i64 },
    /// Late by 15 min or more: sincere apology and a small gift; manager visit if refused.
    LateSerious { minutes_late: i64 },
}

impl Punctuality {
    pub fn is_late(&self) -> bool {
        matches!(self, Self::LateMinor { .. } | Self::LateSerious { .. })
    }
}

/// How a visit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Work done and passed its test run (or a 2 h callback is scheduled).
    Fixed,
    /// Goods delivered / care items done (trades without a test run).
    Completed,
    ResolvedRemotely,
    CustomerAbsent,
    TakenBack,
    QuoteRefused,
    HandedBack,
    Cancelled,
    Reassigned,
}

impl Outcome {
    /// How the visit ended, in both languages: the one label the shells, the
    /// server's responses and the console show.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            Outcome::Fixed => ("Fixed", "已修复"),
            Outcome::Completed => ("Completed", "已完成"),
            Outcome::ResolvedRemotely => ("Resolved by phone", "电话解决"),
            Outcome::CustomerAbsent => ("Customer absent", "客户不在家"),
            Outcome::TakenBack => ("Taken back", "拉修"),
            Outcome::QuoteRefused => ("Quote refused", "客户拒绝报价"),
            Outcome::HandedBack => ("Handed back", "退回中心"),
            Outcome::Cancelled => ("Cancelled", "已取消"),
            Outcome::Reassigned => ("Reassigned", "已改派"),
        };
        Text::new(en, zh)
    }
}

/// Why the center and the device collided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    CancelledAfterStart,
    ReassignedAfterStart,
}

/// The facts. Serialised as `{"type": "...", ...fields}` inside the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EventKind {
    AssignmentReceived {
        /// Boxed: the order is the largest thing a fact carries.
        assignment: Box<Assignment>,
        field_issues: Vec<FieldIssue>,
        /// The version of the trade's playbook the visit is walked with:
        /// the newest known when the visit started, kept by every later
        /// version of the order (`crate::playbook::PlaybookCatalog`).
        /// Absent on facts recorded before versions were kept: the shipped
        /// playbook.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        playbook_version: Option<i64>,
    },
    AssignmentCancelled {
        version: u64,
        reason: String,
    },
    AssignmentReassigned {
        version: u64,
        to: TechnicianId,
    },
    /// Cancel or reassign after the technician started: both stand, a human decides.
    ConflictRaised {
        kind: ConflictKind,
        version: u64,
    },

    CenterVerificationRequested {
        fields: Vec<AssignmentField>,
        note: Option<String>,
    },
    FieldsWaived {
        fields: Vec<AssignmentField>,
        approved_by: String,
        approval_code: String,
    },

    TriageRecorded {
        likely_causes: Vec<String>,
        parts_to_bring: Vec<String>,
        remote_fixable: bool,
    },
    ResolvedRemotely {
        guidance: String,
    },

    CallLogged {
        outcome: CallOutcome,
        purpose: CallPurpose,
        note: Option<String>,
    },
    AppointmentConfirmed {
        window: TimeWindow,
        address_confirmed: bool,
        product_confirmed: bool,
    },
    ProceedingUnconfirmed {
        window: TimeWindow,
        failed_attempts: u32,
    },
    WindowConflictReported {
        reason: String,
    },
    NewWindowAgreed {
        window: TimeWindow,
        reason: String,
    },
    HandedBackToCenter {
        reason: String,
    },

    KitItemChecked {
        item: String,
    },
    KitItemSkipped {
        item: String,
        reason: String,
    },

    TravelPlanned {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_travel_minutes: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<crate::location::GeoPoint>,
    },
    Departed {
        travel_minutes: u32,
        projected_arrival: DateTime<Utc>,
        latest_on_time_departure: DateTime<Utc>,
        late_risk: bool,
    },
    RunningLateNotified {
        outcome: CallOutcome,
        choice: Option<LateChoice>,
    },

    Arrived {
        /// Not `location`: the envelope already has that key, and the event
        /// is flattened into it (a duplicate key does not parse back).
        #[serde(rename = "arrival_location")]
        location: Option<GeoFix>,
        geofence: Option<GeofenceCheck>,
        outside_geofence_reason: Option<String>,
        punctuality: Punctuality,
        /// Late, and no running-late call was made before the window.
        late_without_prior_call: bool,
        /// Why the phone gave no location (absent in events recorded before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location_unavailable: Option<crate::location::LocationUnavailable>,
    },
    LatenessApologised {
        gift_offered: bool,
        gift_accepted: bool,
    },
    ManagerVisitRequested {
        reason: String,
    },

    AppearanceChecked {
        items: Vec<String>,
    },
    Knocked {
        method: KnockMethod,
    },
    DoorAnswered,
    NeighbourAsked {
        note: String,
    },
    DoorNoteLeft,
    CenterNotifiedAbsent,
    CustomerAbsent {
        minutes_of_attempts: i64,
        knocks: u32,
        calls: u32,
    },

    Entered {
        greeted: bool,
        permit_shown: bool,
    },
    EntryExceptionRecorded {
        exception: EntryException,
        new_window: TimeWindow,
    },

    ShoeCoversOn,
    ShoeCoversWaived {
        note: String,
    },
    DropClothLaid,
    DropClothWaived {
        note: String,
    },

    DiagnosisRecorded {
        fault_reproduced: bool,
        cause: String,
        parts: Vec<String>,
        decision: RepairDecision,
        /// The catalogue's fault code (absent in events recorded before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault_code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    DataRiskWarned,
    BackupConsentSigned {
        strokes: Vec<Stroke>,
        strokes_digest: String,
    },
    LoanerOffered {
        accepted: bool,
    },
    UnitAppearanceRecorded {
        description: String,
    },
    CustodyReceiptSigned {
        strokes: Vec<Stroke>,
        strokes_digest: String,
    },
    TakenBack {
        return_by: NaiveDate,
    },
    PartMissing {
        part: String,
        resolution: MissingPartResolution,
    },

    ItemInspected {
        item: String,
        seal_intact: bool,
        no_leaks: bool,
        no_foreign_matter: bool,
    },

    FeeScheduleShown,
    QuotePresented {
        quote: Quote,
    },
    QuoteAccepted {
        revision: u32,
        customer_total: i64,
    },
    QuoteRefused {
        reason: String,
    },
    EscalatedToCenter {
        reason: String,
    },

    GuardianRecorded {
        name: String,
        relation: String,
    },
    WorkRecorded {
        description: String,
        kind: WorkKind,
        parts_used: Vec<PartUsed>,
    },
    HiddenFaultFound {
        description: String,
    },
    TestRunRecorded {
        passed: bool,
        uncertain: bool,
        notes: Option<String>,
    },
    UntestedCallbackScheduled {
        reason: String,
    },

    CustomerBriefed,
    CleanedUp,

    PaymentCollected {
        amount: i64,
        method: PaymentMethod,
        receipt: ReceiptRecord,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qr: Option<QrPaymentRef>,
    },
    PaymentRefused {
        reason: String,
    },
    /// The amount due is owed, to be paid to the center later.
    PaymentDeferred {
        amount: i64,
        reason: String,
    },
    /// The buyer of the e-fapiao the customer asked for, checked and
    /// normalised (the tax number's check character, the mobile's 11 digits).
    InvoiceRequested {
        buyer: InvoiceBuyer,
    },

    CustomerSignedOff {
        report_version: u32,
        ratings: Ratings,
        comment: Option<String>,
        strokes: Vec<Stroke>,
        evidence: SignOffEvidence,
    },
    SignatureDeclined {
        report_version: u32,
        report_digest: String,
        reason: String,
    },
    ReportReopened {
        reason: String,
        new_version: u32,
    },
    BelongingsChecked,
    /// A code the customer read out: `matched` is the phone's offline check,
    /// `None` once five wrong codes stopped it (the center checks the code).
    AcceptanceCodeEntered {
        code: String,
        matched: Option<bool>,
    },
    AcceptanceCodeWithheld {
        reason: String,
    },

    Left {
        outcome: Outcome,
        service_card_given: bool,
        shoe_covers_off_at_door: bool,
    },

    IncidentRecorded {
        kind: IncidentKind,
        description: String,
        compensation: Option<i64>,
    },

    /// A photo of a moment: its bytes live in the device's blob area under
    /// their SHA-256 (`digest`) until the server has them. The time and place
    /// are the envelope's (`recorded_at`, `location`).
    PhotoTaken {
        moment: String,
        digest: String,
        size_bytes: u64,
        width: u32,
        height: u32,
        /// The technician holding the assignment when the photo was taken.
        #[serde(default)]
        technician: Option<TechnicianId>,
    },
    /// The photo of a moment could not be taken, and why.
    PhotoNotTaken {
        moment: String,
        reason: String,
    },
}

impl EventKind {
    /// For an "assignment received" fact: the trade and the playbook
    /// version it was recorded with (a visit walks its first one's).
    pub fn playbook_walked(&self) -> Option<(&str, Option<i64>)> {
        match self {
            EventKind::AssignmentReceived {
                assignment,
                playbook_version,
                ..
            } => Some((assignment.trade.as_str(), *playbook_version)),
            _ => None,
        }
    }
}

/// Each fact's `type` tag, written once: `EventKind::name` and
/// `EventKind::NAMES` (the API description lists them) come from it.
macro_rules! event_names {
    ($($v:ident => $n:literal),* $(,)?) => {
        impl EventKind {
            /// Every fact's `type` tag, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($n),*];

            /// The event's `type` tag.
            pub fn name(&self) -> &'static str {
                match self { $(EventKind::$v { .. } => $n,)* }
            }
        }
    };
}

event_names!(
    AssignmentReceived => "assignment_received",
    AssignmentCancelled => "assignment_cancelled",
    AssignmentReassigned => "assignment_reassigned",
    ConflictRaised => "conflict_raised",
    CenterVerificationRequested => "center_verification_requested",
    FieldsWaived => "fields_waived",
    TriageRecorded => "triage_recorded",
    ResolvedRemotely => "resolved_remotely",
    CallLogged => "call_logged",
    AppointmentConfirmed => "appointment_confirmed",
    ProceedingUnconfirmed => "proceeding_unconfirmed",
    WindowConflictReported => "window_conflict_reported",
    NewWindowAgreed => "new_window_agreed",
    HandedBackToCenter => "handed_back_to_center",
    KitItemChecked => "kit_item_checked",
    KitItemSkipped => "kit_item_skipped",
    TravelPlanned => "travel_planned",
    Departed => "departed",
    RunningLateNotified => "running_late_notified",
    Arrived => "arrived",
    LatenessApologised => "lateness_apologised",
    ManagerVisitRequested => "manager_visit_requested",
    AppearanceChecked => "appearance_checked",
    Knocked => "knocked",
    DoorAnswered => "door_answered",
    NeighbourAsked => "neighbour_asked",
    DoorNoteLeft => "door_note_left",
    CenterNotifiedAbsent => "center_notified_absent",
    CustomerAbsent => "customer_absent",
    Entered => "entered",
    EntryExceptionRecorded => "entry_exception_recorded",
    ShoeCoversOn => "shoe_covers_on",
    ShoeCoversWaived => "shoe_covers_waived",
    DropClothLaid => "drop_cloth_laid",
    DropClothWaived => "drop_cloth_waived",
    DiagnosisRecorded => "diagnosis_recorded",
    DataRiskWarned => "data_risk_warned",
    BackupConsentSigned => "backup_consent_signed",
    LoanerOffered => "loaner_offered",
    UnitAppearanceRecorded => "unit_appearance_recorded",
    CustodyReceiptSigned => "custody_receipt_signed",
    TakenBack => "taken_back",
    PartMissing => "part_missing",
    ItemInspected => "item_inspected",
    FeeScheduleShown => "fee_schedule_shown",
    QuotePresented => "quote_presented",
    QuoteAccepted => "quote_accepted",
    QuoteRefused => "quote_refused",
    EscalatedToCenter => "escalated_to_center",
    GuardianRecorded => "guardian_recorded",
    WorkRecorded => "work_recorded",
    HiddenFaultFound => "hidden_fault_found",
    TestRunRecorded => "test_run_recorded",
    UntestedCallbackScheduled => "untested_callback_scheduled",
    CustomerBriefed => "customer_briefed",
    CleanedUp => "cleaned_up",
    PaymentCollected => "payment_collected",
    PaymentRefused => "payment_refused",
    PaymentDeferred => "payment_deferred",
    InvoiceRequested => "invoice_requested",
    CustomerSignedOff => "customer_signed_off",
    SignatureDeclined => "signature_declined",
    ReportReopened => "report_reopened",
    BelongingsChecked => "belongings_checked",
    AcceptanceCodeEntered => "acceptance_code_entered",
    AcceptanceCodeWithheld => "acceptance_code_withheld",
    Left => "left",
    IncidentRecorded => "incident_recorded",
    PhotoTaken => "photo_taken",
    PhotoNotTaken => "photo_not_taken",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_type_is_named_once() {
        let mut names = EventKind::NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::NAMES.len());
        assert!(EventKind::NAMES.contains(&"assignment_received"));
        assert!(EventKind::NAMES.contains(&"photo_not_taken"));
    }
    use crate::location::GeoPoint;

    #[test]
    fn arrival_with_a_fix_round_trips_through_json() {
        let fix = GeoFix {
            point: GeoPoint {
                lat: 31.2,
                lon: 121.4,
            },
            accuracy_m: 5.0,
        };
        let e = VisitEvent {
            id: EventId(uuid::Uuid::from_u128(1)),
            visit_id: VisitId(uuid::Uuid::from_u128(2)),
            assignment_id: AssignmentId::new("A-1").unwrap(),
            device_id: DeviceId::new("phone-1").unwrap(),
            hlc: HlcStamp::default(),
            recorded_at: DateTime::<Utc>::default(),
            location: Some(fix),
            assignment_version: 1,
            kind: EventKind::Arrived {
                location: Some(fix),
                geofence: None,
                outside_geofence_reason: None,
                punctuality: Punctuality::OnTime,
                late_without_prior_call: false,
                location_unavailable: None,
            },
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<VisitEvent>(&json).unwrap(), e);
    }
}
