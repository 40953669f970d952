//! `decide(state, command, playbook, context) -> events | refusal`: the
//! cross-cutting gates, then the step's own rules.
//!
//! The gates, in order: a visit starts with its assignment; center facts are
//! recorded whatever the stage; a closed visit refuses everything; a step the
//! trade's playbook does not walk is refused; a signed report is not changed
//! (STANDARDS §2.16). The step's commands and named guards live in
//! `workflow::rules`, one file per step. Pure: no IO, no clock.

use super::command::VisitCommand;
use super::error::WorkflowError;
use super::event::EventKind;
use super::rules::{center, dispatch, sign_off, Given};
use super::state::{Stage, VisitState};
use crate::playbook::{Playbook, Step};

pub use super::context::Context;
pub use super::rules::{departure_plan, punctuality, DeparturePlan};

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

/// Decides a command. Returns the events to append, or the refusal.
pub fn decide(
    s: &VisitState,
    cmd: &VisitCommand,
    pb: &Playbook,
    ctx: &Context,
) -> Result<Vec<EventKind>, WorkflowError> {
    use VisitCommand as C;

    if s.stage == Stage::New {
        return match cmd {
            C::ReceiveAssignment { assignment } => center::receive_first(assignment, pb),
            _ => Err(WorkflowError::VisitNotStarted),
        };
    }

    // Center facts are recorded whatever the visit's stage: nothing is lost.
    match cmd {
        C::ReceiveAssignment { assignment } => return center::receive_update(s, assignment, pb),
        C::CancelAssignment { version, reason } => return Ok(center::cancel(s, *version, reason)),
        C::ReassignAssignment { version, to } => return Ok(center::reassign(s, *version, to)),
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
    sign_off::require_report_unsigned(s, cmd)?;

    dispatch(Given {
        state: s,
        command: cmd,
        playbook: pb,
        ctx,
    })
}
