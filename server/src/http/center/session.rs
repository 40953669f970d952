//! Staff sessions: `/api/login`, `/api/logout`, `/api/me`.

use crate::app::AppState;
use crate::auth::{self, Role};
use crate::http::auth::{bearer_token, Auth};
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::store::{sessions, users};
use crate::time::{from_ms, now_ms};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let username = req.username.clone();
    let stored = state
        .db
        .tx(move |tx| Box::pin(async move { users::credentials(tx, &username).await }))
        .await?;
    let refused = || ApiError::unauthorized("wrong username or password");
    let creds = stored.ok_or_else(refused)?;
    let (phc, role) = (creds.password_hash, creds.role);
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(refused());
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
