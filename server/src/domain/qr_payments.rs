//! Pay by QR at the door (issue 19, item 4), the center's half: a
//! technician's phone asks for a provider's native-pay order of exactly what
//! the visit owes; the order is created at the provider through the outbox
//! (never inline), and the provider's signed notification marks it paid.
//!
//! **Asking** ([`create_order`]): only the device of the assignment's
//! technician; the amount must equal what the server's copy of the visit
//! owes (the accepted quote's customer total less what was paid, replayed
//! from the events the server holds), else refused naming `amount` and the
//! amount due. An identical open order (same visit, provider and amount) is
//! answered again; an order for the other provider or another amount closes
//! the older open ones. A new order is `creating`, with a merchant order
//! number (`DS` + the business day + 16 random letters and digits) and an
//! expiry; its outbox message (kind [`KIND`], target the provider's code)
//! carries what the adapter sends.
//!
//! **Created** ([`record_delivery`]): the adapter's reference is the QR
//! link (`awaiting_payment`); a refusal, or the last attempt failing, makes
//! it `failed` with the reason in both languages.
//!
//! **Paid** ([`confirm_paid`]): after the HTTP layer checked the
//! notification's signature, the order named must exist, and the amount the
//! provider took must be the order's; it is marked paid once — a repeated
//! notification changes nothing. Every notification is logged, refusals
//! with their reason.
//!
//! **Queried** ([`record_delivery`], kind [`QUERY_KIND`]): a notification
//! can be lost, so once an order is created the server asks the provider
//! for it itself (查单: WeChat Pay's query by `out_trade_no`, Alipay's
//! `alipay.trade.query`), `query_delay` after its creation and then with the
//! outbox's backoff while the provider says it is not paid. A payment found
//! there is confirmed like a notification's — the same order, the same
//! amount, once — and marked as found by the query; an order the provider
//! closed is closed. The query stops when the order is paid or failed, or
//! [`QUERY_GRACE_MS`] after its expiry (the provider closed it by then:
//! orders carry their expiry).
//!
//! **Expiry**: an open order past its expiry is `closed` when read.

use crate::failure::{Failure, Fallible};
use crate::store::outbox::{enqueue, NewOutboxMessage, OutboxMessage};
pub use crate::store::qr_payments::PaidVia;
use crate::store::qr_payments::{self as store, NotificationRow, QrPaymentRow};
use crate::store::{assignments, events, LockKey, Tx};
use crate::time::from_ms;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::messages::Text;
use doorstep_core::money::format_yuan;
use doorstep_core::qr_payment::{QrPaymentOrder, QrPaymentRequest, QrPaymentState, QrProvider};
use doorstep_core::AssignmentId;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use crate::domain::outbox::Delivery;

/// The outbox kind of a provider order's creation.
pub const KIND: &str = "qr_payment";
/// The outbox kind of an order's status query at its provider (查单).
pub const QUERY_KIND: &str = "qr_payment_query";
/// How long after an order's expiry its provider is still asked: the
/// provider has closed it by then.
pub const QUERY_GRACE_MS: i64 = 10 * 60 * 1000;
/// Longest merchant order number both providers take.
pub const OUT_TRADE_NO_MAX: usize = 32;

/// Why an order was not made.
#[derive(Debug)]
pub enum CreateRefused {
    /// The amount asked is not what the visit owes (`due`, fen; 0 when
    /// nothing is due).
    NotDue {
        asked: i64,
        due: i64,
    },
    /// The visit is not one this server holds for the assignment.
    UnknownVisit,
    /// The caller's technician is not the assignment's.
    NotYours,
    Other(Failure),
}

impl From<Failure> for CreateRefused {
    fn from(f: Failure) -> Self {
        CreateRefused::Other(f)
    }
}

impl From<crate::failure::DbError> for CreateRefused {
    fn from(e: crate::failure::DbError) -> Self {
        CreateRefused::Other(e.into())
    }
}

/// What the order's creation needs from the settings.
#[derive(Debug, Clone)]
pub struct OrderSettings {
    /// How long the provider takes the payment, in ms.
    pub expiry_ms: i64,
    /// What the customer's payment app shows (description / subject),
    /// followed by the work order's id.
    pub subject: String,
}

/// A fresh merchant order number: `DS`, the business day (`YYYYMMDD`) and
/// 16 random letters and digits — 26 characters, letters and digits only.
pub fn new_out_trade_no(zone: &BusinessZone, now: i64) -> String {
    let day = zone.date_of(from_ms(now)).format("%Y%m%d");
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| {
            let i = rng.random_range(0..36u8);
            char::from(if i < 10 { b'0' + i } else { b'A' + i - 10 })
        })
        .collect();
    format!("DS{day}{tail}")
}

/// The order as the phone reads it.
pub fn order_of(r: &QrPaymentRow) -> Fallible<QrPaymentOrder> {
    let corrupt = |e: String| Failure::corrupt("reading a QR payment", e);
    Ok(QrPaymentOrder {
        payment_id: r.id.clone(),
        assignment_id: AssignmentId::new(r.assignment_id.clone())
            .map_err(|e| corrupt(format!("{e:?}")))?,
        visit_id: r
            .visit_id
            .parse()
            .map_err(|e: uuid::Error| corrupt(e.to_string()))?,
        provider: r.provider,
        out_trade_no: r.out_trade_no.clone(),
        amount: r.amount,
        state: r.state,
        code_url: r.code_url.clone(),
        failure: match (&r.failure_en, &r.failure_zh) {
            (Some(en), Some(zh)) => Some(Text::new(en.clone(), zh.clone())),
            _ => None,
        },
        created_at: from_ms(r.created_at),
        expires_at: from_ms(r.expires_at),
        paid_at: r.paid_at.map(from_ms),
        provider_transaction_id: r.provider_transaction_id.clone(),
    })
}

/// Asks for an order (see the module's text). Returns it and whether it is
/// new (false: an identical open order answered again).
#[allow(clippy::too_many_arguments)]
pub async fn create_order(
    tx: &mut dyn Tx,
    settings: &OrderSettings,
    zone: &BusinessZone,
    device: &str,
    technician: &str,
    req: &QrPaymentRequest,
    now: i64,
) -> Result<(QrPaymentOrder, bool), CreateRefused> {
    tx.lock(LockKey::device(device)).await?;
    let assignment_id = req.assignment_id.as_str();
    let Some(a) = assignments::load_assignment(tx, assignment_id).await? else {
        return Err(Failure::not_found("assignment", assignment_id).into());
    };
    if a.assignment.technician.as_ref().map(|t| t.as_str()) != Some(technician) {
        return Err(CreateRefused::NotYours);
    }
    let visit_id = req.visit_id.to_string();
    match events::visit_owner(tx, &visit_id).await? {
        Some(owner) if owner.assignment_id == assignment_id => {}
        _ => return Err(CreateRefused::UnknownVisit),
    }
    let (_, state) = crate::domain::projection::replay(tx, &visit_id).await?;
    let due = state.amount_due().unwrap_or(0).max(0);
    if due == 0 || req.amount != due {
        return Err(CreateRefused::NotDue {
            asked: req.amount,
            due,
        });
    }
    store::close_expired(tx, &visit_id, now).await?;
    let open: Vec<QrPaymentRow> = store::of_visit(tx, &visit_id)
        .await?
        .into_iter()
        .filter(|o| o.state.is_open())
        .collect();
    if let Some(same) = open
        .iter()
        .find(|o| o.provider == req.provider && o.amount == req.amount)
    {
        return Ok((order_of(same)?, false));
    }
    for o in &open {
        store::close(tx, &o.id, now).await?;
    }
    let row = QrPaymentRow {
        id: uuid::Uuid::now_v7().to_string(),
        assignment_id: assignment_id.to_string(),
        visit_id: visit_id.clone(),
        technician_id: technician.to_string(),
        device_id: device.to_string(),
        provider: req.provider,
        out_trade_no: new_out_trade_no(zone, now),
        amount: req.amount,
        state: QrPaymentState::Creating,
        code_url: None,
        failure_en: None,
        failure_zh: None,
        created_at: now,
        expires_at: now + settings.expiry_ms,
        updated_at: now,
        paid_at: None,
        provider_transaction_id: None,
        confirmed_by: None,
    };
    store::insert(tx, &row).await?;
    enqueue(
        tx,
        &NewOutboxMessage {
            id: uuid::Uuid::now_v7().to_string(),
            kind: KIND.into(),
            idempotency_key: format!("{KIND}:{}", row.id),
            assignment_id: Some(row.assignment_id.clone()),
            target: row.provider.code().into(),
            payload: json!({
                "payment_id": row.id,
                "out_trade_no": row.out_trade_no,
                "amount": row.amount,
                "expires_at": row.expires_at,
                "subject": format!("{} {}", settings.subject, row.assignment_id),
            })
            .to_string(),
            first_attempt_at: now,
            created_at: now,
        },
    )
    .await?;
    Ok((order_of(&row)?, true))
}

/// One order as it stands at `now` (an open order past its expiry is
/// closed first); `None` when there is no such order.
pub async fn current(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<Option<QrPaymentRow>> {
    let Some(row) = store::load(tx, id).await? else {
        return Ok(None);
    };
    if row.state.is_open() && row.expires_at <= now {
        store::close_expired(tx, &row.visit_id, now).await?;
        return store::load(tx, id).await;
    }
    Ok(Some(row))
}

/// What an order query found at the provider, when it settles the order:
/// the delivery's reference, as JSON. (Not paid yet is another attempt.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "found", rename_all = "snake_case")]
pub enum QueryAnswer {
    /// Paid: the provider's transaction.
    Paid {
        transaction_id: String,
        /// Fen, as the provider took it.
        amount: i64,
        /// Unix ms.
        paid_at: i64,
    },
    /// Closed at the provider unpaid (its state: `CLOSED`, `TRADE_CLOSED`…).
    Closed { state: String },
}

impl QueryAnswer {
    /// The answer as a delivered query.
    pub fn delivered(&self) -> Delivery {
        Delivery::Delivered {
            reference: serde_json::to_string(self).ok(),
        }
    }
}

/// Records what a delivery of an order's creation or query came to; other
/// messages are left alone. `retrying`: another attempt is planned; a
/// created order's first query is due `query_delay_ms` later.
pub async fn record_delivery(
    tx: &mut dyn Tx,
    m: &OutboxMessage,
    outcome: &Delivery,
    retrying: bool,
    now: i64,
    query_delay_ms: i64,
) -> Fallible<()> {
    let Some(id) = m.payload["payment_id"].as_str() else {
        return Ok(());
    };
    match m.kind.as_str() {
        KIND => record_creation(tx, m, id, outcome, retrying, now, query_delay_ms).await,
        QUERY_KIND => record_query(tx, id, outcome, now).await,
        _ => Ok(()),
    }
}

/// Whether an order's query is moot at `now`: no such order, paid or
/// failed, or long past its expiry.
pub async fn query_moot(tx: &mut dyn Tx, m: &OutboxMessage, now: i64) -> Fallible<bool> {
    let Some(id) = m.payload["payment_id"].as_str() else {
        return Ok(true);
    };
    Ok(store::load(tx, id).await?.is_none_or(|o| {
        matches!(o.state, QrPaymentState::Paid | QrPaymentState::Failed)
            || o.expires_at + QUERY_GRACE_MS < now
    }))
}

/// What an order query came to: a payment found is confirmed (and logged
/// with the notifications), an order the provider closed is closed.
async fn record_query(tx: &mut dyn Tx, id: &str, outcome: &Delivery, now: i64) -> Fallible<()> {
    let Some(order) = store::load(tx, id).await? else {
        return Ok(());
    };
    let Delivery::Delivered {
        reference: Some(found),
    } = outcome
    else {
        return Ok(());
    };
    let outcome = match serde_json::from_str::<QueryAnswer>(found) {
        Ok(QueryAnswer::Closed { .. }) if order.state.is_open() => {
            return store::close(tx, id, now).await;
        }
        Ok(QueryAnswer::Closed { .. }) => return Ok(()),
        Ok(QueryAnswer::Paid {
            transaction_id,
            amount,
            paid_at,
        }) => {
            let n = PaidNotice {
                provider: order.provider,
                out_trade_no: order.out_trade_no.clone(),
                transaction_id,
                amount,
                paid_at,
            };
            confirm_paid(tx, &n, PaidVia::Query, now).await?
        }
        Err(e) => Err(format!("the order query's answer is unreadable: {e}")),
    };
    store::log_notification(
        tx,
        &NotificationRow {
            id: uuid::Uuid::now_v7().to_string(),
            provider: order.provider.code().into(),
            out_trade_no: Some(order.out_trade_no.clone()),
            outcome: match &outcome {
                Ok(NoticeOutcome::Paid) => "paid_by_query",
                Ok(NoticeOutcome::Repeated) => "repeated",
                Err(_) => "refused",
            }
            .into(),
            reason: Some(match outcome {
                Ok(_) => "found by the order query (查单)".into(),
                Err(why) => format!("order query: {why}"),
            }),
            received_at: now,
        },
    )
    .await
}

/// What a delivery of an order's creation came to.
async fn record_creation(
    tx: &mut dyn Tx,
    m: &OutboxMessage,
    id: &str,
    outcome: &Delivery,
    retrying: bool,
    now: i64,
    query_delay_ms: i64,
) -> Fallible<()> {
    match outcome {
        Delivery::Delivered {
            reference: Some(code_url),
        } => {
            store::mark_created(tx, id, code_url, now).await?;
            // The provider is asked itself in case its notification is lost.
            enqueue(
                tx,
                &NewOutboxMessage {
                    id: uuid::Uuid::now_v7().to_string(),
                    kind: QUERY_KIND.into(),
                    idempotency_key: format!("{QUERY_KIND}:{id}"),
                    assignment_id: m.assignment_id.clone(),
                    target: m.target.clone(),
                    payload: json!({
                        "payment_id": id,
                        "out_trade_no": m.payload["out_trade_no"],
                        "amount": m.payload["amount"],
                    })
                    .to_string(),
                    first_attempt_at: now + query_delay_ms,
                    created_at: now,
                },
            )
            .await?;
            Ok(())
        }
        Delivery::Delivered { reference: None } => {
            store::mark_failed(
                tx,
                id,
                "the provider answered without a QR link",
                "支付机构的应答中没有二维码链接。",
                now,
            )
            .await
        }
        Delivery::Refused(e) => {
            store::mark_failed(
                tx,
                id,
                &format!("the provider refused the order: {e}"),
                &format!("支付机构拒绝了该订单：{e}。"),
                now,
            )
            .await
        }
        Delivery::Retry(_) if retrying => Ok(()),
        Delivery::Retry(e) => {
            store::mark_failed(
                tx,
                id,
                &format!("the provider could not be reached, attempts exhausted: {e}"),
                &format!("多次尝试后仍无法连接支付机构：{e}。"),
                now,
            )
            .await
        }
    }
}

/// What a provider's notification, its signature checked, says was paid.
#[derive(Debug, Clone)]
pub struct PaidNotice {
    pub provider: QrProvider,
    pub out_trade_no: String,
    pub transaction_id: String,
    /// Fen, as the provider took it.
    pub amount: i64,
    pub paid_at: i64,
}

/// What came of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeOutcome {
    /// The order is now paid.
    Paid,
    /// It was paid already: nothing changed.
    Repeated,
}

/// Marks the order a checked notification names paid, once (see the
/// module's text); `Err(reason)` refuses it, nothing changed. The caller
/// logs the outcome ([`log_notification`]).
pub async fn confirm_paid(
    tx: &mut dyn Tx,
    n: &PaidNotice,
    via: PaidVia,
    now: i64,
) -> Fallible<Result<NoticeOutcome, String>> {
    let Some(order) = store::by_out_trade_no(tx, &n.out_trade_no).await? else {
        return Ok(Err(format!("no order {}", n.out_trade_no)));
    };
    if order.provider != n.provider {
        return Ok(Err(format!(
            "order {} is for {}",
            n.out_trade_no,
            order.provider.code()
        )));
    }
    if order.amount != n.amount {
        return Ok(Err(format!(
            "amount {} is not the order's {}",
            n.amount, order.amount
        )));
    }
    if store::mark_paid(tx, &order.id, &n.transaction_id, n.paid_at, via, now).await? {
        Ok(Ok(NoticeOutcome::Paid))
    } else {
        if order.provider_transaction_id.as_deref() != Some(n.transaction_id.as_str()) {
            tracing::warn!(out_trade_no = %n.out_trade_no, "a paid order notified again with another transaction");
        }
        Ok(Ok(NoticeOutcome::Repeated))
    }
}

/// Logs one notification: `paid`, `repeated` or `refused` (with why).
pub async fn log_notification(
    tx: &mut dyn Tx,
    provider: QrProvider,
    out_trade_no: Option<&str>,
    outcome: Result<&NoticeOutcome, &str>,
    now: i64,
) -> Fallible<()> {
    let (outcome, reason) = match outcome {
        Ok(NoticeOutcome::Paid) => ("paid", None),
        Ok(NoticeOutcome::Repeated) => ("repeated", None),
        Err(why) => ("refused", Some(why.to_string())),
    };
    store::log_notification(
        tx,
        &NotificationRow {
            id: uuid::Uuid::now_v7().to_string(),
            provider: provider.code().into(),
            out_trade_no: out_trade_no.map(String::from),
            outcome: outcome.into(),
            reason,
            received_at: now,
        },
    )
    .await
}

/// An order as the console lists it: the amount formatted by the core, the
/// provider's and the state's names in both languages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QrPaymentView {
    pub payment_id: String,
    pub visit_id: String,
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    pub provider_name: LabelView,
    pub out_trade_no: String,
    /// Fen.
    pub amount: i64,
    /// `¥80.00` (the core's money formatting).
    pub amount_shown: String,
    /// `creating`, `awaiting_payment`, `paid`, `closed` or `failed`.
    pub state: String,
    pub state_label: LabelView,
    pub technician_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub paid_at: Option<i64>,
    pub provider_transaction_id: Option<String>,
    pub failure: Option<LabelView>,
    /// Who confirmed the payment, once paid: the provider's signed
    /// notification, or its signed answer to the server's order query.
    pub confirmed_by: Option<LabelView>,
}

/// A label in both languages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LabelView {
    pub en: String,
    pub zh: String,
}

impl From<Text> for LabelView {
    fn from(t: Text) -> Self {
        LabelView { en: t.en, zh: t.zh }
    }
}

/// A state's name in both languages.
pub fn state_label(s: QrPaymentState) -> Text {
    match s {
        QrPaymentState::Creating => Text::new("Creating", "创建中"),
        QrPaymentState::AwaitingPayment => Text::new("Awaiting payment", "待支付"),
        QrPaymentState::Paid => Text::new("Paid", "已支付"),
        QrPaymentState::Closed => Text::new("Closed unpaid", "已关闭（未支付）"),
        QrPaymentState::Failed => Text::new("Failed", "失败"),
    }
}

/// The console's view of an order.
pub fn view_of(r: &QrPaymentRow) -> QrPaymentView {
    QrPaymentView {
        payment_id: r.id.clone(),
        visit_id: r.visit_id.clone(),
        provider: r.provider.code().into(),
        provider_name: r.provider.name().into(),
        out_trade_no: r.out_trade_no.clone(),
        amount: r.amount,
        amount_shown: format_yuan(r.amount),
        state: store::state_code(r.state).into(),
        state_label: state_label(r.state).into(),
        technician_id: r.technician_id.clone(),
        created_at: r.created_at,
        expires_at: r.expires_at,
        paid_at: r.paid_at,
        provider_transaction_id: r.provider_transaction_id.clone(),
        failure: match (&r.failure_en, &r.failure_zh) {
            (Some(en), Some(zh)) => Some(LabelView {
                en: en.clone(),
                zh: zh.clone(),
            }),
            _ => None,
        },
        confirmed_by: (r.state == QrPaymentState::Paid).then(|| {
            let via = r.confirmed_by.unwrap_or(PaidVia::Notification);
            match (r.provider, via) {
                (QrProvider::WechatPay, PaidVia::Notification) => LabelView {
                    en: "WeChat Pay's signed notification".into(),
                    zh: "微信支付签名通知".into(),
                },
                (QrProvider::WechatPay, PaidVia::Query) => LabelView {
                    en: "WeChat Pay's signed answer to our order query".into(),
                    zh: "向微信支付查单的签名应答".into(),
                },
                (QrProvider::Alipay, PaidVia::Notification) => LabelView {
                    en: "Alipay's signed notification".into(),
                    zh: "支付宝签名通知".into(),
                },
                (QrProvider::Alipay, PaidVia::Query) => LabelView {
                    en: "Alipay's signed answer to our order query".into(),
                    zh: "向支付宝查单的签名应答".into(),
                },
            }
        }),
    }
}

/// A work order's orders as the console lists them, newest first (open
/// orders past their expiry read as closed).
pub async fn views_of_assignment(
    tx: &mut dyn Tx,
    assignment_id: &str,
    now: i64,
) -> Fallible<Vec<QrPaymentView>> {
    Ok(store::of_assignment(tx, assignment_id)
        .await?
        .into_iter()
        .map(|mut r| {
            if r.state.is_open() && r.expires_at <= now {
                r.state = QrPaymentState::Closed;
            }
            view_of(&r)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merchant_order_number_is_letters_and_digits_within_32() {
        let zone = BusinessZone::default();
        let a = new_out_trade_no(&zone, 1_780_000_000_000);
        assert!(a.starts_with("DS2026"), "{a}");
        assert_eq!(a.len(), 26);
        assert!(a.len() <= OUT_TRADE_NO_MAX);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, new_out_trade_no(&zone, 1_780_000_000_000));
    }
}
