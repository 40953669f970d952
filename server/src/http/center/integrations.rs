//! Integrators: API keys (`/api/api-keys`: create — the key shown once —,
//! list, revoke), webhook endpoints (`/api/webhooks`: create — the signing
//! secret shown once —, list, disable), both for admins, and the polling
//! event feed (`GET /api/feed?after=<seq>`), authenticated by an API key
//! with the `feed:read` scope.

use crate::app::AppState;
use crate::auth::{new_token, token_hash};
use crate::domain::outbox::EVENT_TYPES;
use crate::domain::webhooks::{endpoint_secret, event_body, valid_endpoint_url, SCOPES};
use crate::http::auth::{bearer_token, Auth};
use crate::http::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::store::integrations::{self, ApiKeyRecord, WebhookEndpoint};
use crate::time::now_ms;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// Who the key is for (1-100 characters).
    pub name: String,
    /// Default: every scope (`feed:read`).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    /// Shown once; only its SHA-256 is stored.
    pub key: String,
    #[serde(flatten)]
    pub record: ApiKeyRecord,
}

#[utoipa::path(
    post, path = "/api/api-keys", tag = "admin", security(("session" = [])),
    request_body = NewApiKey,
    responses((status = 201, description = "The key (shown once) and its record (admins only)", body = CreatedApiKey))
)]
pub async fn create_api_key(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewApiKey>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let actor = who.admin()?.to_string();
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field_bilingual(
            "name",
            "name the integrator the key is for, 1 to 100 characters",
            "请填写密钥的使用方名称，1 到 100 个字符。",
        ));
    }
    let scopes = req
        .scopes
        .unwrap_or_else(|| SCOPES.map(String::from).to_vec());
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::field_bilingual(
            "scopes",
            format!(
                "expected a non-empty list of scopes among: {}",
                SCOPES.join(", ")
            ),
            format!("应为非空的权限列表，可选：{}。", SCOPES.join("、")),
        ));
    }
    let key = new_token("dsk");
    let record = ApiKeyRecord {
        id: format!("K-{}", uuid::Uuid::now_v7().simple()),
        name,
        scopes,
        created_by: actor,
        created_at: now_ms(),
        revoked_at: None,
        last_used_at: None,
    };
    let (r, hash) = (record.clone(), token_hash(&key));
    state
        .db
        .tx(move |tx| Box::pin(async move { integrations::insert_api_key(tx, &r, &hash).await }))
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key, record })))
}

#[utoipa::path(
    get, path = "/api/api-keys", tag = "admin", security(("session" = [])),
    responses((status = 200, description = "Every API key, revoked ones included (admins only)", body = Vec<ApiKeyRecord>))
)]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<ApiKeyRecord>>> {
    who.admin()?;
    let keys = state
        .db
        .tx(|tx| Box::pin(async move { integrations::list_api_keys(tx).await }))
        .await?;
    Ok(Json(keys))
}

/// Revokes a key: it is refused from then on.
#[utoipa::path(
    post, path = "/api/api-keys/{id}/revoke", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "The API key's id")),
    responses((status = 204, description = "The key is revoked (admins only)"))
)]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.admin()?;
    let found = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                if integrations::revoke_api_key(tx, &id, now_ms()).await? {
                    Ok(())
                } else {
                    Err(ApiError::not_found("API key", &id))
                }
            })
        })
        .await;
    found.map(|()| StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST (http or https).
    pub url: String,
    /// Default: every event type.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    /// The signing secret (`Doorstep-Signature`); shown once, derived from
    /// the server's webhook key and never stored.
    pub secret: String,
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
}

#[utoipa::path(
    post, path = "/api/webhooks", tag = "admin", security(("session" = [])),
    request_body = NewWebhook,
    responses((status = 201, description = "The endpoint and its signing secret (shown once; admins only)", body = CreatedWebhook))
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewWebhook>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    let actor = who.admin()?.to_string();
    let Some(key) = state.providers.webhook_signing_key.clone() else {
        return Err(ApiError::conflict(
            "webhooks_not_configured",
            "webhooks need a signing key: start the server with DOORSTEP_WEBHOOK_SIGNING_KEY set",
        )
        .zh("Webhook 需要签名密钥：请在启动服务器时设置 DOORSTEP_WEBHOOK_SIGNING_KEY。"));
    };
    let url = req.url.trim().to_string();
    if !valid_endpoint_url(&url) {
        return Err(ApiError::field_bilingual(
            "url",
            "expected an http:// or https:// URL with a host and no credentials, at most 2000 characters",
            "应为带主机名、不含账号密码的 http:// 或 https:// 地址，最长 2000 个字符。",
        ));
    }
    let types = req
        .event_types
        .unwrap_or_else(|| EVENT_TYPES.map(String::from).to_vec());
    if types.is_empty() || types.iter().any(|t| !EVENT_TYPES.contains(&t.as_str())) {
        return Err(ApiError::field_bilingual(
            "event_types",
            format!(
                "expected a non-empty list among: {}",
                EVENT_TYPES.join(", ")
            ),
            format!("应为非空的事件类型列表，可选：{}。", EVENT_TYPES.join("、")),
        ));
    }
    let endpoint = WebhookEndpoint {
        id: format!("W-{}", uuid::Uuid::now_v7().simple()),
        url,
        event_types: types,
        created_by: actor,
        created_at: now_ms(),
        disabled_at: None,
    };
    let e = endpoint.clone();
    state
        .db
        .tx(move |tx| Box::pin(async move { integrations::insert_endpoint(tx, &e).await }))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhook {
            secret: endpoint_secret(&key, &endpoint.id),
            endpoint,
        }),
    ))
}

#[utoipa::path(
    get, path = "/api/webhooks", tag = "admin", security(("session" = [])),
    responses((status = 200, description = "Every webhook endpoint (admins only)", body = Vec<WebhookEndpoint>))
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<WebhookEndpoint>>> {
    who.admin()?;
    let rows = state
        .db
        .tx(|tx| Box::pin(async move { integrations::list_endpoints(tx).await }))
        .await?;
    Ok(Json(rows))
}

/// Stops an endpoint receiving new events (messages already in the outbox
/// are still delivered).
#[utoipa::path(
    post, path = "/api/webhooks/{id}/disable", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "The webhook endpoint's id")),
    responses((status = 200, description = "The disabled endpoint (admins only)", body = WebhookEndpoint))
)]
pub async fn disable_webhook(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    who.admin()?;
    let endpoint = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                integrations::disable_endpoint(tx, &id, now_ms()).await?;
                integrations::load_endpoint(tx, &id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("webhook endpoint", &id))
            })
        })
        .await?;
    Ok(Json(endpoint))
}

/// The caller of the feed: a live API key.
pub struct ApiKeyCaller(pub ApiKeyRecord);

impl FromRequestParts<AppState> for ApiKeyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let refuse = || {
            ApiError::unauthorized(
                "send an integrator's API key as `Authorization: Bearer <key>`; this one is missing, unknown or revoked",
            )
            .zh("请以 `Authorization: Bearer <密钥>` 发送集成方 API 密钥；该密钥缺失、未知或已被吊销。")
        };
        let key = bearer_token(&parts.headers)
            .filter(|k| !k.is_empty())
            .ok_or_else(refuse)?;
        let hash = token_hash(key);
        let now = now_ms();
        state
            .db
            .tx(move |tx| Box::pin(async move { integrations::live_api_key(tx, &hash, now).await }))
            .await?
            .map(ApiKeyCaller)
            .ok_or_else(refuse)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The last `seq` already read (0 for the start).
    pub after: Option<i64>,
    /// At most this many events (1-500, default 100).
    pub limit: Option<i64>,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeedPage {
    #[schema(value_type = Vec<crate::api_schema::FeedEvent>)]
    pub events: Vec<Value>,
    /// The cursor for the next page: `after` of the next call.
    pub next_after: i64,
}

/// One page of the event feed after a cursor.
#[utoipa::path(
    get, path = "/api/feed", tag = "integrations", security(("api_key" = [])),
    params(("after" = Option<i64>, Query, description = "The last seq already read (default 0, the start)"),
           ("limit" = Option<i64>, Query, description = "At most this many events (1-500, default 100)")),
    responses((status = 200, description = "The next page of events (the key needs the feed:read scope)", body = FeedPage))
)]
pub async fn feed(
    State(state): State<AppState>,
    ApiKeyCaller(key): ApiKeyCaller,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> ApiResult<Json<FeedPage>> {
    if !key.scopes.iter().any(|s| s == "feed:read") {
        return Err(
            ApiError::forbidden("this API key lacks the feed:read scope")
                .zh("该 API 密钥没有 feed:read 权限。"),
        );
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::field_bilingual(
            "after",
            "expected the last seq read, 0 or more",
            "应为已读取的最后一个 seq，不小于 0。",
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
    let events = state
        .db
        .tx(move |tx| Box::pin(async move { integrations::feed_page(tx, after, limit).await }))
        .await?;
    let next_after = events.last().and_then(|e| e.feed_seq).unwrap_or(after);
    Ok(Json(FeedPage {
        events: events.iter().map(event_body).collect(),
        next_after,
    }))
}
