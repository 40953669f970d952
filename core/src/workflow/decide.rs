//! The rules: `decide(state, command, playbook, context) -> events | refusal`.
//!
//! Pure: no IO, no clock — `now` comes in the context. Each guard below is a
//! small named function quoting the standard it enforces (STANDARDS.md §2.n).

use super::command::*;
use super::error::WorkflowError;
use super::event::*;
use super::state::{KitStatus, Stage, VisitState};
use crate::assignment::TimeWindow;
use crate::clock;
use crate::ids::DeviceId;
use crate::location::{geofence, GeoFix};
use crate::playbook::{Playbook, Step};
use crate::quote;
use crate::signoff::{self, Report, SignOffEvidence};
use chrono::{DateTime, Utc};

type Result<T> = std::result::Result<T, WorkflowError>;

/// What the rules are given besides the state and the command.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub device_id: DeviceId,
    /// The phone's location fix when the command was given, if any.
    pub location: Option<GeoFix>,
    /// Digest of this device's previous sign-off evidence (hash chain).
    pub previous_evidence_digest: Option<String>,
}

impl Context {
    /// The phone's fix when it is a usable one; garbage from the platform
    /// (NaN, out of range) counts as no fix rather than being recorded.
    pub fn fix(&self) -> Option<GeoFix> {
        self.location.filter(GeoFix::is_valid)
    }

    pub fn new(now: DateTime<Utc>, device_id: DeviceId) -> Self {
        Self {
            now,
            device_id,
            location: None,
            previous_evidence_digest: None,
        }
    }
}

/// The step a command belongs to; `None` for center facts and incidents.
pub fn step_of(cmd: &VisitCommand) -> Option<Step> {
    use VisitCommand::*;
    Some(match cmd {
        ReceiveAssignment { .. }
        | CancelAssignment { .. }
        | ReassignAssignment { .. }
        | RecordIncident { .. } => return None,
        LogCall { .. } => return None,
        VerifyWithCenter { .. } | WaiveFields { .. } => Step::Receive,
        RecordTriage { .. } | ResolveRemotely { .. } => Step::Triage,
        ConfirmAppointment { .. }
        | ProceedUnconfirmed
        | ReportWindowConflict { .. }
        | AgreeNewWindow { .. }
        | HandBackToCenter { .. } => Step::Confirm,
        CheckKitItem { .. } | SkipKitItem { .. } => Step::Prepare,
        Depart { .. } | NotifyRunningLate { .. } => Step::Depart,
        Arrive { .. } | ApologiseForLateness { .. } => Step::Arrive,
        CheckAppearance { .. } => Step::Appearance,
        Knock { .. }
        | DoorAnswered
        | AskNeighbour { .. }
        | LeaveDoorNote
        | NotifyCenterAbsent
        | DeclareCustomerAbsent => Step::Knock,
        Enter { .. } | RecordEntryException { .. } => Step::Enter,
        PutOnShoeCovers | WaiveShoeCovers { .. } | LayDropCloth => Step::Protect,
        RecordDiagnosis { .. }
        | WarnDataRisk
        | SignBackupConsent { .. }
        | OfferLoaner { .. }
        | RecordUnitAppearance { .. }
        | SignCustodyReceipt { .. }
        | TakeBack { .. }
        | ReportMissingPart { .. } => Step::Diagnose,
        InspectItem { .. } => Step::Inspect,
        ShowFeeSchedule | PresentQuote { .. } | AcceptQuote { .. } | RefuseQuote { .. } => {
            Step::Quote
        }
        RecordGuardian { .. } | RecordWork { .. } | ReportHiddenFault { .. } => Step::Work,
        RecordTestRun { .. } | ScheduleUntestedCallback { .. } => Step::Test,
        BriefCustomer => Step::Teach,
        CleanUp { .. } => Step::CleanUp,
        CollectPayment { .. } | RefusePayment { .. } => Step::Payment,
        SignOff { .. } | DeclineSignature { .. } | ReopenReport { .. } => Step::SignOff,
        CheckBelongings => Step::Belongings,
        Leave { .. } => Step::Leave,
    })
}

/// Commands that change what the customer signs.
fn changes_report(cmd: &VisitCommand) -> bool {
    use VisitCommand::*;
    matches!(
        cmd,
        RecordDiagnosis { .. }
            | PresentQuote { .. }
            | AcceptQuote { .. }
            | RefuseQuote { .. }
            | RecordWork { .. }
            | ReportHiddenFault { .. }
            | RecordTestRun { .. }
            | ScheduleUntestedCallback { .. }
            | CollectPayment { .. }
            | SignOff { .. }
            | DeclineSignature { .. }
            // A reschedule starts another trip: the report names the trip and arrival.
            | RecordEntryException { .. }
            | ReportMissingPart { .. }
    )
}

fn out_of_order(cmd: &VisitCommand, s: &VisitState, needs: &str) -> WorkflowError {
    WorkflowError::OutOfOrder {
        command: cmd.name(),
        stage: s.stage,
        needs: needs.to_string(),
    }
}

fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: "must not be empty".into(),
        })
    } else {
        Ok(())
    }
}

fn valid_future_window(field: &str, w: &TimeWindow, now: DateTime<Utc>) -> Result<()> {
    if !w.is_valid() {
        return Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: "the window must end after it starts".into(),
        });
    }
    if w.end <= now {
        return Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: "the window is already over".into(),
        });
    }
    Ok(())
}

/// Decides a command. Returns the events to append, or the refusal.
pub fn decide(
    s: &VisitState,
    cmd: &VisitCommand,
    pb: &Playbook,
    ctx: &Context,
) -> Result<Vec<EventKind>> {
    use VisitCommand as C;
    let now = ctx.now;

    if s.stage == Stage::New {
        return match cmd {
            C::ReceiveAssignment { assignment } => {
                if assignment.trade != pb.id {
                    return Err(WorkflowError::InvalidInput {
                        field: "assignment.trade".into(),
                        problem: format!("is {} but the playbook is {}", assignment.trade, pb.id),
                    });
                }
                let field_issues = assignment.field_issues(&pb.required_fields);
                Ok(vec![EventKind::AssignmentReceived {
                    assignment: (**assignment).clone(),
                    field_issues,
                }])
            }
            _ => Err(WorkflowError::VisitNotStarted),
        };
    }

    // Center facts are recorded whatever the visit's stage: nothing is lost.
    match cmd {
        C::ReceiveAssignment { assignment } => return receive_update(s, assignment, pb),
        C::CancelAssignment { version, reason } => {
            if s.cancelled {
                return Ok(vec![]);
            }
            let mut ev = vec![EventKind::AssignmentCancelled {
                version: *version,
                reason: reason.clone(),
            }];
            if s.started() {
                ev.push(EventKind::ConflictRaised {
                    kind: ConflictKind::CancelledAfterStart,
                    version: *version,
                });
            }
            return Ok(ev);
        }
        C::ReassignAssignment { version, to } => {
            let current = s.assignment.as_ref().and_then(|a| a.technician.as_ref());
            if current == Some(to) || s.reassigned && version <= &s.assignment_version() {
                return Ok(vec![]);
            }
            let mut ev = vec![EventKind::AssignmentReassigned {
                version: *version,
                to: to.clone(),
            }];
            if s.started() {
                ev.push(EventKind::ConflictRaised {
                    kind: ConflictKind::ReassignedAfterStart,
                    version: *version,
                });
            }
            return Ok(ev);
        }
        _ => {}
    }

    if let Some(outcome) = s.outcome {
        return Err(WorkflowError::VisitClosed { outcome });
    }
    if let Some(step) = step_of(cmd) {
        if !pb.has(step) {
            return Err(WorkflowError::StepNotInPlaybook { step });
        }
    }
    // §2.16 enforce: any change to a signed report breaks the binding.
    if changes_report(cmd) {
        if let Some(signed) = &s.sign_off {
            return Err(WorkflowError::ReportSigned {
                version: signed.report_version,
            });
        }
    }

    match cmd {
        C::ReceiveAssignment { .. } | C::CancelAssignment { .. } | C::ReassignAssignment { .. } => {
            unreachable_center()
        }

        // ---- 1 Receive -------------------------------------------------
        C::VerifyWithCenter { fields, note } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            if fields.is_empty() {
                return Err(WorkflowError::InvalidInput {
                    field: "fields".into(),
                    problem: "name at least one field to verify".into(),
                });
            }
            Ok(vec![EventKind::CenterVerificationRequested {
                fields: fields.clone(),
                note: note.clone(),
            }])
        }
        C::WaiveFields {
            fields,
            approved_by,
            approval_code,
        } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            if fields.is_empty() {
                return Err(WorkflowError::InvalidInput {
                    field: "fields".into(),
                    problem: "name at least one field to waive".into(),
                });
            }
            non_empty("approved_by", approved_by)?;
            non_empty("approval_code", approval_code)?;
            Ok(vec![EventKind::FieldsWaived {
                fields: fields.clone(),
                approved_by: approved_by.clone(),
                approval_code: approval_code.clone(),
            }])
        }

        // ---- 2 Triage --------------------------------------------------
        C::RecordTriage {
            likely_causes,
            parts_to_bring,
            remote_fixable,
        } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            Ok(vec![EventKind::TriageRecorded {
                likely_causes: likely_causes.clone(),
                parts_to_bring: parts_to_bring.clone(),
                remote_fixable: *remote_fixable && pb.rules.remote_resolution,
            }])
        }
        C::ResolveRemotely { guidance } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            if !pb.rules.remote_resolution {
                return Err(out_of_order(cmd, s, "this trade resolves on site only"));
            }
            if !s.remote_fixable {
                return Err(out_of_order(
                    cmd,
                    s,
                    "record a triage that finds the fault fixable by phone guidance",
                ));
            }
            if !reached_customer(s) {
                return Err(out_of_order(
                    cmd,
                    s,
                    "reach the customer by phone to give the guidance",
                ));
            }
            non_empty("guidance", guidance)?;
            Ok(vec![EventKind::ResolvedRemotely {
                guidance: guidance.clone(),
            }])
        }

        // ---- 3 Confirm -------------------------------------------------
        C::LogCall {
            outcome,
            purpose,
            note,
        } => Ok(vec![EventKind::CallLogged {
            outcome: *outcome,
            purpose: *purpose,
            note: note.clone(),
        }]),
        C::ConfirmAppointment {
            address_confirmed,
            product_confirmed,
        } => {
            in_stage(cmd, s, &[Stage::Intake], "receive the assignment")?;
            require_information_complete(s)?;
            let window = current_window(cmd, s)?;
            if s.window_conflict {
                return Err(out_of_order(cmd, s, "agree a new window with the customer or hand the assignment back to the center"));
            }
            if !reached_customer(s) {
                return Err(out_of_order(cmd, s, "reach the customer by phone (log a reached call), or proceed unconfirmed after the retries"));
            }
            if !address_confirmed || !product_confirmed {
                return Err(WorkflowError::InvalidInput {
                    field: "address_confirmed/product_confirmed".into(),
                    problem: "confirm the address and the product (model, purchase date, fault) with the customer".into(),
                });
            }
            Ok(vec![EventKind::AppointmentConfirmed {
                window,
                address_confirmed: *address_confirmed,
                product_confirmed: *product_confirmed,
            }])
        }
        C::ProceedUnconfirmed => {
            in_stage(cmd, s, &[Stage::Intake], "receive the assignment")?;
            require_information_complete(s)?;
            let window = current_window(cmd, s)?;
            let failed = failed_calls(s);
            let needed = pb.timing.call_attempts_before_unreachable as u32;
            if reached_customer(s) {
                return Err(out_of_order(
                    cmd,
                    s,
                    "the customer was reached: confirm the appointment instead",
                ));
            }
            if failed < needed {
                return Err(WorkflowError::CustomerNotYetUnreachable {
                    attempts: failed,
                    needed,
                });
            }
            // 003: "仍需要按照承诺到达" — still go at the promised time.
            Ok(vec![EventKind::ProceedingUnconfirmed {
                window,
                failed_attempts: failed,
            }])
        }
        C::ReportWindowConflict { reason } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            non_empty("reason", reason)?;
            Ok(vec![EventKind::WindowConflictReported {
                reason: reason.clone(),
            }])
        }
        C::AgreeNewWindow { window, reason } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "receive the assignment",
            )?;
            non_empty("reason", reason)?;
            valid_future_window("window", window, now)?;
            require_customer_agreement(s)?;
            Ok(vec![EventKind::NewWindowAgreed {
                window: *window,
                reason: reason.clone(),
            }])
        }
        C::HandBackToCenter { reason } => {
            in_stage(
                cmd,
                s,
                &[Stage::Intake, Stage::Scheduled],
                "hand back before departing",
            )?;
            non_empty("reason", reason)?;
            Ok(vec![EventKind::HandedBackToCenter {
                reason: reason.clone(),
            }])
        }

        // ---- 4 Prepare -------------------------------------------------
        C::CheckKitItem { item } => {
            in_stage(cmd, s, &[Stage::Scheduled], "confirm the appointment")?;
            known_kit_item(pb, item)?;
            Ok(vec![EventKind::KitItemChecked { item: item.clone() }])
        }
        C::SkipKitItem { item, reason } => {
            in_stage(cmd, s, &[Stage::Scheduled], "confirm the appointment")?;
            known_kit_item(pb, item)?;
            non_empty("reason", reason)?;
            Ok(vec![EventKind::KitItemSkipped {
                item: item.clone(),
                reason: reason.clone(),
            }])
        }

        // ---- 5 Depart --------------------------------------------------
        C::Depart { travel_minutes } => {
            in_stage(cmd, s, &[Stage::Scheduled], "confirm the appointment")?;
            if pb.has(Step::Prepare) {
                require_kit_complete(s, pb)?;
            }
            let window = current_window(cmd, s)?;
            let plan = departure_plan(&window, *travel_minutes, pb, now);
            Ok(vec![EventKind::Departed {
                travel_minutes: *travel_minutes,
                projected_arrival: plan.projected_arrival,
                latest_on_time_departure: plan.latest_departure,
                late_risk: plan.late_risk,
            }])
        }
        C::NotifyRunningLate { outcome, choice } => {
            in_stage(
                cmd,
                s,
                &[Stage::Scheduled, Stage::EnRoute],
                "depart for the customer",
            )?;
            if let Some(LateChoice::NewWindow { window }) = choice {
                valid_future_window("choice.window", window, now)?;
                if *outcome != CallOutcome::Reached {
                    return Err(WorkflowError::NoCustomerAgreement);
                }
            }
            if choice.is_some() && *outcome != CallOutcome::Reached {
                return Err(WorkflowError::NoCustomerAgreement);
            }
            Ok(vec![EventKind::RunningLateNotified {
                outcome: *outcome,
                choice: choice.clone(),
            }])
        }

        // ---- 6 Arrive --------------------------------------------------
        C::Arrive {
            location,
            outside_geofence_reason,
            location_unavailable,
        } => {
            let from = if pb.has(Step::Depart) {
                Stage::EnRoute
            } else {
                Stage::Scheduled
            };
            in_stage(
                cmd,
                s,
                &[from],
                if pb.has(Step::Depart) {
                    "depart"
                } else {
                    "confirm the appointment"
                },
            )?;
            let window = current_window(cmd, s)?;
            if location.is_some_and(|f| !f.is_valid()) {
                return Err(WorkflowError::InvalidInput {
                    field: "location".into(),
                    problem: "not a valid GPS fix (latitude -90..90, longitude -180..180, accuracy in metres)".into(),
                });
            }
            let fix = location.or(ctx.fix());
            let check = match (fix, s.assignment.as_ref().and_then(|a| a.customer.location)) {
                (Some(fix), Some(target)) => {
                    Some(geofence(&fix, &target, pb.timing.geofence_radius_m as u32))
                }
                _ => None,
            };
            if let Some(c) = check {
                let reason_given = outside_geofence_reason
                    .as_deref()
                    .is_some_and(|r| !r.trim().is_empty());
                if !c.inside && !reason_given {
                    return Err(WorkflowError::OutsideGeofence {
                        distance_m: c.distance_m,
                        radius_m: c.radius_m,
                    });
                }
            }
            let punctuality = punctuality(&window, now, pb);
            // "If late is foreseeable, call 1-2 minutes before the appointment at the latest."
            let call_deadline = clock::shift(
                window.start,
                -clock::minutes(pb.timing.late_call_lead_minutes),
            );
            let late_without_prior_call =
                punctuality.is_late() && s.running_late_notified.is_none_or(|t| t > call_deadline);
            Ok(vec![EventKind::Arrived {
                location: fix,
                geofence: check,
                outside_geofence_reason: outside_geofence_reason.clone(),
                punctuality,
                late_without_prior_call,
                location_unavailable: fix.is_none().then_some(*location_unavailable).flatten(),
            }])
        }
        C::ApologiseForLateness {
            gift_offered,
            gift_accepted,
        } => {
            in_stage(cmd, s, &[Stage::AtDoor, Stage::OnSite], "arrive")?;
            let Some(arrival) = &s.arrival else {
                return Err(out_of_order(cmd, s, "arrive"));
            };
            match arrival.punctuality {
                Punctuality::LateSerious { minutes_late } => {
                    if !gift_offered {
                        return Err(WorkflowError::LatenessApologyRequired {
                            minutes_late,
                            gift_required: true,
                        });
                    }
                    let mut ev = vec![EventKind::LatenessApologised {
                        gift_offered: true,
                        gift_accepted: *gift_accepted,
                    }];
                    if !gift_accepted {
                        // Not accepted: a manager visits.
                        ev.push(EventKind::ManagerVisitRequested {
                            reason: format!(
                                "arrived {minutes_late} min late; apology and gift not accepted"
                            ),
                        });
                    }
                    Ok(ev)
                }
                Punctuality::LateMinor { .. } => Ok(vec![EventKind::LatenessApologised {
                    gift_offered: *gift_offered,
                    gift_accepted: *gift_offered && *gift_accepted,
                }]),
                _ => Err(out_of_order(
                    cmd,
                    s,
                    "an apology for lateness is only recorded after a late arrival",
                )),
            }
        }

        // ---- 7 Appearance ----------------------------------------------
        C::CheckAppearance { items } => {
            in_stage(cmd, s, &[Stage::AtDoor], "arrive")?;
            let missing: Vec<String> = pb
                .appearance
                .iter()
                .filter(|a| a.mandatory && !items.contains(&a.id))
                .map(|a| a.id.clone())
                .collect();
            if !missing.is_empty() {
                return Err(WorkflowError::AppearanceIncomplete { items: missing });
            }
            Ok(vec![EventKind::AppearanceChecked {
                items: items.clone(),
            }])
        }

        // ---- 8 Knock ---------------------------------------------------
        C::Knock { method } => {
            at_closed_door(cmd, s)?;
            if pb.has(Step::Appearance) && !s.appearance_checked {
                return Err(out_of_order(cmd, s, "do the appearance self-check"));
            }
            if let Some(last) = s.door.knocks.last() {
                let elapsed = (now - *last).num_seconds();
                let interval = pb.knock.interval_seconds;
                if elapsed < interval {
                    return Err(WorkflowError::KnockTooSoon {
                        wait_seconds: interval - elapsed,
                    });
                }
            }
            Ok(vec![EventKind::Knocked { method: *method }])
        }
        C::DoorAnswered => {
            at_closed_door(cmd, s)?;
            if s.door.knocks.is_empty() {
                return Err(out_of_order(cmd, s, "ring the bell or knock"));
            }
            Ok(vec![EventKind::DoorAnswered])
        }
        C::AskNeighbour { note } => {
            at_closed_door(cmd, s)?;
            non_empty("note", note)?;
            Ok(vec![EventKind::NeighbourAsked { note: note.clone() }])
        }
        C::LeaveDoorNote => {
            at_closed_door(cmd, s)?;
            Ok(vec![EventKind::DoorNoteLeft])
        }
        C::NotifyCenterAbsent => {
            at_closed_door(cmd, s)?;
            Ok(vec![EventKind::CenterNotifiedAbsent])
        }
        C::DeclareCustomerAbsent => {
            at_closed_door(cmd, s)?;
            customer_absent(s, pb).map(|e| vec![e])
        }

        // ---- 9 Enter ---------------------------------------------------
        C::Enter {
            greeted,
            permit_shown,
        } => {
            in_stage(cmd, s, &[Stage::AtDoor], "arrive")?;
            if pb.has(Step::Knock) && !s.door.answered {
                return Err(WorkflowError::EntryIncomplete);
            }
            if !greeted || !permit_shown {
                return Err(WorkflowError::EntryIncomplete);
            }
            require_lateness_apology(s, pb)?;
            Ok(vec![EventKind::Entered {
                greeted: *greeted,
                permit_shown: *permit_shown,
            }])
        }
        C::RecordEntryException {
            exception,
            new_window,
        } => {
            in_stage(cmd, s, &[Stage::AtDoor, Stage::OnSite], "arrive")?;
            if !s.work.is_empty() {
                return Err(out_of_order(
                    cmd,
                    s,
                    "entry exceptions apply before work starts",
                ));
            }
            valid_future_window("new_window", new_window, now)?;
            require_agreement_on_site(s)?;
            Ok(vec![EventKind::EntryExceptionRecorded {
                exception: *exception,
                new_window: *new_window,
            }])
        }

        // ---- 10 Protect ------------------------------------------------
        C::PutOnShoeCovers => {
            inside(cmd, s)?;
            Ok(vec![EventKind::ShoeCoversOn])
        }
        C::WaiveShoeCovers { note } => {
            inside(cmd, s)?;
            non_empty("note", note)?;
            Ok(vec![EventKind::ShoeCoversWaived { note: note.clone() }])
        }
        C::LayDropCloth => {
            inside(cmd, s)?;
            Ok(vec![EventKind::DropClothLaid])
        }

        // ---- 11 Diagnose -----------------------------------------------
        C::RecordDiagnosis {
            fault_reproduced,
            cause,
            parts,
            decision,
        } => {
            inside(cmd, s)?;
            require_protection(s, pb)?;
            non_empty("cause", cause)?;
            if *decision == RepairDecision::TakeBack && !pb.rules.take_back {
                return Err(WorkflowError::InvalidInput {
                    field: "decision".into(),
                    problem: "this trade does not take units back".into(),
                });
            }
            Ok(vec![EventKind::DiagnosisRecorded {
                fault_reproduced: *fault_reproduced,
                cause: cause.clone(),
                parts: parts.clone(),
                decision: *decision,
            }])
        }
        C::WarnDataRisk => {
            inside(cmd, s)?;
            Ok(vec![EventKind::DataRiskWarned])
        }
        C::SignBackupConsent { strokes } => {
            inside(cmd, s)?;
            if !s.data_risk_warned {
                return Err(WorkflowError::BackupConsentRequired { warned: false });
            }
            require_signature(strokes)?;
            Ok(vec![EventKind::BackupConsentSigned {
                strokes: strokes.clone(),
                strokes_digest: signoff::strokes_digest(strokes),
            }])
        }
        C::OfferLoaner { accepted } => {
            take_back_decided(cmd, s, pb)?;
            Ok(vec![EventKind::LoanerOffered {
                accepted: *accepted,
            }])
        }
        C::RecordUnitAppearance { description } => {
            take_back_decided(cmd, s, pb)?;
            non_empty("description", description)?;
            Ok(vec![EventKind::UnitAppearanceRecorded {
                description: description.clone(),
            }])
        }
        C::SignCustodyReceipt { strokes } => {
            take_back_decided(cmd, s, pb)?;
            require_signature(strokes)?;
            Ok(vec![EventKind::CustodyReceiptSigned {
                strokes: strokes.clone(),
                strokes_digest: signoff::strokes_digest(strokes),
            }])
        }
        C::TakeBack { return_by } => {
            take_back_decided(cmd, s, pb)?;
            let t = &s.take_back;
            if t.loaner_offered.is_none() || t.appearance.is_none() || t.receipt_digest.is_none() {
                return Err(WorkflowError::TakeBackIncomplete {
                    loaner: t.loaner_offered.is_some(),
                    appearance: t.appearance.is_some(),
                    receipt: t.receipt_digest.is_some(),
                });
            }
            if *return_by < now.date_naive() {
                return Err(WorkflowError::InvalidInput {
                    field: "return_by".into(),
                    problem: "the agreed return date is in the past".into(),
                });
            }
            Ok(vec![EventKind::TakenBack {
                return_by: *return_by,
            }])
        }
        C::ReportMissingPart { part, resolution } => {
            inside(cmd, s)?;
            non_empty("part", part)?;
            if s.diagnosis.is_none() {
                return Err(out_of_order(cmd, s, "record the diagnosis"));
            }
            if let MissingPartResolution::NewVisit { window } = resolution {
                valid_future_window("resolution.window", window, now)?;
                require_agreement_on_site(s)?;
            }
            Ok(vec![EventKind::PartMissing {
                part: part.clone(),
                resolution: resolution.clone(),
            }])
        }

        // ---- Inspect (water) -------------------------------------------
        C::InspectItem {
            item,
            seal_intact,
            no_leaks,
            no_foreign_matter,
        } => {
            inside(cmd, s)?;
            require_protection(s, pb)?;
            if pb.fee(item).is_none() {
                return Err(WorkflowError::InvalidInput {
                    field: "item".into(),
                    problem: format!("{item:?} is not in the fee schedule"),
                });
            }
            Ok(vec![EventKind::ItemInspected {
                item: item.clone(),
                seal_intact: *seal_intact,
                no_leaks: *no_leaks,
                no_foreign_matter: *no_foreign_matter,
            }])
        }

        // ---- 12 Quote --------------------------------------------------
        C::ShowFeeSchedule => {
            inside(cmd, s)?;
            Ok(vec![EventKind::FeeScheduleShown])
        }
        C::PresentQuote { quote: request } => {
            inside(cmd, s)?;
            if pb.has(Step::Diagnose) && s.diagnosis.is_none() {
                return Err(out_of_order(cmd, s, "record the diagnosis"));
            }
            if pb.has(Step::Inspect) && s.inspected.is_empty() {
                return Err(out_of_order(cmd, s, "inspect the goods"));
            }
            // "Show the schedule before any charge."
            if !s.fee_schedule_shown {
                return Err(WorkflowError::FeeScheduleNotShown);
            }
            let assignment = s
                .assignment
                .as_ref()
                .ok_or(WorkflowError::VisitNotStarted)?;
            let revision = s.quote.as_ref().map_or(1, |q| q.revision + 1);
            let quote = quote::price(pb, assignment, request, now.date_naive(), revision)?;
            Ok(vec![EventKind::QuotePresented { quote }])
        }
        C::AcceptQuote { revision } => {
            inside(cmd, s)?;
            let Some(q) = &s.quote else {
                return Err(out_of_order(cmd, s, "present a quote"));
            };
            if q.revision != *revision {
                return Err(WorkflowError::QuoteRevisionMismatch {
                    current: q.revision,
                    accepted: *revision,
                });
            }
            Ok(vec![EventKind::QuoteAccepted {
                revision: *revision,
                customer_total: q.customer_total,
            }])
        }
        C::RefuseQuote { reason } => {
            inside(cmd, s)?;
            non_empty("reason", reason)?;
            if s.quote.is_none() {
                return Err(out_of_order(cmd, s, "present a quote"));
            }
            // Explain the three guarantees (三包) and escalate to the center.
            Ok(vec![
                EventKind::QuoteRefused {
                    reason: reason.clone(),
                },
                EventKind::EscalatedToCenter {
                    reason: "customer refused the quote".into(),
                },
            ])
        }

        // ---- 13 Work and test ------------------------------------------
        C::RecordGuardian { name, relation } => {
            inside(cmd, s)?;
            non_empty("name", name)?;
            non_empty("relation", relation)?;
            Ok(vec![EventKind::GuardianRecorded {
                name: name.clone(),
                relation: relation.clone(),
            }])
        }
        C::RecordWork {
            description,
            kind,
            parts_used,
        } => {
            inside(cmd, s)?;
            require_protection(s, pb)?;
            non_empty("description", description)?;
            if let Some(d) = &s.diagnosis {
                if d.decision == RepairDecision::TakeBack {
                    return Err(out_of_order(
                        cmd,
                        s,
                        "the diagnosis decided to take the unit back",
                    ));
                }
            } else if pb.has(Step::Diagnose) {
                return Err(out_of_order(cmd, s, "record the diagnosis"));
            }
            if pb.has(Step::Inspect) {
                require_inspection_passed(s)?;
            }
            let kind =
                kind.unwrap_or_else(|| pb.rules.work_kinds.first().copied().unwrap_or_default());
            // Water delivery: cleaning and part repairs are booked, not done ad hoc.
            if !pb.rules.work_kinds.contains(&kind) {
                return Err(WorkflowError::WorkNotOffered { kind });
            }
            if kind == WorkKind::DiskOrOs
                && pb.rules.data_risk_consent
                && s.backup_consent_digest.is_none()
            {
                return Err(WorkflowError::BackupConsentRequired {
                    warned: s.data_risk_warned,
                });
            }
            if pb.rules.guardian_present && s.guardian.is_none() {
                return Err(WorkflowError::GuardianRequired);
            }
            if pb.has(Step::Quote) {
                require_quote_accepted_if_chargeable(s)?;
            }
            for p in parts_used {
                if pb.fee(&p.item).is_none() {
                    return Err(WorkflowError::InvalidInput {
                        field: "parts_used".into(),
                        problem: format!("{:?} is not in the fee schedule", p.item),
                    });
                }
                // The report's parts match the quote the customer saw: a part not
                // on it needs a revised quote first.
                let quoted = s
                    .quote
                    .as_ref()
                    .is_some_and(|q| q.lines.iter().any(|l| l.item == p.item));
                if pb.has(Step::Quote) && !quoted {
                    return Err(WorkflowError::PartNotQuoted {
                        item: p.item.clone(),
                    });
                }
            }
            Ok(vec![EventKind::WorkRecorded {
                description: description.clone(),
                kind,
                parts_used: parts_used.clone(),
            }])
        }
        C::ReportHiddenFault { description } => {
            inside(cmd, s)?;
            non_empty("description", description)?;
            if s.work.is_empty() {
                return Err(out_of_order(cmd, s, "record the repair work"));
            }
            Ok(vec![EventKind::HiddenFaultFound {
                description: description.clone(),
            }])
        }
        C::RecordTestRun {
            passed,
            uncertain,
            notes,
        } => {
            inside(cmd, s)?;
            if s.work.is_empty() {
                return Err(out_of_order(cmd, s, "record the repair work"));
            }
            Ok(vec![EventKind::TestRunRecorded {
                passed: *passed,
                uncertain: *uncertain && *passed,
                notes: notes.clone(),
            }])
        }
        C::ScheduleUntestedCallback { reason } => {
            inside(cmd, s)?;
            non_empty("reason", reason)?;
            if s.work.is_empty() {
                return Err(out_of_order(cmd, s, "record the repair work"));
            }
            // The callback stands in for a test there was no time for, not for one that failed.
            if latest_test_failed(s) {
                return Err(out_of_order(
                    cmd,
                    s,
                    "the test run failed: repair and test again (the 2-hour callback is for when there is no time to test)",
                ));
            }
            Ok(vec![EventKind::UntestedCallbackScheduled {
                reason: reason.clone(),
            }])
        }

        // ---- 14 Teach and clean up -------------------------------------
        C::BriefCustomer => {
            inside(cmd, s)?;
            if s.work.is_empty() {
                return Err(out_of_order(cmd, s, "record the work"));
            }
            Ok(vec![EventKind::CustomerBriefed])
        }
        C::CleanUp {
            product_restored,
            wiped,
            floor_cleaned,
            no_tool_left,
        } => {
            inside(cmd, s)?;
            let mut missing = vec![];
            for (ok, name) in [
                (product_restored, "product_restored"),
                (wiped, "wiped"),
                (floor_cleaned, "floor_cleaned"),
                (no_tool_left, "no_tool_left"),
            ] {
                if !ok {
                    missing.push(name.to_string());
                }
            }
            if !missing.is_empty() {
                return Err(WorkflowError::CleanUpIncomplete { items: missing });
            }
            Ok(vec![EventKind::CleanedUp])
        }

        // ---- 15 Payment ------------------------------------------------
        C::CollectPayment {
            amount,
            method,
            receipt,
        } => {
            inside(cmd, s)?;
            if pb.has(Step::CleanUp) && !s.cleaned_up && !s.quote_refused {
                return Err(out_of_order(cmd, s, "clean up"));
            }
            let Some(q) = s.accepted_quote() else {
                return Err(WorkflowError::QuoteNotAccepted {
                    revision: s.quote.as_ref().map(|q| q.revision),
                });
            };
            // "Collect exactly the accepted quote": after a reopened report
            // with a new total, exactly the difference.
            let due = q.customer_total.saturating_sub(s.paid_total);
            if due <= 0 {
                return Err(out_of_order(
                    cmd,
                    s,
                    "nothing is due: the accepted total is paid (an overpayment is refunded by the center)",
                ));
            }
            if *amount != due {
                return Err(WorkflowError::PaymentMismatch {
                    expected: due,
                    got: *amount,
                });
            }
            // Water delivery: never an IOU for the bottle deposit.
            if *method == PaymentMethod::Iou && pb.rules.no_deposit_iou && q.deposit_total > 0 {
                return Err(WorkflowError::DepositIou {
                    deposit: q.deposit_total,
                });
            }
            if let ReceiptRecord::Receipt { number } | ReceiptRecord::Invoice { number } = receipt {
                non_empty("receipt.number", number)?;
            }
            if let ReceiptRecord::InvoiceToBeDelivered { by } = receipt {
                if *by < now.date_naive() {
                    return Err(WorkflowError::InvalidInput {
                        field: "receipt.by".into(),
                        problem: "the delivery date is in the past".into(),
                    });
                }
            }
            Ok(vec![EventKind::PaymentCollected {
                amount: *amount,
                method: *method,
                receipt: receipt.clone(),
            }])
        }
        C::RefusePayment { reason } => {
            inside(cmd, s)?;
            non_empty("reason", reason)?;
            if s.accepted_quote().is_none() {
                return Err(out_of_order(cmd, s, "an accepted quote"));
            }
            Ok(vec![
                EventKind::PaymentRefused {
                    reason: reason.clone(),
                },
                EventKind::EscalatedToCenter {
                    reason: "customer refused to pay".into(),
                },
            ])
        }

        // ---- 16 Sign-off -----------------------------------------------
        C::SignOff {
            ratings,
            comment,
            strokes,
            consent_text,
            shown_digest,
        } => {
            inside(cmd, s)?;
            require_ready_to_sign(s, pb)?;
            if !ratings.in_range() {
                return Err(WorkflowError::SignatureInvalid {
                    problem: "ratings are whole numbers from 1 to 5".into(),
                });
            }
            require_signature(strokes)?;
            non_empty("consent_text", consent_text)?;
            let report = Report::of(s, Some(*ratings), comment.clone(), consent_text);
            let digest = report.digest();
            if let Some(shown) = shown_digest {
                if *shown != digest {
                    return Err(WorkflowError::SignatureInvalid {
                        problem: format!(
                            "the report changed since the signing screen showed it (shown {}, now {}): show it again",
                            signoff::short_digest(shown),
                            signoff::short_digest(&digest)
                        ),
                    });
                }
            }
            let evidence = SignOffEvidence {
                report_digest: digest,
                strokes_digest: signoff::strokes_digest(strokes),
                consent_digest: report.consent_digest.clone(),
                device_id: ctx.device_id.clone(),
                signed_at: now,
                location: ctx.fix(),
                previous_evidence_digest: ctx.previous_evidence_digest.clone(),
                device_signature: None,
            };
            Ok(vec![EventKind::CustomerSignedOff {
                report_version: s.report_version,
                ratings: *ratings,
                comment: comment.clone(),
                strokes: strokes.clone(),
                evidence,
            }])
        }
        C::DeclineSignature { reason } => {
            inside(cmd, s)?;
            require_ready_to_sign(s, pb)?;
            non_empty("reason", reason)?;
            let report = Report::of(s, None, None, "");
            Ok(vec![EventKind::SignatureDeclined {
                report_version: s.report_version,
                report_digest: report.digest(),
                reason: reason.clone(),
            }])
        }
        C::ReopenReport { reason } => {
            inside(cmd, s)?;
            non_empty("reason", reason)?;
            if s.sign_off.is_none() && s.declined.is_none() {
                return Err(out_of_order(
                    cmd,
                    s,
                    "only a signed or declined report is reopened; this one can still change",
                ));
            }
            Ok(vec![EventKind::ReportReopened {
                reason: reason.clone(),
                new_version: s.report_version + 1,
            }])
        }
        C::CheckBelongings => {
            inside(cmd, s)?;
            Ok(vec![EventKind::BelongingsChecked])
        }

        // ---- 17 Leave --------------------------------------------------
        C::Leave {
            service_card_given,
            shoe_covers_off_at_door,
        } => {
            inside(cmd, s)?;
            if s.sign_off.is_none() && s.declined.is_none() {
                return Err(WorkflowError::NoSignOff);
            }
            if pb.has(Step::Belongings) && !s.belongings_checked {
                return Err(WorkflowError::BelongingsNotChecked);
            }
            let outcome = leaving_outcome(cmd, s, pb)?;
            Ok(vec![EventKind::Left {
                outcome,
                service_card_given: *service_card_given,
                shoe_covers_off_at_door: *shoe_covers_off_at_door,
            }])
        }

        C::RecordIncident {
            kind,
            description,
            compensation,
        } => {
            in_stage(cmd, s, &[Stage::AtDoor, Stage::OnSite], "arrive")?;
            non_empty("description", description)?;
            if compensation.is_some_and(|c| c < 0) {
                return Err(WorkflowError::InvalidInput {
                    field: "compensation".into(),
                    problem: "must not be negative".into(),
                });
            }
            Ok(vec![EventKind::IncidentRecorded {
                kind: *kind,
                description: description.clone(),
                compensation: *compensation,
            }])
        }
    }
}

fn unreachable_center() -> Result<Vec<EventKind>> {
    // Handled before the stage checks above.
    Ok(vec![])
}

fn receive_update(
    s: &VisitState,
    a: &crate::assignment::Assignment,
    pb: &Playbook,
) -> Result<Vec<EventKind>> {
    let current = s
        .assignment
        .as_ref()
        .ok_or(WorkflowError::VisitNotStarted)?;
    if a.id != current.id {
        return Err(WorkflowError::InvalidInput {
            field: "assignment.id".into(),
            problem: format!("this visit is for assignment {}, not {}", current.id, a.id),
        });
    }
    if a.version == current.version {
        return Ok(vec![]); // already have it: idempotent
    }
    if a.version < current.version {
        return Err(WorkflowError::StaleAssignment {
            have: current.version,
            got: a.version,
        });
    }
    Ok(vec![EventKind::AssignmentReceived {
        assignment: a.clone(),
        field_issues: a.field_issues(&pb.required_fields),
    }])
}

fn in_stage(cmd: &VisitCommand, s: &VisitState, stages: &[Stage], needs: &str) -> Result<()> {
    if stages.contains(&s.stage) {
        Ok(())
    } else {
        Err(out_of_order(cmd, s, needs))
    }
}

fn inside(cmd: &VisitCommand, s: &VisitState) -> Result<()> {
    in_stage(cmd, s, &[Stage::OnSite], "enter the customer's home")
}

fn at_closed_door(cmd: &VisitCommand, s: &VisitState) -> Result<()> {
    in_stage(cmd, s, &[Stage::AtDoor], "arrive")?;
    if s.door.answered {
        return Err(out_of_order(cmd, s, "the door was answered: enter"));
    }
    Ok(())
}

fn current_window(cmd: &VisitCommand, s: &VisitState) -> Result<TimeWindow> {
    s.window
        .ok_or_else(|| out_of_order(cmd, s, "agree a time window with the customer"))
}

fn reached_customer(s: &VisitState) -> bool {
    s.calls.iter().any(|c| c.outcome == CallOutcome::Reached)
}

fn failed_calls(s: &VisitState) -> u32 {
    s.calls
        .iter()
        .filter(|c| c.purpose == CallPurpose::Appointment && c.outcome != CallOutcome::Reached)
        .count() as u32
}

/// §2.1 enforce: the appointment may not be confirmed until the missing fields
/// are resolved (an updated assignment) or explicitly waived by the center.
fn require_information_complete(s: &VisitState) -> Result<()> {
    let open = s.open_field_issues();
    if open.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::MissingAssignmentInfo {
            fields: open.iter().map(|i| i.field).collect(),
        })
    }
}

/// §2.3 enforce: a new window exists only with the customer's recorded
/// agreement — the latest logged call reached the customer, after the call
/// that agreed the window in force.
fn require_customer_agreement(s: &VisitState) -> Result<()> {
    // The call that agreed the window in force does not agree another one.
    let since_last_agreement = s.calls.len() > s.window_agreed_at_call;
    match s.calls.last() {
        Some(c) if c.outcome == CallOutcome::Reached && since_last_agreement => Ok(()),
        _ => Err(WorkflowError::NoCustomerAgreement),
    }
}

/// On site, agreement comes from the customer at the door or a reached call
/// after arriving.
fn require_agreement_on_site(s: &VisitState) -> Result<()> {
    let arrived = s.arrival.as_ref().map(|a| a.at);
    let called = s
        .calls
        .iter()
        .any(|c| c.outcome == CallOutcome::Reached && arrived.is_some_and(|t| c.at >= t));
    if s.door.answered || s.entered || called {
        Ok(())
    } else {
        Err(WorkflowError::NoCustomerAgreement)
    }
}

fn known_kit_item(pb: &Playbook, item: &str) -> Result<()> {
    if pb.kit_item(item).is_some() {
        Ok(())
    } else {
        let ids: Vec<&str> = pb.kit.iter().map(|k| k.id.as_str()).collect();
        Err(WorkflowError::InvalidInput {
            field: "item".into(),
            problem: format!("{item:?} is not on the kit list ({})", ids.join(", ")),
        })
    }
}

/// §2.4 enforce: cannot depart with unchecked mandatory items (a skipped item needs a reason).
fn require_kit_complete(s: &VisitState, pb: &Playbook) -> Result<()> {
    let missing: Vec<String> = pb
        .kit
        .iter()
        .filter(|k| k.mandatory)
        .filter(|k| match s.kit.get(&k.id) {
            Some(KitStatus::Checked) => false,
            Some(KitStatus::Skipped { reason }) => reason.trim().is_empty(),
            None => true,
        })
        .map(|k| k.id.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::KitIncomplete { items: missing })
    }
}

/// The departure plan of §2.5: leave so as to arrive 5-10 minutes early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeparturePlan {
    /// Leave by this time to arrive at the earliest margin (10 min early).
    pub ideal_departure: DateTime<Utc>,
    /// Leave by this time at the latest to arrive with the minimum margin (5 min early).
    pub latest_departure: DateTime<Utc>,
    pub projected_arrival: DateTime<Utc>,
    /// The projected arrival is after the window starts: call the customer now.
    pub late_risk: bool,
}

pub fn departure_plan(
    window: &TimeWindow,
    travel_minutes: u32,
    pb: &Playbook,
    now: DateTime<Utc>,
) -> DeparturePlan {
    let travel = clock::minutes(i64::from(travel_minutes));
    let projected_arrival = clock::shift(now, travel);
    let before_start =
        |early: i64| clock::shift(clock::shift(window.start, -travel), -clock::minutes(early));
    DeparturePlan {
        ideal_departure: before_start(pb.timing.early_arrival_max_minutes),
        latest_departure: before_start(pb.timing.early_arrival_min_minutes),
        projected_arrival,
        late_risk: projected_arrival > window.start,
    }
}

/// §2.6: early/on time; late < 15 min; late >= 15 min. Lateness counts started minutes.
pub fn punctuality(window: &TimeWindow, at: DateTime<Utc>, pb: &Playbook) -> Punctuality {
    let early_secs = (window.start - at).num_seconds();
    if early_secs >= 0 {
        let minutes_early = early_secs / 60;
        if minutes_early >= pb.timing.early_arrival_min_minutes {
            Punctuality::Early { minutes_early }
        } else {
            Punctuality::OnTime
        }
    } else {
        let late_secs = -early_secs;
        let minutes_late = (late_secs + 59) / 60;
        if minutes_late < pb.timing.late_serious_minutes {
            Punctuality::LateMinor { minutes_late }
        } else {
            Punctuality::LateSerious { minutes_late }
        }
    }
}

/// §2.6: a late arrival is apologised for (with a gift at 15 min or more) before entering.
fn require_lateness_apology(s: &VisitState, pb: &Playbook) -> Result<()> {
    let Some(arrival) = &s.arrival else {
        return Ok(());
    };
    if s.lateness_apologised {
        return Ok(());
    }
    match arrival.punctuality {
        Punctuality::LateSerious { minutes_late } => Err(WorkflowError::LatenessApologyRequired {
            minutes_late,
            gift_required: true,
        }),
        Punctuality::LateMinor { minutes_late } if pb.rules.lateness_apology => {
            Err(WorkflowError::LatenessApologyRequired {
                minutes_late,
                gift_required: false,
            })
        }
        _ => Ok(()),
    }
}

/// §2.8 enforce: "customer absent" requires >= 5 min of logged attempts and a
/// call attempt; the protocol also asks a neighbour (where the trade does),
/// leaves a note on the door and notifies the center.
fn customer_absent(s: &VisitState, pb: &Playbook) -> Result<EventKind> {
    let arrived = s.arrival.as_ref().map(|a| a.at);
    let call_times: Vec<DateTime<Utc>> = s
        .calls
        .iter()
        .filter(|c| arrived.is_some_and(|t| c.at >= t))
        .map(|c| c.at)
        .collect();
    let calls = call_times.len() as u32;
    // Minutes of logged attempts: from the first knock to the latest knock or
    // call, not merely the time since the first knock.
    let first = s.door.knocks.first().copied();
    let last = s.door.knocks.iter().chain(&call_times).max().copied();
    let minutes_logged = match (first, last) {
        (Some(f), Some(l)) => (l - f).num_seconds().max(0) / 60,
        _ => 0,
    };
    let minimum = pb.knock.absent_minimum_minutes;
    let neighbour_ok = !pb.knock.neighbour_check || s.door.neighbour_asked;
    let note_ok = !pb.knock.door_note_required || s.door.note_left;
    if minutes_logged < minimum
        || calls == 0
        || !neighbour_ok
        || !note_ok
        || !s.door.center_notified
    {
        return Err(WorkflowError::AbsentTooSoon {
            minutes_logged,
            minimum,
            calls,
            door_note: note_ok,
            center_notified: s.door.center_notified,
            neighbour_asked: neighbour_ok,
        });
    }
    Ok(EventKind::CustomerAbsent {
        minutes_of_attempts: minutes_logged,
        knocks: s.door.knocks.len() as u32,
        calls,
    })
}

/// §2.10: shoe covers on (or waived by the customer) and the drop cloth laid.
fn require_protection(s: &VisitState, pb: &Playbook) -> Result<()> {
    if !pb.has(Step::Protect) {
        return Ok(());
    }
    let shoe_ok = !pb.rules.shoe_covers || s.shoe_covers.is_some();
    let cloth_ok = !pb.rules.drop_cloth || s.drop_cloth_laid;
    if shoe_ok && cloth_ok {
        Ok(())
    } else {
        Err(WorkflowError::ProtectionMissing {
            shoe_covers: shoe_ok,
            drop_cloth: cloth_ok,
        })
    }
}

fn take_back_decided(cmd: &VisitCommand, s: &VisitState, pb: &Playbook) -> Result<()> {
    inside(cmd, s)?;
    if !pb.rules.take_back {
        return Err(WorkflowError::InvalidInput {
            field: "decision".into(),
            problem: "this trade does not take units back".into(),
        });
    }
    match &s.diagnosis {
        Some(d) if d.decision == RepairDecision::TakeBack => Ok(()),
        _ => Err(out_of_order(
            cmd,
            s,
            "record a diagnosis that decides to take the unit back",
        )),
    }
}

fn require_signature(strokes: &[crate::signoff::Stroke]) -> Result<()> {
    if signoff::strokes_are_signature(strokes) {
        Ok(())
    } else {
        Err(WorkflowError::SignatureInvalid {
            problem: "the signature needs at least one stroke of two or more points, in time order"
                .into(),
        })
    }
}

fn require_inspection_passed(s: &VisitState) -> Result<()> {
    let failed: Vec<String> = s
        .inspected
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| i.clone())
        .collect();
    if !failed.is_empty() {
        return Err(WorkflowError::InspectionFailed { items: failed });
    }
    if s.inspected.is_empty() {
        return Err(WorkflowError::InspectionFailed {
            items: vec!["(no item inspected)".into()],
        });
    }
    Ok(())
}

/// §2.12 enforce: no repair step may be recorded as done on a chargeable visit
/// before the quote is accepted; a hidden fault on a chargeable visit needs a re-quote.
fn require_quote_accepted_if_chargeable(s: &VisitState) -> Result<()> {
    let Some(q) = &s.quote else {
        return Err(WorkflowError::QuoteNotAccepted { revision: None });
    };
    if !q.chargeable() {
        return Ok(());
    }
    if s.accepted_revision != Some(q.revision) {
        return Err(WorkflowError::QuoteNotAccepted {
            revision: Some(q.revision),
        });
    }
    if s.requote_pending {
        return Err(WorkflowError::QuoteNotAccepted { revision: None });
    }
    Ok(())
}

/// What the report still needs before the customer can sign it.
fn require_ready_to_sign(s: &VisitState, pb: &Playbook) -> Result<()> {
    let mut missing = vec![];
    let refused = s.quote_refused;
    if pb.has(Step::Work) && s.work.is_empty() && !refused {
        missing.push("record the work".to_string());
    }
    if pb.has(Step::Test)
        && !refused
        && !s.work.is_empty()
        && s.test_run.is_none()
        && s.untested_callback.is_none()
    {
        missing.push("the test run (or a 2-hour callback)".to_string());
    }
    if pb.has(Step::CleanUp) && !s.cleaned_up && !refused {
        missing.push("clean up".to_string());
    }
    if pb.has(Step::Payment) && !refused {
        if let Some(q) = s.accepted_quote() {
            let paid = s.paid_total == q.customer_total;
            if q.chargeable() && !paid && !s.payment_refused {
                missing.push("collect the payment".to_string());
            }
        } else if s.quote.is_some() {
            missing.push("the customer's acceptance of the quote".to_string());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::NotReadyToSign { missing })
    }
}

/// The latest test run failed and no work was recorded after it: not fixed.
fn latest_test_failed(s: &VisitState) -> bool {
    match (&s.test_run, s.work.last()) {
        (Some(t), Some(w)) => !t.passed && t.at >= w.at,
        (Some(t), None) => !t.passed,
        (None, _) => false,
    }
}

/// §2.13 enforce: a visit closes as fixed only with a passed test run or a
/// scheduled 2-hour callback (a failed test is not made good by a callback).
fn leaving_outcome(cmd: &VisitCommand, s: &VisitState, pb: &Playbook) -> Result<Outcome> {
    if s.quote_refused && s.work.is_empty() {
        return Ok(Outcome::QuoteRefused);
    }
    if s.work.is_empty() {
        return Err(out_of_order(
            cmd,
            s,
            "record the work (or reschedule, take the unit back, or record the refusal)",
        ));
    }
    // Water delivery: the bottles stay only with their deposit paid — a
    // refused payment means a revised quote without them (taken back).
    if pb.rules.no_deposit_iou {
        if let Some(q) = s.accepted_quote().filter(|q| q.deposit_total > 0) {
            if s.paid_total < q.customer_total {
                return Err(WorkflowError::DepositIou {
                    deposit: q.deposit_total,
                });
            }
        }
    }
    if !pb.has(Step::Test) {
        return Ok(Outcome::Completed);
    }
    let passed = s.test_run.as_ref().is_some_and(|t| t.passed);
    if passed || (s.untested_callback.is_some() && !latest_test_failed(s)) {
        Ok(Outcome::Fixed)
    } else {
        Err(WorkflowError::NotTested)
    }
}
