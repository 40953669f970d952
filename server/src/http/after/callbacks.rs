//! Callbacks: `/api/callbacks` (due), `/api/callbacks/result`,
//! `/api/callbacks/monthly-sample`.

use crate::app::AppState;
use crate::domain::bounds;
use crate::domain::callbacks::{
    check_result, check_sample_percent, month_range, monthly_sample as sample_month, record_result,
    CallbackResult, SampleRequest,
};
use crate::http::auth::Auth;
use crate::http::contact_views::{purpose, record_contact_views};
use crate::http::error::{ApiJson, ApiQuery, ApiResult};
use crate::model::CallbackView;
use crate::store::callbacks;
use crate::time::now_ms;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct CallbackQuery {
    /// List callbacks due up to this time (default: now).
    pub until: Option<DateTime<Utc>>,
}

#[utoipa::path(
    get, path = "/api/callbacks", tag = "after", security(("session" = [])),
    params(("until" = Option<DateTime<Utc>>, Query, description = "Callbacks due up to this time (default: now)")),
    responses((status = 200, description = "Callbacks due", body = Vec<CallbackView>))
)]
pub async fn callbacks_due(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> ApiResult<Json<Vec<CallbackView>>> {
    who.dispatcher()?;
    let until = q.until.map_or_else(now_ms, |t| t.timestamp_millis());
    let rows = state
        .db
        .read(move |tx| Box::pin(async move { callbacks::due_by(tx, until).await }))
        .await?;
    // The list gives who to call, in full: each order shown is logged.
    let shown = rows
        .iter()
        .filter(|r| r.customer_phone.is_some())
        .map(|r| r.assignment_id.clone())
        .collect::<std::collections::BTreeSet<_>>();
    record_contact_views(&state, &who, shown.into_iter().collect(), purpose::CALLBACK).await?;
    Ok(Json(rows))
}

#[utoipa::path(
    post, path = "/api/callbacks/result", tag = "after", security(("session" = [])),
    request_body = CallbackResult,
    responses((status = 200, description = "The call was recorded", body = crate::api_schema::CallbackRecorded))
)]
pub async fn record_callback(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<CallbackResult>,
) -> ApiResult<Json<Value>> {
    let actor = who.actor();
    who.dispatcher()?;
    check_result(&req)?;
    bounds::text("reason", &req.reason, bounds::REASON_CHARS)?;
    bounds::opt_text("note", req.note.as_deref(), bounds::REASON_CHARS)?;
    let next = state
        .db
        .tx(move |tx| Box::pin(async move { record_result(tx, req, &actor).await }))
        .await?;
    Ok(Json(
        json!({ "recorded": true, "next_follow_up_due_at": next }),
    ))
}

/// 004: each month a random 10-20 % of served customers get a callback.
#[utoipa::path(
    post, path = "/api/callbacks/monthly-sample", tag = "after", security(("session" = [])),
    request_body = SampleRequest,
    responses((status = 200, description = "The month's sample", body = crate::domain::callbacks::SampleSummary))
)]
pub async fn monthly_sample(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<SampleRequest>,
) -> ApiResult<Json<Value>> {
    who.dispatcher()?;
    month_range(&req.month, &state.zone)?;
    check_sample_percent(req.percent.unwrap_or(state.config.monthly_sample_percent))?;
    let st = state.clone();
    let summary = state
        .db
        .tx(move |tx| Box::pin(async move { sample_month(tx, &st, &req).await }))
        .await?;
    Ok(Json(json!(summary)))
}
