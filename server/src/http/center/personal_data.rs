//! Personal data requests (PIPL, docs/PIPL.md): `POST /api/customers/erasure`
//! and `GET /api/customers/erasures` (the audit), `POST
//! /api/customers/export` (an access request: the phone number travels in
//! the body, never in a URL that proxies log), `GET
//! /api/personal-data/access-log` and `POST
//! /api/personal-data/retention/run` (the access log's writer is
//! `http::contact_views`).

use crate::app::AppState;
use crate::domain::personal_data::{
    erase, export, run_retention, CustomerKey, ErasureOutcome, ErasureRequest, RetentionReport,
    NO_ORDER_FOR_PHONE,
};
use crate::failure::Failure;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::store::personal_data::{self as store, AccessRecord, ErasureRecord};
use crate::time::now_ms;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

pub use crate::http::contact_views::{purpose, record_contact_view};

/// A refusal in the caller's words; "no order has this phone number"
/// without the number.
fn refusal(f: Failure) -> ApiError {
    match f {
        Failure::NotFound { what, .. } if what == NO_ORDER_FOR_PHONE => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no order or desk intake has this phone number",
        )
        .zh("没有使用该电话号码的工单或受理记录。"),
        f => f.into(),
    }
}

/// Erases one customer's personal data (dispatcher or admin).
#[utoipa::path(
    post, path = "/api/customers/erasure", tag = "privacy", security(("session" = [])),
    request_body = ErasureRequest,
    responses((status = 200, description = "The customer's personal data was erased (by phone or work order)", body = ErasureOutcome))
)]
pub async fn erasure(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<ErasureRequest>,
) -> ApiResult<Json<ErasureOutcome>> {
    let by = who.dispatcher()?.to_string();
    let now = now_ms();
    let outcome = state
        .db
        .tx(move |tx| Box::pin(async move { erase(tx, &req, &by, now).await }))
        .await
        .map_err(refusal)?;
    tracing::info!(
        erasure = outcome.erasure_id,
        orders = outcome.assignments.len(),
        by = %outcome.requested_by,
        "customer personal data erased on request"
    );
    Ok(Json(outcome))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub limit: Option<i64>,
}

/// The erasure audit, newest first (admin).
#[utoipa::path(
    get, path = "/api/customers/erasures", tag = "privacy", security(("session" = [])),
    params(("limit" = Option<i64>, Query, description = "At most this many (1-2000, default 200)")),
    responses((status = 200, description = "The erasure audit, newest first (admins only)", body = Vec<ErasureRecord>))
)]
pub async fn erasures(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<ErasureRecord>>> {
    who.admin()?;
    let limit = q.limit.unwrap_or(200).clamp(1, 2000);
    let rows = state
        .db
        .tx(move |tx| Box::pin(async move { store::list_erasures(tx, limit).await }))
        .await?;
    Ok(Json(rows))
}

/// One customer's data for an access request (dispatcher or admin).
#[utoipa::path(
    post, path = "/api/customers/export", tag = "privacy", security(("session" = [])),
    request_body = CustomerKey,
    responses((status = 200, description = "The customer's data (the export is recorded in the access log)", body = crate::api_schema::CustomerExport))
)]
pub async fn export_customer(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(key): ApiJson<CustomerKey>,
) -> ApiResult<Json<Value>> {
    let by = who.dispatcher()?.to_string();
    let now = now_ms();
    let data = state
        .db
        .tx(move |tx| Box::pin(async move { export(tx, &key, &by, now).await }))
        .await
        .map_err(refusal)?;
    Ok(Json(data))
}

#[derive(Deserialize)]
pub struct AccessQuery {
    pub assignment_id: Option<String>,
    pub username: Option<String>,
    pub limit: Option<i64>,
}

/// Who viewed customers' full contact details, newest first (admin).
#[utoipa::path(
    get, path = "/api/personal-data/access-log", tag = "privacy", security(("session" = [])),
    params(("assignment_id" = Option<String>, Query, description = "Only views of this work order's customer"),
           ("username" = Option<String>, Query, description = "Only this staff member's views"),
           ("limit" = Option<i64>, Query, description = "At most this many (1-5000, default 500)")),
    responses((status = 200, description = "Views of customers' full contact details, newest first (admins only)", body = Vec<AccessRecord>))
)]
pub async fn access_log(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<AccessQuery>,
) -> ApiResult<Json<Vec<AccessRecord>>> {
    who.admin()?;
    let limit = q.limit.unwrap_or(500).clamp(1, 5000);
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move { store::access_log(tx, q.assignment_id, q.username, limit).await })
        })
        .await?;
    Ok(Json(rows))
}

/// Runs the retention sweep now (admin); the server also runs it hourly.
#[utoipa::path(
    post, path = "/api/personal-data/retention/run", tag = "privacy", security(("session" = [])),
    responses((status = 200, description = "One retention batch masked the contacts that were due (admins only)", body = RetentionReport))
)]
pub async fn run_retention_now(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<RetentionReport>> {
    who.admin()?;
    let report = run_retention(&state).await?;
    Ok(Json(report))
}
