//! The API description: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` attributes and the types' `ToSchema` derives, served at
//! `GET /api/openapi.json` (and committed as `docs/openapi.json`, which a
//! test keeps equal to what the server serves).
//!
//! Every operation answers a refusal in the one JSON error shape
//! (`api_schema::ErrorBody`), added here to each operation as its
//! `default` response; the three bearer schemes are `session` (a staff
//! session from `POST /api/login`), `device` (a technician device's token
//! from enrolment) and `api_key` (an integrator's key for the feed). The
//! shapes owned by the phone's core, the objects handlers build in place
//! and the error shape are the doc-only types of `crate::api_schema`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api_schema::{ErrorBody, ErrorDetail};
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
        center::users::set_password,
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
        center::assignments::reissue_acceptance_code,
        center::assignments::waive_fields,
        center::discounts::approve_discount,
        center::discounts::discount_codes,
        center::playbooks::publish_playbook,
        center::playbooks::list_playbooks,
        center::playbooks::get_playbook,
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
        after::report::customer_photo,
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
        sync::exchange,
        sync_blobs::head_blob,
        sync_blobs::put_blob,
        crate::console::index,
        crate::console::script,
        crate::console::style,
        crate::console::favicon,
        crate::console::i18n,
        crate::console::screens,
        crate::console::admin,
        crate::console::asset,
        crate::http::observe::readyz,
        crate::http::observe::metrics,
        center::admin::list_users,
        center::admin::list_devices,
        center::admin::create_enrolment_code,
        center::admin::redeem_enrolment_code,
        center::board::board,
        center::board::candidates,
        center::board::positions,
        center::board::map_settings,
        center::live::live,
        center::personal_data::erasure,
        center::personal_data::erasures,
        center::personal_data::export_customer,
        center::personal_data::access_log,
        center::personal_data::run_retention_now,
        center::notices::put_notice_consent,
        center::notices::assignment_outbound,
        center::notices::list_outbox,
        center::notices::outbox_depth,
        center::notices::retry_outbox,
        center::invoices::create_invoice_request,
        center::invoices::list_invoice_requests,
        crate::http::qr_payments::create_qr_payment,
        crate::http::qr_payments::get_qr_payment,
        crate::http::qr_payments::assignment_qr_payments,
        crate::http::qr_payments::wechat_pay_notify,
        crate::http::qr_payments::alipay_notify,
        crate::http::privacy::bindings_of_order,
        center::cash_ledger::create_remittance,
        center::cash_ledger::void_remittance,
        center::cash_ledger::cash_ledger,
        center::integrations::list_api_keys,
        center::integrations::create_api_key,
        center::integrations::revoke_api_key,
        center::integrations::list_webhooks,
        center::integrations::create_webhook,
        center::integrations::disable_webhook,
        center::integrations::feed,
        center::orders::assignment_history,
        center::orders::search,
        center::orders::customer_history,
        center::orders::repeat_check,
        center::requests::requests_queue,
        center::requests::handle_request,
        center::export::export_table,
        after::refused::refused_events,
        after::refused::review_refused_event,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        center::live::ChangeMark,
        crate::domain::export::ExportFormat
    )),
    modifiers(&SecuritySchemes, &ErrorResponses, &FactTypes),
    tags(
        (name = "session", description = "Staff sessions"),
        (name = "center", description = "The dispatch desk (dispatchers and admins)"),
        (name = "after", description = "After the visit: visits, conflicts, reports, callbacks, KPIs"),
        (name = "sync", description = "Technician devices (device token)"),
        (name = "public", description = "Customer-facing pages (no token)"),
        (name = "meta", description = "Health and this document"),
        (name = "admin", description = "Administration: staff accounts, devices and enrolment codes, API keys, webhook endpoints"),
        (name = "outbox", description = "Customer notices and the outbox: consent, delivery state, dead letters"),
        (name = "invoices", description = "E-fapiao requests: buyer, tax number, delivery, and the state the invoicing provider reports"),
        (name = "payments", description = "Pay by QR at the door: a work order's WeChat Pay and Alipay orders, and the providers' signed payment notifications"),
        (name = "cash", description = "The engineers' cash: cash collected at the door on the technician's ledger until remitted, remittances, reconciliation per technician per day"),
        (name = "privacy", description = "Personal data (PIPL): erasure, access requests, the access log, retention"),
        (name = "integrations", description = "Integrators' event feed (API key)"),
        (name = "ops", description = "Operations: readiness and metrics for load balancers and monitoring"),
    )
)]
pub struct ApiDoc;

/// The three bearer schemes.
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
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An integrator's API key from POST /api/api-keys (scope feed:read for GET /api/feed)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the one error shape as every operation's `default` response.
/// The `type` of a pushed fact lists every fact type the core knows
/// (`EventKind::NAMES`), so the document cannot drift from the workflow.
struct FactTypes;

impl Modify for FactTypes {
    fn modify(&self, doc: &mut Document) {
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        let Some(components) = doc.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(event))) = components.schemas.get_mut("VisitEvent") {
            let kinds = ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "The fact's type; its own fields (core `workflow::EventKind`) sit beside the envelope's",
                ))
                .enum_values(Some(doorstep_core::EventKind::NAMES.iter().copied()))
                .build();
            event
                .properties
                .insert("type".to_string(), RefOr::T(Schema::Object(kinds)));
        }
    }
}

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
