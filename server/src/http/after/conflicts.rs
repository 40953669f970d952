//! Conflicts waiting for a dispatcher: `/api/conflicts` and
//! `/api/visits/{id}/resolve`.

use crate::app::AppState;
use crate::domain::bounds;
use crate::domain::conflicts::{resolve_tx, ResolveRequest};
use crate::failure::Fallible;
use crate::http::after::display::LabelledVisit;
use crate::http::auth::Auth;
use crate::http::error::{ApiJson, ApiResult};
use crate::store::{technicians, visits};
use axum::extract::{Path, State};
use axum::Json;

#[utoipa::path(
    get, path = "/api/conflicts", tag = "after", security(("session" = [])),
    responses((status = 200, description = "Visits whose conflict waits for a dispatcher", body = Vec<LabelledVisit>))
)]
pub async fn conflicts(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<LabelledVisit>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let rows = visits::open_conflicts(tx).await?;
                Fallible::Ok((rows, technicians::names(tx).await?))
            })
        })
        .await?;
    let (rows, names) = rows;
    Ok(Json(
        rows.into_iter()
            .map(|r| LabelledVisit::named(r, &names))
            .collect(),
    ))
}

#[utoipa::path(
    post, path = "/api/visits/{id}/resolve", tag = "after", security(("session" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    request_body = ResolveRequest,
    responses((status = 200, description = "The visit, its conflict resolved", body = LabelledVisit))
)]
pub async fn resolve_conflict(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> ApiResult<Json<LabelledVisit>> {
    let actor = who.actor();
    who.dispatcher()?;
    bounds::opt_text("note", req.note.as_deref(), bounds::REASON_CHARS)?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let v = resolve_tx(tx, &st, &id, &req, &actor).await?;
                let name = technicians::name(tx, &v.technician_id).await?;
                Fallible::Ok(LabelledVisit {
                    technician_name: name,
                    ..LabelledVisit::from(v)
                })
            })
        })
        .await?;
    Ok(Json(v))
}
