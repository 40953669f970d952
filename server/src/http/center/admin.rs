//! The admin screens' endpoints: the device list
//! (`GET /api/devices`), one-time enrolment codes with their QR code
//! (`POST /api/technicians/{id}/enrolment-codes`), the phone's exchange of a
//! code for its token (`POST /api/enrol`, rate-limited per source address
//! like the login) and the staff list (`GET /api/users`, admin only).

use crate::app::AppState;
use crate::domain::enrolment;
use crate::http::auth::{Auth, SourceAddress};
use crate::http::center::devices::{registered_key, EnrolResponse};
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::report::qr::qr_svg;
use crate::store::devices::{self, DeviceListing};
use crate::store::technicians;
use crate::time::{from_ms, now_ms};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[utoipa::path(
    get, path = "/api/devices", tag = "admin", security(("session" = [])),
    responses((status = 200, description = "Every enrolled device, revoked ones included", body = Vec<DeviceListing>))
)]
pub async fn list_devices(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<DeviceListing>>> {
    who.dispatcher()?;
    let out = state
        .db
        .tx(move |tx| Box::pin(async move { devices::list_devices(tx).await }))
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    #[schema(value_type = String)]
    pub device_id: doorstep_core::DeviceId,
    /// The server address the phone should sync with, as the dispatcher's
    /// browser reaches it (default: `http://` and the request's Host).
    pub server: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CodeResponse {
    pub code: String,
    pub technician_id: String,
    pub device_id: String,
    pub expires_at: DateTime<Utc>,
    /// What the QR code holds: `doorstep://enrol?server=…&code=…`.
    pub enrol_uri: String,
    pub qr_svg: String,
}

#[utoipa::path(
    post, path = "/api/technicians/{id}/enrolment-codes", tag = "admin", security(("session" = [])),
    params(("id" = String, Path, description = "The technician's id")),
    request_body = CodeRequest,
    responses((status = 201, description = "A one-time enrolment code and its QR code (shown once)", body = CodeResponse))
)]
pub async fn create_enrolment_code(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(technician): Path<String>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeResponse>)> {
    let actor = who.dispatcher()?.to_string();
    let server = match req.server {
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => s,
        Some(_) => {
            return Err(ApiError::field(
                "server",
                "give the server's address as http://… or https://…",
            )
            .zh("服务器地址：请以 http:// 或 https:// 开头。"))
        }
        None => format!(
            "http://{}",
            headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost")
        ),
    };
    let (t, d) = (technician.clone(), req.device_id.to_string());
    let (code, expires) = state
        .db
        .tx(move |tx| {
            Box::pin(async move { enrolment::create_code(tx, &t, &d, &actor, now_ms()).await })
        })
        .await?;
    let enc = |s: &str| -> String { form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let enrol_uri = format!(
        "doorstep://enrol?server={}&code={}",
        enc(&server),
        enc(&code)
    );
    let qr_svg = qr_svg(&enrol_uri).ok_or_else(|| ApiError::internal("drawing the QR code"))?;
    tracing::info!(technician = %technician, device = %req.device_id, "enrolment code made");
    Ok((
        StatusCode::CREATED,
        Json(CodeResponse {
            code,
            technician_id: technician,
            device_id: req.device_id.to_string(),
            expires_at: from_ms(expires),
            enrol_uri,
            qr_svg,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RedeemRequest {
    pub code: String,
    /// 2: the phone registers `public_key`, its device key's public half,
    /// as in the dispatcher's enrolment; 1 (or absent): no key.
    #[serde(default)]
    pub enrolment_version: Option<u32>,
    /// Hex of a P-256 public key (SEC1 point or SubjectPublicKeyInfo).
    #[serde(default)]
    pub public_key: Option<String>,
}

/// The phone's side: a code for its token (shown once).
#[utoipa::path(
    post, path = "/api/enrol", tag = "sync", security(()),
    request_body = RedeemRequest,
    responses((status = 201, description = "The device's token (shown once); rate-limited per source address", body = EnrolResponse))
)]
pub async fn redeem_enrolment_code(
    State(state): State<AppState>,
    SourceAddress(address): SourceAddress,
    ApiJson(req): ApiJson<RedeemRequest>,
) -> ApiResult<(StatusCode, Json<EnrolResponse>)> {
    if req.code.len() > 64 {
        return Err(ApiError::field("code", "at most 64 characters").zh("注册码：最多 64 个字符。"));
    }
    state
        .guard
        .logins
        .per_address
        .take(&address, Instant::now())
        .map_err(|wait_s| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many attempts: try again in {wait_s} s"),
            )
            .zh(format!("尝试过于频繁：请 {wait_s} 秒后再试。"))
            .retry_after(wait_s)
        })?;
    let key = registered_key(req.enrolment_version, &req.public_key)?;
    let version = if key.is_some() { 2 } else { 1 };
    let (technician_id, device_id, token, technician_name, discount_secret, playbook_key) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let (technician, device, token) =
                    enrolment::redeem(tx, &req.code, now_ms()).await?;
                devices::register_key(tx, &device, key.as_deref()).await?;
                let secret = devices::issue_discount_secret(tx, &device).await?;
                let name = technicians::name(tx, &technician)
                    .await?
                    .unwrap_or_default();
                let playbook_key = crate::domain::playbooks::public_key_tx(tx).await?;
                Ok::<_, crate::failure::Failure>((
                    technician,
                    device,
                    token,
                    name,
                    secret,
                    playbook_key,
                ))
            })
        })
        .await
        .map_err(|e| match e {
            crate::failure::Failure::Unauthorized(m) => ApiError::unauthorized(m)
                .zh("注册码无效、已用过或已过期：请向服务中心索取新的注册码。"),
            other => other.into(),
        })?;
    tracing::info!(technician = %technician_id, device = %device_id, "device enrolled by code");
    Ok((
        StatusCode::CREATED,
        Json(EnrolResponse {
            device_id,
            technician_id,
            token,
            enrolment_version: version,
            technician_name,
            discount_secret,
            playbook_key,
        }),
    ))
}

/// Every staff account (admins only).
#[utoipa::path(
    get, path = "/api/users", tag = "admin", security(("session" = [])),
    responses((status = 200, description = "Every staff account (admins only)", body = Vec<crate::store::users::UserListing>))
)]
pub async fn list_users(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<crate::store::users::UserListing>>> {
    who.admin()?;
    let out = state
        .db
        .tx(move |tx| Box::pin(async move { crate::store::users::list_users(tx).await }))
        .await?;
    Ok(Json(out))
}
