//! The API description: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, served at
//! `GET /api/openapi.json` (and committed as `docs/openapi.json`, which a
//! test keeps equal to what the server serves).
//!
//! Every operation answers a refusal in the one JSON error shape
//! ([`ErrorBody`]), added here to each operation as its `default` response;
//! the two bearer schemes are `session` (a staff session from
//! `POST /api/login`) and `device` (a technician device's token from
//! enrolment). The shapes owned by the phone's core and the objects
//! handlers build in place are the doc-only types of `crate::api_schema`.

use axum::Json;
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
