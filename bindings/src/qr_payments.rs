//! Pay by QR at the door over the FFI (`doorstep_core::qr_payment`): the
//! shell asks the `Syncer` for a provider's order of what the visit owes,
//! draws its `code_url` as a QR code with the platform's own encoder, asks
//! after the order until it is paid, then records the payment with
//! `DeviceStore::collect_qr_payment`. Amounts, states and provider names
//! come worded from here: the shell formats none of them.

use crate::device_store::DeviceStore;
use crate::error::{guard, DoorstepError};
use crate::sync::Syncer;
use crate::types::{CommandResult, LocalizedText, Timestamp};
use doorstep_core::clock::SystemClock;
use doorstep_core::money::format_yuan;
use doorstep_core::qr_payment::{QrPaymentOrder, QrPaymentRef, QrPaymentState, QrProvider};
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord};
use doorstep_core::{AssignmentId, VisitCommand};

/// Where a QR payment order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum QrPaymentStatus {
    Creating,
    AwaitingPayment,
    Paid,
    Closed,
    Failed,
}

impl From<QrPaymentState> for QrPaymentStatus {
    fn from(s: QrPaymentState) -> Self {
        match s {
            QrPaymentState::Creating => Self::Creating,
            QrPaymentState::AwaitingPayment => Self::AwaitingPayment,
            QrPaymentState::Paid => Self::Paid,
            QrPaymentState::Closed => Self::Closed,
            QrPaymentState::Failed => Self::Failed,
        }
    }
}

/// A provider the customer can pay with, for the shell's buttons.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QrProviderItem {
    /// `wechat_pay`, `alipay`.
    pub code: String,
    pub name: LocalizedText,
}

/// A provider's order as the screen shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct QrPayment {
    pub payment_id: String,
    pub assignment_id: String,
    pub provider: String,
    pub provider_name: LocalizedText,
    pub out_trade_no: String,
    pub amount_fen: i64,
    /// `¥80.00`.
    pub amount_shown: String,
    pub status: QrPaymentStatus,
    pub status_text: LocalizedText,
    /// What to draw as the QR code, once the provider gave it.
    pub code_url: Option<String>,
    pub failure: Option<LocalizedText>,
    pub expires_at: Timestamp,
    pub paid_at: Option<Timestamp>,
}

impl From<QrPaymentOrder> for QrPayment {
    fn from(o: QrPaymentOrder) -> Self {
        Self {
            payment_id: o.payment_id,
            assignment_id: o.assignment_id.to_string(),
            provider: o.provider.code().to_string(),
            provider_name: o.provider.name().into(),
            out_trade_no: o.out_trade_no,
            amount_fen: o.amount,
            amount_shown: format_yuan(o.amount),
            status: o.state.into(),
            status_text: o.state.text().into(),
            code_url: o.code_url,
            failure: o.failure.map(Into::into),
            expires_at: o.expires_at,
            paid_at: o.paid_at,
        }
    }
}

/// The providers a customer can pay with by QR, in the order to offer them.
#[uniffi::export]
pub fn qr_providers() -> Vec<QrProviderItem> {
    QrProvider::ALL
        .into_iter()
        .map(|p| QrProviderItem {
            code: p.code().to_string(),
            name: p.name().into(),
        })
        .collect()
}

fn provider_of(code: &str) -> Result<QrProvider, DoorstepError> {
    QrProvider::from_code(code).ok_or_else(|| {
        DoorstepError::invalid_input(
            "invalid_input",
            format!("provider: \"{code}\" is not a QR payment provider (wechat_pay or alipay)"),
            format!("provider：“{code}”不是扫码支付渠道（可选微信支付或支付宝）"),
        )
    })
}

#[uniffi::export]
impl Syncer {
    /// Syncs, then asks the server for `provider`'s order of exactly what
    /// the visit owes (blocks; call it off the UI thread). The order comes
    /// back `Creating`: ask again with [`Syncer::qr_payment`] until it has
    /// its `code_url`. Refused (`qr_payment_refused`) with the reason when
    /// nothing is due or the server's copy of the visit owes another amount.
    pub fn create_qr_payment(
        &self,
        assignment_id: String,
        provider: String,
    ) -> Result<QrPayment, DoorstepError> {
        guard(|| {
            let provider = provider_of(&provider)?;
            let id = AssignmentId::new(assignment_id)?;
            let store = self.store.store()?;
            let runtime = self.runtime.as_ref().ok_or_else(|| {
                DoorstepError::internal_detail("runtime", "the sync runtime is gone")
            })?;
            let order = runtime.block_on(self.client.create_qr_payment(
                &store,
                &id,
                provider,
                &SystemClock,
            ))?;
            Ok(order.into())
        })
    }

    /// The order as the server holds it now (blocks).
    pub fn qr_payment(&self, payment_id: String) -> Result<QrPayment, DoorstepError> {
        guard(|| {
            let runtime = self.runtime.as_ref().ok_or_else(|| {
                DoorstepError::internal_detail("runtime", "the sync runtime is gone")
            })?;
            let order = runtime.block_on(self.client.qr_payment(&payment_id, &SystemClock))?;
            Ok(order.into())
        })
    }
}

#[uniffi::export]
impl DeviceStore {
    /// Records the payment of a paid QR order: the order's amount, a mobile
    /// payment, its order number as the receipt number, the order named
    /// (§2.15's rules decide as for any payment). An order not yet paid is
    /// refused naming `payment`.
    pub fn collect_qr_payment(
        &self,
        payment: QrPayment,
        now: Timestamp,
    ) -> Result<CommandResult, DoorstepError> {
        let provider = provider_of(&payment.provider)?;
        if payment.status != QrPaymentStatus::Paid {
            return Err(DoorstepError::invalid_input(
                "invalid_input",
                "payment: the customer has not paid this order yet; wait until it shows paid"
                    .into(),
                "payment：客户尚未完成这笔扫码付款，请等显示“已付款”后再记录".into(),
            ));
        }
        let command = VisitCommand::CollectPayment {
            amount: payment.amount_fen,
            method: PaymentMethod::Mobile,
            receipt: ReceiptRecord::Receipt {
                number: payment.out_trade_no.clone(),
            },
            qr: Some(QrPaymentRef {
                provider,
                out_trade_no: payment.out_trade_no,
            }),
        };
        self.run(&payment.assignment_id, command, now, None)
    }
}
