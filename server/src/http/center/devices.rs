//! Devices: enrolment (`/api/technicians/{id}/devices`) and revocation
//! (`/api/devices/{id}/revoke`).

use crate::app::AppState;
use crate::domain::roster::enrol;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiJson, ApiResult};
use crate::store::devices;
use crate::time::now_ms;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EnrolRequest {
    #[schema(value_type = String)]
    pub device_id: doorstep_core::DeviceId,
    /// Re-enrol an existing device of the same technician with a new token
    /// (the old token stops working; its sync position is kept).
    #[serde(default)]
    pub rotate: bool,
}

#[derive(Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrolResponse {
    pub device_id: String,
    pub technician_id: String,
    /// Shown once; only its hash is stored.
    pub token: String,
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
    let (t, d) = (technician.clone(), req.device_id.to_string());
    let token = state
        .db
        .tx(move |tx| Box::pin(async move { enrol(tx, &t, &d, req.rotate, &actor).await }))
        .await?;
    tracing::info!(technician = %technician, device = %req.device_id, "device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(EnrolResponse {
            device_id: req.device_id.to_string(),
            technician_id: technician,
            token,
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
