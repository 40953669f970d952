//! Pay by QR at the door (STANDARDS §2.15): the wire types between the phone
//! and the server for a payment provider's native-pay order (WeChat Pay's
//! "Native 支付", Alipay's "当面付" precreate), and the reference a collected
//! payment keeps to the order the customer paid.
//!
//! The flow: the phone asks the server for an order of exactly the amount
//! due ([`QrPaymentRequest`], `POST /api/sync/qr-payments`); the server
//! checks the amount against the visit it holds, creates the provider's
//! order through its outbox and answers at once with the order in
//! [`QrPaymentState::Creating`]; the phone asks again
//! (`GET /api/sync/qr-payments/{payment_id}`) until the provider's QR link
//! (`code_url`) is there, shows it, and keeps asking until the provider's
//! signed callback has marked the order [`QrPaymentState::Paid`]. The phone
//! then records the payment with a [`QrPaymentRef`]; reconciliation matches
//! the two. The phone never talks to a provider and holds no provider key.

use crate::ids::{AssignmentId, VisitId};
use crate::messages::Text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A payment provider the customer can pay by scanning a QR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum QrProvider {
    /// 微信支付 (WeChat Pay API v3, native order).
    WechatPay,
    /// 支付宝 (Alipay, `alipay.trade.precreate`).
    Alipay,
}

impl QrProvider {
    pub const ALL: [QrProvider; 2] = [QrProvider::WechatPay, QrProvider::Alipay];

    /// The wire code: `wechat_pay`, `alipay`.
    pub fn code(self) -> &'static str {
        match self {
            QrProvider::WechatPay => "wechat_pay",
            QrProvider::Alipay => "alipay",
        }
    }

    pub fn from_code(code: &str) -> Option<QrProvider> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The provider's name as the customer knows it.
    pub fn name(self) -> Text {
        match self {
            QrProvider::WechatPay => Text::new("WeChat Pay", "微信支付"),
            QrProvider::Alipay => Text::new("Alipay", "支付宝"),
        }
    }
}

/// The order a QR payment was made against, kept with the collected payment
/// so the center can match it with the provider's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QrPaymentRef {
    pub provider: QrProvider,
    /// The merchant's order number the server gave the provider
    /// (`out_trade_no` in both providers' APIs).
    pub out_trade_no: String,
}

/// The phone's request for a native-pay order (`POST /api/sync/qr-payments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPaymentRequest {
    pub protocol_version: u32,
    pub assignment_id: AssignmentId,
    pub visit_id: VisitId,
    pub provider: QrProvider,
    /// Fen; exactly what the visit owes (the server checks it against the
    /// visit's accepted quote and what was paid before).
    pub amount: i64,
}

/// Where a native-pay order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QrPaymentState {
    /// Accepted by the server; the provider's order is being created.
    Creating,
    /// The provider answered with a QR link: show it to the customer.
    AwaitingPayment,
    /// The provider's signed callback confirmed the payment.
    Paid,
    /// Closed unpaid (expired, or replaced by a newer order for the visit).
    Closed,
    /// The provider refused the order or could not be reached in time;
    /// `failure` says why.
    Failed,
}

impl QrPaymentState {
    /// Whether the order can still change without the phone asking again.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            QrPaymentState::Creating | QrPaymentState::AwaitingPayment
        )
    }

    /// What the technician's screen says of it.
    pub fn text(self) -> Text {
        match self {
            QrPaymentState::Creating => Text::new("Making the payment code…", "正在生成收款码…"),
            QrPaymentState::AwaitingPayment => {
                Text::new("Ask the customer to scan and pay", "请客户扫码付款")
            }
            QrPaymentState::Paid => Text::new("Paid", "已付款"),
            QrPaymentState::Closed => Text::new("Closed unpaid", "已关闭，未付款"),
            QrPaymentState::Failed => Text::new("No payment code", "未能生成收款码"),
        }
    }
}

/// A native-pay order as the server answers it to the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrPaymentOrder {
    pub payment_id: String,
    pub assignment_id: AssignmentId,
    pub visit_id: VisitId,
    pub provider: QrProvider,
    pub out_trade_no: String,
    /// Fen.
    pub amount: i64,
    pub state: QrPaymentState,
    /// The provider's QR link (`code_url` / `qr_code`), once created.
    #[serde(default)]
    pub code_url: Option<String>,
    /// Why the order failed, in both languages.
    #[serde(default)]
    pub failure: Option<Text>,
    pub created_at: DateTime<Utc>,
    /// After this the provider no longer takes the payment.
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
    /// The provider's own transaction number once paid.
    #[serde(default)]
    pub provider_transaction_id: Option<String>,
}

impl QrPaymentOrder {
    /// The reference the collected payment keeps.
    pub fn reference(&self) -> QrPaymentRef {
        QrPaymentRef {
            provider: self.provider,
            out_trade_no: self.out_trade_no.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_codes_round_trip_and_match_the_wire() {
        for p in QrProvider::ALL {
            assert_eq!(QrProvider::from_code(p.code()), Some(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.code())
            );
        }
        assert_eq!(QrProvider::from_code("paypal"), None);
    }

    #[test]
    fn only_creating_and_awaiting_orders_are_open() {
        use QrPaymentState::*;
        let open: Vec<_> = [Creating, AwaitingPayment, Paid, Closed, Failed]
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        assert_eq!(open, vec![Creating, AwaitingPayment]);
    }
}
