//! A work order's history and the desk's look-ups:
//! `/api/assignments/{id}/history`, `/api/search`, `/api/customers/history`
//! and `/api/intakes/repeat-check` (the intake's repeat warning).

use crate::app::AppState;
use crate::domain::order_history::{self, Found, OrderHistoryEntry, RepeatWarning};
use crate::failure::{Failure, Fallible};
use crate::http::after::display::LabelledVisit;
use crate::http::auth::Auth;
use crate::http::center::assignments::ListedAssignment;
use crate::http::contact_views::{purpose, record_contact_views};
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::store::{assignments, order_lookup, technicians};
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An assignment found, with its visits and their stage and outcome labels.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FoundView {
    #[serde(flatten)]
    pub assignment: ListedAssignment,
    pub visits: Vec<LabelledVisit>,
}

/// The orders an answer shows with their full contact (the access log's).
fn shown(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .map(|f| f.assignment.assignment.id.to_string())
        .collect()
}

/// The assignments found with their labels and technicians' names (id → name).
fn labelled(found: Vec<Found>, names: &BTreeMap<String, String>) -> Vec<FoundView> {
    found
        .into_iter()
        .map(|f| FoundView {
            assignment: ListedAssignment::named(f.assignment, names),
            visits: f
                .visits
                .into_iter()
                .map(|v| LabelledVisit::named(v, names))
                .collect(),
        })
        .collect()
}

/// Who changed what and when, one entry per version, oldest first.
#[utoipa::path(
    get, path = "/api/assignments/{id}/history", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "Who changed what and when, one entry per version, oldest first", body = Vec<OrderHistoryEntry>))
)]
pub async fn assignment_history(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<OrderHistoryEntry>>> {
    who.dispatcher()?;
    let out = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if !assignments::exists(tx, &id).await? {
                    return Err(Failure::not_found("assignment", &id));
                }
                order_history::history(tx, &id).await
            })
        })
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    pub q: String,
    pub limit: Option<usize>,
}

/// Assignments whose id, customer name, address or phone contains `q`.
#[utoipa::path(
    get, path = "/api/search", tag = "center", security(("session" = [])),
    params(("q" = String, Query, description = "Part of a phone number, customer name, address or work-order id"),
           ("limit" = Option<usize>, Query, description = "At most this many (1-200, default 50)")),
    responses((status = 200, description = "The assignments found, with their visits", body = Vec<FoundView>))
)]
pub async fn search(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<FoundView>>> {
    who.dispatcher()?;
    let q = query.q.trim().to_string();
    if q.is_empty() {
        return Err(ApiError::field(
            "q",
            "empty: type part of a phone number, name, address or work-order id",
        )
        .zh("搜索内容为空：请输入电话、姓名、地址或工单号的一部分。"));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let out = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let found = order_history::search(tx, &q, limit).await?;
                Fallible::Ok((found, technicians::names(tx).await?))
            })
        })
        .await?;
    record_contact_views(&state, &who, shown(&out.0), purpose::SEARCH).await?;
    Ok(Json(labelled(out.0, &out.1)))
}

#[derive(Deserialize)]
pub struct PhoneQuery {
    pub phone: String,
    pub model: Option<String>,
}

fn require_phone(phone: &str) -> ApiResult<()> {
    if order_lookup::phone_digits(phone).len() < order_lookup::PHONE_SEARCH_MIN_DIGITS {
        return Err(ApiError::field(
            "phone",
            "give the customer's phone number (at least four digits)",
        )
        .zh("电话：请填写客户电话（至少四位数字）。"));
    }
    Ok(())
}

/// The assignments of the customer with this phone (newest first, at most
/// 500), with their visits.
#[utoipa::path(
    get, path = "/api/customers/history", tag = "center", security(("session" = [])),
    params(("phone" = String, Query, description = "The customer's phone number (at least four digits)"),
           ("model" = Option<String>, Query, description = "Not used here (the repeat check's product model)")),
    responses((status = 200, description = "The assignments of the customer with this phone, newest first (at most 500), with their visits", body = Vec<FoundView>))
)]
pub async fn customer_history(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<PhoneQuery>,
) -> ApiResult<Json<Vec<FoundView>>> {
    who.dispatcher()?;
    require_phone(&q.phone)?;
    let out = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let found = order_history::customer_history(tx, &q.phone).await?;
                Fallible::Ok((found, technicians::names(tx).await?))
            })
        })
        .await?;
    record_contact_views(&state, &who, shown(&out.0), purpose::CUSTOMER_HISTORY).await?;
    Ok(Json(labelled(out.0, &out.1)))
}

/// The caller's assignments of the last 30 days, and those for the same
/// product model (a repeat repair).
#[utoipa::path(
    get, path = "/api/intakes/repeat-check", tag = "center", security(("session" = [])),
    params(("phone" = String, Query, description = "The caller's phone number (at least four digits)"),
           ("model" = Option<String>, Query, description = "The product model (a repeat repair)")),
    responses((status = 200, description = "The caller's assignments of the last 30 days, and those for the same model", body = RepeatWarning))
)]
pub async fn repeat_check(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<PhoneQuery>,
) -> ApiResult<Json<RepeatWarning>> {
    who.dispatcher()?;
    require_phone(&q.phone)?;
    let now = Utc::now();
    let out = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                order_history::repeat_warning(tx, &q.phone, q.model.as_deref(), now).await
            })
        })
        .await?;
    Ok(Json(out))
}
