//! Staff accounts: `/api/users` (admins only).

use crate::app::AppState;
use crate::auth;
use crate::domain::roster::check_new_user;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::model::Role;
use crate::store::users::insert_user;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
}

pub async fn create_user(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.admin()?;
    check_new_user(&req.username, &req.password)?;
    let password = req.password.clone();
    let phc = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ApiError::internal("hashing the password"))?;
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
