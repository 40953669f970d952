//! Step 3, Confirm the appointment (预约), STANDARDS §2.3: every call logged;
//! the window, address and product confirmed with the customer; a window
//! conflict settled by a new agreed window or a hand-back to the center; an
//! unreachable customer still visited at the promised time.

use super::receive::require_information_complete;
use super::shared::{
    current_window, non_empty, out_of_order, reached_customer, valid_future_window,
};
use super::{Given, Result};
use crate::assignment::TimeWindow;
use crate::messages::Text;
use crate::workflow::command::{CallOutcome, CallPurpose};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

/// STANDARDS §2.3: "log every call attempt (no answer, busy, reached)" — at any stage.
pub(super) fn log_call(
    outcome: CallOutcome,
    purpose: CallPurpose,
    note: &Option<String>,
) -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::CallLogged {
        outcome,
        purpose,
        note: note.clone(),
    }])
}

pub(super) fn confirm_appointment(
    g: Given,
    address_confirmed: bool,
    product_confirmed: bool,
) -> Result<Vec<EventKind>> {
    require_information_complete(g.state)?;
    let window = current_window(g)?;
    require_no_window_conflict(g)?;
    if !reached_customer(g.state) {
        return Err(out_of_order(g.command, g.state, "reach the customer by phone (log a reached call), or proceed unconfirmed after the retries"));
    }
    require_details_confirmed(address_confirmed, product_confirmed)?;
    Ok(vec![EventKind::AppointmentConfirmed {
        window,
        address_confirmed,
        product_confirmed,
    }])
}

pub(super) fn proceed_unconfirmed(g: Given) -> Result<Vec<EventKind>> {
    require_information_complete(g.state)?;
    let window = current_window(g)?;
    let failed_attempts = require_unreachable_after_retries(g)?;
    // 003: "仍需要按照承诺到达" — still go at the promised time.
    Ok(vec![EventKind::ProceedingUnconfirmed {
        window,
        failed_attempts,
    }])
}

pub(super) fn report_window_conflict(reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    Ok(vec![EventKind::WindowConflictReported {
        reason: reason.to_string(),
    }])
}

pub(super) fn agree_new_window(
    g: Given,
    window: &TimeWindow,
    reason: &str,
) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    valid_future_window("window", window, g.ctx.now)?;
    require_customer_agreement(g.state)?;
    Ok(vec![EventKind::NewWindowAgreed {
        window: *window,
        reason: reason.to_string(),
    }])
}

pub(super) fn hand_back_to_center(reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    Ok(vec![EventKind::HandedBackToCenter {
        reason: reason.to_string(),
    }])
}

/// STANDARDS §2.3 (预约): "window conflict … → apologise and propose a new
/// window or hand back to the center for reassignment" — not confirm the old one.
fn require_no_window_conflict(g: Given) -> Result<()> {
    if g.state.window_conflict {
        Err(out_of_order(
            g.command,
            g.state,
            "agree a new window with the customer or hand the assignment back to the center",
        ))
    } else {
        Ok(())
    }
}

/// STANDARDS §2.3 (预约): "confirm time window, address, model, purchase
/// date, fault" — the address and the product are both confirmed.
fn require_details_confirmed(address_confirmed: bool, product_confirmed: bool) -> Result<()> {
    if address_confirmed && product_confirmed {
        Ok(())
    } else {
        Err(WorkflowError::InvalidInput {
            field: "address_confirmed/product_confirmed".into(),
            problem: Text::new(
                "confirm the address and the product (model, purchase date, fault) with the customer",
                "请与客户核对地址和产品信息（型号、购买日期、故障）",
            ),
        })
    }
}

/// STANDARDS §2.3 (预约): "customer unreachable after retries → still go at
/// the promised time" — only when no call reached the customer and the
/// trade's number of appointment calls failed. Returns the failed attempts.
fn require_unreachable_after_retries(g: Given) -> Result<u32> {
    let failed = failed_calls(g.state);
    let needed = g.playbook.timing.call_attempts_before_unreachable as u32;
    if reached_customer(g.state) {
        return Err(out_of_order(
            g.command,
            g.state,
            "the customer was reached: confirm the appointment instead",
        ));
    }
    if failed < needed {
        return Err(WorkflowError::CustomerNotYetUnreachable {
            attempts: failed,
            needed,
        });
    }
    Ok(failed)
}

/// Appointment calls that did not reach the customer.
fn failed_calls(s: &VisitState) -> u32 {
    s.calls
        .iter()
        .filter(|c| c.purpose == CallPurpose::Appointment && c.outcome != CallOutcome::Reached)
        .count() as u32
}

/// STANDARDS §2.3 (预约): "a new window exists only with the customer's
/// recorded agreement" — the latest logged call reached the customer, after
/// the call that agreed the window in force.
pub(super) fn require_customer_agreement(s: &VisitState) -> Result<()> {
    // The call that agreed the window in force does not agree another one.
    let since_last_agreement = s.calls.len() > s.window_agreed_at_call;
    match s.calls.last() {
        Some(c) if c.outcome == CallOutcome::Reached && since_last_agreement => Ok(()),
        _ => Err(WorkflowError::NoCustomerAgreement),
    }
}
