//! Step 16b, the customer's acceptance code (验收码, issue 19): asked after
//! the sign-off or a declined signature, where the trade's playbook walks
//! the step and the center issued a code with the assignment. The phone
//! checks the first codes against the assignment's slow hash; after
//! `OFFLINE_ATTEMPTS` wrong ones it stops checking and records the codes
//! for the center to check. The code is asked for in addition to the
//! signature, never in its place, and carries no rating (STANDARDS §2.16).

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::acceptance_code::{well_formed, AcceptanceCheck, CODE_DIGITS};
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn enter_acceptance_code(g: Given, code: &str) -> Result<Vec<EventKind>> {
    let check = require_code_issued(g.state)?;
    require_signed_or_declined_first(g)?;
    require_not_yet_accepted(g.state)?;
    require_well_formed(code)?;
    let s = g.state;
    let matched = if s.acceptance.offline_check_stopped() {
        None
    } else {
        let id = s.assignment.as_ref().map(|a| a.id.as_str()).unwrap_or("");
        Some(check.matches(id, code))
    };
    Ok(vec![EventKind::AcceptanceCodeEntered {
        code: code.to_string(),
        matched,
    }])
}

pub(super) fn withhold_acceptance_code(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    require_code_issued(g.state)?;
    require_signed_or_declined_first(g)?;
    require_not_yet_accepted(g.state)?;
    Ok(vec![EventKind::AcceptanceCodeWithheld {
        reason: reason.to_string(),
    }])
}

/// Whether this visit asks for the code: the trade walks the step and the
/// center issued a code with the assignment.
pub fn acceptance_due(s: &VisitState, pb: &Playbook) -> bool {
    pb.has(Step::Acceptance) && issued(s).is_some()
}

/// Leaving a visit with work done needs the code settled: accepted, sent on
/// to the center after the phone stopped checking, or withheld with a reason.
pub(super) fn require_acceptance_settled(s: &VisitState, pb: &Playbook) -> Result<()> {
    if acceptance_due(s, pb) && !s.acceptance.settled() {
        Err(WorkflowError::AcceptanceCodeRequired {
            wrong_codes: s.acceptance.wrong_codes,
        })
    } else {
        Ok(())
    }
}

fn issued(s: &VisitState) -> Option<&AcceptanceCheck> {
    s.assignment.as_ref()?.acceptance.as_deref()
}

fn require_code_issued(s: &VisitState) -> Result<&AcceptanceCheck> {
    issued(s).ok_or(WorkflowError::AcceptanceCodeNotIssued)
}

/// The code closes what the customer signed (or declined to sign): it
/// comes after the sign-off step.
fn require_signed_or_declined_first(g: Given) -> Result<()> {
    if g.state.sign_off.is_none() && g.state.declined.is_none() {
        Err(out_of_order(g.command, g.state, "the customer's sign-off"))
    } else {
        Ok(())
    }
}

fn require_not_yet_accepted(s: &VisitState) -> Result<()> {
    if s.acceptance.matched {
        Err(WorkflowError::AcceptanceCodeAlreadyAccepted)
    } else {
        Ok(())
    }
}

fn require_well_formed(code: &str) -> Result<()> {
    if well_formed(code) {
        Ok(())
    } else {
        Err(WorkflowError::InvalidInput {
            field: "code".into(),
            problem: Text::new(
                format!("must be the {CODE_DIGITS} digits the customer received"),
                format!("须为客户收到的{CODE_DIGITS}位数字"),
            ),
        })
    }
}
