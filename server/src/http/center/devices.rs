//! Devices: enrolment (`/api/technicians/{id}/devices`, version 1 or 2 —
//! version 2 registers the device key's public half) and revocation
//! (`/api/devices/{id}/revoke`).

use crate::app::AppState;
use crate::domain::roster::enrol;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::store::{devices, technicians};
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use doorstep_core::device_key::normalised_public_key;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EnrolRequest {
    #[schema(value_type = String)]
    pub device_id: doorstep_core::DeviceId,
    /// Re-enrol an existing device of the same technician with a new token
    /// (the old token stops working; its sync position is kept).
    #[serde(default)]
    pub rotate: bool,
    /// 2: the phone registers `public_key`, its device key's public half,
    /// and its sign-offs are verified; 1 (or absent): no key, its sign-offs
    /// are "unsigned".
    #[serde(default)]
    pub enrolment_version: Option<u32>,
    /// Hex of a P-256 public key (SEC1 point or SubjectPublicKeyInfo).
    #[serde(default)]
    pub public_key: Option<String>,
}

/// The key a version 2 enrolment registers (normalised to the hex of its
/// uncompressed SEC1 point), none for version 1; anything else is refused
/// naming the field and what would be accepted. Both ways of enrolling (the
/// dispatcher's, and the phone's one-time code) send these two fields.
pub fn registered_key(
    enrolment_version: Option<u32>,
    public_key: &Option<String>,
) -> ApiResult<Option<String>> {
    match (enrolment_version.unwrap_or(1), public_key) {
        (1, None) => Ok(None),
        (1, Some(_)) => Err(ApiError::field_bilingual(
            "enrolment_version",
            "is 1 but a public_key was sent; send enrolment_version 2 with the key",
            "为 1 却带有 public_key；请以 enrolment_version 2 登记密钥。",
        )),
        (2, None) => Err(ApiError::field_bilingual(
            "public_key",
            "is missing; enrolment version 2 registers the device key's public half (hex)",
            "缺失；第 2 版登记须提供设备密钥的公钥（十六进制）。",
        )),
        (2, Some(key)) => normalised_public_key(key).map(Some).map_err(|why| {
                ApiError::field_bilingual(
                    "public_key",
                    why,
                    "不是 P-256 公钥；应为 SEC1 点（65 字节，以 04 开头）或 X.509 SubjectPublicKeyInfo 的十六进制。",
                )
            }),
        (v, _) => Err(ApiError::field_bilingual(
            "enrolment_version",
            format!("is {v}; this server accepts 1 or 2"),
            format!("为 {v}；本服务器接受 1 或 2。"),
        )),
    }
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrolResponse {
    pub device_id: String,
    pub technician_id: String,
    /// Shown once; only its hash is stored.
    pub token: String,
    /// 2 when a device key was registered, 1 otherwise.
    #[serde(default)]
    pub enrolment_version: u32,
    /// The technician's name as the roster spells it (the phone shows it).
    #[serde(default)]
    pub technician_name: String,
    /// Shown once: the device's discount secret (32 bytes, hex), which the
    /// phone keeps in its keystore; the center's offline discount short
    /// codes are the HMAC of work order and amount under it (STANDARDS
    /// §2.12; `POST /api/assignments/{id}/discount-codes`).
    #[serde(default)]
    pub discount_secret: String,
    /// The public half of the server's playbook key (hex of the P-256
    /// SEC1 point): the phone pins it and keeps only playbooks it signed
    /// (`POST /api/playbooks`).
    #[serde(default)]
    pub playbook_key: String,
}

#[utoipa::path(
    post, path = "/api/technicians/{id}/devices", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The technician's id")),
    request_body = EnrolRequest,
    responses((status = 201, description = "The device's token (shown once)", body = EnrolResponse))
)]
pub async fn enrol_device(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(technician): Path<String>,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> ApiResult<(StatusCode, Json<EnrolResponse>)> {
    let actor = who.dispatcher()?.to_string();
    let key = registered_key(req.enrolment_version, &req.public_key)?;
    let version = if key.is_some() { 2 } else { 1 };
    let (t, d) = (technician.clone(), req.device_id.to_string());
    let (token, name, discount_secret, playbook_key) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let token = enrol(tx, &t, &d, req.rotate, &actor).await?;
                devices::register_key(tx, &d, key.as_deref()).await?;
                let secret = devices::issue_discount_secret(tx, &d).await?;
                let name = technicians::name(tx, &t).await?.unwrap_or_default();
                let playbook_key = crate::domain::playbooks::public_key_tx(tx).await?;
                Ok::<_, crate::failure::Failure>((token, name, secret, playbook_key))
            })
        })
        .await?;
    tracing::info!(technician = %technician, device = %req.device_id, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(EnrolResponse {
            device_id: req.device_id.to_string(),
            technician_id: technician,
            token,
            enrolment_version: version,
            technician_name: name,
            discount_secret,
            playbook_key,
        }),
    ))
}

/// Revokes a device (lost or replaced phone): its token stops working at
/// once. Its stored events and sync position stay.
#[utoipa::path(
    post, path = "/api/devices/{id}/revoke", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The device's id")),
    responses((status = 204, description = "The device's token stopped working"))
)]
pub async fn revoke_device(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(device): Path<String>,
) -> ApiResult<StatusCode> {
    who.dispatcher()?;
    let key = device.clone();
    let revoked = state
        .db
        .tx(move |tx| Box::pin(async move { devices::revoke_device(tx, &key, now_ms()).await }))
        .await?;
    if !revoked {
        return Err(ApiError::not_found("enrolled device", &device));
    }
    tracing::info!(device = %device, "device revoked");
    Ok(StatusCode::NO_CONTENT)
}
