//! The 1-hour rule's reminders: `/api/reminders`.

use crate::app::AppState;
use crate::domain::reminders::{overdue, Reminder};
use crate::http::auth::Auth;
use crate::http::error::ApiResult;
use axum::extract::State;
use axum::Json;
use chrono::Utc;

#[utoipa::path(
    get, path = "/api/reminders", tag = "center", security(("session" = [])),
    responses((status = 200, description = "Overdue assignments (1-hour rule)", body = Vec<Reminder>))
)]
pub async fn reminders(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<Reminder>>> {
    who.dispatcher()?;
    let now = Utc::now();
    let out = state
        .db
        .read(move |tx| Box::pin(async move { overdue(tx, now).await }))
        .await?;
    Ok(Json(out))
}
