//! Step 15, Payment, STANDARDS §2.15: collect exactly the accepted quote (after
//! a reopened report, exactly the difference), a receipt or invoice number or
//! an invoice "to be delivered" with a date; never an IOU for a bottle deposit.

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::quote::Quote;
use crate::workflow::command::{PaymentMethod, ReceiptRecord};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;
use chrono::NaiveDate;

pub(super) fn collect_payment(
    g: Given,
    amount: i64,
    method: PaymentMethod,
    receipt: &ReceiptRecord,
) -> Result<Vec<EventKind>> {
    let (s, pb) = (g.state, g.playbook);
    require_cleaned_up(g)?;
    let q = require_accepted_quote(s)?;
    require_exact_payment(g, q, amount)?;
    require_no_deposit_iou(pb, q, method)?;
    require_receipt_record(receipt, g.ctx.today())?;
    Ok(vec![EventKind::PaymentCollected {
        amount,
        method,
        receipt: receipt.clone(),
    }])
}

/// STANDARDS §2.14-2.15: payment follows the clean-up ("restore the
/// product, wipe it, clean the floor"), unless the quote was refused.
fn require_cleaned_up(g: Given) -> Result<()> {
    let s = g.state;
    if g.playbook.has(Step::CleanUp) && !s.cleaned_up && !s.quote_refused {
        Err(out_of_order(g.command, s, "clean up"))
    } else {
        Ok(())
    }
}

/// STANDARDS §2.15 (Payment): "any change to the quote after acceptance
/// needs a new acceptance" — money is collected only against the quote
/// revision the customer accepted.
fn require_accepted_quote(s: &VisitState) -> Result<&Quote> {
    s.accepted_quote().ok_or(WorkflowError::QuoteNotAccepted {
        revision: s.quote.as_ref().map(|q| q.revision),
    })
}

/// STANDARDS §2.15 (Payment): "collect exactly the accepted quote" — after a
/// reopened report with a new total, exactly the difference.
fn require_exact_payment(g: Given, q: &Quote, amount: i64) -> Result<()> {
    let due = q.customer_total.saturating_sub(g.state.paid_total);
    if due <= 0 {
        return Err(out_of_order(
            g.command,
            g.state,
            "nothing is due: the accepted total is paid (an overpayment is refunded by the center)",
        ));
    }
    if amount != due {
        return Err(WorkflowError::PaymentMismatch {
            expected: due,
            got: amount,
        });
    }
    Ok(())
}

/// STANDARDS §2.15 (Payment, water delivery): "never an IOU for the bottle
/// deposit" — an IOU is refused when the accepted quote holds a deposit.
fn require_no_deposit_iou(pb: &Playbook, q: &Quote, method: PaymentMethod) -> Result<()> {
    if method == PaymentMethod::Iou && pb.rules.no_deposit_iou && q.deposit_total > 0 {
        Err(WorkflowError::DepositIou {
            deposit: q.deposit_total,
        })
    } else {
        Ok(())
    }
}

/// STANDARDS §2.15 (Payment): "receipt or invoice number; invoice not at hand
/// → record 'to be delivered' with a date" — a number that says something,
/// a delivery date not in the past.
fn require_receipt_record(receipt: &ReceiptRecord, today: NaiveDate) -> Result<()> {
    if let ReceiptRecord::Receipt { number } | ReceiptRecord::Invoice { number } = receipt {
        non_empty("receipt.number", number)?;
    }
    if let ReceiptRecord::InvoiceToBeDelivered { by } = receipt {
        if *by < today {
            return Err(WorkflowError::InvalidInput {
                field: "receipt.by".into(),
                problem: Text::new("the delivery date is in the past", "送达日期已过"),
            });
        }
    }
    Ok(())
}

pub(super) fn refuse_payment(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    if g.state.accepted_quote().is_none() {
        return Err(out_of_order(g.command, g.state, "an accepted quote"));
    }
    Ok(vec![
        EventKind::PaymentRefused {
            reason: reason.to_string(),
        },
        EventKind::EscalatedToCenter {
            reason: "customer refused to pay".into(),
        },
    ])
}
