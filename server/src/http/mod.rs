//! The HTTP edge: the router (every route in one place), the JSON error
//! shape, the caller's authentication, the defences at the edge (`edge`:
//! error shape, security headers, load shedding; `serve`: read timeouts,
//! the connection cap and graceful shutdown; `observe`: request ids, the
//! request log line, metrics and the `/readyz` and `/metrics` probes), and
//! thin handlers grouped by what
//! they serve — `center` (the dispatch desk), `after` (after the visit) and
//! `sync` (the devices; `qr_payments`: a device's QR payment orders and the
//! payment providers' signed notifications) — and `openapi`, the API description generated from
//! their attributes; `device_tokens` rotates a device's token on the sync
//! routes. Handlers parse, check who is calling, run one
//! domain or store operation in a transaction and answer; failures become
//! [`error::ApiError`] here and nowhere else.

pub mod after;
pub mod auth;
pub mod center;
pub mod contact_views;
pub mod device_tokens;
pub mod display_times;
pub mod edge;
pub mod error;
pub mod error_zh;
pub mod field_path;
pub mod observe;
pub mod openapi;
pub mod privacy;
pub mod qr_payments;
pub mod serve;
pub mod streams;
pub mod sync;
pub mod sync_blobs;

use crate::app::AppState;
use crate::console;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use error::ApiError;
use serde_json::{json, Value};
use std::net::SocketAddr;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::decompression::RequestDecompressionLayer;

#[utoipa::path(
    get, path = "/healthz", tag = "meta", security(()),
    responses((status = 200, description = "The server answers and its database", body = crate::api_schema::Health))
)]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "ok": true, "backend": state.db.backend() }))
}

/// 404 for a path no route serves.
pub async fn no_such_route() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint: see docs/API.md for the routes",
    )
    .zh("没有这个接口：路由见 docs/API.md。")
}

/// 405 for a route that does not take the method (`Allow` lists those it takes).
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; the Allow header lists those it takes",
    )
    .zh("该接口不接受此方法；可用方法见响应头 Allow。")
}

/// The HTTP application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let rotation =
        middleware::from_fn_with_state(state.clone(), device_tokens::rotate_device_token);
    Router::new()
        .route("/", get(console::index))
        .route("/console.js", get(console::script))
        .route("/console.css", get(console::style))
        .route("/i18n.js", get(console::i18n))
        .route("/screens.js", get(console::screens))
        .route("/admin.js", get(console::admin))
        .route("/favicon.ico", get(console::favicon))
        .route("/console/{*file}", get(console::asset))
        .route("/healthz", get(health))
        .route("/readyz", get(observe::readyz))
        .route("/metrics", get(observe::metrics))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/api/login", post(center::session::login))
        .route("/api/logout", post(center::session::logout))
        .route("/api/me", get(center::session::me))
        .route(
            "/api/users",
            get(center::admin::list_users).post(center::users::create_user),
        )
        .route(
            "/api/users/{username}/disable",
            post(center::users::disable_user),
        )
        .route(
            "/api/users/{username}/enable",
            post(center::users::enable_user),
        )
        .route(
            "/api/users/{username}/sessions/end",
            post(center::users::end_sessions),
        )
        .route(
            "/api/users/{username}/password",
            post(center::users::set_password),
        )
        .route(
            "/api/technicians",
            get(center::roster::roster).post(center::roster::create_technician),
        )
        .route(
            "/api/technicians/{id}/devices",
            post(center::devices::enrol_device),
        )
        .route(
            "/api/technicians/{id}/enrolment-codes",
            post(center::admin::create_enrolment_code),
        )
        .route("/api/devices", get(center::admin::list_devices))
        .route("/api/enrol", post(center::admin::redeem_enrolment_code))
        .route(
            "/api/devices/{id}/revoke",
            post(center::devices::revoke_device),
        )
        .route(
            "/api/intakes",
            get(center::intake::list_intakes).post(center::intake::intake),
        )
        .route(
            "/api/assignments",
            get(center::assignments::list_assignments).post(center::assignments::create_assignment),
        )
        .route(
            "/api/assignments/{id}",
            get(center::assignments::get_assignment).patch(center::assignments::update_assignment),
        )
        .route(
            "/api/assignments/{id}/assign",
            post(center::assignments::assign),
        )
        .route(
            "/api/assignments/{id}/reassign",
            post(center::assignments::reassign),
        )
        .route(
            "/api/assignments/{id}/acceptance-code/reissue",
            post(center::assignments::reissue_acceptance_code),
        )
        .route(
            "/api/assignments/{id}/waive-fields",
            post(center::assignments::waive_fields),
        )
        .route(
            "/api/assignments/{id}/discount-approvals",
            post(center::discounts::approve_discount),
        )
        .route(
            "/api/assignments/{id}/discount-codes",
            post(center::discounts::discount_codes),
        )
        .route(
            "/api/playbooks",
            get(center::playbooks::list_playbooks).post(center::playbooks::publish_playbook),
        )
        .route(
            "/api/playbooks/{trade}/{version}",
            get(center::playbooks::get_playbook),
        )
        .route(
            "/api/assignments/{id}/cancel",
            post(center::assignments::cancel),
        )
        .route(
            "/api/assignments/{id}/candidates",
            get(center::board::candidates),
        )
        .route("/api/board", get(center::board::board))
        .route("/api/positions", get(center::board::positions))
        .route("/api/map", get(center::board::map_settings))
        .route("/api/live", get(center::live::live))
        .route("/api/reminders", get(center::reminders::reminders))
        .route(
            "/api/customers/erasure",
            post(center::personal_data::erasure),
        )
        .route(
            "/api/customers/erasures",
            get(center::personal_data::erasures),
        )
        .route(
            "/api/customers/export",
            post(center::personal_data::export_customer),
        )
        .route(
            "/api/personal-data/access-log",
            get(center::personal_data::access_log),
        )
        .route(
            "/api/personal-data/retention/run",
            post(center::personal_data::run_retention_now),
        )
        .route(
            "/api/assignments/{id}/notice-consent",
            put(center::notices::put_notice_consent),
        )
        .route(
            "/api/assignments/{id}/outbound",
            get(center::notices::assignment_outbound),
        )
        .route(
            "/api/assignments/{id}/invoice-requests",
            get(center::invoices::list_invoice_requests)
                .post(center::invoices::create_invoice_request),
        )
        .route("/api/outbox", get(center::notices::list_outbox))
        .route("/api/outbox/depth", get(center::notices::outbox_depth))
        .route(
            "/api/outbox/{id}/retry",
            post(center::notices::retry_outbox),
        )
        .route(
            "/api/api-keys",
            get(center::integrations::list_api_keys).post(center::integrations::create_api_key),
        )
        .route(
            "/api/api-keys/{id}/revoke",
            post(center::integrations::revoke_api_key),
        )
        .route(
            "/api/webhooks",
            get(center::integrations::list_webhooks).post(center::integrations::create_webhook),
        )
        .route(
            "/api/webhooks/{id}/disable",
            post(center::integrations::disable_webhook),
        )
        .route("/api/feed", get(center::integrations::feed))
        .route(
            "/api/assignments/{id}/history",
            get(center::orders::assignment_history),
        )
        .route("/api/search", get(center::orders::search))
        .route(
            "/api/customers/history",
            get(center::orders::customer_history),
        )
        .route(
            "/api/intakes/repeat-check",
            get(center::orders::repeat_check),
        )
        .route("/api/requests", get(center::requests::requests_queue))
        .route("/api/export", post(center::export::export_table))
        .route("/api/cash-ledger", get(center::cash_ledger::cash_ledger))
        .route(
            "/api/technicians/{id}/remittances",
            post(center::cash_ledger::create_remittance),
        )
        .route(
            "/api/technicians/{id}/remittances/{remittance}/void",
            post(center::cash_ledger::void_remittance),
        )
        .route(
            "/api/requests/{event_id}/handle",
            post(center::requests::handle_request),
        )
        .route("/api/conflicts", get(after::conflicts::conflicts))
        .route("/api/refused-events", get(after::refused::refused_events))
        .route(
            "/api/refused-events/{device}/{seq}/review",
            post(after::refused::review_refused_event),
        )
        .route("/api/visits", get(after::visits::list_visits))
        .route("/api/visits/{id}", get(after::visits::get_visit))
        .route(
            "/api/visits/{id}/report.pdf",
            get(after::report::visit_report_pdf),
        )
        .route(
            "/api/visits/{id}/report.html",
            get(after::report::visit_report_html),
        )
        .route(
            "/api/visits/{id}/signature.svg",
            get(after::report::visit_signature_svg),
        )
        .route(
            "/api/visits/{id}/report-link",
            get(after::report::get_report_link).post(after::report::create_report_link),
        )
        .route("/r/{token}", get(after::report::customer_report))
        .route(
            "/r/{token}/report.pdf",
            get(after::report::customer_report_pdf),
        )
        .route(
            "/r/{token}/photos/{sha256}",
            get(after::report::customer_photo),
        )
        .route("/v/{visit}/{digest}", get(after::report::verify_page))
        .route(
            "/api/visits/{id}/resolve",
            post(after::conflicts::resolve_conflict),
        )
        .route("/api/callbacks", get(after::callbacks::callbacks_due))
        .route(
            "/api/callbacks/result",
            post(after::callbacks::record_callback),
        )
        .route(
            "/api/callbacks/monthly-sample",
            post(after::callbacks::monthly_sample),
        )
        .route(
            "/api/reconciliation",
            get(after::reconciliation::reconciliation),
        )
        .route("/api/kpis", get(after::kpis::kpis))
        .route(
            "/api/assignments/{id}/privacy-numbers",
            get(privacy::bindings_of_order),
        )
        .route("/api/sync/push", post(sync::push).layer(rotation.clone()))
        .route("/api/sync/pull", post(sync::pull).layer(rotation.clone()))
        .route("/api/sync/exchange", post(sync::exchange).layer(rotation))
        .route(
            "/api/sync/qr-payments",
            post(qr_payments::create_qr_payment),
        )
        .route(
            "/api/sync/qr-payments/{payment_id}",
            get(qr_payments::get_qr_payment),
        )
        .route(
            "/api/assignments/{id}/qr-payments",
            get(qr_payments::assignment_qr_payments),
        )
        .route(
            "/api/payments/wechat-pay/notify",
            post(qr_payments::wechat_pay_notify),
        )
        .route(
            "/api/payments/alipay/notify",
            post(qr_payments::alipay_notify),
        )
        .route(
            "/api/sync/blobs/{sha256}",
            put(sync_blobs::put_blob).head(sync_blobs::head_blob),
        )
        .route("/api/visits/{id}/photos", get(after::photos::visit_photos))
        .route("/api/blobs/{sha256}", get(after::photos::get_blob))
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestDecompressionLayer::new())
        // A console's answers carry each time as people read it too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            display_times::annotate,
        ))
        // Inside the edge (and the compression): a device's JSON answers
        // carry only virtual or masked customer numbers.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            privacy::mask_device_answers,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), edge::edge))
        // A client that reads zstd (the phones) gets it at level 1: on a
        // download's pages 40 % fewer bytes than gzip in a tenth of the
        // server's time (docs/PERFORMANCE.md, "zstd for the download");
        // any other gets gzip at its default level from the layer outside,
        // which leaves an answer already encoded as it is.
        .layer(
            CompressionLayer::new()
                .no_gzip()
                .quality(CompressionLevel::Precise(1)),
        )
        .layer(CompressionLayer::new().no_zstd())
        // Outermost: the request id, the log line and the metrics see the
        // final answer, refusals of the edge included.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// A server running in this process (the binary, tests, benchmarks).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    /// Ends when the server has shut down, with the connections it cut.
    pub handle: tokio::task::JoinHandle<usize>,
    pub shutdown: serve::Shutdown,
}

impl RunningServer {
    /// Stops as [`serve`] describes: no new connections, requests in flight
    /// get `grace` to finish. Returns the connections that had to be cut.
    pub async fn shut_down(self, grace: std::time::Duration) -> usize {
        self.shutdown.begin(grace);
        self.handle.await.unwrap_or(0)
    }
}

/// Binds `listen` (port 0 for an ephemeral port) and serves in the
/// background with the connection defences of [`serve`].
pub async fn spawn(listen: SocketAddr, state: AppState) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let shutdown = serve::Shutdown::new();
    let handle = tokio::spawn(serve::serve(listener, app, state.clone(), shutdown.clone()));
    Ok(RunningServer {
        addr,
        state,
        handle,
        shutdown,
    })
}
