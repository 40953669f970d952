//! Doc-only shapes of the API description: the JSON objects handlers build
//! in place, and the wire shapes owned by the phone's core (the sync
//! protocol, a customer, an assignment), named as in the core. A leaf
//! module (it imports nothing of the server), so the handlers and the
//! models can name these in their `#[utoipa::path]` and `#[schema]`
//! attributes without an import cycle; `http::openapi` assembles them.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use utoipa::ToSchema;

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

/// A text in both languages (core `messages::Text`).
#[derive(ToSchema)]
pub struct Text {
    pub en: String,
    pub zh: String,
}

/// `GET /api/visits/{id}`: the visit's row, its state as the core keeps it,
/// its display labels and its history.
#[derive(ToSchema)]
pub struct VisitDetail {
    /// The visit's row and labels, as one item of `GET /api/visits`.
    pub visit: Value,
    /// The core's `VisitState` (see core/src/workflow).
    pub state: Value,
    /// The stage and outcome labels, the checklist, the quote (null when the
    /// state could not be read).
    pub display: Option<Value>,
    /// The visit's events, oldest first, with their labels.
    pub history: Vec<Value>,
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
    /// The core's `VisitEvent` (id, visit_id, device_id, hlc, at, kind…).
    pub event: Value,
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
}

/// A page of the center's changes (core `protocol::PullResponse`).
#[derive(ToSchema)]
pub struct PullResponse {
    pub protocol_version: u32,
    /// `{seq, type: assignment|cancelled|reassigned, …}`.
    pub changes: Vec<Value>,
    pub next_cursor: u64,
    pub more: bool,
    pub server_time: DateTime<Utc>,
    /// The business time zone (name and UTC offsets).
    pub business_zone: Option<Value>,
}

/// A point in WGS-84 degrees (core `location::GeoPoint`).
#[derive(ToSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A time window agreed with the customer (core `TimeWindow`); `start` before `end`.
#[derive(ToSchema)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The customer (core `Customer`).
#[derive(ToSchema)]
pub struct Customer {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    /// IANA zone for display, e.g. `Asia/Shanghai`.
    pub time_zone: Option<String>,
}

/// Warranty status as the center knows it (core `Warranty`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Warranty {
    InWarranty,
    OutOfWarranty,
    Unknown,
}

/// The product (core `Product`).
#[derive(ToSchema)]
pub struct Product {
    pub model: Option<String>,
    pub serial: Option<String>,
    pub purchase_date: Option<NaiveDate>,
    pub installed_on: Option<NaiveDate>,
    pub warranty: Option<Warranty>,
}

/// A fee-schedule item and its quantity (core `OrderLine`).
#[derive(ToSchema)]
pub struct OrderLine {
    pub item: String,
    /// Default 1.
    pub qty: Option<u32>,
}

/// A work order as the center pushes it (core `Assignment`).
#[derive(ToSchema)]
pub struct Assignment {
    /// `A-YYYYMMDD-NNNN`.
    pub id: String,
    /// Increases with every change the center makes.
    pub version: u64,
    pub trade: String,
    pub technician: Option<String>,
    pub customer: Customer,
    pub product: Product,
    pub fault_description: Option<String>,
    pub requested_window: Option<TimeWindow>,
    pub received_at: Option<DateTime<Utc>>,
    pub order: Vec<OrderLine>,
    pub service_items: Vec<String>,
    pub notes: Option<String>,
}
