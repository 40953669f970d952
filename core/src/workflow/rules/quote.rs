//! Step 12, Quote (报价), STANDARDS §2.12: the fee schedule shown before any
//! charge, the quote priced from it (`crate::quote::price`: the lower of
//! schedule and warranty card), a discount only with the center's approval
//! (`crate::discount_approval`), its acceptance by revision, a refusal
//! escalated to the center.

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::assignment::Assignment;
use crate::discount_approval::{approve, Unapproved};
use crate::playbook::Step;
use crate::quote::{price, Discount, QuoteRequest};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn show_fee_schedule() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::FeeScheduleShown])
}

pub(super) fn present_quote(g: Given, request: &QuoteRequest) -> Result<Vec<EventKind>> {
    require_findings_before_quote(g)?;
    require_fee_schedule_shown(g.state)?;
    let s = g.state;
    let assignment = s
        .assignment
        .as_ref()
        .ok_or(WorkflowError::VisitNotStarted)?;
    let revision = s.quote.as_ref().map_or(1, |q| q.revision + 1);
    let approved = QuoteRequest {
        lines: request.lines.clone(),
        discount: discount_approved_by_center(g, assignment, request.discount.as_ref())?,
    };
    let quote = price(g.playbook, assignment, &approved, g.ctx.today(), revision)?;
    Ok(vec![EventKind::QuotePresented { quote }])
}

/// STANDARDS §2.11-2.12: the quote follows the diagnosis (or, in a trade
/// that inspects goods, the inspection).
fn require_findings_before_quote(g: Given) -> Result<()> {
    let (pb, s) = (g.playbook, g.state);
    if pb.has(Step::Diagnose) && s.diagnosis.is_none() {
        return Err(out_of_order(g.command, s, "record the diagnosis"));
    }
    if pb.has(Step::Inspect) && s.inspected.is_empty() {
        return Err(out_of_order(g.command, s, "inspect the goods"));
    }
    Ok(())
}

/// STANDARDS §2.12 (报价): "discounts only with a center approval" — an
/// approval the center sent with this work order, up to its maximum, or the
/// short code the center read out for this order and exact amount, checked
/// with the device's discount key. The discount is recorded as approved
/// (`crate::discount_approval::approve`).
fn discount_approved_by_center(
    g: Given,
    assignment: &Assignment,
    discount: Option<&Discount>,
) -> Result<Option<Discount>> {
    let Some(d) = discount else { return Ok(None) };
    let key = g.ctx.discount_key.as_ref().map(|k| k.0.as_ref());
    approve(
        d,
        assignment.id.as_str(),
        &assignment.discount_approvals,
        key,
    )
    .map(Some)
    .map_err(|e| match e {
        Unapproved::Missing => WorkflowError::DiscountNeedsApproval,
        Unapproved::OverApproval { approved, asked } => {
            WorkflowError::DiscountOverApproval { approved, asked }
        }
        Unapproved::Unknown { code } => WorkflowError::DiscountApprovalUnknown {
            approval_code: code,
        },
    })
}

/// STANDARDS §2.12 (报价): "show the schedule before any charge".
fn require_fee_schedule_shown(s: &VisitState) -> Result<()> {
    if s.fee_schedule_shown {
        Ok(())
    } else {
        Err(WorkflowError::FeeScheduleNotShown)
    }
}

pub(super) fn accept_quote(g: Given, revision: u32) -> Result<Vec<EventKind>> {
    let Some(q) = &g.state.quote else {
        return Err(out_of_order(g.command, g.state, "present a quote"));
    };
    require_current_revision(q.revision, revision)?;
    Ok(vec![EventKind::QuoteAccepted {
        revision,
        customer_total: q.customer_total,
    }])
}

/// STANDARDS §2.15 (Payment): "any change to the quote after acceptance
/// needs a new acceptance" — the customer accepts the revision in force,
/// never an earlier one.
fn require_current_revision(current: u32, accepted: u32) -> Result<()> {
    if current == accepted {
        Ok(())
    } else {
        Err(WorkflowError::QuoteRevisionMismatch { current, accepted })
    }
}

pub(super) fn refuse_quote(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    if g.state.quote.is_none() {
        return Err(out_of_order(g.command, g.state, "present a quote"));
    }
    // Explain the three guarantees (三包) and escalate to the center.
    Ok(vec![
        EventKind::QuoteRefused {
            reason: reason.to_string(),
        },
        EventKind::EscalatedToCenter {
            reason: "customer refused the quote".into(),
        },
    ])
}

/// STANDARDS §2.12 (报价): "no repair step may be recorded as done on a
/// chargeable visit before the quote is accepted"; a hidden fault on a
/// chargeable visit needs a re-quote ("re-quote if chargeable", §2.13).
pub(super) fn require_quote_accepted_if_chargeable(s: &VisitState) -> Result<()> {
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
