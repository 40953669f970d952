//! The API description: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, served at
//! `GET /api/openapi.json` (and committed as `docs/openapi.json`, which a
//! test keeps equal to what the server serves).
//!
//! Every operation answers a refusal in the one JSON error shape
//! ([`ErrorBody`]), added here to each operation as its `default` response;
//! the two bearer schemes are `session` (a staff session from
//! `POST /api/login`) and `device` (a technician device's token from
//! enrolment). The shapes owned by the phone's core (the sync protocol's
//! wire types, a customer, an assignment) are described by the doc-only
//! types below, named as in the core.

use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::http::{after, center, sync, sync_blobs};

/// The document, built once per call (cheap: a few hundred objects).
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// `GET /api/openapi.json`: the API description (public, like `/healthz`).
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This OpenAPI document", body = Object)))]
pub async fn openapi_json() -> Json<Document> {
    Json(document())
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstep server API",
        description = "Dispatch console and device sync API of the Doorstep server. \
                       Conventions, limits and error codes: docs/API.md.",
        license(name = "Apache-2.0"),
    ),
    paths(
        openapi_json,
        crate::http::health,
        center::session::login,
        center::session::logout,
        center::session::me,
        center::users::create_user,
        center::users::disable_user,
        center::users::enable_user,
        center::users::end_sessions,
        center::roster::roster,
        center::roster::create_technician,
        center::devices::enrol_device,
        center::devices::revoke_device,
        center::intake::list_intakes,
        center::intake::intake,
        center::assignments::list_assignments,
        center::assignments::create_assignment,
        center::assignments::get_assignment,
        center::assignments::update_assignment,
        center::assignments::assign,
        center::assignments::reassign,
        center::assignments::cancel,
        center::reminders::reminders,
        after::conflicts::conflicts,
        after::conflicts::resolve_conflict,
        after::visits::list_visits,
        after::visits::get_visit,
        after::report::visit_report_pdf,
        after::report::visit_report_html,
        after::report::visit_signature_svg,
        after::report::get_report_link,
        after::report::create_report_link,
        after::report::customer_report,
        after::report::customer_report_pdf,
        after::report::verify_page,
        after::callbacks::callbacks_due,
        after::callbacks::record_callback,
        after::callbacks::monthly_sample,
        after::reconciliation::reconciliation,
        after::kpis::kpis,
        after::photos::visit_photos,
        after::photos::get_blob,
        sync::push,
        sync::pull,
        sync_blobs::head_blob,
        sync_blobs::put_blob,
        crate::console::index,
        crate::console::script,
        crate::console::style,
        crate::console::favicon,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes, &ErrorResponses),
    tags(
        (name = "session", description = "Staff sessions"),
        (name = "center", description = "The dispatch desk (dispatchers and admins)"),
        (name = "after", description = "After the visit: visits, conflicts, reports, callbacks, KPIs"),
        (name = "sync", description = "Technician devices (device token)"),
        (name = "public", description = "Customer-facing pages (no token)"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

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

/// The two bearer schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A staff session token (admin or dispatcher) from POST /api/login",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "device",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A technician device's token from enrolment (POST /api/technicians/{id}/devices)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the one error shape as every operation's `default` response.
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, doc: &mut Document) {
        let error = ResponseBuilder::new()
            .description("A refusal in the one JSON error shape (status and codes: docs/API.md)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build();
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                op.responses
                    .responses
                    .entry("default".to_string())
                    .or_insert_with(|| RefOr::T(error.clone()));
            }
        }
    }
}

// ---- Shapes the handlers build as JSON objects, and shapes owned by the core.

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
    pub role: Option<crate::model::Role>,
    pub device_id: Option<String>,
    pub technician_id: Option<String>,
    /// The IANA zone the console shows times in (`Asia/Shanghai`).
    pub business_time_zone: String,
}

/// `POST /api/users` → 201.
#[derive(ToSchema)]
pub struct UserCreated {
    pub username: String,
    pub role: crate::model::Role,
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
    pub visit: crate::http::after::display::LabelledVisit,
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
    pub link: Option<crate::report::links::LinkStatus>,
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
    pub by: crate::model::KpiGrouping,
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
