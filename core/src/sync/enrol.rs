//! Enrolling a phone through the server: a dispatcher signs in on the phone
//! (at handover), the server issues this device's sync token, and the phone
//! learns the technician's name from the roster. Shared by the `doorstep
//! device enrol` CLI and the shells (through `doorstep-ffi`); the token is
//! the shell's to keep (Android Keystore, iOS Keychain), never the store's.

use super::SyncError;
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
/// second time is refused by the server (409 `exists`); a
/// technician the roster does not know is refused before any token is made.
/// `http` carries the caller's TLS setup (`reqwest::Client::builder()` for
/// reqwest's default); timeouts are set here.
pub async fn enrol_device(
    http: reqwest::ClientBuilder,
    server_url: &str,
    dispatcher: &str,
    password: &str,
    technician: &TechnicianId,
    device: &DeviceId,
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    let base = server_url.trim_end_matches('/').to_string();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(SyncError::Enrolment {
            status: 0,
            code: "invalid_server_url".into(),
            message: format!(
                "{server_url:?} is not a server address: expected https://host[:port]"
            ),
        });
    }
    let http = http
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| SyncError::Network(e.to_string()))?;
    let login: Login = call(
        http.post(format!("{base}/api/login"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({"username": dispatcher, "password": password}).to_string()),
        "/api/login",
    )
    .await?;
    let roster: Vec<RosterEntry> = call(
        http.get(format!("{base}/api/technicians"))
            .bearer_auth(&login.token),
        "/api/technicians",
    )
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
    let enrolment: Enrolment = call(
        http.post(format!("{base}/api/technicians/{technician}/devices"))
            .bearer_auth(&login.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::json!({"device_id": device}).to_string()),
        "/api/technicians/{id}/devices",
    )
    .await?;
    // Sign the dispatcher out again: the session was only for this.
    let _ = http
        .post(format!("{base}/api/logout"))
        .bearer_auth(&login.token)
        .send()
        .await;
    log::info!(target: "doorstep::sync", "device {device} enrolled for {technician} at {base}");
    Ok(Enrolled {
        server_url: base,
        device_id: device.clone(),
        technician_id: technician.clone(),
        technician_name: name,
        device_token: enrolment.token,
    })
}

/// Sends `request`; a 2xx body is decoded as `T`, anything else becomes the
/// server's `{"error": {"code", "message"}}` as a [`SyncError`].
async fn call<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<T, SyncError> {
    let response = request
        .send()
        .await
        .map_err(|e| SyncError::Network(e.to_string()))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| SyncError::Network(e.to_string()))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncError::Decode(format!("{what}: {e}")));
    }
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let message = body["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(300).collect());
    let status = status.as_u16();
    Err(match status {
        429 | 500..=599 => SyncError::ServerBusy { status, message },
        _ => SyncError::Enrolment {
            status,
            code,
            message: format!("{what}: {message}"),
        },
    })
}
