//! Visits as the center sees them: `/api/visits`, `/api/visits/{id}`. A
//! technician device may read only its own.

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::projection;
use crate::domain::qr_payments::QrPaymentView;
use crate::failure::Fallible;
use crate::http::after::display::{history, LabelledVisit, VisitDisplay, VisitHistoryEntry};
use crate::http::auth::Auth;
use crate::http::contact_views::{purpose, record_contact_view};
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::store::{technicians, visits};
use axum::extract::{Path, State};
use axum::Json;
use doorstep_core::VisitState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
pub struct VisitQuery {
    pub assignment_id: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/visits", tag = "after", security(("session" = []), ("device" = [])),
    params(("assignment_id" = Option<String>, Query, description = "Only this assignment's visits"),
           ("limit" = Option<i64>, Query, description = "At most this many (1-2000, default 500)")),
    responses((status = 200, description = "Visits (a device: only its technician's)", body = Vec<LabelledVisit>))
)]
pub async fn list_visits(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<VisitQuery>,
) -> ApiResult<Json<Vec<LabelledVisit>>> {
    let technician = who.technician().map(str::to_string);
    let limit = q.limit.unwrap_or(500).clamp(1, 2000);
    let (rows, names) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let rows = visits::list_visits(tx, technician, q.assignment_id, limit).await?;
                Fallible::Ok((rows, technicians::names(tx).await?))
            })
        })
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| LabelledVisit::named(r, &names))
            .collect(),
    ))
}

#[utoipa::path(
    get, path = "/api/visits/{id}", tag = "after", security(("session" = []), ("device" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    responses((status = 200, description = "The visit with its state and history", body = VisitDetail))
)]
pub async fn get_visit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<VisitDetail>> {
    let key = id.clone();
    let shelf = state.playbooks.clone();
    let (row, state_text, events, name, qr, walked) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let Some((row, state_text)) = visits::load_visit_with_state(tx, &key).await? else {
                    return Ok(None);
                };
                // The playbooks, holding the version the visit walks (its fee names).
                let walked = match serde_json::from_str::<VisitState>(&state_text) {
                    Ok(VisitState {
                        assignment: Some(a),
                        playbook_version,
                        ..
                    }) => Some((
                        shelf
                            .holding(tx, a.trade.as_str(), playbook_version)
                            .await?,
                        a.trade.as_str().to_string(),
                        playbook_version,
                    )),
                    _ => None,
                };
                let events = projection::events_of(tx, &key).await?;
                let name = technicians::name(tx, &row.technician_id).await?;
                let qr: Vec<_> = crate::store::qr_payments::of_visit(tx, &key)
                    .await?
                    .iter()
                    .map(crate::domain::qr_payments::view_of)
                    .collect();
                Fallible::Ok(Some((row, state_text, events, name, qr, walked)))
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("visit", &id))?;
    require_own_visit(&who, &id, &row.technician_id)?;
    record_contact_view(&state, &who, &row.assignment_id, purpose::VISIT_DETAIL).await?;
    let state_json: Value = serde_json::from_str(&state_text).unwrap_or(Value::Null);
    let display = serde_json::from_value(state_json.clone()).ok().map(|s| {
        let playbook = walked
            .as_ref()
            .and_then(|(catalog, trade, version)| catalog.get(trade, *version));
        VisitDisplay::of(&s, playbook)
    });
    Ok(Json(VisitDetail {
        visit: LabelledVisit {
            technician_name: name,
            ..LabelledVisit::from(row)
        },
        state: state_json,
        display,
        history: history(&events),
        qr_payments: qr,
    }))
}

/// `GET /api/visits/{id}`: the visit's row, its state as the core keeps it,
/// its display labels and its history.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VisitDetail {
    /// The visit's row and labels, as one item of `GET /api/visits`.
    pub visit: LabelledVisit,
    /// The core's `VisitState` (core/src/workflow/state.rs): the visit as
    /// its facts replay.
    #[schema(value_type = doorstep_core::VisitState)]
    pub state: Value,
    /// The labels and amounts as the core formats them (null when the state
    /// could not be read).
    pub display: Option<VisitDisplay>,
    /// The visit's facts, oldest first, each with its label.
    pub history: Vec<VisitHistoryEntry>,
    /// The visit's QR payment orders (as `GET /api/assignments/{id}/qr-payments`
    /// lists them), with who confirmed each paid one.
    pub qr_payments: Vec<QrPaymentView>,
}

/// A technician's device reads only its own visits; the center reads all.
pub(super) fn require_own_visit(who: &Principal, id: &str, owner: &str) -> ApiResult<()> {
    match who.technician() {
        Some(me) if me != owner => Err(ApiError::forbidden(format!(
            "visit {id} is not one of technician {me}'s visits"
        ))),
        _ => Ok(()),
    }
}
