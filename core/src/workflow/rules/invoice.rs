//! Step 15, Payment, the e-fapiao (电子发票) taken at the door: the customer
//! of a chargeable visit asks for one, once; the buyer is checked as the
//! center's desk checks it (`crate::invoice_request`: a company's unified
//! social credit code with its check character, an e-mail or a mainland
//! mobile to send it to) and recorded normalised, for the center to issue.

use super::shared::out_of_order;
use super::{Given, Result};
use crate::invoice_request::{check_buyer, InvoiceBuyer};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;

pub(super) fn request_invoice(g: Given, buyer: &InvoiceBuyer) -> Result<Vec<EventKind>> {
    let s = g.state;
    let billable = s.accepted_quote().is_some_and(|q| q.chargeable());
    if !billable || s.invoice_request.is_some() {
        return Err(out_of_order(
            g.command,
            s,
            "a chargeable quote the customer accepted, and no e-fapiao asked for yet",
        ));
    }
    let checked = check_buyer(buyer).map_err(|p| WorkflowError::InvalidInput {
        field: format!("buyer.{}", p.field),
        problem: p.text,
    })?;
    Ok(vec![EventKind::InvoiceRequested {
        buyer: checked.buyer(),
    }])
}
