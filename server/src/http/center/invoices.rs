//! E-fapiao requests at the desk: a work order's requests with their states
//! (`GET /api/assignments/{id}/invoice-requests`) and a request taken after
//! the visit (`POST` to the same path), refused field by field in the
//! caller's language (`domain::invoices`).

use crate::app::AppState;
use crate::domain::invoices::{request_invoice, InvoiceBuyer, InvoiceSource, RequestRefused};
use crate::failure::Failure;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::store::assignments;
use crate::store::invoices::{self, InvoiceRecord};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

/// Files an e-fapiao request for a work order, taken at the desk.
#[utoipa::path(
    post, path = "/api/assignments/{id}/invoice-requests", tag = "invoices", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = InvoiceBuyer,
    responses((status = 201, description = "The request as stored: queued to the invoicing provider when the amount paid is known, else requested (queued once a payment is). Refused 400 invalid_field naming the field (buyer_type, title, tax_number, email, phone) and what would be accepted; 409 invoice_requested while the order has a request that did not fail", body = InvoiceRecord))
)]
pub async fn create_invoice_request(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(buyer): ApiJson<InvoiceBuyer>,
) -> ApiResult<(StatusCode, Json<InvoiceRecord>)> {
    let actor = who.dispatcher()?.to_string();
    let record = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                request_invoice(tx, &id, &buyer, InvoiceSource::Desk, &actor, now_ms())
                    .await
                    .map_err(|r| match r {
                        RequestRefused::Field(p) => {
                            ApiError::field(p.field, p.text.en).zh(p.text.zh)
                        }
                        RequestRefused::Other(f) => f.into(),
                    })
            })
        })
        .await?;
    tracing::info!(id = %record.id, assignment = %record.assignment_id, state = record.state.as_str(), "e-fapiao requested");
    Ok((StatusCode::CREATED, Json(record)))
}

/// A work order's e-fapiao requests, newest first, with their states.
#[utoipa::path(
    get, path = "/api/assignments/{id}/invoice-requests", tag = "invoices", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "Its e-fapiao requests, newest first, each with its state (requested, queued, issued with the invoice number, failed with the reason)", body = Vec<InvoiceRecord>))
)]
pub async fn list_invoice_requests(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<InvoiceRecord>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if !assignments::exists(tx, &id).await? {
                    return Err(Failure::not_found("assignment", &id));
                }
                invoices::of_assignment(tx, &id).await
            })
        })
        .await?;
    Ok(Json(rows))
}
