//! `decide(state, command, playbook, context) -> events | refusal`: the
//! cross-cutting gates, then the step's own rules.
//!
//! The gates, in order: every field within its bounds (`workflow::bounds`);
//! a visit starts with its assignment; center facts are
//! recorded whatever the stage; a closed visit refuses everything; a step the
//! trade's playbook does not walk is refused; a signed report is not changed
//! (STANDARDS §2.16); a command outside the stages its row of the command
//! table allows is out of order. The step's commands and named guards live in
//! `workflow::rules`, one file per step. Pure: no IO, no clock.

use super::bounds;
use super::command::VisitCommand;
use super::command_table::row_of;
use super::error::WorkflowError;
use super::event::EventKind;
use super::rules::{center, dispatch, photos, sign_off, Given};
use super::state::{Stage, VisitState};
use crate::playbook::{Playbook, Step};

pub use super::context::Context;
pub use super::rules::{departure_plan, punctuality, DeparturePlan};

/// The step a command belongs to (its row of the command table); `None` for
/// center facts, calls and incidents.
pub fn step_of(cmd: &VisitCommand) -> Option<Step> {
    row_of(cmd).step
}

/// STANDARDS §2 (the visit, step by step): a command is accepted only in the
/// stages its row of the command table allows; before them it is out of
/// order, naming what it needs first.
fn require_stage_allowed(
    s: &VisitState,
    cmd: &VisitCommand,
    pb: &Playbook,
) -> Result<(), WorkflowError> {
    let row = row_of(cmd);
    if row.allows(s.stage, pb) {
        Ok(())
    } else {
        Err(WorkflowError::OutOfOrder {
            command: cmd.name(),
            stage: s.stage,
            needs: row.needs_at(s.stage, pb).to_string(),
        })
    }
}

/// Decides a command. Returns the events to append, or the refusal.
pub fn decide(
    s: &VisitState,
    cmd: &VisitCommand,
    pb: &Playbook,
    ctx: &Context,
) -> Result<Vec<EventKind>, WorkflowError> {
    use VisitCommand as C;

    bounds::check(cmd)?;

    if s.stage == Stage::New {
        return match cmd {
            C::ReceiveAssignment { assignment } => center::receive_first(assignment, pb, &ctx.zone),
            _ => Err(WorkflowError::VisitNotStarted),
        };
    }

    // Center facts are recorded whatever the visit's stage: nothing is lost.
    match cmd {
        C::ReceiveAssignment { assignment } => {
            return center::receive_update(s, assignment, pb, &ctx.zone)
        }
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
    require_stage_allowed(s, cmd, pb)?;
    photos::require_photos_of_earlier_steps(s, cmd, pb)?;

    dispatch(Given {
        state: s,
        command: cmd,
        playbook: pb,
        ctx,
    })
    .map_err(|e| e.with_item_names(pb))
}
