//! KPIs: `/api/kpis?from=&to=&by=day|technician|trade`.

use crate::app::AppState;
use crate::domain::kpis::kpis_between;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::model::KpiGrouping;
use crate::time::now_ms;
use axum::extract::State;
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct KpiQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `day` (default), `technician` or `trade`.
    pub by: Option<String>,
}

#[utoipa::path(
    get, path = "/api/kpis", tag = "after", security(("session" = [])),
    params(("from" = Option<NaiveDate>, Query, description = "First day (default: six days before `to`)"),
           ("to" = Option<NaiveDate>, Query, description = "Last day (default: today)"),
           ("by" = Option<String>, Query, description = "day (default), technician or trade")),
    responses((status = 200, description = "The KPIs by group", body = crate::api_schema::KpiReport))
)]
pub async fn kpis(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<KpiQuery>,
) -> ApiResult<Json<Value>> {
    who.dispatcher()?;
    let by: KpiGrouping = match q.by.as_deref() {
        None => KpiGrouping::Day,
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::field("by", "expected day, technician or trade"))?,
    };
    let to = q.to.unwrap_or_else(|| state.zone.date_of(Utc::now()));
    let from = q.from.unwrap_or(to - Duration::days(6));
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    let now = now_ms();
    let zone = state.zone.clone();
    let groups = state
        .db
        .read(move |tx| Box::pin(async move { kpis_between(tx, from, to, by, now, &zone).await }))
        .await?;
    Ok(Json(json!({
        "from": from, "to": to, "by": by,
        "groups": groups,
    })))
}
