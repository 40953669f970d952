//! The visit's state: a pure projection of its events. `apply` never fails
//! and never looks at a clock, so replaying the same events always gives the
//! same state, on the device and on the server.

use super::command::*;
use super::event::*;
use super::signature::{Ratings, SignOffEvidence};
use crate::assignment::{Assignment, AssignmentField, FieldIssue, TimeWindow};
use crate::ids::{AssignmentId, VisitId};
use crate::invoice_request::InvoiceBuyer;
use crate::location::{GeoPoint, GeofenceCheck};
use crate::messages::Text;
use crate::qr_payment::QrPaymentRef;
use crate::quote::Quote;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the visit stands, coarsely. The detailed facts live in the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// No assignment yet.
    #[default]
    New,
    /// Received: checking information, triage, calling the customer.
    Intake,
    /// Appointment confirmed (or proceeding unconfirmed): preparing the kit.
    Scheduled,
    /// On the way.
    EnRoute,
    /// At the customer's door.
    AtDoor,
    /// Inside, working.
    OnSite,
    /// Finished; see `outcome`.
    Closed,
}

impl Stage {
    /// The stage's name on screens, in both languages: the one label the
    /// shells, the server's responses and the console show.
    pub fn label(self) -> Text {
        let (en, zh) = match self {
            Stage::New => ("New", "新工单"),
            Stage::Intake => ("Confirming", "待确认"),
            Stage::Scheduled => ("Scheduled", "已预约"),
            Stage::EnRoute => ("On the way", "在途中"),
            Stage::AtDoor => ("At the door", "已到门口"),
            Stage::OnSite => ("On site", "服务中"),
            Stage::Closed => ("Closed", "已结束"),
        };
        Text::new(en, zh)
    }
}

/// A logged call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallRecord {
    pub at: DateTime<Utc>,
    pub outcome: CallOutcome,
    pub purpose: CallPurpose,
}

/// Status of one kit item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum KitStatus {
    Checked,
    Skipped { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Departure {
    pub at: DateTime<Utc>,
    pub travel_minutes: u32,
    pub projected_arrival: DateTime<Utc>,
    pub late_risk: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Arrival {
    pub at: DateTime<Utc>,
    pub geofence: Option<GeofenceCheck>,
    pub punctuality: Punctuality,
    pub late_without_prior_call: bool,
}

/// A position in whole micro-degrees (about 0.1 m): exact across storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MicroDegrees {
    pub lat_e6: i64,
    pub lon_e6: i64,
}

impl MicroDegrees {
    pub fn of(p: GeoPoint) -> MicroDegrees {
        let e6 = |x: f64| (x * 1e6).round() as i64;
        MicroDegrees {
            lat_e6: e6(p.lat),
            lon_e6: e6(p.lon),
        }
    }

    pub fn point(self) -> GeoPoint {
        GeoPoint {
            lat: self.lat_e6 as f64 / 1e6,
            lon: self.lon_e6 as f64 / 1e6,
        }
    }
}

/// The trip as the technician planned it before departing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TravelPlan {
    pub estimated_travel_minutes: Option<u32>,
    /// Where the trip starts (the previous job).
    pub from: Option<MicroDegrees>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Diagnosis {
    pub fault_reproduced: bool,
    pub cause: String,
    pub parts: Vec<String>,
    pub decision: RepairDecision,
    #[serde(default)]
    pub fault_code: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkRecord {
    pub at: DateTime<Utc>,
    pub description: String,
    pub kind: WorkKind,
    pub parts_used: Vec<PartUsed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestRun {
    pub at: DateTime<Utc>,
    pub passed: bool,
    pub uncertain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub at: DateTime<Utc>,
    pub amount: i64,
    pub method: PaymentMethod,
    pub receipt: ReceiptRecord,
    /// The native-pay order, when the customer paid by QR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<QrPaymentRef>,
}

/// A payment left owed at the door, for the center to follow up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeferredPayment {
    pub at: DateTime<Utc>,
    /// Fen: the amount due when it was deferred.
    pub amount: i64,
    pub reason: String,
}

/// The customer's sign-off of one report version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignOffRecord {
    pub report_version: u32,
    pub ratings: Ratings,
    pub comment: Option<String>,
    pub evidence: SignOffEvidence,
    /// Number of strokes signed (the strokes live in the event).
    pub stroke_count: usize,
    /// The strokes in the event hash to the evidence's strokes digest.
    pub strokes_match: bool,
    /// The assignment version the signed report names. The center may change
    /// the assignment later (cancel, reassign, correct it); that is not a
    /// change to what the customer signed.
    #[serde(default)]
    pub assignment_version: u64,
}

/// The customer declined to sign: a valid outcome that triggers follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Declined {
    pub at: DateTime<Utc>,
    pub report_version: u32,
    pub report_digest: String,
    pub reason: String,
}

/// The customer's acceptance code on this visit (issue 19).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptanceRecord {
    /// The phone's offline check found the code issued.
    pub matched: bool,
    /// Wrong codes the phone checked (it stops at `OFFLINE_ATTEMPTS`).
    pub wrong_codes: u32,
    /// Codes typed after the phone stopped checking: the center checks them.
    pub sent_to_center: u32,
    /// The customer would not give the code, and why.
    pub withheld: Option<String>,
}

impl AcceptanceRecord {
    /// The phone stopped checking codes offline.
    pub fn offline_check_stopped(&self) -> bool {
        self.wrong_codes >= crate::acceptance_code::OFFLINE_ATTEMPTS
    }

    /// The visit may close: the code matched, went to the center, or was withheld.
    pub fn settled(&self) -> bool {
        self.matched || self.sent_to_center > 0 || self.withheld.is_some()
    }
}

/// A photo taken of one of the trade's moments (its bytes are in the blob area).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoRecord {
    pub moment: String,
    /// SHA-256 of the photo's bytes: the blob's name, and what the report binds.
    pub digest: String,
    pub size_bytes: u64,
    pub width: u32,
    pub height: u32,
    pub taken_at: DateTime<Utc>,
    pub location: Option<crate::location::GeoFix>,
    pub technician: Option<crate::ids::TechnicianId>,
}

/// A moment whose photo could not be taken, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoNotTakenRecord {
    pub moment: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Take-back (拉修) preconditions as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TakeBackRecord {
    pub loaner_offered: Option<bool>,
    pub appearance: Option<String>,
    pub receipt_digest: Option<String>,
    pub return_by: Option<NaiveDate>,
}

/// The door-knock log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoorLog {
    pub knocks: Vec<DateTime<Utc>>,
    pub answered: bool,
    pub neighbour_asked: bool,
    pub note_left: bool,
    pub center_notified: bool,
}

/// A conflict between the center's change and the device's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub kind: ConflictKind,
    pub version: u64,
}

/// Everything known about one visit.
///
/// Written lean: a field at its default (false, none, zero, empty) is left
/// out of the JSON and read back as that default, so a visit just received
/// is stored (on the phone and on the server) and sent in about 250 bytes
/// rather than every field's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct VisitState {
    #[serde(skip_serializing_if = "is_default")]
    pub visit_id: Option<VisitId>,
    #[serde(skip_serializing_if = "is_default")]
    pub assignment: Option<Assignment>,
    /// The playbook version the visit started with and keeps (`None`: a
    /// visit from before versions were kept, walked with the shipped one).
    #[serde(skip_serializing_if = "is_default")]
    pub playbook_version: Option<i64>,
    #[serde(skip_serializing_if = "is_default")]
    pub stage: Stage,
    #[serde(skip_serializing_if = "is_default")]
    pub outcome: Option<Outcome>,
    /// 1 for the first trip; a reschedule starts the next.
    #[serde(skip_serializing_if = "is_default")]
    pub trip: u32,
    /// The window in force: requested, then agreed.
    #[serde(skip_serializing_if = "is_default")]
    pub window: Option<TimeWindow>,
    #[serde(skip_serializing_if = "is_default")]
    pub window_confirmed: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub field_issues: Vec<FieldIssue>,
    #[serde(skip_serializing_if = "is_default")]
    pub waived_fields: Vec<AssignmentField>,
    #[serde(skip_serializing_if = "is_default")]
    pub verification_requested: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub triaged: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub remote_fixable: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub window_conflict: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub calls: Vec<CallRecord>,
    /// How many calls were logged when the window in force was last agreed:
    /// a new window needs a reached call after that one.
    #[serde(skip_serializing_if = "is_default")]
    pub window_agreed_at_call: usize,
    #[serde(skip_serializing_if = "is_default")]
    pub kit: BTreeMap<String, KitStatus>,
    #[serde(skip_serializing_if = "is_default")]
    pub departure: Option<Departure>,
    /// The trip as planned before departing (§2.5): an estimate or the origin.
    #[serde(skip_serializing_if = "is_default")]
    pub travel_plan: Option<TravelPlan>,
    /// The technician's last recorded position (the location of the latest
    /// event that carried one), in whole micro-degrees so that a history read
    /// back from JSON replays to the same state.
    #[serde(skip_serializing_if = "is_default")]
    pub last_position: Option<MicroDegrees>,
    #[serde(skip_serializing_if = "is_default")]
    pub running_late_notified: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "is_default")]
    pub arrival: Option<Arrival>,
    #[serde(skip_serializing_if = "is_default")]
    pub lateness_apologised: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub manager_visit_requested: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub appearance_checked: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub door: DoorLog,
    #[serde(skip_serializing_if = "is_default")]
    pub entered: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub shoe_covers: Option<bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub shoe_covers_waiver: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub drop_cloth_laid: bool,
    /// Why no drop cloth was laid (STANDARDS §2.10, like the shoe-cover waiver).
    #[serde(skip_serializing_if = "is_default")]
    pub drop_cloth_waiver: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub diagnosis: Option<Diagnosis>,
    #[serde(skip_serializing_if = "is_default")]
    pub data_risk_warned: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub backup_consent_digest: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub take_back: TakeBackRecord,
    #[serde(skip_serializing_if = "is_default")]
    pub missing_parts: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub inspected: BTreeMap<String, bool>,
    #[serde(skip_serializing_if = "is_default")]
    pub fee_schedule_shown: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub quote: Option<Quote>,
    #[serde(skip_serializing_if = "is_default")]
    pub accepted_revision: Option<u32>,
    #[serde(skip_serializing_if = "is_default")]
    pub quote_refused: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub escalations: Vec<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub guardian: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub work: Vec<WorkRecord>,
    /// Hidden faults found after the quote was accepted (re-quote if chargeable).
    #[serde(skip_serializing_if = "is_default")]
    pub hidden_faults: Vec<String>,
    /// A hidden fault was found on a chargeable visit after acceptance: re-quote.
    #[serde(skip_serializing_if = "is_default")]
    pub requote_pending: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub test_run: Option<TestRun>,
    /// When a 2-hour callback was scheduled instead of a test run.
    #[serde(skip_serializing_if = "is_default")]
    pub untested_callback: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "is_default")]
    pub briefed: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub cleaned_up: bool,
    /// The latest payment.
    #[serde(skip_serializing_if = "is_default")]
    pub payment: Option<Payment>,
    /// Sum of every payment collected on this visit.
    #[serde(skip_serializing_if = "is_default")]
    pub paid_total: i64,
    #[serde(skip_serializing_if = "is_default")]
    pub payment_refused: bool,
    /// The customer will pay the center later (§2.15 still holds: the
    /// whole amount due is owed, never part of it).
    #[serde(skip_serializing_if = "is_default")]
    pub payment_deferred: Option<DeferredPayment>,
    /// The e-fapiao the customer asked for at the door.
    #[serde(skip_serializing_if = "is_default")]
    pub invoice_request: Option<InvoiceBuyer>,
    /// The report version being prepared or signed; starts at 1.
    #[serde(skip_serializing_if = "is_default")]
    pub report_version: u32,
    #[serde(skip_serializing_if = "is_default")]
    pub sign_off: Option<SignOffRecord>,
    #[serde(skip_serializing_if = "is_default")]
    pub declined: Option<Declined>,
    #[serde(skip_serializing_if = "is_default")]
    pub belongings_checked: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub acceptance: AcceptanceRecord,
    #[serde(skip_serializing_if = "is_default")]
    pub incidents: Vec<(IncidentKind, String)>,
    /// Photos taken, in the order taken.
    #[serde(skip_serializing_if = "is_default")]
    pub photos: Vec<PhotoRecord>,
    /// Moments whose photo could not be taken, with the reason.
    #[serde(skip_serializing_if = "is_default")]
    pub photos_not_taken: Vec<PhotoNotTakenRecord>,
    #[serde(skip_serializing_if = "is_default")]
    pub conflict: Option<Conflict>,
    /// Set by the center; the device keeps its facts regardless.
    #[serde(skip_serializing_if = "is_default")]
    pub cancelled: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub reassigned: bool,
    #[serde(skip_serializing_if = "is_default")]
    pub resolved_remotely_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "is_default")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "is_default")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "is_default")]
    pub event_count: u64,
    #[serde(skip_serializing_if = "is_default")]
    pub last_event_at: Option<DateTime<Utc>>,
}

/// Whether a state's field is at its default (left out of the JSON).
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl VisitState {
    /// Rebuilds a state from events, in order.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a VisitEvent>) -> VisitState {
        let mut s = VisitState::default();
        for e in events {
            s.apply(e);
        }
        s
    }

    pub fn assignment_id(&self) -> Option<&AssignmentId> {
        self.assignment.as_ref().map(|a| &a.id)
    }

    /// The assignment version this device has seen (0 before any).
    pub fn assignment_version(&self) -> u64 {
        self.assignment.as_ref().map_or(0, |a| a.version)
    }

    /// Records `field` as waived by the center (by the technician after a
    /// call, or carried by the order).
    fn waive(&mut self, field: AssignmentField) {
        if !self.waived_fields.contains(&field) {
            self.waived_fields.push(field);
        }
    }

    /// Fields still missing or inconsistent and not waived by the center.
    pub fn open_field_issues(&self) -> Vec<&FieldIssue> {
        self.field_issues
            .iter()
            .filter(|i| !self.waived_fields.contains(&i.field))
            .collect()
    }

    /// Whether the technician has set off (a cancel after this is a conflict).
    pub fn started(&self) -> bool {
        self.started_at.is_some()
    }

    /// What the customer still owes on the accepted quote (negative: overpaid).
    pub fn amount_due(&self) -> Option<i64> {
        self.accepted_quote()
            .map(|q| q.customer_total.saturating_sub(self.paid_total))
    }

    pub fn accepted_quote(&self) -> Option<&Quote> {
        match (&self.quote, self.accepted_revision) {
            (Some(q), Some(r)) if q.revision == r => Some(q),
            _ => None,
        }
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, e: &VisitEvent) {
        self.event_count += 1;
        self.last_event_at = Some(e.recorded_at);
        if self.visit_id.is_none() {
            self.visit_id = Some(e.visit_id);
        }
        let at = e.recorded_at;
        if let Some(fix) = e.location.filter(|f| f.is_valid()) {
            self.last_position = Some(MicroDegrees::of(fix.point));
        }
        match &e.kind {
            EventKind::AssignmentReceived {
                assignment,
                field_issues,
                playbook_version,
            } => {
                if self.stage == Stage::New {
                    self.stage = Stage::Intake;
                    self.trip = 1;
                    self.playbook_version = *playbook_version;
                }
                // The center owns the window: a window it changes replaces the
                // one in force; an unchanged one leaves an agreed window alone.
                let previous = self.assignment.as_ref().and_then(|a| a.requested_window);
                if self.window.is_none() || previous != assignment.requested_window {
                    self.window = assignment.requested_window;
                }
                self.assignment = Some(assignment.as_ref().clone());
                self.field_issues = field_issues.clone();
                for f in assignment.center_waived_fields() {
                    self.waive(f);
                }
            }
            EventKind::AssignmentCancelled { version, .. } => {
                self.cancelled = true;
                self.bump_version(*version);
                if !self.started() && self.stage != Stage::Closed {
                    self.close(Outcome::Cancelled, at);
                }
            }
            EventKind::AssignmentReassigned { version, to } => {
                self.reassigned = true;
                self.bump_version(*version);
                if let Some(a) = self.assignment.as_mut() {
                    a.technician = Some(to.clone());
                }
                if !self.started() && self.stage != Stage::Closed {
                    self.close(Outcome::Reassigned, at);
                }
            }
            EventKind::ConflictRaised { kind, version } => {
                self.conflict = Some(Conflict {
                    kind: *kind,
                    version: *version,
                });
            }
            EventKind::CenterVerificationRequested { .. } => self.verification_requested = true,
            EventKind::FieldsWaived { fields, .. } => {
                for f in fields {
                    self.waive(*f);
                }
            }
            EventKind::TriageRecorded { remote_fixable, .. } => {
                self.triaged = true;
                self.remote_fixable = *remote_fixable;
            }
            EventKind::ResolvedRemotely { .. } => {
                self.resolved_remotely_at = Some(at);
                self.close(Outcome::ResolvedRemotely, at);
            }
            EventKind::CallLogged {
                outcome, purpose, ..
            } => self.calls.push(CallRecord {
                at,
                outcome: *outcome,
                purpose: *purpose,
            }),
            EventKind::AppointmentConfirmed { window, .. }
            | EventKind::ProceedingUnconfirmed { window, .. } => {
                self.window = Some(*window);
                self.window_confirmed = true;
                self.window_agreed_at_call = self.calls.len();
                self.stage = Stage::Scheduled;
            }
            EventKind::WindowConflictReported { .. } => self.window_conflict = true,
            EventKind::NewWindowAgreed { window, .. } => {
                self.window = Some(*window);
                self.window_conflict = false;
                self.window_confirmed = false;
                self.window_agreed_at_call = self.calls.len();
            }
            EventKind::HandedBackToCenter { .. } => self.close(Outcome::HandedBack, at),
            EventKind::KitItemChecked { item } => {
                self.kit.insert(item.clone(), KitStatus::Checked);
            }
            EventKind::KitItemSkipped { item, reason } => {
                self.kit.insert(
                    item.clone(),
                    KitStatus::Skipped {
                        reason: reason.clone(),
                    },
                );
            }
            EventKind::TravelPlanned {
                estimated_travel_minutes,
                from,
            } => {
                self.travel_plan = Some(TravelPlan {
                    estimated_travel_minutes: *estimated_travel_minutes,
                    from: from.map(MicroDegrees::of),
                })
            }
            EventKind::Departed {
                travel_minutes,
                projected_arrival,
                late_risk,
                ..
            } => {
                self.departure = Some(Departure {
                    at,
                    travel_minutes: *travel_minutes,
                    projected_arrival: *projected_arrival,
                    late_risk: *late_risk,
                });
                self.started_at.get_or_insert(at);
                self.stage = Stage::EnRoute;
            }
            EventKind::RunningLateNotified { choice, .. } => {
                self.running_late_notified = Some(at);
                match choice {
                    Some(LateChoice::NewWindow { window }) => {
                        self.window = Some(*window);
                        self.window_agreed_at_call = self.calls.len();
                    }
                    Some(LateChoice::Reassign) => self
                        .escalations
                        .push("reassign requested by customer".into()),
                    _ => {}
                }
            }
            EventKind::Arrived {
                geofence,
                punctuality,
                late_without_prior_call,
                ..
            } => {
                self.arrival = Some(Arrival {
                    at,
                    geofence: *geofence,
                    punctuality: *punctuality,
                    late_without_prior_call: *late_without_prior_call,
                });
                self.stage = Stage::AtDoor;
            }
            EventKind::LatenessApologised { .. } => self.lateness_apologised = true,
            EventKind::ManagerVisitRequested { .. } => self.manager_visit_requested = true,
            EventKind::AppearanceChecked { .. } => self.appearance_checked = true,
            EventKind::Knocked { .. } => self.door.knocks.push(at),
            EventKind::DoorAnswered => self.door.answered = true,
            EventKind::NeighbourAsked { .. } => self.door.neighbour_asked = true,
            EventKind::DoorNoteLeft => self.door.note_left = true,
            EventKind::CenterNotifiedAbsent => self.door.center_notified = true,
            EventKind::CustomerAbsent { .. } => self.close(Outcome::CustomerAbsent, at),
            EventKind::Entered { .. } => {
                self.entered = true;
                self.stage = Stage::OnSite;
            }
            EventKind::EntryExceptionRecorded { new_window, .. } => self.next_trip(*new_window),
            EventKind::ShoeCoversOn => self.shoe_covers = Some(true),
            EventKind::ShoeCoversWaived { note } => {
                self.shoe_covers = Some(false);
                self.shoe_covers_waiver = Some(note.clone());
            }
            EventKind::DropClothLaid => self.drop_cloth_laid = true,
            EventKind::DropClothWaived { note } => self.drop_cloth_waiver = Some(note.clone()),
            EventKind::DiagnosisRecorded {
                fault_reproduced,
                cause,
                parts,
                decision,
                fault_code,
                note,
            } => {
                self.diagnosis = Some(Diagnosis {
                    fault_reproduced: *fault_reproduced,
                    cause: cause.clone(),
                    parts: parts.clone(),
                    decision: *decision,
                    fault_code: fault_code.clone(),
                    note: note.clone(),
                })
            }
            EventKind::DataRiskWarned => self.data_risk_warned = true,
            EventKind::BackupConsentSigned { strokes_digest, .. } => {
                self.backup_consent_digest = Some(strokes_digest.clone())
            }
            EventKind::LoanerOffered { accepted } => {
                self.take_back.loaner_offered = Some(*accepted)
            }
            EventKind::UnitAppearanceRecorded { description } => {
                self.take_back.appearance = Some(description.clone())
            }
            EventKind::CustodyReceiptSigned { strokes_digest, .. } => {
                self.take_back.receipt_digest = Some(strokes_digest.clone())
            }
            EventKind::TakenBack { return_by } => {
                self.take_back.return_by = Some(*return_by);
                self.close(Outcome::TakenBack, at);
            }
            EventKind::PartMissing { part, resolution } => {
                self.missing_parts.push(part.clone());
                if let MissingPartResolution::NewVisit { window } = resolution {
                    self.next_trip(*window);
                }
            }
            EventKind::ItemInspected {
                item,
                seal_intact,
                no_leaks,
                no_foreign_matter,
            } => {
                self.inspected.insert(
                    item.clone(),
                    *seal_intact && *no_leaks && *no_foreign_matter,
                );
            }
            EventKind::FeeScheduleShown => self.fee_schedule_shown = true,
            EventKind::QuotePresented { quote } => {
                self.quote = Some(quote.clone());
                self.quote_refused = false;
            }
            EventKind::QuoteAccepted { revision, .. } => {
                self.accepted_revision = Some(*revision);
                self.requote_pending = false;
            }
            EventKind::QuoteRefused { .. } => self.quote_refused = true,
            EventKind::EscalatedToCenter { reason } => self.escalations.push(reason.clone()),
            EventKind::GuardianRecorded { name, .. } => self.guardian = Some(name.clone()),
            EventKind::WorkRecorded {
                description,
                kind,
                parts_used,
            } => {
                self.work.push(WorkRecord {
                    at,
                    description: description.clone(),
                    kind: *kind,
                    parts_used: parts_used.clone(),
                });
                // Work after a test run is tested again (§2.13).
                self.test_run = None;
            }
            EventKind::HiddenFaultFound { description } => {
                self.hidden_faults.push(description.clone());
                if self.accepted_quote().is_some_and(|q| q.chargeable()) {
                    self.requote_pending = true;
                }
                // A hidden fault invalidates a passed test: the unit is tested again.
                self.test_run = None;
            }
            EventKind::TestRunRecorded {
                passed, uncertain, ..
            } => {
                self.test_run = Some(TestRun {
                    at,
                    passed: *passed,
                    uncertain: *uncertain,
                })
            }
            EventKind::UntestedCallbackScheduled { .. } => self.untested_callback = Some(at),
            EventKind::CustomerBriefed => self.briefed = true,
            EventKind::CleanedUp => self.cleaned_up = true,
            EventKind::PaymentCollected {
                amount,
                method,
                receipt,
                qr,
            } => {
                self.paid_total = self.paid_total.saturating_add(*amount);
                self.payment = Some(Payment {
                    at,
                    amount: *amount,
                    method: *method,
                    receipt: receipt.clone(),
                    qr: qr.clone(),
                })
            }
            EventKind::PaymentRefused { .. } => self.payment_refused = true,
            EventKind::InvoiceRequested { buyer } => self.invoice_request = Some(buyer.clone()),
            EventKind::PaymentDeferred { amount, reason } => {
                self.payment_deferred = Some(DeferredPayment {
                    at,
                    amount: *amount,
                    reason: reason.clone(),
                })
            }
            EventKind::CustomerSignedOff {
                report_version,
                ratings,
                comment,
                strokes,
                evidence,
            } => {
                self.sign_off = Some(SignOffRecord {
                    report_version: *report_version,
                    ratings: *ratings,
                    comment: comment.clone(),
                    evidence: evidence.clone(),
                    stroke_count: strokes.len(),
                    strokes_match: super::signature::strokes_digest(strokes)
                        == evidence.strokes_digest,
                    assignment_version: self.assignment_version(),
                });
                self.declined = None;
            }
            EventKind::SignatureDeclined {
                report_version,
                report_digest,
                reason,
            } => {
                self.declined = Some(Declined {
                    at,
                    report_version: *report_version,
                    report_digest: report_digest.clone(),
                    reason: reason.clone(),
                })
            }
            EventKind::ReportReopened { new_version, .. } => {
                self.report_version = *new_version;
                self.sign_off = None;
                self.declined = None;
                self.payment = None;
            }
            EventKind::BelongingsChecked => self.belongings_checked = true,
            EventKind::AcceptanceCodeEntered { matched, .. } => match matched {
                Some(true) => self.acceptance.matched = true,
                Some(false) => self.acceptance.wrong_codes += 1,
                None => self.acceptance.sent_to_center += 1,
            },
            EventKind::AcceptanceCodeWithheld { reason } => {
                self.acceptance.withheld = Some(reason.clone())
            }
            EventKind::Left { outcome, .. } => self.close(*outcome, at),
            EventKind::IncidentRecorded {
                kind, description, ..
            } => self.incidents.push((*kind, description.clone())),
            EventKind::PhotoTaken {
                moment,
                digest,
                size_bytes,
                width,
                height,
                technician,
            } => self.photos.push(PhotoRecord {
                moment: moment.clone(),
                digest: digest.clone(),
                size_bytes: *size_bytes,
                width: *width,
                height: *height,
                taken_at: at,
                location: e.location,
                technician: technician.clone(),
            }),
            EventKind::PhotoNotTaken { moment, reason } => {
                self.photos_not_taken.push(PhotoNotTakenRecord {
                    moment: moment.clone(),
                    reason: reason.clone(),
                    at,
                })
            }
        }
        if self.report_version == 0 {
            self.report_version = 1;
        }
    }

    fn bump_version(&mut self, version: u64) {
        if let Some(a) = self.assignment.as_mut() {
            a.version = a.version.max(version);
        }
    }

    fn close(&mut self, outcome: Outcome, at: DateTime<Utc>) {
        self.stage = Stage::Closed;
        self.outcome = Some(outcome);
        self.closed_at = Some(at);
    }

    /// A reschedule: the visit continues with another trip at the agreed window.
    fn next_trip(&mut self, window: TimeWindow) {
        self.trip += 1;
        self.window = Some(window);
        self.window_confirmed = true;
        self.window_agreed_at_call = self.calls.len();
        self.stage = Stage::Scheduled;
        self.departure = None;
        self.travel_plan = None;
        self.running_late_notified = None;
        self.arrival = None;
        self.lateness_apologised = false;
        self.appearance_checked = false;
        self.door = DoorLog::default();
        self.entered = false;
        self.shoe_covers = None;
        self.shoe_covers_waiver = None;
        self.drop_cloth_laid = false;
        self.drop_cloth_waiver = None;
        self.kit.clear();
    }
}
