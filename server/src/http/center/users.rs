//! Staff accounts (admins only): `/api/users` to create one,
//! `/api/users/{username}/disable` and `/enable`,
//! `/api/users/{username}/sessions/end` to log a user out everywhere, and
//! `/api/users/{username}/password` to set a new password for a user who
//! forgot theirs.

use crate::app::AppState;
use crate::domain::roster::check_new_user;
use crate::http::auth::Auth;
use crate::http::center::session::MAX_PASSWORD_BYTES;
use crate::http::edge::overloaded;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::model::Role;
use crate::store::users::insert_user;
use crate::store::{sessions, users, Tx};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

/// A new password an admin sets for an account.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPassword {
    pub password: String,
}

/// The password as accepted for an account: at least 8 characters, at most
/// `MAX_PASSWORD_BYTES` bytes.
fn check_password(username: &str, password: &str) -> ApiResult<()> {
    check_new_user(username, password)?;
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::field_bilingual(
            "password",
            format!("at most {MAX_PASSWORD_BYTES} bytes"),
            format!("最多 {MAX_PASSWORD_BYTES} 字节。"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

#[utoipa::path(
    post, path = "/api/users", tag = "center", security(("session" = [])),
    request_body = NewUser,
    responses((status = 201, description = "The account was created (admins only)", body = crate::api_schema::UserCreated))
)]
pub async fn create_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.admin()?;
    check_password(&req.username, &req.password)?;
    let password = req.password.clone();
    let phc = state
        .guard
        .passwords
        .hash(password)
        .await
        .map_err(|_| overloaded())?;
    let (username, role) = (req.username.clone(), req.role);
    state
        .db
        .tx(move |tx| Box::pin(async move { insert_user(tx, &username, &phc, role).await }))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "username": req.username, "role": req.role })),
    ))
}

/// Ends every session of `name` when `end` (an account found and changed
/// so that its sessions must go); how many ended.
async fn end_sessions_if(tx: &mut dyn Tx, name: &str, end: bool) -> crate::failure::Fallible<u64> {
    if end {
        sessions::end_all_sessions(tx, name).await
    } else {
        Ok(0)
    }
}

/// Disables (`disable`) or enables an account. Disabling ends its sessions
/// at once; who did it and when are kept on the user row. An admin cannot
/// disable their own account (so the last admin cannot lock everyone out).
async fn set_disabled(
    state: AppState,
    who: &crate::auth::Principal,
    username: String,
    disable: bool,
) -> ApiResult<Json<Value>> {
    let admin = who.admin()?.to_string();
    if disable && admin == username {
        return Err(ApiError::conflict(
            "own_account",
            "an admin cannot disable their own account; ask another admin",
        )
        .zh("管理员不能停用自己的账号：请让另一位管理员操作。"));
    }
    let (name, actor) = (username.clone(), who.actor());
    let (found, ended) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let by = disable.then_some(actor.as_str());
                let found = users::set_disabled(tx, &name, by, now_ms()).await?;
                Ok::<_, crate::failure::Failure>((
                    found,
                    end_sessions_if(tx, &name, found && disable).await?,
                ))
            })
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("user", &username));
    }
    tracing::info!(user = %username, by = %admin, disabled = disable, "account changed");
    Ok(Json(
        json!({ "username": username, "disabled": disable, "sessions_ended": ended }),
    ))
}

#[utoipa::path(
    post, path = "/api/users/{username}/disable", tag = "center", security(("session" = [])),
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, description = "The account is disabled; its sessions ended (admins only)", body = crate::api_schema::AccountState))
)]
pub async fn disable_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(username): Path<String>,
) -> ApiResult<Json<Value>> {
    set_disabled(state, &who, username, true).await
}

#[utoipa::path(
    post, path = "/api/users/{username}/enable", tag = "center", security(("session" = [])),
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, description = "The account is enabled (admins only)", body = crate::api_schema::AccountState))
)]
pub async fn enable_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(username): Path<String>,
) -> ApiResult<Json<Value>> {
    set_disabled(state, &who, username, false).await
}

/// Ends every session of a user (logged out everywhere; the account stays
/// enabled).
#[utoipa::path(
    post, path = "/api/users/{username}/sessions/end", tag = "center", security(("session" = [])),
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, description = "Every session of the account ended (admins only)", body = crate::api_schema::SessionsEnded))
)]
pub async fn end_sessions(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(username): Path<String>,
) -> ApiResult<Json<Value>> {
    let admin = who.admin()?.to_string();
    let name = username.clone();
    let (found, ended) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let found = users::credentials(tx, &name).await?.is_some();
                let ended = sessions::end_all_sessions(tx, &name).await?;
                Ok::<_, crate::failure::Failure>((found, ended))
            })
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("user", &username));
    }
    tracing::info!(user = %username, by = %admin, ended, "sessions ended");
    Ok(Json(
        json!({ "username": username, "sessions_ended": ended }),
    ))
}

/// Sets a new password for an account (a user who forgot theirs tells an
/// admin, who gives them the new one in person): every session of the
/// account ends, so whoever held the old password is signed out.
#[utoipa::path(
    post, path = "/api/users/{username}/password", tag = "center", security(("session" = [])),
    params(("username" = String, Path, description = "The account's username")),
    request_body = NewPassword,
    responses((status = 200, description = "The password is replaced and every session of the account ended (admins only)", body = crate::api_schema::SessionsEnded))
)]
pub async fn set_password(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<NewPassword>,
) -> ApiResult<Json<Value>> {
    let admin = who.admin()?.to_string();
    check_password(&username, &req.password)?;
    let phc = state
        .guard
        .passwords
        .hash(req.password)
        .await
        .map_err(|_| overloaded())?;
    let name = username.clone();
    let (found, ended) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let found = users::set_password(tx, &name, &phc).await?;
                Ok::<_, crate::failure::Failure>((found, end_sessions_if(tx, &name, found).await?))
            })
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("user", &username));
    }
    tracing::info!(user = %username, by = %admin, ended, "password set by an admin");
    Ok(Json(
        json!({ "username": username, "sessions_ended": ended }),
    ))
}
