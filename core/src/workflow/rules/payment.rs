//! Step 15, Payment, STANDARDS §2.15: collect exactly the accepted quote (after
//! a reopened report, exactly the difference), a receipt or invoice number or
//! an invoice "to be delivered" with a date; never an IOU for a bottle deposit.
//! Paid by QR, the payment names the provider's order (mobile payment only);
//! a customer who cannot pay now leaves the whole amount owed to the center.

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::qr_payment::QrPaymentRef;
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
    qr: Option<&QrPaymentRef>,
) -> Result<Vec<EventKind>> {
    let (s, pb) = (g.state, g.playbook);
    require_cleaned_up(g)?;
    let q = require_accepted_quote(s)?;
    require_exact_payment(g, q, amount)?;
    require_no_deposit_iou(pb, q, method)?;
    require_receipt_record(receipt, g.ctx.today())?;
    if let Some(qr) = qr {
        require_qr_order(method, qr)?;
    }
    Ok(vec![EventKind::PaymentCollected {
        amount,
        method,
        receipt: receipt.clone(),
        qr: qr.cloned(),
    }])
}

/// The longest merchant order number both providers take (WeChat Pay's
/// `out_trade_no`: 6 to 32 letters, digits, `_`, `-` or `*`).
const OUT_TRADE_NO_LEN: std::ops::RangeInclusive<usize> = 6..=32;

/// Paid by scanning a provider's QR code: a mobile payment, against an
/// order number as the provider takes it (the server's `out_trade_no`).
fn require_qr_order(method: PaymentMethod, qr: &QrPaymentRef) -> Result<()> {
    if method != PaymentMethod::Mobile {
        return Err(WorkflowError::InvalidInput {
            field: "method".into(),
            problem: Text::new(
                "a QR payment is a mobile payment: choose mobile",
                "扫码支付属于移动支付，请选择“移动支付”",
            ),
        });
    }
    let n = &qr.out_trade_no;
    if !OUT_TRADE_NO_LEN.contains(&n.len())
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*'))
    {
        return Err(WorkflowError::InvalidInput {
            field: "qr.out_trade_no".into(),
            problem: Text::new(
                "an order number of 6 to 32 letters, digits, _, - or *",
                "订单号应为 6 至 32 位字母、数字或 _ - *",
            ),
        });
    }
    Ok(())
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

/// STANDARDS §2.15 (Payment): the customer cannot pay now (the QR code needs a
/// network the phone does not have, no cash at hand): the whole amount due
/// stays owed — never part of it — with a reason the center follows up.
pub(super) fn defer_payment(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    require_cleaned_up(g)?;
    let s = g.state;
    let q = require_accepted_quote(s)?;
    let due = q.customer_total.saturating_sub(s.paid_total);
    if due <= 0 || s.payment_refused || s.payment_deferred.is_some() {
        return Err(out_of_order(
            g.command,
            s,
            "an amount due that is neither paid, refused nor already deferred",
        ));
    }
    Ok(vec![EventKind::PaymentDeferred {
        amount: due,
        reason: reason.to_string(),
    }])
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
