//! Daily reconciliation: `/api/reconciliation?date=YYYY-MM-DD`.

use crate::app::AppState;
use crate::domain::reconciliation::{reconcile_day, Reconciliation};
use crate::http::auth::Auth;
use crate::http::error::{ApiQuery, ApiResult};
use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DayQuery {
    /// `YYYY-MM-DD`, a day of the business time zone (default: today there).
    pub date: Option<NaiveDate>,
}

#[utoipa::path(
    get, path = "/api/reconciliation", tag = "after", security(("session" = [])),
    params(("date" = Option<NaiveDate>, Query, description = "A day of the business time zone (default: today there)")),
    responses((status = 200, description = "The day's closed visits and findings", body = Reconciliation))
)]
pub async fn reconciliation(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> ApiResult<Json<Reconciliation>> {
    who.dispatcher()?;
    let date = q.date.unwrap_or_else(|| state.zone.date_of(Utc::now()));
    let far = state.config.signoff_far_m;
    let zone = state.zone.clone();
    let report = state
        .db
        .read(move |tx| Box::pin(async move { reconcile_day(tx, date, far, &zone).await }))
        .await?;
    Ok(Json(report))
}
