//! The `qr_payments` and `qr_payment_notifications` tables: each native-pay
//! order a technician's phone asked for (the visit it pays, who asked, the
//! provider, the merchant's order number, the amount, its state, the QR
//! link, why it failed, the provider's transaction once paid and how that
//! was confirmed), and the log of every provider notification received,
//! accepted or refused, and of every payment the order query found.

use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use doorstep_core::qr_payment::{QrPaymentState, QrProvider};

/// The wire text of a state.
pub fn state_code(s: QrPaymentState) -> &'static str {
    match s {
        QrPaymentState::Creating => "creating",
        QrPaymentState::AwaitingPayment => "awaiting_payment",
        QrPaymentState::Paid => "paid",
        QrPaymentState::Closed => "closed",
        QrPaymentState::Failed => "failed",
    }
}

fn parse_state(text: &str) -> Option<QrPaymentState> {
    use QrPaymentState::*;
    [Creating, AwaitingPayment, Paid, Closed, Failed]
        .into_iter()
        .find(|s| state_code(*s) == text)
}

/// How an order was confirmed paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidVia {
    /// The provider's signed notification.
    Notification,
    /// The server's own order query (查单): the notification never came.
    Query,
}

impl PaidVia {
    pub fn code(self) -> &'static str {
        match self {
            PaidVia::Notification => "notification",
            PaidVia::Query => "query",
        }
    }

    fn parse(text: &str) -> Option<PaidVia> {
        [PaidVia::Notification, PaidVia::Query]
            .into_iter()
            .find(|v| v.code() == text)
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPaymentRow {
    pub id: String,
    pub assignment_id: String,
    pub visit_id: String,
    pub technician_id: String,
    pub device_id: String,
    pub provider: QrProvider,
    pub out_trade_no: String,
    /// Fen.
    pub amount: i64,
    pub state: QrPaymentState,
    pub code_url: Option<String>,
    pub failure_en: Option<String>,
    pub failure_zh: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub updated_at: i64,
    pub paid_at: Option<i64>,
    pub provider_transaction_id: Option<String>,
    /// How it was confirmed paid, once paid.
    pub confirmed_by: Option<PaidVia>,
}

const COLUMNS: &str = "id, assignment_id, visit_id, technician_id, device_id, provider, \
     out_trade_no, amount, state, code_url, failure_en, failure_zh, created_at, expires_at, \
     updated_at, paid_at, provider_transaction_id, confirmed_by";

fn row_of(r: &Row) -> Fallible<QrPaymentRow> {
    let corrupt = |what| Failure::corrupt("reading a QR payment", what);
    Ok(QrPaymentRow {
        id: r.text("id"),
        assignment_id: r.text("assignment_id"),
        visit_id: r.text("visit_id"),
        technician_id: r.text("technician_id"),
        device_id: r.text("device_id"),
        provider: QrProvider::from_code(&r.text("provider"))
            .ok_or_else(|| corrupt("unknown provider"))?,
        out_trade_no: r.text("out_trade_no"),
        amount: r.int("amount"),
        state: parse_state(&r.text("state")).ok_or_else(|| corrupt("unknown state"))?,
        code_url: r.opt_text("code_url"),
        failure_en: r.opt_text("failure_en"),
        failure_zh: r.opt_text("failure_zh"),
        created_at: r.int("created_at"),
        expires_at: r.int("expires_at"),
        updated_at: r.int("updated_at"),
        paid_at: r.opt_int("paid_at"),
        provider_transaction_id: r.opt_text("provider_transaction_id"),
        confirmed_by: r
            .opt_text("confirmed_by")
            .as_deref()
            .and_then(PaidVia::parse),
    })
}

/// Stores a new order, `creating`.
pub async fn insert(tx: &mut dyn Tx, o: &QrPaymentRow) -> Fallible<()> {
    tx.execute(
        "INSERT INTO qr_payments (id, assignment_id, visit_id, technician_id, device_id, provider,
            out_trade_no, amount, state, created_at, expires_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10)",
        &[
            o.id.as_str().into(),
            o.assignment_id.as_str().into(),
            o.visit_id.as_str().into(),
            o.technician_id.as_str().into(),
            o.device_id.as_str().into(),
            o.provider.code().into(),
            o.out_trade_no.as_str().into(),
            o.amount.into(),
            state_code(o.state).into(),
            o.created_at.into(),
            o.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// One order by its id.
pub async fn load(tx: &mut dyn Tx, id: &str) -> Fallible<Option<QrPaymentRow>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM qr_payments WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| row_of(&r))
    .transpose()
}

/// One order by the merchant's order number.
pub async fn by_out_trade_no(tx: &mut dyn Tx, no: &str) -> Fallible<Option<QrPaymentRow>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM qr_payments WHERE out_trade_no = $1"),
        &[no.into()],
    )
    .await?
    .map(|r| row_of(&r))
    .transpose()
}

/// A visit's orders, oldest first.
pub async fn of_visit(tx: &mut dyn Tx, visit_id: &str) -> Fallible<Vec<QrPaymentRow>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM qr_payments WHERE visit_id = $1 ORDER BY created_at, id"),
        &[visit_id.into()],
    )
    .await?
    .iter()
    .map(row_of)
    .collect()
}

/// A work order's orders, newest first.
pub async fn of_assignment(tx: &mut dyn Tx, assignment_id: &str) -> Fallible<Vec<QrPaymentRow>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM qr_payments WHERE assignment_id = $1
             ORDER BY created_at DESC, id DESC"
        ),
        &[assignment_id.into()],
    )
    .await?
    .iter()
    .map(row_of)
    .collect()
}

/// Open orders (creating, awaiting payment) past their expiry at `now`
/// become `closed`; returns how many.
pub async fn close_expired(tx: &mut dyn Tx, visit_id: &str, now: i64) -> Fallible<u64> {
    tx.execute(
        "UPDATE qr_payments SET state = 'closed', updated_at = $2
         WHERE visit_id = $1 AND state IN ('creating', 'awaiting_payment') AND expires_at <= $2",
        &[visit_id.into(), now.into()],
    )
    .await
    .map_err(Into::into)
}

/// An open order replaced by a newer one: `closed`.
pub async fn close(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE qr_payments SET state = 'closed', updated_at = $2
         WHERE id = $1 AND state IN ('creating', 'awaiting_payment')",
        &[id.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// The provider created the order: its QR link; `awaiting_payment`.
pub async fn mark_created(tx: &mut dyn Tx, id: &str, code_url: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE qr_payments SET state = 'awaiting_payment', code_url = $2, updated_at = $3
         WHERE id = $1 AND state = 'creating'",
        &[id.into(), code_url.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// The order could not be created, for a reason (en, zh); `failed`.
pub async fn mark_failed(tx: &mut dyn Tx, id: &str, en: &str, zh: &str, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE qr_payments SET state = 'failed', failure_en = $2, failure_zh = $3, updated_at = $4
         WHERE id = $1 AND state = 'creating'",
        &[id.into(), en.into(), zh.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// The provider confirmed the payment: `paid`, once. Returns whether this
/// call changed the order (false when it was already paid).
pub async fn mark_paid(
    tx: &mut dyn Tx,
    id: &str,
    transaction_id: &str,
    paid_at: i64,
    via: PaidVia,
    now: i64,
) -> Fallible<bool> {
    let changed = tx
        .execute(
            "UPDATE qr_payments SET state = 'paid', provider_transaction_id = $2, paid_at = $3,
                updated_at = $4, confirmed_by = $5
             WHERE id = $1 AND state <> 'paid'",
            &[
                id.into(),
                transaction_id.into(),
                paid_at.into(),
                now.into(),
                via.code().into(),
            ],
        )
        .await?;
    Ok(changed == 1)
}

/// One provider notification as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    pub id: String,
    pub provider: String,
    pub out_trade_no: Option<String>,
    /// `paid` (marked the order paid), `repeated` (already paid: nothing
    /// changed) or `refused`.
    pub outcome: String,
    pub reason: Option<String>,
    pub received_at: i64,
}

/// Logs a notification.
pub async fn log_notification(tx: &mut dyn Tx, n: &NotificationRow) -> Fallible<()> {
    tx.execute(
        "INSERT INTO qr_payment_notifications (id, provider, out_trade_no, outcome, reason,
            received_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            n.id.as_str().into(),
            n.provider.as_str().into(),
            n.out_trade_no.clone().into(),
            n.outcome.as_str().into(),
            n.reason.clone().into(),
            n.received_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The notifications received, newest first (at most `limit`).
pub async fn notifications(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<NotificationRow>> {
    Ok(tx
        .query(
            "SELECT id, provider, out_trade_no, outcome, reason, received_at
             FROM qr_payment_notifications ORDER BY received_at DESC, id DESC LIMIT $1",
            &[limit.into()],
        )
        .await?
        .iter()
        .map(|r| NotificationRow {
            id: r.text("id"),
            provider: r.text("provider"),
            out_trade_no: r.opt_text("out_trade_no"),
            outcome: r.text("outcome"),
            reason: r.opt_text("reason"),
            received_at: r.int("received_at"),
        })
        .collect())
}
