//! Facts the server refused for good, for dispatchers:
//! `GET /api/refused-events?assignment_id=&limit=` — newest first, each with
//! its stable code, the code's label in both languages and the reason — and
//! `POST /api/refused-events/{device}/{seq}/review`, which takes one off the
//! requests queue once a dispatcher has looked at it.

use crate::app::AppState;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiQuery, ApiResult};
use crate::store::events::{refused_facts, review_refusal, RefusedFact};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use doorstep_core::protocol::RefusalCode;
use doorstep_core::Text;
use serde::{Deserialize, Serialize};

/// Most refused facts one request lists.
pub const MAX_LIMIT: u32 = 500;

#[derive(Deserialize)]
pub struct RefusedQuery {
    /// Only this assignment's refused facts.
    pub assignment_id: Option<String>,
    /// How many, newest first (default 100, at most 500).
    pub limit: Option<u32>,
}

/// A refused fact with its code's label.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct LabelledRefusal {
    #[serde(flatten)]
    pub fact: RefusedFact,
    pub label: Text,
}

#[utoipa::path(
    get, path = "/api/refused-events", tag = "after", security(("session" = [])),
    params(("assignment_id" = Option<String>, Query, description = "Only this assignment's refused facts"),
           ("limit" = Option<u32>, Query, description = "How many, newest first (1-500, default 100)")),
    responses((status = 200, description = "Facts the server refused for good, with their codes' labels", body = Vec<LabelledRefusal>))
)]
pub async fn refused_events(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<RefusedQuery>,
) -> ApiResult<Json<Vec<LabelledRefusal>>> {
    who.dispatcher()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field_bilingual(
            "limit",
            format!("is {limit}; expected a whole number from 1 to {MAX_LIMIT}"),
            format!("为 {limit}，应为 1 到 {MAX_LIMIT} 之间的整数。"),
        ));
    }
    let assignment = q.assignment_id;
    let rows = state
        .db
        .read(move |tx| {
            Box::pin(async move { refused_facts(tx, assignment.as_deref(), limit).await })
        })
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|fact| {
                let code: RefusalCode =
                    serde_json::from_value(serde_json::Value::String(fact.code.clone()))
                        .unwrap_or(RefusalCode::Unrecognised);
                LabelledRefusal {
                    label: code.label(),
                    fact,
                }
            })
            .collect(),
    ))
}

/// `POST /api/refused-events/{device}/{seq}/review`: a dispatcher has looked
/// at the refused fact (and called the technician, or corrected the order);
/// it leaves the requests queue.
#[utoipa::path(
    post, path = "/api/refused-events/{device}/{seq}/review", tag = "after", security(("session" = [])),
    params(("device" = String, Path, description = "The phone's device id"),
           ("seq" = i64, Path, description = "The fact's sequence number on that phone")),
    responses((status = 204, description = "Reviewed: off the requests queue"),
              (status = 404, description = "No such refused fact"),
              (status = 409, description = "Reviewed already (`already_recorded`)"))
)]
pub async fn review_refused_event(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path((device, seq)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    who.dispatcher()?;
    let actor = who.actor();
    let key = device.clone();
    let reviewed = state
        .db
        .tx(move |tx| {
            Box::pin(async move { review_refusal(tx, &key, seq, &actor, now_ms()).await })
        })
        .await?;
    match reviewed {
        Some(true) => Ok(StatusCode::NO_CONTENT),
        Some(false) => Err(ApiError::conflict(
            "already_recorded",
            format!("the refused fact {device}/{seq} is already reviewed"),
        )
        .zh(format!("被拒记录 {device}/{seq} 已经处理过。"))),
        None => Err(ApiError::not_found(
            "refused fact",
            &format!("{device}/{seq}"),
        )),
    }
}
