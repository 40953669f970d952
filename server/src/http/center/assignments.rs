//! Assignments: `/api/assignments` and its assign, reassign and cancel
//! actions, a new acceptance code issued at the desk, and required fields
//! the desk waives. A technician device may read only its own assignments.
//! The list shows staff each customer's phone masked (`138****5678`): the
//! full contact is on the order's own page, whose every reading is in the
//! access log (PIPL).

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::assignments::{
    assign_tx, cancel_tx, insert_assignment, reassign_tx, reissue_acceptance_code_tx, update_tx,
    waive_fields_tx, AssignRequest, AssignmentPatch, CancelRequest, NewAssignment, ReissuedCode,
    WaiveFieldsRequest,
};
use crate::domain::bounds;
use crate::domain::personal_data::mask_phone;
use crate::failure::Fallible;
use crate::http::auth::Auth;
use crate::http::center::personal_data::{purpose, record_contact_view};
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::model::AssignmentView;
use crate::store::{assignments, technicians};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[utoipa::path(
    post, path = "/api/assignments", tag = "center", security(("session" = [])),
    request_body = NewAssignment,
    responses((status = 201, description = "The assignment", body = AssignmentView))
)]
pub async fn create_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewAssignment>,
) -> ApiResult<(StatusCode, Json<AssignmentView>)> {
    let actor = who.actor();
    who.dispatcher()?;
    let in_force = current_playbook(&state, req.trade.as_str()).await?;
    bounds::new_assignment(&req, in_force.as_ref())?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { insert_assignment(tx, &st, req, &actor).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Deserialize)]
pub struct ListQuery {
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// One row of `/api/assignments`: the assignment and its technician's name.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListedAssignment {
    #[serde(flatten)]
    pub assignment: AssignmentView,
    /// The technician's name, as the desk knows them (absent: not assigned, or
    /// not on the roster).
    pub technician_name: Option<String>,
}

impl ListedAssignment {
    /// The assignment as a list shows it to staff: named, and its customer
    /// phone masked (the order's own page shows it in full, and logs it).
    pub fn for_staff(mut assignment: AssignmentView, names: &BTreeMap<String, String>) -> Self {
        mask_listed_phone(&mut assignment);
        Self::named(assignment, names)
    }

    /// The assignment with its technician's name from `names` (id → name).
    pub fn named(assignment: AssignmentView, names: &BTreeMap<String, String>) -> Self {
        let technician_name = assignment
            .assignment
            .technician
            .as_ref()
            .and_then(|t| names.get(t.as_str()).cloned());
        Self {
            assignment,
            technician_name,
        }
    }
}

#[utoipa::path(
    get, path = "/api/assignments", tag = "center", security(("session" = []), ("device" = [])),
    params(("status" = Option<String>, Query, description = "open, assigned, done, handed_back or cancelled"),
           ("limit" = Option<i64>, Query, description = "At most this many (1-2000, default 500)")),
    responses((status = 200, description = "Assignments, each customer phone masked for staff (the order's own page has it in full, in the access log); a device: only its technician's", body = Vec<ListedAssignment>))
)]
pub async fn list_assignments(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Vec<ListedAssignment>>> {
    let technician = who.technician().map(str::to_string);
    let limit = q.limit.unwrap_or(500).clamp(1, 2000);
    let (rows, names) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let rows = assignments::list_assignments(tx, technician, q.status, limit).await?;
                Fallible::Ok((rows, technicians::names(tx).await?))
            })
        })
        .await?;
    let staff = matches!(who, Principal::User { .. });
    Ok(Json(
        rows.into_iter()
            .map(|a| {
                if staff {
                    ListedAssignment::for_staff(a, &names)
                } else {
                    ListedAssignment::named(a, &names)
                }
            })
            .collect(),
    ))
}

/// A listed order's customer phone as lists show it (`138****5678`): the
/// number in full is read on the order's page, and logged there.
fn mask_listed_phone(a: &mut AssignmentView) {
    if let Some(phone) = a.assignment.customer.phone.as_mut() {
        *phone = mask_phone(phone);
    }
}

#[utoipa::path(
    get, path = "/api/assignments/{id}", tag = "center", security(("session" = []), ("device" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "The assignment", body = AssignmentView))
)]
pub async fn get_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AssignmentView>> {
    let key = id.clone();
    let v = state
        .db
        .read(move |tx| Box::pin(async move { assignments::load_assignment(tx, &key).await }))
        .await?
        .ok_or_else(|| ApiError::not_found("assignment", &id))?;
    if let Some(me) = who.technician() {
        if v.assignment.technician.as_ref().map(|t| t.as_str()) != Some(me) {
            return Err(ApiError::forbidden(format!(
                "assignment {id} is not assigned to technician {me}"
            )));
        }
    }
    record_contact_view(&state, &who, &id, purpose::ASSIGNMENT_DETAIL).await?;
    Ok(Json(v))
}

#[utoipa::path(
    patch, path = "/api/assignments/{id}", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = AssignmentPatch,
    responses((status = 200, description = "The changed assignment", body = AssignmentView))
)]
pub async fn update_assignment(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AssignmentPatch>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let trade = if patch.order.is_some() {
        let key = id.clone();
        state
            .db
            .tx(move |tx| Box::pin(async move { assignments::load_assignment(tx, &key).await }))
            .await?
            .map(|v| v.assignment.trade.to_string())
            .ok_or_else(|| ApiError::not_found("assignment", &id))?
    } else {
        String::new()
    };
    let in_force = if trade.is_empty() {
        None
    } else {
        current_playbook(&state, &trade).await?
    };
    bounds::patch(&patch, in_force.as_ref())?;
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { update_tx(tx, &id, patch, &actor).await }))
        .await?;
    Ok(Json(v))
}

#[utoipa::path(
    post, path = "/api/assignments/{id}/assign", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = AssignRequest,
    responses((status = 200, description = "The assignment, assigned to a technician", body = AssignmentView))
)]
pub async fn assign(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { assign_tx(tx, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

/// Issues a new acceptance code (验收码) for an open order: the customer
/// lost the first or never received it.
#[utoipa::path(
    post, path = "/api/assignments/{id}/acceptance-code/reissue", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "A new code was issued: the order's next version carries its check to the technician's phone (the old code no longer matches), and the code is sent to the customer by SMS with their consent (integration event `order.acceptance_code_reissued`, never carrying the code). Refused 409 `cancelled` or `order_done` for a closed order, `acceptance_code_not_used` when the trade's standard asks for no code, `acceptance_code_accepted` once the customer's code was accepted", body = ReissuedCode))
)]
pub async fn reissue_acceptance_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ReissuedCode>> {
    let actor = who.actor();
    who.dispatcher()?;
    let r = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let now = crate::time::now_ms();
                reissue_acceptance_code_tx(tx, &id, None, &actor, now).await
            })
        })
        .await?;
    Ok(Json(r))
}

#[utoipa::path(
    post, path = "/api/assignments/{id}/waive-fields", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = WaiveFieldsRequest,
    responses((status = 200, description = "The fields are waived (STANDARDS §2.1): the order's next version carries the waiver (`center_waivers`: the fields, the dispatcher, the reference `{id}-v{version}`) to the technician's phone, which may then confirm the appointment without them; the verification request named is marked handled. Refused 400 `invalid_field` (`fields` empty, `request_id` not a verification request of this order), 409 `already_waived`, `order_done`, `cancelled`, `version_mismatch`", body = AssignmentView))
)]
pub async fn waive_fields(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<WaiveFieldsRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    let username = who.dispatcher()?.to_string();
    let v = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                waive_fields_tx(tx, &id, req, &username, &actor, chrono::Utc::now()).await
            })
        })
        .await?;
    Ok(Json(v))
}

#[utoipa::path(
    post, path = "/api/assignments/{id}/reassign", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = AssignRequest,
    responses((status = 200, description = "The assignment, given to another technician", body = AssignmentView))
)]
pub async fn reassign(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { reassign_tx(tx, &st, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

#[utoipa::path(
    post, path = "/api/assignments/{id}/cancel", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = CancelRequest,
    responses((status = 200, description = "The cancelled assignment", body = AssignmentView))
)]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<Json<AssignmentView>> {
    let actor = who.actor();
    who.dispatcher()?;
    bounds::text("reason", &req.reason, bounds::REASON_CHARS)?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { cancel_tx(tx, &st, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

/// The version of `trade`'s playbook in force (the company's newest, or the
/// shipped one): what an order's lines are checked against.
async fn current_playbook(
    state: &AppState,
    trade: &str,
) -> ApiResult<Option<doorstep_core::Playbook>> {
    let shelf = state.playbooks.clone();
    let trade = trade.to_string();
    Ok(state
        .db
        .read(move |tx| Box::pin(async move { shelf.current(tx, &trade).await }))
        .await?)
}
