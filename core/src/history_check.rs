//! Is a recorded visit one the workflow would have produced? For each fact in
//! order, the command that records it is rebuilt from the fact, decided again
//! with `workflow::execute` on the state before it (its time, device, fix and
//! evidence-chain link taken from the envelope), and the resulting envelopes
//! must equal the recorded ones — kinds, derived fields (punctuality,
//! outcome, digests), assignment version and all. A history edited by hand
//! (a skipped knock, a payment that is not the quote, work after the
//! signature, a sign-off that is not bound to the report) fails at the first
//! fact that no command could have produced there.

use crate::canonical::sha256_hex;
use crate::clock::HlcStamp;
use crate::ids::{EventId, VisitId};
use crate::messages::Text;
use crate::playbook::Playbook;
use crate::quote::{Quote, QuoteLineRequest, QuoteRequest};
use crate::workflow::command::VisitCommand as C;
use crate::workflow::command_table::{row_named, row_of, CommandRow};
use crate::workflow::{execute, Context, EventKind as E, Stamper, VisitEvent, VisitState};
use chrono::{DateTime, Utc};

/// Why a history is not one the workflow produces.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryMismatch {
    #[error(
        "event {index} ({kind}): no command records this fact first (it only follows another fact)"
    )]
    NoCommand { index: usize, kind: String },
    #[error("event {index} ({kind}): the workflow refuses {command} here [{code}]: {message}")]
    Refused {
        index: usize,
        kind: String,
        command: String,
        code: String,
        message: String,
    },
    #[error("event {index} ({kind}): the workflow records {expected} here")]
    Different {
        index: usize,
        kind: String,
        /// The facts the workflow produces, as JSON.
        expected: String,
    },
    #[error("event {index} ({kind}): signed with a consent text none of the known ones hash to")]
    UnknownConsent { index: usize, kind: String },
    #[error("event {index} ({kind}): its clock stamp does not follow the previous event's")]
    ClockBackwards { index: usize, kind: String },
}

/// Checks `events` (one visit, in the order recorded) against the workflow
/// of `playbook`. `consent_texts` are the signing screens' texts: a sign-off
/// records only the text's digest.
pub fn check_history(
    playbook: &Playbook,
    events: &[VisitEvent],
    consent_texts: &[&str],
) -> Result<(), HistoryMismatch> {
    let mut state = VisitState::default();
    let mut i = 0;
    let mut last_hlc: Option<HlcStamp> = None;
    while i < events.len() {
        let event = &events[i];
        let kind = event.kind.name().to_string();
        let command = command_for(&event.kind, consent_texts).map_err(|e| e.at(i, &kind))?;
        let mut ctx = Context::new(event.recorded_at, event.device_id.clone());
        ctx.location = event.location;
        if let E::CustomerSignedOff { evidence, .. } = &event.kind {
            ctx.previous_evidence_digest = evidence.previous_evidence_digest.clone();
        }
        let mut stamper = Recorded {
            events: &events[i..],
            next: 0,
        };
        let produced = execute(&state, &command, playbook, &ctx, &mut stamper).map_err(|e| {
            HistoryMismatch::Refused {
                index: i,
                kind: kind.clone(),
                command: command.name(),
                code: e.code().to_string(),
                message: e.message(crate::messages::Lang::En),
            }
        })?;
        let recorded = &events[i..(i + produced.len()).min(events.len())];
        if produced.is_empty() || produced != recorded {
            return Err(HistoryMismatch::Different {
                index: i,
                kind,
                expected: serde_json::to_string(
                    &produced.iter().map(|e| &e.kind).collect::<Vec<_>>(),
                )
                .unwrap_or_default(),
            });
        }
        for e in recorded {
            if last_hlc.is_some_and(|last| e.hlc <= last) {
                return Err(HistoryMismatch::ClockBackwards {
                    index: i,
                    kind: e.kind.name().to_string(),
                });
            }
            last_hlc = Some(e.hlc);
            state.apply(e);
        }
        i += recorded.len();
    }
    Ok(())
}

/// Ids and clock stamps handed out as recorded, so a re-decided fact can be
/// compared envelope and all.
struct Recorded<'a> {
    events: &'a [VisitEvent],
    next: usize,
}

impl Recorded<'_> {
    fn current(&self) -> Option<&VisitEvent> {
        self.events.get(self.next).or(self.events.last())
    }
}

impl Stamper for Recorded<'_> {
    fn visit_id(&mut self) -> VisitId {
        self.current()
            .map_or(VisitId(uuid::Uuid::nil()), |e| e.visit_id)
    }
    fn event_id(&mut self) -> EventId {
        self.current().map_or(EventId(uuid::Uuid::nil()), |e| e.id)
    }
    fn hlc(&mut self, _now: DateTime<Utc>) -> HlcStamp {
        let stamp = self.current().map(|e| e.hlc).unwrap_or_default();
        self.next += 1;
        stamp
    }
}

/// The command-table row of the command that records `fact` first: a visit's
/// history is labelled by it, so the console names a fact as the technician's
/// screen named the action. `None` for facts that only follow another.
pub fn recorded_by(fact: &E) -> Option<&'static CommandRow> {
    match command_for(fact, &[]) {
        Ok(command) => Some(row_of(&command)),
        // Naming the command needs no consent text.
        Err(NoCommand::UnknownConsent) => row_named("sign_off"),
        Err(NoCommand::FollowOnly) => None,
    }
}

/// A recorded fact's label in a visit's history: its command's, or for the
/// facts that only follow another, their own.
pub fn fact_label(fact: &E) -> Text {
    if let Some(row) = recorded_by(fact) {
        return row.label();
    }
    match fact {
        E::ConflictRaised { .. } => Text::new("Conflict with a center change", "与中心的变更冲突"),
        E::ManagerVisitRequested { .. } => Text::new("Manager visit requested", "请求主管上门"),
        E::EscalatedToCenter { .. } => Text::new("Escalated to the center", "已上报中心"),
        // Every other fact has a command (command_for is exhaustive).
        _ => Text::new("Recorded fact", "记录"),
    }
}

/// Why no command could be rebuilt from a fact.
pub(crate) enum NoCommand {
    FollowOnly,
    UnknownConsent,
}

impl NoCommand {
    fn at(self, index: usize, kind: &str) -> HistoryMismatch {
        let kind = kind.to_string();
        match self {
            Self::FollowOnly => HistoryMismatch::NoCommand { index, kind },
            Self::UnknownConsent => HistoryMismatch::UnknownConsent { index, kind },
        }
    }
}

/// What the technician asked to quote, read back from the quote shown.
fn quote_request(quote: &Quote) -> QuoteRequest {
    QuoteRequest {
        lines: quote
            .lines
            .iter()
            .map(|l| QuoteLineRequest {
                item: l.item.clone(),
                qty: l.qty,
                warranty_card_price: l.warranty_card_price,
                warranty_card_photo: l.warranty_card_photo.clone(),
            })
            .collect(),
        discount: quote.discount.clone(),
    }
}

/// The command that records `fact` first. Facts that only ever follow
/// another (a conflict after a cancel, an escalation after a refusal) have
/// none.
pub(crate) fn command_for(fact: &E, consent_texts: &[&str]) -> Result<C, NoCommand> {
    Ok(match fact.clone() {
        E::AssignmentReceived { assignment, .. } => C::ReceiveAssignment { assignment },
        E::AssignmentCancelled { version, reason } => C::CancelAssignment { version, reason },
        E::AssignmentReassigned { version, to } => C::ReassignAssignment { version, to },
        E::CenterVerificationRequested { fields, note } => C::VerifyWithCenter { fields, note },
        E::FieldsWaived {
            fields,
            approved_by,
            approval_code,
        } => C::WaiveFields {
            fields,
            approved_by,
            approval_code,
        },
        E::TriageRecorded {
            likely_causes,
            parts_to_bring,
            remote_fixable,
        } => C::RecordTriage {
            likely_causes,
            parts_to_bring,
            remote_fixable,
        },
        E::ResolvedRemotely { guidance } => C::ResolveRemotely { guidance },
        E::CallLogged {
            outcome,
            purpose,
            note,
        } => C::LogCall {
            outcome,
            purpose,
            note,
        },
        E::AppointmentConfirmed {
            address_confirmed,
            product_confirmed,
            ..
        } => C::ConfirmAppointment {
            address_confirmed,
            product_confirmed,
        },
        E::ProceedingUnconfirmed { .. } => C::ProceedUnconfirmed,
        E::WindowConflictReported { reason } => C::ReportWindowConflict { reason },
        E::NewWindowAgreed { window, reason } => C::AgreeNewWindow { window, reason },
        E::HandedBackToCenter { reason } => C::HandBackToCenter { reason },
        E::KitItemChecked { item } => C::CheckKitItem { item },
        E::KitItemSkipped { item, reason } => C::SkipKitItem { item, reason },
        E::Departed { travel_minutes, .. } => C::Depart { travel_minutes },
        E::RunningLateNotified { outcome, choice } => C::NotifyRunningLate { outcome, choice },
        E::Arrived {
            location,
            outside_geofence_reason,
            location_unavailable,
            ..
        } => C::Arrive {
            location,
            outside_geofence_reason,
            location_unavailable,
        },
        E::LatenessApologised {
            gift_offered,
            gift_accepted,
        } => C::ApologiseForLateness {
            gift_offered,
            gift_accepted,
        },
        E::AppearanceChecked { items } => C::CheckAppearance { items },
        E::Knocked { method } => C::Knock { method },
        E::DoorAnswered => C::DoorAnswered,
        E::NeighbourAsked { note } => C::AskNeighbour { note },
        E::DoorNoteLeft => C::LeaveDoorNote,
        E::CenterNotifiedAbsent => C::NotifyCenterAbsent,
        E::CustomerAbsent { .. } => C::DeclareCustomerAbsent,
        E::Entered {
            greeted,
            permit_shown,
        } => C::Enter {
            greeted,
            permit_shown,
        },
        E::EntryExceptionRecorded {
            exception,
            new_window,
        } => C::RecordEntryException {
            exception,
            new_window,
        },
        E::ShoeCoversOn => C::PutOnShoeCovers,
        E::ShoeCoversWaived { note } => C::WaiveShoeCovers { note },
        E::DropClothLaid => C::LayDropCloth,
        E::TravelPlanned {
            estimated_travel_minutes,
            from,
        } => C::PlanTravel {
            estimated_travel_minutes,
            from,
        },
        E::DropClothWaived { note } => C::WaiveDropCloth { note },
        E::DiagnosisRecorded {
            fault_reproduced,
            cause,
            parts,
            decision,
            fault_code,
            note,
        } => C::RecordDiagnosis {
            fault_reproduced,
            cause,
            parts,
            decision,
            fault_code,
            note,
        },
        E::DataRiskWarned => C::WarnDataRisk,
        E::BackupConsentSigned { strokes, .. } => C::SignBackupConsent { strokes },
        E::LoanerOffered { accepted } => C::OfferLoaner { accepted },
        E::UnitAppearanceRecorded { description } => C::RecordUnitAppearance { description },
        E::CustodyReceiptSigned { strokes, .. } => C::SignCustodyReceipt { strokes },
        E::TakenBack { return_by } => C::TakeBack { return_by },
        E::PartMissing { part, resolution } => C::ReportMissingPart { part, resolution },
        E::ItemInspected {
            item,
            seal_intact,
            no_leaks,
            no_foreign_matter,
        } => C::InspectItem {
            item,
            seal_intact,
            no_leaks,
            no_foreign_matter,
        },
        E::FeeScheduleShown => C::ShowFeeSchedule,
        E::QuotePresented { quote } => C::PresentQuote {
            quote: quote_request(&quote),
        },
        E::QuoteAccepted { revision, .. } => C::AcceptQuote { revision },
        E::QuoteRefused { reason } => C::RefuseQuote { reason },
        E::GuardianRecorded { name, relation } => C::RecordGuardian { name, relation },
        E::WorkRecorded {
            description,
            kind,
            parts_used,
        } => C::RecordWork {
            description,
            kind: Some(kind),
            parts_used,
        },
        E::HiddenFaultFound { description } => C::ReportHiddenFault { description },
        E::TestRunRecorded {
            passed,
            uncertain,
            notes,
        } => C::RecordTestRun {
            passed,
            uncertain,
            notes,
        },
        E::UntestedCallbackScheduled { reason } => C::ScheduleUntestedCallback { reason },
        E::CustomerBriefed => C::BriefCustomer,
        E::CleanedUp => C::CleanUp {
            product_restored: true,
            wiped: true,
            floor_cleaned: true,
            no_tool_left: true,
        },
        E::PaymentCollected {
            amount,
            method,
            receipt,
            qr,
        } => C::CollectPayment {
            amount,
            method,
            receipt,
            qr,
        },
        E::PaymentRefused { reason } => C::RefusePayment { reason },
        E::PaymentDeferred { reason, .. } => C::DeferPayment { reason },
        E::InvoiceRequested { buyer } => C::RequestInvoice { buyer },
        E::CustomerSignedOff {
            ratings,
            comment,
            strokes,
            evidence,
            ..
        } => C::SignOff {
            ratings,
            comment,
            strokes,
            consent_text: consent_texts
                .iter()
                .find(|t| sha256_hex(t.as_bytes()) == evidence.consent_digest)
                .ok_or(NoCommand::UnknownConsent)?
                .to_string(),
            shown_digest: Some(evidence.report_digest),
        },
        E::SignatureDeclined { reason, .. } => C::DeclineSignature { reason },
        E::ReportReopened { reason, .. } => C::ReopenReport { reason },
        E::BelongingsChecked => C::CheckBelongings,
        E::AcceptanceCodeEntered { code, .. } => C::EnterAcceptanceCode { code },
        E::AcceptanceCodeWithheld { reason } => C::WithholdAcceptanceCode { reason },
        E::Left {
            service_card_given,
            shoe_covers_off_at_door,
            ..
        } => C::Leave {
            service_card_given,
            shoe_covers_off_at_door,
        },
        E::IncidentRecorded {
            kind,
            description,
            compensation,
        } => C::RecordIncident {
            kind,
            description,
            compensation,
        },
        E::PhotoTaken {
            moment,
            digest,
            size_bytes,
            width,
            height,
            ..
        } => C::TakePhoto {
            moment,
            digest,
            size_bytes,
            width,
            height,
        },
        E::PhotoNotTaken { moment, reason } => C::RecordPhotoNotTaken { moment, reason },
        E::ConflictRaised { .. }
        | E::ManagerVisitRequested { .. }
        | E::EscalatedToCenter { .. } => return Err(NoCommand::FollowOnly),
    })
}
