//! The engineers' cash at the desk (`domain::cash_ledger`): a remittance a
//! dispatcher received (`POST /api/technicians/{id}/remittances`), refused
//! field by field or when it would take more than the technician holds, in
//! both languages; a remittance voided with a reason
//! (`POST /api/technicians/{id}/remittances/{remittance}/void`); and the reconciliation per technician per business day
//! (`GET /api/cash-ledger`).

use crate::app::AppState;
use crate::domain::cash_ledger::{
    self, record_remittance, yuan, CashLedger, Refused, RemittanceRequest, VoidRequest,
};
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::store::cash_ledger::RemittanceRow;
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

/// Records cash a technician handed over to the calling dispatcher.
#[utoipa::path(
    post, path = "/api/technicians/{id}/remittances", tag = "cash", security(("session" = [])),
    params(("id" = String, Path, description = "The technician's id")),
    request_body = RemittanceRequest,
    responses((status = 201, description = "The remittance as recorded, received by the calling dispatcher and dated by the business day it was handed over. Refused 400 invalid_field naming the field (amount: whole fen from 1; remitted_at: not in the future; note: at most 1000 characters) with what would be accepted; 404 for an unknown technician; 409 remittance_exceeds_outstanding when it would take more cash than the technician holds (on that day, or leave a later remittance uncovered), with `outstanding` (fen) and `outstanding_display`", body = RemittanceRow))
)]
pub async fn create_remittance(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RemittanceRequest>,
) -> ApiResult<(StatusCode, Json<RemittanceRow>)> {
    let actor = who.dispatcher()?.to_string();
    let zone = state.zone.clone();
    let row = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                record_remittance(tx, &zone, &id, &req, &actor, now_ms())
                    .await
                    .map_err(refusal)
            })
        })
        .await?;
    tracing::info!(id = %row.id, technician = %row.technician_id, amount = row.amount, "cash remitted");
    Ok((StatusCode::CREATED, Json(row)))
}

/// Voids a remittance entered wrongly: it stays listed with the reason and
/// counts no more.
#[utoipa::path(
    post, path = "/api/technicians/{id}/remittances/{remittance}/void", tag = "cash", security(("session" = [])),
    params(
        ("id" = String, Path, description = "The technician's id"),
        ("remittance" = String, Path, description = "The remittance's id"),
    ),
    request_body = VoidRequest,
    responses((status = 200, description = "The remittance, voided by the calling dispatcher: listed on the ledger with who voided it, when and why, and no longer counted (the cash is in the technician's hands again). Refused 400 invalid_field naming `reason` (required, at most 1000 characters); 404 for a remittance this technician does not have; 409 remittance_voided when it was voided already, with `voided_by` and `voided_at`", body = RemittanceRow))
)]
pub async fn void_remittance(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((id, remittance)): Path<(String, String)>,
    ApiJson(req): ApiJson<VoidRequest>,
) -> ApiResult<Json<RemittanceRow>> {
    let actor = who.dispatcher()?.to_string();
    let row = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                cash_ledger::void_remittance(tx, &id, &remittance, &req, &actor, now_ms())
                    .await
                    .map_err(refusal)
            })
        })
        .await?;
    tracing::info!(id = %row.id, technician = %row.technician_id, amount = row.amount, "remittance voided");
    Ok(Json(row))
}

fn refusal(r: Refused) -> ApiError {
    match r {
        Refused::Field { field, en, zh } => ApiError::field(field, en).zh(zh),
        Refused::Exceeds { outstanding, day } => {
            let shown = yuan(outstanding);
            ApiError::conflict(
                "remittance_exceeds_outstanding",
                format!(
                    "amount: more than the technician holds: {shown} is outstanding on {day} (and not needed by a later remittance); record at most that"
                ),
            )
            .zh(format!(
                "金额：超过技师手中的现金。{day} 未交款为 {shown}，本次最多可记录 {shown}。"
            ))
            .with("field", "amount")
            .with("outstanding", outstanding)
            .with("outstanding_display", shown)
            .with("business_day", day.to_string())
        }
        Refused::AlreadyVoided(done) => ApiError::conflict(
            "remittance_voided",
            format!("this remittance was voided already, by {}", done.by),
        )
        .zh(format!("这笔交款已由 {} 作废，无需再次作废。", done.by))
        .with("voided_by", done.by)
        .with("voided_at", done.at),
        Refused::Other(f) => f.into(),
    }
}

#[derive(Deserialize)]
pub struct LedgerQuery {
    /// First business day (default: `to`).
    pub from: Option<NaiveDate>,
    /// Last business day (default: today in the business time zone).
    pub to: Option<NaiveDate>,
    /// One technician's ledger.
    pub technician: Option<String>,
}

/// The cash reconciliation per technician per business day.
#[utoipa::path(
    get, path = "/api/cash-ledger", tag = "cash", security(("session" = [])),
    params(
        ("from" = Option<NaiveDate>, Query, description = "First business day, YYYY-MM-DD (default: `to`)"),
        ("to" = Option<NaiveDate>, Query, description = "Last business day, YYYY-MM-DD (default: today in the business time zone); at most 366 days from `from`"),
        ("technician" = Option<String>, Query, description = "Only this technician"),
    ),
    responses((status = 200, description = "Per technician per business day with cash collected or remitted: collected, remitted and outstanding (still in the technician's hands at the end of that day, carried in from before the period), fen, with the cash payments (visit, work order, receipt) and the remittances behind them; per technician (opening, collected, remitted, outstanding) and totals. Non-cash payments are never on it", body = CashLedger))
)]
pub async fn cash_ledger(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<LedgerQuery>,
) -> ApiResult<Json<CashLedger>> {
    who.dispatcher()?;
    let to = q.to.unwrap_or_else(|| state.zone.date_of(Utc::now()));
    let from = q.from.unwrap_or(to);
    let technician = q.technician.filter(|t| !t.is_empty());
    let report = state
        .db
        .read(move |tx| {
            Box::pin(async move { cash_ledger::ledger(tx, from, to, technician.as_deref()).await })
        })
        .await?;
    Ok(Json(report))
}
