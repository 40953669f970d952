//! The `invoice_requests` table: each e-fapiao request of a work order —
//! the buyer (type, title, tax number), where the invoice goes (e-mail,
//! mobile), the amount, the provider's order number, and its state
//! (requested → queued → issued, or failed) with the provider's serial,
//! the invoice number or the failure's reason.

use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use crate::model::{BuyerType, InvoiceSource};
use serde::{Deserialize, Serialize};

/// Where an e-fapiao request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Recorded; waits for the amount (nothing paid on the order yet).
    Requested,
    /// In the outbox to the invoicing provider, or taken by it and being issued.
    Queued,
    /// The provider issued the invoice (`invoice_number`).
    Issued,
    /// The provider refused it, or every attempt failed (`failure_reason`).
    Failed,
}

impl InvoiceState {
    pub const ALL: [InvoiceState; 4] = [
        InvoiceState::Requested,
        InvoiceState::Queued,
        InvoiceState::Issued,
        InvoiceState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceState::Requested => "requested",
            InvoiceState::Queued => "queued",
            InvoiceState::Issued => "issued",
            InvoiceState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<InvoiceState> {
        InvoiceState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub id: String,
    pub assignment_id: String,
    pub buyer_type: BuyerType,
    pub title: String,
    pub tax_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub order_no: String,
    pub source: InvoiceSource,
    pub requested_by: String,
    pub requested_at: i64,
}

/// A stored e-fapiao request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InvoiceRecord {
    pub id: String,
    pub assignment_id: String,
    pub buyer_type: BuyerType,
    /// 发票抬头.
    pub title: String,
    /// 纳税人识别号 (unified social credit code).
    pub tax_number: Option<String>,
    pub email: Option<String>,
    /// Eleven digits.
    pub phone: Option<String>,
    /// What the customer paid on the order, in fen; none until known.
    pub amount: Option<i64>,
    /// The provider's order number (unique per request).
    pub order_no: String,
    pub state: InvoiceState,
    /// The provider's serial number (发票流水号) once it took the request.
    pub provider_serial: Option<String>,
    /// The invoice's number (发票号码) once issued.
    pub invoice_number: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// `door` (the technician's phone) or `desk`.
    pub source: InvoiceSource,
    pub requested_by: String,
    pub requested_at: i64,
    pub updated_at: i64,
    pub issued_at: Option<i64>,
}

const COLUMNS: &str = "id, assignment_id, buyer_type, title, tax_number, email, phone, amount, \
     order_no, state, provider_serial, invoice_number, failure_reason, source, requested_by, \
     requested_at, updated_at, issued_at";

fn record_from_row(r: &Row) -> Fallible<InvoiceRecord> {
    let corrupt = |what| Failure::corrupt("reading an invoice request", what);
    Ok(InvoiceRecord {
        id: r.text("id"),
        assignment_id: r.text("assignment_id"),
        buyer_type: BuyerType::parse(&r.text("buyer_type"))
            .ok_or_else(|| corrupt("unknown buyer type"))?,
        title: r.text("title"),
        tax_number: r.opt_text("tax_number"),
        email: r.opt_text("email"),
        phone: r.opt_text("phone"),
        amount: r.opt_int("amount"),
        order_no: r.text("order_no"),
        state: InvoiceState::parse(&r.text("state")).ok_or_else(|| corrupt("unknown state"))?,
        provider_serial: r.opt_text("provider_serial"),
        invoice_number: r.opt_text("invoice_number"),
        failure_reason: r.opt_text("failure_reason"),
        source: match r.text("source").as_str() {
            "door" => InvoiceSource::Door,
            "desk" => InvoiceSource::Desk,
            _ => return Err(corrupt("unknown source")),
        },
        requested_by: r.text("requested_by"),
        requested_at: r.int("requested_at"),
        updated_at: r.int("updated_at"),
        issued_at: r.opt_int("issued_at"),
    })
}

/// Stores a new request, `requested`.
pub async fn insert(tx: &mut dyn Tx, n: &NewInvoice) -> Fallible<()> {
    tx.execute(
        "INSERT INTO invoice_requests (id, assignment_id, buyer_type, title, tax_number, email,
            phone, order_no, state, source, requested_by, requested_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested', $9, $10, $11, $11)",
        &[
            n.id.as_str().into(),
            n.assignment_id.as_str().into(),
            n.buyer_type.as_str().into(),
            n.title.as_str().into(),
            n.tax_number.clone().into(),
            n.email.clone().into(),
            n.phone.clone().into(),
            n.order_no.as_str().into(),
            n.source.as_str().into(),
            n.requested_by.as_str().into(),
            n.requested_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// One request.
pub async fn load(tx: &mut dyn Tx, id: &str) -> Fallible<Option<InvoiceRecord>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM invoice_requests WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| record_from_row(&r))
    .transpose()
}

/// A work order's requests, newest first.
pub async fn of_assignment(tx: &mut dyn Tx, assignment_id: &str) -> Fallible<Vec<InvoiceRecord>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM invoice_requests WHERE assignment_id = $1
             ORDER BY requested_at DESC, id DESC"
        ),
        &[assignment_id.into()],
    )
    .await?
    .iter()
    .map(record_from_row)
    .collect()
}

/// Requests waiting for their amount, oldest first (at most `limit`).
pub async fn waiting(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<InvoiceRecord>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM invoice_requests WHERE state = 'requested'
             ORDER BY requested_at, id LIMIT $1"
        ),
        &[limit.into()],
    )
    .await?
    .iter()
    .map(record_from_row)
    .collect()
}

/// The request is in the outbox, for `amount` fen.
pub async fn mark_queued(tx: &mut dyn Tx, id: &str, amount: i64, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET state = 'queued', amount = $2, updated_at = $3
         WHERE id = $1 AND state = 'requested'",
        &[id.into(), amount.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// The provider took it: its serial number.
pub async fn mark_accepted(tx: &mut dyn Tx, id: &str, serial: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET provider_serial = $2, updated_at = $3
         WHERE id = $1 AND state = 'queued'",
        &[id.into(), serial.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// The provider issued it.
pub async fn mark_issued(tx: &mut dyn Tx, id: &str, number: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET state = 'issued', invoice_number = $2, failure_reason = NULL,
            issued_at = $3, updated_at = $3
         WHERE id = $1 AND state = 'queued'",
        &[id.into(), number.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// It failed, for `reason`.
pub async fn mark_failed(tx: &mut dyn Tx, id: &str, reason: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET state = 'failed', failure_reason = $2, updated_at = $3
         WHERE id = $1 AND state = 'queued'",
        &[id.into(), reason.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// A failed request whose dead letter a dispatcher retried: queued again.
pub async fn mark_requeued(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET state = 'queued', failure_reason = NULL, updated_at = $2
         WHERE id = $1 AND state = 'failed'",
        &[id.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Replaces where a request's invoice goes (retention masks it, erasure
/// removes it).
pub async fn set_delivery_contact(
    tx: &mut dyn Tx,
    id: &str,
    email: Option<&str>,
    phone: Option<&str>,
) -> Fallible<()> {
    tx.execute(
        "UPDATE invoice_requests SET email = $2, phone = $3 WHERE id = $1",
        &[
            id.into(),
            email.map(str::to_string).into(),
            phone.map(str::to_string).into(),
        ],
    )
    .await?;
    Ok(())
}
