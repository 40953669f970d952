//! E-fapiao requests (电子发票申请): what a customer asks for — buyer type
//! (personal 个人 / company 单位), title (发票抬头), tax number (纳税人识别号)
//! and where the invoice goes (e-mail and/or mobile) — checked field by
//! field with a refusal naming the field and what would be accepted (zh-CN
//! and en); the amount (the money collected on the order's visits); and the
//! request's life: requested → queued to the invoicing provider through the
//! outbox → issued with the invoice number, or failed with the reason.
//!
//! Taken at the door (a phone's fact, projected later) or afterwards at the
//! desk: both go through [`request_invoice`].
//!
//! **Tax number.** A company's must be the 18-character unified social
//! credit code (统一社会信用代码, GB 32100-2015) with its check character
//! ([`check_credit_code`]). The legacy 15- and 20-character tax
//! registration numbers are refused: the three-certificates-in-one reform
//! (三证合一) replaced them with the unified code, its transition ended on
//! 2017-12-31, and the e-invoice platforms take the unified code for
//! companies. A personal buyer needs none; one given (an individual business
//! 个体工商户 has a unified code too) is checked the same way — an identity
//! card number is not taken as a tax number here.
//!
//! **Amount.** The invoice is for what the customer paid: the sum of every
//! payment collected on the order's visits (`paid_total` of each projected
//! visit, in fen), read when the request is made. Nothing paid yet: the
//! request waits as `requested` and the outbox worker queues it once a
//! payment is known ([`release_waiting`]); the invoice is never for an
//! amount the customer did not pay.
//!
//! **Personal data.** A personal buyer's title, e-mail and mobile are
//! personal data kept with the request as the record of an issued invoice
//! (docs/PIPL.md: invoices stay, as accounting law requires); the PIPL
//! retention and erasure (`domain::personal_data`) do not rewrite them.
//! Whether the e-mail and mobile should be masked once the invoice is
//! issued is left open.

use crate::failure::{Failure, Fallible};
use crate::store::invoices::{self, InvoiceRecord, InvoiceState, NewInvoice};
use crate::store::outbox::{enqueue, NewOutboxMessage, OutboxMessage};
use crate::store::{assignments, visits, Tx};
pub use doorstep_core::invoice_request::{check_buyer, BuyerProblem, InvoiceBuyer};
pub use doorstep_core::invoice_request::{check_credit_code, CreditCodeProblem, TITLE_CHARS};
use doorstep_core::workflow::state::VisitState;
use doorstep_core::{EventKind, VisitEvent};
use serde_json::json;

/// The outbox kind of an invoice's issue request (开具蓝字发票).
pub const ISSUE_KIND: &str = "invoice";
/// The outbox kind of the follow-up query of its result (开票结果查询).
pub const QUERY_KIND: &str = "invoice_query";
/// The provider the outbox messages go to (`target`).
pub const PROVIDER: &str = "nuonuo";

pub use crate::model::{BuyerType, InvoiceSource};

/// Why a request could not be filed.
#[derive(Debug)]
pub enum RequestRefused {
    /// A field is wrong.
    Field(BuyerProblem),
    /// Something else (no such order, one already running, storage).
    Other(Failure),
}

impl From<Failure> for RequestRefused {
    fn from(f: Failure) -> Self {
        RequestRefused::Other(f)
    }
}

impl From<crate::store::DbError> for RequestRefused {
    fn from(e: crate::store::DbError) -> Self {
        RequestRefused::Other(e.into())
    }
}

/// What the customer paid on the order: the sum of the money collected on
/// its visits (fen); 0 when nothing was.
pub async fn amount_paid(tx: &mut dyn Tx, assignment_id: &str) -> Fallible<i64> {
    let mut total = 0i64;
    for id in visits::visit_ids_of_assignment(tx, assignment_id).await? {
        if let Some((_, state)) = visits::load_visit_with_state(tx, &id).await? {
            let state: VisitState = serde_json::from_str(&state)
                .map_err(|e| Failure::corrupt("reading a visit's state", e))?;
            total = total.saturating_add(state.paid_total);
        }
    }
    Ok(total)
}

/// The provider's order number of a request: 20 characters (its limit),
/// derived from the request's id, so every attempt names the same order.
pub fn order_no_of(request_id: &str) -> String {
    let digest = doorstep_core::canonical::sha256_hex(request_id.as_bytes());
    format!("DS{}", digest[..18].to_ascii_uppercase())
}

/// Files an e-fapiao request for a work order, taken at the door or at the
/// desk by `actor`: checks it, refuses a second one while one is open
/// (requested, queued or issued), stores it and — when what the customer
/// paid is known — queues it to the invoicing provider in the same
/// transaction.
pub async fn request_invoice(
    tx: &mut dyn Tx,
    assignment_id: &str,
    buyer: &InvoiceBuyer,
    source: InvoiceSource,
    actor: &str,
    now: i64,
) -> Result<InvoiceRecord, RequestRefused> {
    if !assignments::exists(tx, assignment_id).await? {
        return Err(Failure::not_found("assignment", assignment_id).into());
    }
    let checked = check_buyer(buyer).map_err(RequestRefused::Field)?;
    if let Some(open) = invoices::of_assignment(tx, assignment_id)
        .await?
        .into_iter()
        .find(|r| r.state != InvoiceState::Failed)
    {
        return Err(Failure::Conflict {
            code: "invoice_requested",
            message: format!(
                "this work order already has an e-fapiao request ({}, {}); a new one can be made only after it failed",
                open.id,
                open.state.as_str()
            ),
            details: serde_json::Map::from_iter([
                ("invoice_id".to_string(), json!(open.id)),
                ("state".to_string(), json!(open.state)),
            ]),
        }
        .into());
    }
    let id = uuid::Uuid::now_v7().to_string();
    let paid = amount_paid(tx, assignment_id).await?;
    let record = NewInvoice {
        order_no: order_no_of(&id),
        id,
        assignment_id: assignment_id.to_string(),
        buyer_type: checked.buyer_type,
        title: checked.title,
        tax_number: checked.tax_number,
        email: checked.email,
        phone: checked.phone,
        source,
        requested_by: actor.to_string(),
        requested_at: now,
    };
    invoices::insert(tx, &record).await?;
    if paid > 0 {
        queue(tx, &record.id, paid, now).await?;
    }
    Ok(invoices::load(tx, &record.id)
        .await?
        .ok_or_else(|| Failure::not_found("invoice request", &record.id))?)
}

/// A phone's `invoice_requested` fact files the request taken at the door
/// (source `door`, by the technician), as the desk would. The fact stays
/// admitted whatever happens here: a request the desk filed first (one open
/// already) or a buyer this server's check refuses is logged and left to the
/// desk, which sees the order's requests.
pub async fn record_fact(
    tx: &mut dyn Tx,
    technician: &str,
    e: &VisitEvent,
    now: i64,
) -> Fallible<()> {
    let EventKind::InvoiceRequested { buyer } = &e.kind else {
        return Ok(());
    };
    let order = e.assignment_id.as_str();
    match request_invoice(tx, order, buyer, InvoiceSource::Door, technician, now).await {
        Ok(_) => Ok(()),
        Err(RequestRefused::Field(p)) => {
            tracing::warn!(
                order,
                field = p.field,
                "an e-fapiao asked for at the door was refused: {}",
                p.text.en
            );
            Ok(())
        }
        Err(RequestRefused::Other(Failure::Conflict { code, .. })) => {
            tracing::info!(
                order,
                code,
                "an e-fapiao asked for at the door: the order has one already"
            );
            Ok(())
        }
        Err(RequestRefused::Other(f)) => Err(f),
    }
}

/// Queues a stored request for `amount` (fen) to the provider: the issue
/// request goes in the outbox, the request becomes `queued`.
async fn queue(tx: &mut dyn Tx, id: &str, amount: i64, now: i64) -> Fallible<()> {
    let Some(r) = invoices::load(tx, id).await? else {
        return Ok(());
    };
    enqueue(
        tx,
        &NewOutboxMessage {
            id: uuid::Uuid::now_v7().to_string(),
            kind: ISSUE_KIND.into(),
            idempotency_key: format!("invoice:{}", r.id),
            assignment_id: Some(r.assignment_id.clone()),
            target: PROVIDER.into(),
            payload: json!({
                "invoice_id": r.id,
                "order_no": r.order_no,
                "buyer_type": r.buyer_type,
                "title": r.title,
                "tax_number": r.tax_number,
                "email": r.email,
                "phone": r.phone,
                "amount": amount,
                "requested_at": r.requested_at,
            })
            .to_string(),
            first_attempt_at: now,
            created_at: now,
        },
    )
    .await?;
    invoices::mark_queued(tx, id, amount, now).await
}

/// Queues the requests that waited for a payment, now that one is known;
/// returns how many. Run by the outbox worker every round.
pub async fn release_waiting(tx: &mut dyn Tx, now: i64) -> Fallible<usize> {
    let mut n = 0;
    for r in invoices::waiting(tx, 100).await? {
        let paid = amount_paid(tx, &r.assignment_id).await?;
        if paid > 0 {
            queue(tx, &r.id, paid, now).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// What a delivery of an invoice message came to, for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceOutcome {
    /// The provider took the issue request: its serial number (发票流水号).
    Accepted { serial: String },
    /// The provider issued the invoice: its number (发票号码).
    Issued { number: String },
    /// Another attempt follows (nothing changes for the request).
    Retrying(String),
    /// No more attempts: the request failed, for this reason.
    Failed(String),
}

/// Records what a delivery of `m` (an issue request or a result query)
/// came to on its invoice request, in the worker's transaction. An issue
/// request the provider took is followed by the query of its result (the
/// provider issues asynchronously), due after `query_delay_ms`.
pub async fn record_delivery(
    tx: &mut dyn Tx,
    m: &OutboxMessage,
    outcome: &InvoiceOutcome,
    now: i64,
    query_delay_ms: i64,
) -> Fallible<()> {
    let Some(id) = m.payload["invoice_id"].as_str() else {
        return Ok(());
    };
    match outcome {
        InvoiceOutcome::Accepted { serial } => {
            invoices::mark_accepted(tx, id, serial, now).await?;
            enqueue(
                tx,
                &NewOutboxMessage {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind: QUERY_KIND.into(),
                    idempotency_key: format!("invoice-query:{id}:{serial}"),
                    assignment_id: m.assignment_id.clone(),
                    target: PROVIDER.into(),
                    payload: json!({ "invoice_id": id, "serial": serial,
                                     "order_no": m.payload["order_no"] })
                    .to_string(),
                    first_attempt_at: now + query_delay_ms,
                    created_at: now,
                },
            )
            .await?;
        }
        InvoiceOutcome::Issued { number } => invoices::mark_issued(tx, id, number, now).await?,
        InvoiceOutcome::Failed(reason) => invoices::mark_failed(tx, id, reason, now).await?,
        InvoiceOutcome::Retrying(_) => {}
    }
    Ok(())
}

/// A dispatcher retried a dead invoice message: its request is queued again.
pub async fn dead_letter_retried(tx: &mut dyn Tx, m: &OutboxMessage, now: i64) -> Fallible<()> {
    if m.kind != ISSUE_KIND && m.kind != QUERY_KIND {
        return Ok(());
    }
    match m.payload["invoice_id"].as_str() {
        Some(id) => invoices::mark_requeued(tx, id, now).await,
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_order_number_is_twenty_characters_and_stable() {
        let a = order_no_of("0190-abc");
        assert_eq!(a.len(), 20);
        assert_eq!(a, order_no_of("0190-abc"));
        assert_ne!(a, order_no_of("0190-abd"));
    }
}
