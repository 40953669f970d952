//! Steps 16-17, Belongings and Leave, STANDARDS §2.16-2.17: belongings
//! checked together (home care); leave only after a sign-off or a declined
//! signature, with the customer's acceptance code settled where the visit
//! asks for it, and with the outcome the record supports (§2.13, §2.15).

use super::acceptance::require_acceptance_settled;
use super::shared::out_of_order;
use super::test_run::latest_test_failed;
use super::{Given, Result};
use crate::playbook::{Playbook, Step};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::{EventKind, Outcome};
use crate::workflow::state::VisitState;

pub(super) fn check_belongings() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::BelongingsChecked])
}

pub(super) fn leave(
    g: Given,
    service_card_given: bool,
    shoe_covers_off_at_door: bool,
) -> Result<Vec<EventKind>> {
    let (s, pb) = (g.state, g.playbook);
    require_signed_or_declined(s)?;
    require_belongings_checked(s, pb)?;
    let outcome = leaving_outcome(g)?;
    if !s.work.is_empty() {
        require_acceptance_settled(s, pb)?;
    }
    Ok(vec![EventKind::Left {
        outcome,
        service_card_given,
        shoe_covers_off_at_door,
    }])
}

/// STANDARDS §2.16 (签字): the visit ends with the customer's sign-off or a
/// declined signature ("never force a signature: 'declined to sign' is a
/// valid outcome").
fn require_signed_or_declined(s: &VisitState) -> Result<()> {
    if s.sign_off.is_none() && s.declined.is_none() {
        Err(WorkflowError::NoSignOff)
    } else {
        Ok(())
    }
}

/// STANDARDS §2.16 (home care): "check belongings together before leaving".
fn require_belongings_checked(s: &VisitState, pb: &Playbook) -> Result<()> {
    if pb.has(Step::Belongings) && !s.belongings_checked {
        Err(WorkflowError::BelongingsNotChecked)
    } else {
        Ok(())
    }
}

/// STANDARDS §2.13 (试机通检): "a visit closes as fixed only with a passed
/// test run or a scheduled 2-hour callback" (a failed test is not made good
/// by a callback). Returns the outcome the visit closes with.
fn leaving_outcome(g: Given) -> Result<Outcome> {
    let (s, pb) = (g.state, g.playbook);
    if s.quote_refused && s.work.is_empty() {
        return Ok(Outcome::QuoteRefused);
    }
    if s.work.is_empty() {
        return Err(out_of_order(
            g.command,
            s,
            "record the work (or reschedule, take the unit back, or record the refusal)",
        ));
    }
    require_deposit_paid(s, pb)?;
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

/// STANDARDS §2.15 (Payment, water delivery): "never an IOU for the bottle
/// deposit" — the bottles stay only with their deposit paid; a refused
/// payment means a revised quote without them (taken back) before leaving.
fn require_deposit_paid(s: &VisitState, pb: &Playbook) -> Result<()> {
    if !pb.rules.no_deposit_iou {
        return Ok(());
    }
    match s.accepted_quote().filter(|q| q.deposit_total > 0) {
        Some(q) if s.paid_total < q.customer_total => Err(WorkflowError::DepositIou {
            deposit: q.deposit_total,
        }),
        _ => Ok(()),
    }
}
