//! The roster: `/api/technicians`.

use crate::app::AppState;
use crate::domain::bounds;
use crate::domain::roster::{insert_technician, NewTechnician};
use crate::http::auth::Auth;
use crate::http::error::{ApiJson, ApiResult};
use crate::model::TechnicianView;
use crate::store::technicians;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use doorstep_core::business_time::BusinessZone;
use serde_json::{json, Value};

#[utoipa::path(
    post, path = "/api/technicians", tag = "center", security(("session" = [])),
    request_body = NewTechnician,
    responses((status = 201, description = "The technician was added", body = crate::api_schema::TechnicianCreated))
)]
pub async fn create_technician(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewTechnician>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.dispatcher()?;
    bounds::technician(&req)?;
    let st = state.clone();
    let id = req.id.clone();
    state
        .db
        .tx(move |tx| Box::pin(async move { insert_technician(tx, &st, &req).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

/// When today began in the business time zone (Unix ms): the roster's
/// "closed today" counts from here, whichever page reads the roster (counting
/// from any earlier instant walks every visit ever closed).
pub(super) fn start_of_today(zone: &BusinessZone) -> i64 {
    zone.start_of_day(zone.date_of(Utc::now()))
        .timestamp_millis()
}

#[utoipa::path(
    get, path = "/api/technicians", tag = "center", security(("session" = [])),
    responses((status = 200, description = "The roster with today's load", body = Vec<TechnicianView>))
)]
pub async fn roster(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<TechnicianView>>> {
    who.dispatcher()?;
    let day_start = start_of_today(&state.zone);
    let rows = state
        .db
        .read(move |tx| Box::pin(async move { technicians::roster(tx, day_start).await }))
        .await?;
    Ok(Json(rows))
}
