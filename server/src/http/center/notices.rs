//! Customer notices and the outbox at the desk: a work order's notice
//! consent (`PUT /api/assignments/{id}/notice-consent`), everything sent
//! about it with its delivery state and its e-fapiao requests (`GET
//! /api/assignments/{id}/outbound`),
//! the outbox by state — dead letters first among them — (`GET
//! /api/outbox`), a dead letter retried (`POST /api/outbox/{id}/retry`) and
//! the outbox depth (`GET /api/outbox/depth`).

use crate::app::AppState;
use crate::domain::notices::{check_consent, lang_tag, NoticeConsentRequest};
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::store::assignments;
use crate::store::integrations::{self, IntegrationEvent};
use crate::store::notices::{self, ConsentRecord};
use crate::store::outbox::{self, OutboxMessage, OutboxState};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Records (or withdraws) a work order's notice consent.
#[utoipa::path(
    put, path = "/api/assignments/{id}/notice-consent", tag = "outbox", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    request_body = NoticeConsentRequest,
    responses((status = 200, description = "The consent as recorded", body = ConsentRecord))
)]
pub async fn put_notice_consent(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NoticeConsentRequest>,
) -> ApiResult<Json<ConsentRecord>> {
    let actor = who.dispatcher()?.to_string();
    let record = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let a = assignments::load_assignment(tx, &id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("assignment", &id))?;
                let phone = a.assignment.customer.phone.clone().unwrap_or_default();
                let checked = check_consent(&req, &phone)
                    .map_err(|p| ApiError::field_bilingual(p.field, p.en, p.zh))?;
                let record = ConsentRecord {
                    assignment_id: id,
                    consented: checked.consented,
                    channel: checked.channel,
                    address: checked.address,
                    language: lang_tag(checked.language).to_string(),
                    recorded_at: now_ms(),
                    recorded_by: actor,
                };
                notices::upsert_consent(tx, &record).await?;
                Ok::<_, ApiError>(record)
            })
        })
        .await?;
    Ok(Json(record))
}

/// What was sent about a work order.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outbound {
    pub assignment_id: String,
    /// The customer's notice consent, if one was recorded.
    pub consent: Option<ConsentRecord>,
    /// Customer notices, newest first, each with its delivery state.
    pub notices: Vec<OutboxMessage>,
    /// Webhooks sent about it, newest first.
    pub webhooks: Vec<OutboxMessage>,
    /// Its status changes and visit milestones as integrators see them.
    pub events: Vec<IntegrationEvent>,
    /// Its e-fapiao requests, newest first, each with its state.
    #[serde(default)]
    pub invoices: Vec<crate::store::invoices::InvoiceRecord>,
    /// Its acceptance code (验收码), when its trade asks for one: when it
    /// was issued and what the center found for a code a phone could not
    /// check. Never the code itself.
    #[serde(default)]
    pub acceptance_code: Option<AcceptanceCodeState>,
}

/// A work order's acceptance code as the desk sees it (never the code).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AcceptanceCodeState {
    /// Unix milliseconds.
    pub issued_at: i64,
    /// `accepted` or `wrong`: the center's check of a code a phone sent
    /// after five wrong ones, or `accepted` once a phone's check matched.
    pub center_result: Option<String>,
    /// Unix milliseconds.
    pub checked_at: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/assignments/{id}/outbound", tag = "outbox", security(("session" = [])),
    params(("id" = String, Path, description = "The assignment's id")),
    responses((status = 200, description = "Its consent, the notices and webhooks sent about it, its integration events and its e-fapiao requests", body = Outbound))
)]
pub async fn assignment_outbound(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Outbound>> {
    who.dispatcher()?;
    let out = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if !assignments::exists(tx, &id).await? {
                    return Err(ApiError::not_found("assignment", &id));
                }
                Ok(Outbound {
                    consent: notices::consent_of(tx, &id).await?,
                    notices: outbox::list(tx, None, Some("notice"), Some(&id), 500).await?,
                    webhooks: outbox::list(tx, None, Some("webhook"), Some(&id), 500).await?,
                    events: integrations::events_of_assignment(tx, &id).await?,
                    invoices: crate::store::invoices::of_assignment(tx, &id).await?,
                    acceptance_code: crate::store::acceptance_codes::of_assignment(tx, &id)
                        .await?
                        .map(|row| AcceptanceCodeState {
                            issued_at: row.issued_at,
                            center_result: row.center_result,
                            checked_at: row.checked_at,
                        }),
                    assignment_id: id,
                })
            })
        })
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// pending, sending, delivered or dead.
    pub state: Option<String>,
    /// notice, webhook, invoice or invoice_query.
    pub kind: Option<String>,
    /// At most this many (1-500, default 100).
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/outbox", tag = "outbox", security(("session" = [])),
    params(("state" = Option<String>, Query, description = "pending, sending, delivered or dead"),
           ("kind" = Option<String>, Query, description = "notice, webhook, invoice or invoice_query"),
           ("limit" = Option<i64>, Query, description = "At most this many (1-500, default 100)")),
    responses((status = 200, description = "Outbox messages (dead letters first)", body = Vec<OutboxMessage>))
)]
pub async fn list_outbox(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxMessage>>> {
    who.dispatcher()?;
    let wanted = match q.state.as_deref() {
        None => None,
        Some(s) => Some(OutboxState::parse(s).ok_or_else(|| {
            ApiError::field_bilingual(
                "state",
                format!("unknown outbox state {s:?}: expected pending, sending, delivered or dead"),
                format!("未知的发送状态“{s}”：应为 pending、sending、delivered 或 dead。"),
            )
        })?),
    };
    if let Some(k) = q
        .kind
        .as_deref()
        .filter(|k| !["notice", "webhook", "invoice", "invoice_query"].contains(k))
    {
        return Err(ApiError::field_bilingual(
            "kind",
            format!("unknown kind {k:?}: expected notice, webhook, invoice or invoice_query"),
            format!("未知的类型“{k}”：应为 notice（客户通知）、webhook、invoice（开票请求）或 invoice_query（开票结果查询）。"),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::field_bilingual(
            "limit",
            "expected a whole number from 1 to 500",
            "应为 1 到 500 之间的整数。",
        ));
    }
    let rows = state
        .db
        .read(move |tx| {
            Box::pin(async move { outbox::list(tx, wanted, q.kind.as_deref(), None, limit).await })
        })
        .await?;
    Ok(Json(rows))
}

/// Puts a dead letter back in line for delivery now.
#[utoipa::path(
    post, path = "/api/outbox/{id}/retry", tag = "outbox", security(("session" = [])),
    params(("id" = String, Path, description = "The outbox message's id")),
    responses((status = 200, description = "The dead letter, back in line for delivery now", body = OutboxMessage))
)]
pub async fn retry_outbox(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<OutboxMessage>> {
    let actor = who.dispatcher()?.to_string();
    let message = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                match outbox::retry_dead(tx, &id, now_ms()).await? {
                    None => Err(ApiError::not_found("outbox message", &id)),
                    Some(false) => Err(ApiError::conflict(
                        "not_dead",
                        "only a dead letter can be retried; this message is still being delivered or was delivered",
                    )
                    .zh("只有投递失败（dead）的消息可以重试；这条消息仍在投递中或已送达。")),
                    Some(true) => {
                        let m = outbox::load(tx, &id)
                            .await?
                            .ok_or_else(|| ApiError::not_found("outbox message", &id))?;
                        // A dead invoice message retried: its request is queued again.
                        crate::domain::invoices::dead_letter_retried(tx, &m, now_ms()).await?;
                        Ok(m)
                    }
                }
            })
        })
        .await?;
    tracing::info!(id = %message.id, actor = %actor, "dead letter retried");
    Ok(Json(message))
}

/// The outbox depth: messages per state.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Depth {
    pub pending: i64,
    pub sending: i64,
    pub delivered: i64,
    pub dead: i64,
}

#[utoipa::path(
    get, path = "/api/outbox/depth", tag = "outbox", security(("session" = [])),
    responses((status = 200, description = "Messages per state", body = Depth))
)]
pub async fn outbox_depth(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Depth>> {
    who.dispatcher()?;
    let counts = crate::outbox::depth(&state).await?;
    let of = |s: OutboxState| counts.iter().find(|c| c.0 == s).map_or(0, |c| c.1);
    Ok(Json(Depth {
        pending: of(OutboxState::Pending),
        sending: of(OutboxState::Sending),
        delivered: of(OutboxState::Delivered),
        dead: of(OutboxState::Dead),
    }))
}
