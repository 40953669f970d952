//! Discount approvals at the desk (STANDARDS §2.12; `domain::discount_approvals`):
//! `POST /api/assignments/{id}/discount-approvals` approves a discount online,
//! `POST /api/assignments/{id}/discount-codes` gives the short code to read
//! out to a technician whose phone cannot sync.

use crate::app::AppState;
use crate::domain::discount_approvals::{
    approve_tx, short_codes_tx, DiscountApprovalRequest, DiscountCodeRequest, DiscountCodes,
};
use crate::http::auth::Auth;
use crate::http::error::{ApiJson, ApiResult};
use crate::model::AssignmentView;
use axum::extract::{Path, State};
use axum::Json;

#[utoipa::path(
    post, path = "/api/assignments/{id}/discount-approvals", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = DiscountApprovalRequest,
    responses((status = 200, description = "The discount is approved (STANDARDS §2.12): the order's next version carries the approval (`discount_approvals`: the reference `{id}-d{version}`, `max_amount`, the dispatcher as `approver`) to the technician's phone, which may then quote any discount up to `max_amount` under that reference. Refused 400 `invalid_field` (`max_amount` not 1 to 100 000 000 fen), 409 `order_done`, `cancelled`, `version_mismatch`", body = AssignmentView))
)]
pub async fn approve_discount(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DiscountApprovalRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    let username = who.dispatcher()?.to_string();
    let v = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                approve_tx(tx, &id, req, &username, &actor, chrono::Utc::now()).await
            })
        })
        .await?;
    Ok(Json(v))
}

#[utoipa::path(
    post, path = "/api/assignments/{id}/discount-codes", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = DiscountCodeRequest,
    responses((status = 200, description = "The short codes approving exactly `amount` off this order offline (STANDARDS §2.12), one for each phone of the technician enrolled with a discount secret: read the code out; the phone checks it and the server re-checks the quote when it arrives. Each code issued is in the order's feed (`order.discount_code_issued`, without the code). Refused 400 `invalid_field` (`amount` not 1 to 100 000 000 fen), 409 `not_assigned`, `no_discount_secret` (every phone of the technician was enrolled before discount codes: approve online), `order_done`, `cancelled`", body = DiscountCodes))
)]
pub async fn discount_codes(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DiscountCodeRequest>,
) -> ApiResult<Json<DiscountCodes>> {
    let username = who.dispatcher()?.to_string();
    let codes = state
        .db
        .tx(move |tx| {
            Box::pin(
                async move { short_codes_tx(tx, &id, req, &username, chrono::Utc::now()).await },
            )
        })
        .await?;
    tracing::info!(assignment = %codes.assignment_id, amount = codes.amount, phones = codes.codes.len(), "discount short codes issued");
    Ok(Json(codes))
}
