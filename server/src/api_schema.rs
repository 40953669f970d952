//! Doc-only shapes of the API description: the JSON objects handlers build
//! in place, and the wire shapes owned by the phone's core (the sync
//! protocol, a customer, an assignment), named as in the core. A leaf
//! module (it imports nothing of the server), so the handlers and the
//! models can name these in their `#[utoipa::path]` and `#[schema]`
//! attributes without an import cycle; `http::openapi` assembles them.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::location::GeoFix;
use doorstep_core::{Assignment, Text};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Every refusal: `{"error": {"code", "message", …details}}`.
#[derive(ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What was refused and why; more fields (`field`, `expected_seq`,
/// `accepted_versions`, …) by code, as docs/API.md lists.
#[derive(ToSchema)]
pub struct ErrorDetail {
    /// A stable code (`invalid_field`, `unauthorized`, `not_found`, …).
    pub code: String,
    /// What was wrong and what would be accepted.
    pub message: String,
    /// The message in Chinese, where the server has one.
    pub message_zh: Option<String>,
    /// Seconds to wait (429, 503; also the `Retry-After` header).
    pub retry_after_s: Option<u64>,
    /// The field refused (`events[3].event.visit_id`, `limit`, `body`).
    pub field: Option<String>,
}

/// `GET /healthz`.
#[derive(ToSchema)]
pub struct Health {
    pub ok: bool,
    /// `sqlite` or `postgres`.
    pub backend: String,
}

/// `GET /api/me`: a staff member (`kind: user`) or a device (`kind: device`).
#[derive(ToSchema)]
pub struct Me {
    /// `user` or `device`.
    pub kind: String,
    pub username: Option<String>,
    /// `admin` or `dispatcher`.
    pub role: Option<String>,
    pub device_id: Option<String>,
    pub technician_id: Option<String>,
    /// The IANA zone the console shows times in (`Asia/Shanghai`).
    pub business_time_zone: String,
}

/// `POST /api/users` → 201.
#[derive(ToSchema)]
pub struct UserCreated {
    pub username: String,
    /// `admin` or `dispatcher`.
    pub role: String,
}

/// `POST /api/users/{username}/disable` and `/enable`.
#[derive(ToSchema)]
pub struct AccountState {
    pub username: String,
    pub disabled: bool,
    pub sessions_ended: u64,
}

/// `POST /api/users/{username}/sessions/end`.
#[derive(ToSchema)]
pub struct SessionsEnded {
    pub username: String,
    pub sessions_ended: u64,
}

/// `POST /api/technicians` → 201.
#[derive(ToSchema)]
pub struct TechnicianCreated {
    pub id: String,
}

/// `GET /api/visits/{id}/report-link`.
#[derive(ToSchema)]
pub struct ReportLinkState {
    /// The latest link (null when the visit has none).
    /// `{visit_id, created_by, created_at, expires_at, expired}`.
    pub link: Option<Value>,
}

/// `POST /api/callbacks/result`.
#[derive(ToSchema)]
pub struct CallbackRecorded {
    pub recorded: bool,
    /// The next follow-up call when one is due (null otherwise).
    pub next_follow_up_due_at: Option<DateTime<Utc>>,
}

/// `GET /api/kpis`.
#[derive(ToSchema)]
pub struct KpiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `day`, `technician` or `trade`.
    pub by: String,
    /// One group per day, technician or trade, with its figures.
    pub groups: Vec<Value>,
}

/// One photo of a visit.
#[derive(ToSchema)]
pub struct VisitPhoto {
    pub moment: String,
    /// The moment's name in the trade's playbook.
    pub name: Text,
    pub digest: String,
    pub size_bytes: u64,
    pub width: u32,
    pub height: u32,
    pub taken_at: DateTime<Utc>,
    /// Its bytes reached the server.
    pub uploaded: bool,
    /// `/api/blobs/{digest}`.
    pub url: String,
}

/// A photo the technician recorded as not taken, and why.
#[derive(ToSchema)]
pub struct PhotoNotTaken {
    pub moment: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// `GET /api/visits/{id}/photos`.
#[derive(ToSchema)]
pub struct VisitPhotos {
    pub visit_id: String,
    pub photos: Vec<VisitPhoto>,
    pub not_taken: Vec<PhotoNotTaken>,
}

/// One outbox entry (core `protocol::OutboxEvent`).
#[derive(ToSchema)]
pub struct OutboxEvent {
    /// Strictly increasing per device, from 1, without gaps.
    pub seq: u64,
    pub event: VisitEvent,
}

/// A fact as the phone recorded it (core `workflow::VisitEvent`): the
/// envelope, its `type`, and that type's own fields beside them (core
/// `workflow::EventKind`; a field the type does not have is refused,
/// `unknown_field`).
#[derive(ToSchema)]
pub struct VisitEvent {
    /// A UUIDv7 the phone made.
    pub id: String,
    /// A UUIDv7: the phone's visit of the work order.
    pub visit_id: String,
    pub assignment_id: String,
    pub device_id: String,
    /// The device's hybrid logical clock: orders its facts even when its
    /// wall clock jumps.
    pub hlc: HlcStamp,
    /// The device's wall time when the fact was recorded.
    pub recorded_at: DateTime<Utc>,
    pub location: Option<GeoFix>,
    /// The version of the work order the device had seen.
    pub assignment_version: u64,
    /// The fact's type (`assignment_received`, `arrived`, `customer_signed_off`, …;
    /// the full list in the enum).
    #[serde(rename = "type")]
    pub kind: String,
}

/// One change of a pull page (core `protocol::AssignmentChange`).
#[derive(ToSchema)]
pub struct AssignmentChange {
    /// The technician's change sequence: the next pull's `cursor`.
    pub seq: u64,
    #[serde(flatten)]
    pub change: ChangeKind,
}

/// What the center changed (core `protocol::ChangeKind`).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChangeKind {
    /// The work order as it now stands (new to this technician, or changed).
    Assignment { assignment: Box<Assignment> },
    /// The center cancelled it.
    Cancelled {
        assignment_id: String,
        version: u64,
        reason: String,
    },
    /// The center gave it to another technician.
    Reassigned {
        assignment_id: String,
        version: u64,
        to: String,
    },
    /// The customer's personal data was erased on request (PIPL).
    Erased { assignment_id: String, version: u64 },
}

/// `POST /api/sync/push` (core `protocol::PushRequest`).
#[derive(ToSchema)]
pub struct PushRequest {
    /// `1`.
    pub protocol_version: u32,
    pub device_id: String,
    /// The device's wall clock when it sent the request.
    pub sent_at: Option<DateTime<Utc>>,
    pub events: Vec<OutboxEvent>,
}

/// One event refused for good (and still acknowledged).
#[derive(ToSchema)]
pub struct RefusedEvent {
    pub seq: u64,
    pub event_id: String,
    /// `unknown_assignment`, `not_your_assignment`, `visit_mismatch`, …
    pub code: String,
    pub reason: String,
}

/// The answer to a push (core `protocol::PushResponse`).
#[derive(ToSchema)]
pub struct PushResponse {
    pub protocol_version: u32,
    /// Every event up to this sequence is stored or refused for good.
    pub acked_seq: u64,
    pub applied: u64,
    pub duplicates: u64,
    pub refused: Vec<RefusedEvent>,
    pub server_time: DateTime<Utc>,
}

/// `POST /api/sync/pull` (core `protocol::PullRequest`).
#[derive(ToSchema)]
pub struct PullRequest {
    /// `1`.
    pub protocol_version: u32,
    pub device_id: String,
    /// The last change sequence applied (0 at first).
    pub cursor: Option<u64>,
    /// Page size; the server caps it.
    pub limit: Option<u32>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The pages applied and not yet acknowledged, oldest first.
    pub received: Option<Vec<PageReceipt>>,
    /// The newest published playbook version the phone holds, by trade:
    /// the answer brings the newer ones.
    pub playbooks: Option<BTreeMap<String, i64>>,
}

/// The acknowledgement of one applied download page (core
/// `protocol::PageReceipt`): the phone holds every change after `after` up
/// to `cursor`; the change ranges in `receipts` became "assignment
/// received" facts there.
#[derive(ToSchema)]
pub struct PageReceipt {
    pub after: u64,
    pub cursor: u64,
    pub applied_at: DateTime<Utc>,
    /// The phone's hybrid logical clock when it applied the page.
    pub hlc: HlcStamp,
    /// Inclusive ranges `[first, last]` of change sequences.
    pub receipts: Option<Vec<Vec<u64>>>,
    /// The playbook version, by trade, the visits this page started walk.
    pub playbooks: Option<BTreeMap<String, i64>>,
    /// How the page's ids were drawn: the scheme the pull's answer named
    /// (absent: `hashed`).
    pub ids: Option<ReceiptIds>,
}

/// A hybrid logical clock reading (core `clock::HlcStamp`).
#[derive(ToSchema)]
pub struct HlcStamp {
    /// Unix milliseconds.
    pub millis: i64,
    pub counter: u32,
}

/// `POST /api/sync/exchange` (core `protocol::ExchangeRequest`): a push and
/// a pull in one round trip.
#[derive(ToSchema)]
pub struct ExchangeRequest {
    /// `1`.
    pub protocol_version: u32,
    pub device_id: String,
    pub sent_at: Option<DateTime<Utc>>,
    /// As a push's.
    pub events: Option<Vec<OutboxEvent>>,
    /// As a pull's: the page after `cursor`, at most `limit`, acknowledging
    /// the pages in `received`.
    pub cursor: Option<u64>,
    pub limit: Option<u32>,
    pub received: Option<Vec<PageReceipt>>,
    pub playbooks: Option<BTreeMap<String, i64>>,
}

/// The answer to an exchange (core `protocol::ExchangeResponse`).
#[derive(ToSchema)]
pub struct ExchangeResponse {
    pub push: PushResponse,
    pub pull: PullResponse,
}

/// A page of the center's changes (core `protocol::PullResponse`).
#[derive(ToSchema)]
pub struct PullResponse {
    pub protocol_version: u32,
    pub changes: Vec<AssignmentChange>,
    pub next_cursor: u64,
    pub more: bool,
    pub server_time: DateTime<Utc>,
    /// The business time zone (name and UTC offsets).
    pub business_zone: Option<Value>,
    /// The newest of this device's events the server holds.
    pub acked_seq: Option<u64>,
    /// The company's published playbooks newer than the phone holds, signed.
    pub playbooks: Option<Vec<PublishedPlaybook>>,
    /// The public playbook key (with `playbooks`): pinned by a phone that
    /// holds none.
    pub playbook_key: Option<String>,
    /// How the server derives the receipt and visit ids of the pages it
    /// sends: the phone applies them so and names it back in each page's
    /// acknowledgement. This server: `in_change_order`.
    pub receipt_ids: Option<ReceiptIds>,
}

/// How a page's receipt and visit ids are drawn (core
/// `receipt::ReceiptIds`): absent means `hashed`, the first scheme.
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptIds {
    /// Every random bit of a UUIDv7 from a digest of the device and the change.
    Hashed,
    /// The bits after the time count the page's changes, then the digest.
    InChangeOrder,
}

/// A company playbook version as signed (core
/// `playbook::PublishedPlaybook`).
#[derive(ToSchema)]
pub struct PublishedPlaybook {
    pub trade: String,
    pub version: i64,
    /// The playbook's canonical JSON, the bytes signed.
    pub body: String,
    /// Hex of the DER ECDSA P-256 (SHA-256) signature over
    /// `doorstep-playbook-v1\n` followed by `body`.
    pub signature: String,
}

/// `GET /readyz`.
#[derive(ToSchema)]
pub struct Ready {
    pub ready: bool,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The schema version applied (every migration this binary knows).
    pub schema_version: i64,
}

/// One order of a personal-data export.
#[derive(ToSchema)]
pub struct ExportedOrder {
    /// The order as stored (as `GET /api/assignments/{id}` answers it).
    pub assignment: Value,
    pub contact_masked_at: Option<DateTime<Utc>>,
    pub contact_erased_at: Option<DateTime<Utc>>,
    /// Its visits (rows of `GET /api/visits`).
    pub visits: Vec<Value>,
    /// The desk intakes that made or mention it.
    pub intakes: Vec<Value>,
    /// Who viewed its customer's full contact details, and why.
    pub contact_access_log: Vec<Value>,
}

/// `POST /api/customers/export`: one customer's data for an access request.
#[derive(ToSchema)]
pub struct CustomerExport {
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
    pub orders: Vec<ExportedOrder>,
    /// Desk intakes of the caller without an order.
    pub intakes: Vec<Value>,
}

/// One event of `GET /api/feed` (and the body of a webhook delivery).
#[derive(ToSchema)]
pub struct FeedEvent {
    pub id: String,
    /// `order.status_changed` or `visit.milestone`.
    #[schema(rename = "type")]
    pub event_type: String,
    /// The feed cursor of this event.
    pub seq: Option<i64>,
    /// Unix milliseconds.
    pub occurred_at: i64,
    pub assignment_id: Option<String>,
    pub visit_id: Option<String>,
    /// What the event says, by type.
    pub data: Value,
}

/// `POST /api/sync/qr-payments` (core `qr_payment::QrPaymentRequest`).
#[derive(ToSchema)]
pub struct QrPaymentRequest {
    /// `1`.
    pub protocol_version: u32,
    pub assignment_id: String,
    pub visit_id: String,
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    /// Fen; exactly what the visit owes.
    pub amount: i64,
}

/// A native-pay order as the device reads it (core `qr_payment::QrPaymentOrder`).
#[derive(ToSchema)]
pub struct QrPaymentOrder {
    pub payment_id: String,
    pub assignment_id: String,
    pub visit_id: String,
    /// `wechat_pay` or `alipay`.
    pub provider: String,
    /// The merchant's order number the provider knows it by (letters and digits, at most 32).
    pub out_trade_no: String,
    /// Fen.
    pub amount: i64,
    /// `creating`, `awaiting_payment`, `paid`, `closed` or `failed`.
    pub state: String,
    /// The provider's QR link (WeChat Pay's `code_url`, Alipay's `qr_code`) once created.
    pub code_url: Option<String>,
    /// Why it failed.
    pub failure: Option<Text>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    /// The provider's transaction number once paid.
    pub provider_transaction_id: Option<String>,
}

/// Alipay's asynchronous notification as it posts it (form fields, all
/// text; the documented ones named, any other kept for the signature).
#[derive(ToSchema)]
pub struct AlipayNotificationForm {
    pub notify_id: Option<String>,
    pub notify_time: Option<String>,
    pub notify_type: Option<String>,
    pub app_id: Option<String>,
    pub charset: Option<String>,
    pub version: Option<String>,
    pub out_trade_no: Option<String>,
    pub trade_no: Option<String>,
    pub trade_status: Option<String>,
    pub total_amount: Option<String>,
    pub receipt_amount: Option<String>,
    pub gmt_payment: Option<String>,
    pub sign_type: Option<String>,
    pub sign: Option<String>,
}
