//! Sync failures, split into the ones a retry may cure (network, server
//! busy) and the ones it cannot (refused token, unknown protocol version).
//! Messages are in words a technician can act on, in zh-CN and en.

use crate::messages::{Lang, Text};
use crate::store::StoreError;

/// Why a sync did not finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// No connection, a timeout, a dropped or truncated response.
    #[error("network: {0}")]
    Network(String),
    /// The server answered 5xx or 429: try again later — not before
    /// `retry_after` when it said so (`Retry-After`).
    #[error("server unavailable ({status}): {message}")]
    ServerBusy {
        status: u16,
        message: String,
        retry_after: Option<std::time::Duration>,
    },
    /// The device token was refused (401/403): enrol the device again.
    #[error("the server refused this device's token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The server does not speak our protocol version.
    #[error("protocol refused: {message}")]
    Protocol { message: String },
    /// The server refused the request for good (other 4xx).
    #[error("request refused ({status}, {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        /// The server's own Chinese text of the refusal, when it sent one.
        message_zh: Option<String>,
    },
    /// A QR payment could not be asked for (nothing due, the server's copy
    /// of the visit owes another amount, no provider set up): the server's
    /// or the phone's reason, in both languages.
    #[error("QR payment refused ({code}): {en}")]
    QrPayment {
        code: String,
        en: String,
        zh: String,
    },
    /// The server is missing events this device no longer holds (a restored server).
    #[error("the server expects sequence {expected} but the device's outbox starts at {first_pending}: the center must restore this device's events")]
    LostEvents { expected: u64, first_pending: u64 },
    /// The answer could not be read.
    #[error("unreadable answer from the server: {0}")]
    Decode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sync was cancelled.
    #[error("sync cancelled")]
    Cancelled,
    /// The platform says the phone has no connection: nothing was attempted.
    #[error("offline: the platform reports no connection, so no sync was attempted")]
    Offline,
    /// Enrolment was refused: wrong dispatcher sign-in, unknown technician,
    /// a device id already enrolled, a malformed server address.
    #[error("enrolment refused ({status}, {code}): {message}")]
    Enrolment {
        status: u16,
        code: String,
        message: String,
    },
}

/// The server's code of an [`SyncError::Enrolment`] when a one-time
/// enrolment code is unknown, used or expired (its own text for the phone).
pub const ENROLMENT_CODE_REFUSED: &str = "enrolment_code_refused";

impl SyncError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::ServerBusy { .. } | Self::Decode(_) | Self::Offline
        )
    }

    /// A stable code for the shells.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Network(_) => "sync_network",
            Self::ServerBusy { .. } => "sync_server_busy",
            Self::Unauthorized { .. } => "sync_unauthorized",
            Self::Protocol { .. } => "sync_protocol",
            Self::Refused { .. } => "sync_refused",
            Self::LostEvents { .. } => "sync_lost_events",
            Self::Decode(_) => "sync_decode",
            Self::Store(_) => "sync_store",
            Self::Cancelled => "sync_cancelled",
            Self::Offline => "sync_offline",
            Self::Enrolment { .. } => "enrol_refused",
            Self::QrPayment { .. } => "qr_payment_refused",
        }
    }

    /// What the technician is told.
    pub fn text(&self) -> Text {
        let (en, zh) = match self {
            Self::QrPayment { en, zh, .. } => return Text::new(en.clone(), zh.clone()),
            Self::Network(_) => (
                "No connection to the server. Your records are safe on the phone and will be sent automatically.",
                "无法连接服务器。记录已安全保存在手机上，恢复网络后会自动上传。",
            ),
            Self::ServerBusy { .. } => (
                "The server is busy. Your records are safe on the phone; sync will retry shortly.",
                "服务器繁忙。记录已安全保存在手机上，稍后会自动重试。",
            ),
            Self::Unauthorized { .. } => (
                "The server no longer accepts this phone. Ask the center to enrol it again; nothing recorded is lost.",
                "服务器不再接受本机。请联系服务中心重新登记手机，已记录的内容不会丢失。",
            ),
            Self::Protocol { .. } => (
                "This app version cannot talk to the server. Update the app; nothing recorded is lost.",
                "当前应用版本无法与服务器通信。请更新应用，已记录的内容不会丢失。",
            ),
            Self::Refused { .. } => (
                "The server refused the upload. The center has been told; nothing recorded is lost.",
                "服务器拒绝了上传请求。请联系服务中心，已记录的内容不会丢失。",
            ),
            Self::LostEvents { .. } => (
                "The server is missing earlier records from this phone. Contact the center.",
                "服务器缺少本机此前上传的记录，请联系服务中心。",
            ),
            Self::Decode(_) => (
                "The server's answer was garbled. Sync will retry.",
                "服务器返回的数据有误，将自动重试。",
            ),
            Self::Store(_) => (
                "The phone's storage failed during sync. Nothing was lost; try again.",
                "同步时手机存储出错，数据未丢失，请重试。",
            ),
            Self::Cancelled => ("Sync was cancelled.", "同步已取消。"),
            Self::Offline => (
                "Offline: records are kept on the phone and sent when the connection is back.",
                "离线：记录保存在手机上，恢复网络后会自动上传。",
            ),
            Self::Enrolment { code, .. } if code == ENROLMENT_CODE_REFUSED => (
                "This enrolment code is unknown, already used or expired: ask the center for a new one.",
                "注册码无效、已用过或已过期：请向服务中心索取新的注册码。",
            ),
            Self::Enrolment { .. } => (
                "The center did not enrol this phone. Check the server address, the dispatcher's sign-in and the technician id, then try again.",
                "服务中心未能登记本机。请核对服务器地址、调度员账号和技师编号后重试。",
            ),
        };
        Text::new(en, zh)
    }

    pub fn message(&self, lang: Lang) -> String {
        self.text().get(lang).to_string()
    }
}
