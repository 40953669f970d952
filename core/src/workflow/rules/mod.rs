//! The rules, one file per step of a visit (`playbook::Step`, STANDARDS.md §2):
//! each file holds its step's command handlers and its named guards, every
//! guard a small function whose doc comment quotes the rule and cites its
//! section. `workflow::decide` applies the cross-cutting gates (visit started,
//! center facts, closed, step in the playbook, signed report, and the stages
//! the command table allows) and then hands the command to [`dispatch`],
//! which sends it to its step's file: a handler never re-checks the stage.
//!
//! Pure: no IO, no clock — `now` comes in the context.

pub(in crate::workflow) mod acceptance;
mod appearance;
mod arrive;
pub(in crate::workflow) mod center;
mod clean_up;
mod confirm;
mod depart;
mod diagnose;
mod enter;
mod incident;
mod inspect;
mod invoice;
mod knock;
mod leave;
mod payment;
pub(in crate::workflow) mod photos;
mod prepare;
mod protect;
mod quote;
mod receive;
mod shared;
pub(in crate::workflow) mod sign_off;
mod test_run;
mod triage;
mod work;

pub use arrive::punctuality;
pub use depart::{departure_plan, DeparturePlan};

use super::command::VisitCommand;
use super::context::Context;
use super::error::WorkflowError;
use super::event::EventKind;
use super::state::VisitState;
use crate::playbook::Playbook;

pub(in crate::workflow) type Result<T> = std::result::Result<T, WorkflowError>;

/// What a handler decides on: the visit as it stands, the command, the
/// trade's playbook and the context (time, device, location).
#[derive(Clone, Copy)]
pub(in crate::workflow) struct Given<'a> {
    pub state: &'a VisitState,
    pub command: &'a VisitCommand,
    pub playbook: &'a Playbook,
    pub ctx: &'a Context,
}

/// Sends a command that passed the cross-cutting gates to its step's rules.
pub(in crate::workflow) fn dispatch(g: Given) -> Result<Vec<EventKind>> {
    use VisitCommand as C;
    match g.command {
        // Center facts: `decide` records them before any gate.
        C::ReceiveAssignment { assignment } => {
            center::receive_update(g.state, assignment, g.playbook, &g.ctx.zone)
        }
        C::CancelAssignment { version, reason } => Ok(center::cancel(g.state, *version, reason)),
        C::ReassignAssignment { version, to } => Ok(center::reassign(g.state, *version, to)),

        // 1 Receive
        C::VerifyWithCenter { fields, note } => receive::verify_with_center(fields, note),
        C::WaiveFields {
            fields,
            approved_by,
            approval_code,
        } => receive::waive_fields(fields, approved_by, approval_code),

        // 2 Triage
        C::RecordTriage {
            likely_causes,
            parts_to_bring,
            remote_fixable,
        } => triage::record_triage(g, likely_causes, parts_to_bring, *remote_fixable),
        C::ResolveRemotely { guidance } => triage::resolve_remotely(g, guidance),

        // 3 Confirm
        C::LogCall {
            outcome,
            purpose,
            note,
        } => confirm::log_call(*outcome, *purpose, note),
        C::ConfirmAppointment {
            address_confirmed,
            product_confirmed,
        } => confirm::confirm_appointment(g, *address_confirmed, *product_confirmed),
        C::ProceedUnconfirmed => confirm::proceed_unconfirmed(g),
        C::ReportWindowConflict { reason } => confirm::report_window_conflict(reason),
        C::AgreeNewWindow { window, reason } => confirm::agree_new_window(g, window, reason),
        C::HandBackToCenter { reason } => confirm::hand_back_to_center(reason),

        // 4 Prepare
        C::CheckKitItem { item } => prepare::check_kit_item(g, item),
        C::SkipKitItem { item, reason } => prepare::skip_kit_item(g, item, reason),

        // 5 Depart
        C::PlanTravel {
            estimated_travel_minutes,
            from,
        } => depart::plan_travel(*estimated_travel_minutes, *from),
        C::Depart { travel_minutes } => depart::depart(g, *travel_minutes),
        C::NotifyRunningLate { outcome, choice } => {
            depart::notify_running_late(g, *outcome, choice)
        }

        // 6 Arrive
        C::Arrive {
            location,
            outside_geofence_reason,
            location_unavailable,
        } => arrive::arrive(g, *location, outside_geofence_reason, *location_unavailable),
        C::ApologiseForLateness {
            gift_offered,
            gift_accepted,
        } => arrive::apologise_for_lateness(g, *gift_offered, *gift_accepted),

        // 7 Appearance
        C::CheckAppearance { items } => appearance::check_appearance(g, items),

        // 8 Knock
        C::Knock { method } => knock::knock(g, *method),
        C::DoorAnswered => knock::door_answered(g),
        C::AskNeighbour { note } => knock::ask_neighbour(g, note),
        C::LeaveDoorNote => knock::leave_door_note(g),
        C::NotifyCenterAbsent => knock::notify_center_absent(g),
        C::DeclareCustomerAbsent => knock::declare_customer_absent(g),

        // 9 Enter
        C::Enter {
            greeted,
            permit_shown,
        } => enter::enter(g, *greeted, *permit_shown),
        C::RecordEntryException {
            exception,
            new_window,
        } => enter::record_entry_exception(g, *exception, new_window),

        // 10 Protect
        C::PutOnShoeCovers => protect::put_on_shoe_covers(),
        C::WaiveShoeCovers { note } => protect::waive_shoe_covers(note),
        C::LayDropCloth => protect::lay_drop_cloth(g),
        C::WaiveDropCloth { note } => protect::waive_drop_cloth(note),

        // 11 Diagnose (and take-back, missing parts)
        C::RecordDiagnosis {
            fault_reproduced,
            cause,
            parts,
            decision,
            fault_code,
            note,
        } => diagnose::record_diagnosis(
            g,
            diagnose::Findings {
                fault_reproduced: *fault_reproduced,
                cause,
                parts,
                decision: *decision,
                fault_code: fault_code.as_deref(),
                note: note.as_deref(),
            },
        ),
        C::WarnDataRisk => diagnose::warn_data_risk(),
        C::SignBackupConsent { strokes } => diagnose::sign_backup_consent(g, strokes),
        C::OfferLoaner { accepted } => diagnose::offer_loaner(g, *accepted),
        C::RecordUnitAppearance { description } => diagnose::record_unit_appearance(g, description),
        C::SignCustodyReceipt { strokes } => diagnose::sign_custody_receipt(g, strokes),
        C::TakeBack { return_by } => diagnose::take_back(g, *return_by),
        C::ReportMissingPart { part, resolution } => {
            diagnose::report_missing_part(g, part, resolution)
        }

        // Inspect (water delivery)
        C::InspectItem {
            item,
            seal_intact,
            no_leaks,
            no_foreign_matter,
        } => inspect::inspect_item(g, item, *seal_intact, *no_leaks, *no_foreign_matter),

        // 12 Quote
        C::ShowFeeSchedule => quote::show_fee_schedule(),
        C::PresentQuote { quote: request } => quote::present_quote(g, request),
        C::AcceptQuote { revision } => quote::accept_quote(g, *revision),
        C::RefuseQuote { reason } => quote::refuse_quote(g, reason),

        // 13 Work and test run
        C::RecordGuardian { name, relation } => work::record_guardian(name, relation),
        C::RecordWork {
            description,
            kind,
            parts_used,
        } => work::record_work(g, description, *kind, parts_used),
        C::ReportHiddenFault { description } => work::report_hidden_fault(g, description),
        C::RecordTestRun {
            passed,
            uncertain,
            notes,
        } => test_run::record_test_run(g, *passed, *uncertain, notes),
        C::ScheduleUntestedCallback { reason } => test_run::schedule_untested_callback(g, reason),

        // 14 Teach and clean up
        C::BriefCustomer => clean_up::brief_customer(g),
        C::CleanUp {
            product_restored,
            wiped,
            floor_cleaned,
            no_tool_left,
        } => clean_up::clean_up(*product_restored, *wiped, *floor_cleaned, *no_tool_left),

        // 15 Payment
        C::CollectPayment {
            amount,
            method,
            receipt,
            qr,
        } => payment::collect_payment(g, *amount, *method, receipt, qr.as_ref()),
        C::RefusePayment { reason } => payment::refuse_payment(g, reason),
        C::DeferPayment { reason } => payment::defer_payment(g, reason),
        C::RequestInvoice { buyer } => invoice::request_invoice(g, buyer),

        // 16 Sign-off
        C::SignOff {
            ratings,
            comment,
            strokes,
            consent_text,
            shown_digest,
        } => sign_off::sign_off(g, ratings, comment, strokes, consent_text, shown_digest),
        C::DeclineSignature { reason } => sign_off::decline_signature(g, reason),
        C::ReopenReport { reason } => sign_off::reopen_report(g, reason),

        // 16b Acceptance code
        C::EnterAcceptanceCode { code } => acceptance::enter_acceptance_code(g, code),
        C::WithholdAcceptanceCode { reason } => acceptance::withhold_acceptance_code(g, reason),

        // 16-17 Belongings and leave
        C::CheckBelongings => leave::check_belongings(),
        C::Leave {
            service_card_given,
            shoe_covers_off_at_door,
        } => leave::leave(g, *service_card_given, *shoe_covers_off_at_door),

        // Incidents (STANDARDS §4)
        C::RecordIncident {
            kind,
            description,
            compensation,
        } => incident::record_incident(*kind, description, *compensation),

        // Photos (evidence): any step at the door or inside
        C::TakePhoto {
            moment,
            digest,
            size_bytes,
            width,
            height,
        } => photos::take_photo(g, moment, digest, *size_bytes, *width, *height),
        C::RecordPhotoNotTaken { moment, reason } => {
            photos::record_photo_not_taken(g, moment, reason)
        }
    }
}
