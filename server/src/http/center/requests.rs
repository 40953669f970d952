//! The requests queue: `GET /api/requests` (what technicians asked of the
//! center and the open conflicts, with counts per kind) and
//! `POST /api/requests/{event_id}/handle`.

use crate::app::AppState;
use crate::domain::desk_requests::{self, Queue};
use crate::http::auth::Auth;
use crate::http::error::{ApiJson, ApiResult};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

#[utoipa::path(
    get, path = "/api/requests", tag = "center", security(("session" = [])),
    responses((status = 200, description = "What technicians asked of the center and the open conflicts, with counts per kind", body = Queue))
)]
pub async fn requests_queue(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Queue>> {
    who.dispatcher()?;
    let out = state
        .db
        .read(move |tx| Box::pin(async move { desk_requests::queue(tx).await }))
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct HandleRequest {
    /// What the desk did or told the technician (kept with the mark).
    pub answer: Option<String>,
}

#[utoipa::path(
    post, path = "/api/requests/{event_id}/handle", tag = "center", security(("session" = [])),
    params(("event_id" = String, Path, description = "The request's event id")),
    request_body = HandleRequest,
    responses((status = 204, description = "The request is marked handled"))
)]
pub async fn handle_request(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(event_id): Path<String>,
    ApiJson(req): ApiJson<HandleRequest>,
) -> ApiResult<StatusCode> {
    who.dispatcher()?;
    let actor = who.actor();
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                desk_requests::handle(tx, &event_id, &actor, now_ms(), req.answer.as_deref()).await
            })
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
