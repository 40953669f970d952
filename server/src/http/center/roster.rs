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

#[utoipa::path(
    get, path = "/api/technicians", tag = "center", security(("session" = [])),
    responses((status = 200, description = "The roster with today's load", body = Vec<TechnicianView>))
)]
pub async fn roster(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<TechnicianView>>> {
    who.dispatcher()?;
    // Today in the business time zone.
    let day_start = state
        .zone
        .start_of_day(state.zone.date_of(Utc::now()))
        .timestamp_millis();
    let rows = state
        .db
        .read(move |tx| Box::pin(async move { technicians::roster(tx, day_start).await }))
        .await?;
    Ok(Json(rows))
}
