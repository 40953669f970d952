//! Pay by QR at the door, the phone's half (`crate::qr_payment`): ask the
//! server for a provider's native-pay order of exactly what the visit owes,
//! then ask after it until the QR link is there and until it is paid.
//!
//! The visit's facts go up first (a push through the ordinary sync), so the
//! server checks the amount against the same accepted quote the phone holds.

use super::{Failure, SyncClient, SyncError};
use crate::clock::Clock;
use crate::ids::AssignmentId;
use crate::protocol::PROTOCOL_VERSION;
use crate::qr_payment::{QrPaymentOrder, QrPaymentRequest, QrProvider};
use crate::store::Store;

impl SyncClient {
    /// Syncs, then asks the server for a `provider` order of the amount the
    /// visit of `assignment` owes. `Err(Refused)` when nothing is due or the
    /// server's copy of the visit says otherwise (its message names the
    /// amount it expects).
    pub async fn create_qr_payment(
        &self,
        store: &Store,
        assignment: &AssignmentId,
        provider: QrProvider,
        clock: &dyn Clock,
    ) -> Result<QrPaymentOrder, SyncError> {
        let state = store.state(assignment.clone())?;
        let amount =
            state
                .amount_due()
                .filter(|due| *due > 0)
                .ok_or_else(|| SyncError::QrPayment {
                    code: "nothing_due".into(),
                    en: "Nothing is due on this visit: no accepted quote, or it is paid.".into(),
                    zh: "本次上门没有应收款项：报价未经客户确认，或已付清。".into(),
                })?;
        let visit_id = state.visit_id.ok_or_else(|| SyncError::QrPayment {
            code: "no_visit".into(),
            en: "The visit has not started on this phone.".into(),
            zh: "本机尚未开始这次上门。".into(),
        })?;
        self.sync(store, clock).await?;
        let request = QrPaymentRequest {
            protocol_version: PROTOCOL_VERSION,
            assignment_id: assignment.clone(),
            visit_id,
            provider,
            amount,
        };
        self.post::<_, QrPaymentOrder>("/api/sync/qr-payments", &request, clock)
            .await
            .map(|x| x.body)
            .map_err(unexpected)
    }

    /// The order as the server holds it now.
    pub async fn qr_payment(
        &self,
        payment_id: &str,
        clock: &dyn Clock,
    ) -> Result<QrPaymentOrder, SyncError> {
        let path = format!("/api/sync/qr-payments/{}", urlencode_segment(payment_id));
        self.call::<(), QrPaymentOrder>("GET", &path, None, clock)
            .await
            .map(|x| x.body)
            .map_err(unexpected)
    }
}

/// A refusal of the request itself is said as the server said it; anything
/// else (no network, a busy server) stays the sync error it is.
fn unexpected(f: Failure) -> SyncError {
    match f {
        Failure::Sync(SyncError::Refused {
            code,
            message,
            message_zh,
            ..
        }) => SyncError::QrPayment {
            zh: message_zh.unwrap_or_else(|| message.clone()),
            en: message,
            code,
        },
        Failure::Sync(e) => e,
        Failure::Gap { .. } | Failure::TooLarge => {
            SyncError::Decode("unexpected answer to a QR payment request".into())
        }
    }
}

/// A path segment with everything but unreserved characters escaped.
fn urlencode_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::urlencode_segment;

    #[test]
    fn a_payment_id_cannot_leave_its_path_segment() {
        assert_eq!(urlencode_segment("P-01abc_~."), "P-01abc_~.");
        assert_eq!(urlencode_segment("../x?y"), "..%2Fx%3Fy");
    }
}
