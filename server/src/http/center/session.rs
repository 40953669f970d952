//! Staff sessions: `/api/login`, `/api/logout`, `/api/me`.

use crate::app::AppState;
use crate::auth::{self, Role};
use crate::http::auth::{bearer_token, Auth, SourceAddress};
use crate::http::edge::overloaded;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::store::{sessions, users};
use crate::time::{from_ms, now_ms};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// Longest accepted password, in bytes (argon2 hashes whatever it is sent).
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest accepted username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;

/// 429 with the wait in `Retry-After`.
fn too_many_attempts(wait_s: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many login attempts: try again in {wait_s} s"),
    )
    .zh(format!("登录尝试过于频繁：请 {wait_s} 秒后再试。"))
    .retry_after(wait_s)
}

/// Logs a staff member in: bounded input, the rate limits (per account and
/// per source address), then one password verification on the capped
/// hashing pool — against a dummy hash when the user is unknown, so both
/// cost the same.
#[utoipa::path(
    post, path = "/api/login", tag = "session", security(()),
    request_body = LoginRequest,
    responses((status = 200, description = "A session token", body = LoginResponse))
)]
pub async fn login(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    if req.username.chars().count() > MAX_USERNAME_CHARS {
        return Err(ApiError::field_bilingual(
            "username",
            format!("at most {MAX_USERNAME_CHARS} characters"),
            format!("最多 {MAX_USERNAME_CHARS} 个字符。"),
        ));
    }
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::field_bilingual(
            "password",
            format!("at most {MAX_PASSWORD_BYTES} bytes"),
            format!("最多 {MAX_PASSWORD_BYTES} 字节。"),
        ));
    }
    let guard = state.guard.clone();
    guard
        .logins
        .admit(&req.username, &address, Instant::now())
        .map_err(too_many_attempts)?;
    let username = req.username.clone();
    let stored = state
        .db
        .tx(move |tx| Box::pin(async move { users::credentials(tx, &username).await }))
        .await?;
    let refused = || ApiError::unauthorized("wrong username or password").zh("用户名或密码错误。");
    let (phc, role, disabled) = match stored {
        Some(c) => (Some(c.password_hash), Some(c.role), c.disabled),
        None => (None, None, false),
    };
    let ok = guard
        .passwords
        .verify(req.password, phc)
        .await
        .map_err(|_| {
            guard.logins.per_account.give_back(&req.username);
            guard.logins.per_address.give_back(&address);
            overloaded()
        })?;
    let role = match role {
        Some(role) if ok => role,
        _ => return Err(refused()),
    };
    guard.logins.per_account.give_back(&req.username);
    if disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "this account is disabled: ask an admin to enable it",
        )
        .zh("该账号已停用：请联系管理员启用。"));
    }
    let token = auth::new_token("s");
    let now = now_ms();
    let expires = now + state.config.session_hours * 3_600_000;
    let (hash, username) = (auth::token_hash(&token), req.username.clone());
    state
        .db
        .tx(move |tx| {
            Box::pin(
                async move { sessions::open_session(tx, &hash, &username, now, expires).await },
            )
        })
        .await?;
    tracing::info!(user = %req.username, "login");
    Ok(Json(LoginResponse {
        token,
        username: req.username,
        role,
        expires_at: from_ms(expires),
    }))
}

#[utoipa::path(
    post, path = "/api/logout", tag = "session", security(("session" = [])),
    responses((status = 204, description = "The session ended"))
)]
pub async fn logout(
    State(state): State<AppState>,
    Auth(_who): Auth,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let hash = auth::token_hash(bearer_token(&headers).unwrap_or_default());
    state
        .db
        .tx(move |tx| Box::pin(async move { sessions::close_session(tx, &hash).await }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who is calling, and the business time zone the console shows times in.
#[utoipa::path(
    get, path = "/api/me", tag = "session", security(("session" = []), ("device" = [])),
    responses((status = 200, description = "Who is calling", body = crate::api_schema::Me))
)]
pub async fn me(State(state): State<AppState>, Auth(who): Auth) -> Json<serde_json::Value> {
    let mut v = serde_json::to_value(&who).unwrap_or_default();
    if let Some(fields) = v.as_object_mut() {
        fields.insert(
            "business_time_zone".into(),
            state.config.business_time_zone.clone().into(),
        );
    }
    Json(v)
}
