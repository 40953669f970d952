//! Guards shared by several steps: input checks (non-empty,
//! a future window, a real signature) and whether the customer was reached.

use super::{Given, Result};
use crate::assignment::TimeWindow;
use crate::messages::Text;
use crate::workflow::command::{CallOutcome, VisitCommand};
use crate::workflow::error::WorkflowError;
use crate::workflow::signature::{strokes_are_signature, Stroke};
use crate::workflow::state::VisitState;
use chrono::{DateTime, Utc};

/// The refusal of a command given before what it `needs`.
pub(super) fn out_of_order(cmd: &VisitCommand, s: &VisitState, needs: &str) -> WorkflowError {
    WorkflowError::OutOfOrder {
        command: cmd.name(),
        stage: s.stage,
        needs: needs.to_string(),
    }
}

/// A text field that must say something.
pub(super) fn non_empty(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: Text::new("must not be empty", "不能为空"),
        })
    } else {
        Ok(())
    }
}

/// A window that ends after it starts and is not over yet.
pub(super) fn valid_future_window(field: &str, w: &TimeWindow, now: DateTime<Utc>) -> Result<()> {
    if !w.is_valid() {
        return Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: Text::new(
                "the window must end after it starts",
                "结束时间须晚于开始时间",
            ),
        });
    }
    if w.end <= now {
        return Err(WorkflowError::InvalidInput {
            field: field.into(),
            problem: Text::new("the window is already over", "该时间段已过"),
        });
    }
    Ok(())
}

/// STANDARDS §2.11, §2.16: a signature (backup consent, custody receipt,
/// sign-off) is at least one stroke of two or more points, in time order.
pub(super) fn require_signature(strokes: &[Stroke]) -> Result<()> {
    if strokes_are_signature(strokes) {
        Ok(())
    } else {
        Err(WorkflowError::SignatureInvalid {
            problem: "the signature needs at least one stroke of two or more points, in time order"
                .into(),
        })
    }
}

/// Some logged call reached the customer.
pub(super) fn reached_customer(s: &VisitState) -> bool {
    s.calls.iter().any(|c| c.outcome == CallOutcome::Reached)
}

/// STANDARDS §2.9 (reschedule with a new agreed time): on site, agreement
/// comes from the customer at the door or a reached call after arriving.
pub(super) fn require_agreement_on_site(s: &VisitState) -> Result<()> {
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

/// Work has been recorded: what this command follows.
pub(super) fn require_work_recorded(g: Given, needs: &str) -> Result<()> {
    if g.state.work.is_empty() {
        Err(out_of_order(g.command, g.state, needs))
    } else {
        Ok(())
    }
}

/// The window in force, or what the command needs first.
pub(super) fn current_window(g: Given) -> Result<TimeWindow> {
    g.state
        .window
        .ok_or_else(|| out_of_order(g.command, g.state, "agree a time window with the customer"))
}
