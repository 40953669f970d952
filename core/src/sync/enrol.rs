//! Enrolling a phone through the server: a dispatcher signs in on the phone
//! (at handover), the server issues this device's sync token, and the phone
//! learns the technician's name from the roster. Shared by the `doorstep
//! device enrol` CLI and the shells (through `doorstep-ffi`); the token is
//! the shell's to keep (Android Keystore, iOS Keychain), never the store's.
//!
//! Version 2 of enrolment also registers the public half of the phone's
//! device key (`crate::device_key`), which signs every sign-off's evidence;
//! a phone enrolled with version 1 (no key) keeps working and its sign-offs
//! are flagged "unsigned" by the server.

use super::{HttpRequest, SyncError, Transport};
use crate::{DeviceId, TechnicianId};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// What enrolment gives the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub server_url: String,
    pub device_id: DeviceId,
    pub technician_id: TechnicianId,
    /// As the center's roster spells it.
    pub technician_name: String,
    /// The bearer token for `/api/sync/*`.
    pub device_token: String,
    /// 2 when the device key's public half was registered, 1 otherwise.
    pub enrolment_version: u32,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

#[derive(Deserialize)]
struct Enrolment {
    token: String,
}

#[derive(Deserialize)]
struct RosterEntry {
    id: String,
    name: String,
}

/// Signs in as `dispatcher`, enrols `device` for `technician` and returns
/// the device's token with the technician's name. Enrolling a device id a
/// second time is refused by the server (409 `exists`); a technician the
/// roster does not know is refused before any token is made.
pub async fn enrol_device(
    transport: &dyn Transport,
    server_url: &str,
    dispatcher: &str,
    password: &str,
    technician: &TechnicianId,
    device: &DeviceId,
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    enrol(
        transport, server_url, dispatcher, password, technician, device, None, timeout,
    )
    .await
}

/// Enrolment version 2: as [`enrol_device`], registering `public_key` (the
/// device key's public half, SEC1 or SubjectPublicKeyInfo bytes) with the
/// device, so the server verifies the sign-offs it signs.
#[allow(clippy::too_many_arguments)]
pub async fn enrol_device_with_key(
    transport: &dyn Transport,
    server_url: &str,
    dispatcher: &str,
    password: &str,
    technician: &TechnicianId,
    device: &DeviceId,
    public_key: &[u8],
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    enrol(
        transport,
        server_url,
        dispatcher,
        password,
        technician,
        device,
        Some(public_key),
        timeout,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn enrol(
    transport: &dyn Transport,
    server_url: &str,
    dispatcher: &str,
    password: &str,
    technician: &TechnicianId,
    device: &DeviceId,
    public_key: Option<&[u8]>,
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    let base = super::server_base(server_url).map_err(|message| SyncError::Enrolment {
        status: 0,
        code: "invalid_server_url".into(),
        message,
    })?;
    let call = Call {
        transport,
        base: &base,
        timeout,
    };
    let login: Login = call
        .json(
            "POST",
            "/api/login",
            None,
            Some(serde_json::json!({"username": dispatcher, "password": password})),
        )
        .await?;
    let roster: Vec<RosterEntry> = call
        .json("GET", "/api/technicians", Some(&login.token), None)
        .await?;
    let name = roster
        .into_iter()
        .find(|t| t.id == technician.as_str())
        .map(|t| t.name)
        .ok_or_else(|| SyncError::Enrolment {
            status: 404,
            code: "unknown_technician".into(),
            message: format!("the center has no technician {technician}"),
        })?;
    let enrolment: Enrolment = call
        .json(
            "POST",
            &format!("/api/technicians/{technician}/devices"),
            Some(&login.token),
            Some(match public_key {
                Some(key) => serde_json::json!({
                    "device_id": device,
                    "enrolment_version": 2,
                    "public_key": hex::encode(key),
                }),
                None => serde_json::json!({"device_id": device}),
            }),
        )
        .await?;
    // Sign the dispatcher out again: the session was only for this.
    let _ = call
        .json::<serde_json::Value>("POST", "/api/logout", Some(&login.token), None)
        .await;
    log::info!(target: "doorstep::sync", "device {device} enrolled for {technician} at {base}");
    Ok(Enrolled {
        server_url: base,
        device_id: device.clone(),
        technician_id: technician.clone(),
        technician_name: name,
        device_token: enrolment.token,
        enrolment_version: if public_key.is_some() { 2 } else { 1 },
    })
}

struct Call<'a> {
    transport: &'a dyn Transport,
    base: &'a str,
    timeout: Duration,
}

impl Call<'_> {
    /// Sends a JSON request; a 2xx body is decoded as `T` (an empty body as
    /// JSON `null`), anything else becomes the server's
    /// `{"error": {"code", "message"}}` as a [`SyncError`].
    async fn json<T: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Result<T, SyncError> {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
        if let Some(token) = bearer {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        let response = self
            .transport
            .send(HttpRequest {
                method,
                url: format!("{}{path}", self.base),
                headers,
                body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
                timeout: self.timeout,
            })
            .await
            .map_err(SyncError::Network)?;
        let status = response.status;
        let retry_after = response.retry_after();
        let bytes = response.body;
        if (200..300).contains(&status) {
            let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(bytes)
                .map_err(|e| SyncError::Decode(format!("{path}: {e}")));
        }
        let super::ErrorDetail { code, message, .. } = super::error_detail(&bytes);
        Err(match status {
            429 | 500..=599 => SyncError::ServerBusy {
                status,
                message,
                retry_after,
            },
            _ => SyncError::Enrolment {
                status,
                code,
                message: format!("{path}: {message}"),
            },
        })
    }
}
