//! Intake: `/api/intakes` (take a request; list the latest).

use crate::app::AppState;
use crate::domain::bounds;
use crate::domain::intake::{check_intake, intake_tx, IntakeRequest, IntakeResponse};
use crate::domain::notices::check_consent;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::model::IntakeRecord;
use crate::store::intakes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[utoipa::path(
    post, path = "/api/intakes", tag = "center", security(("session" = [])),
    request_body = IntakeRequest,
    responses((status = 201, description = "The request was recorded (and its assignment created)", body = IntakeResponse))
)]
pub async fn intake(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> ApiResult<(StatusCode, Json<IntakeResponse>)> {
    let actor = who.actor();
    who.dispatcher()?;
    check_intake(&req)?;
    if let Some(consent) = &req.notice_consent {
        let phone = req.caller.phone.as_deref().unwrap_or_default();
        check_consent(consent, phone)
            .map_err(|p| ApiError::field_bilingual(p.field, p.en, p.zh))?;
    }
    bounds::intake(&req)?;
    let st = state.clone();
    let resp = state
        .db
        .tx(move |tx| Box::pin(async move { intake_tx(tx, &st, req, &actor).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(resp)))
}

#[derive(Deserialize)]
pub struct IntakeQuery {
    pub escalated: Option<bool>,
}

#[utoipa::path(
    get, path = "/api/intakes", tag = "center", security(("session" = [])),
    params(("escalated" = Option<bool>, Query, description = "Only escalated (true) or only not escalated (false)")),
    responses((status = 200, description = "The latest intakes", body = Vec<IntakeRecord>))
)]
pub async fn list_intakes(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<IntakeQuery>,
) -> ApiResult<Json<Vec<IntakeRecord>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .read(move |tx| Box::pin(async move { intakes::list_intakes(tx, q.escalated).await }))
        .await?;
    Ok(Json(rows))
}
