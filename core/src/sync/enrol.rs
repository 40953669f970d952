//! Enrolling a phone through the server: a dispatcher signs in on the phone
//! (at handover), the server issues this device's sync token, and the phone
//! learns the technician's name from the roster. Shared by the `doorstep
//! device enrol` CLI and the shells (through `doorstep-ffi`); the token is
//! the shell's to keep (Android Keystore, iOS Keychain), never the store's.
//!
//! A phone can also enrol with the center's one-time code (the console's
//! QR code, `doorstep://enrol?server=…&code=…`): no staff password on the
//! phone; [`enrol_with_code`].
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
    /// The per-device secret (64 hex digits) under which the center's short
    /// discount codes are checked offline (STANDARDS §2.12,
    /// `crate::discount_approval`): the shell keeps it in the platform's key
    /// store (Keystore/Keychain) and never shows it. `None` from a server
    /// that issues none.
    pub discount_secret: Option<String>,
    /// The public half of the server's playbook key: give it to the store
    /// (`Store::trust_playbook_key`), which keeps only the published
    /// playbooks it signed. `None` from a server that has none.
    pub playbook_key: Option<String>,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

#[derive(Deserialize)]
struct Enrolment {
    token: String,
    #[serde(default)]
    discount_secret: Option<String>,
    #[serde(default)]
    playbook_key: Option<String>,
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
/// device, so the server verifies the sign-offs it signs; without one, the
/// version-1 enrolment of [`enrol_device`].
#[allow(clippy::too_many_arguments)]
pub async fn enrol_device_with_key(
    transport: &dyn Transport,
    server_url: &str,
    dispatcher: &str,
    password: &str,
    technician: &TechnicianId,
    device: &DeviceId,
    public_key: Option<&[u8]>,
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    enrol(
        transport, server_url, dispatcher, password, technician, device, public_key, timeout,
    )
    .await
}

/// What the center's QR code holds: `doorstep://enrol?server=…&code=…`
/// (the console's "new phone" code), or the same two values typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentCode {
    pub server_url: String,
    pub code: String,
}

impl EnrolmentCode {
    /// Reads a scanned `doorstep://enrol?server=…&code=…`; anything else is
    /// refused saying what a code link looks like.
    pub fn from_link(link: &str) -> Result<EnrolmentCode, String> {
        let not_a_link = || {
            format!(
                "{link:?} is not an enrolment link: expected doorstep://enrol?server=…&code=… as the center's QR code holds"
            )
        };
        let query = link
            .trim()
            .strip_prefix("doorstep://enrol?")
            .ok_or_else(not_a_link)?;
        let mut server = None;
        let mut code = None;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').ok_or_else(not_a_link)?;
            let value = percent_decoded(value).ok_or_else(not_a_link)?;
            match key {
                "server" => server = Some(value),
                "code" => code = Some(value),
                _ => {}
            }
        }
        match (server, code) {
            (Some(server_url), Some(code)) if !code.trim().is_empty() => {
                super::server_base(&server_url)?;
                Ok(EnrolmentCode { server_url, code })
            }
            _ => Err(not_a_link()),
        }
    }
}

/// `a%2Fb+c` → `a/b c` (a query value as `application/x-www-form-urlencoded`
/// writes it); None for a broken escape or bytes that are not UTF-8.
fn percent_decoded(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Deserialize)]
struct CodeEnrolment {
    device_id: String,
    technician_id: String,
    #[serde(default)]
    technician_name: String,
    token: String,
    #[serde(default)]
    enrolment_version: u32,
    #[serde(default)]
    discount_secret: Option<String>,
    #[serde(default)]
    playbook_key: Option<String>,
}

/// Exchanges the center's one-time code for this phone's token (no staff
/// password on the phone): the code names the technician and the device id
/// the center chose. With `public_key` (enrolment version 2) the device
/// key's public half is registered too. A code that is unknown, used or
/// expired is refused by the server (401), as is a key that is not P-256
/// (400, naming `public_key`).
pub async fn enrol_with_code(
    transport: &dyn Transport,
    code: &EnrolmentCode,
    public_key: Option<&[u8]>,
    timeout: Duration,
) -> Result<Enrolled, SyncError> {
    let base = enrolment_base(&code.server_url)?;
    let call = Call {
        transport,
        base: &base,
        timeout,
    };
    let body = match public_key {
        Some(key) => serde_json::json!({
            "code": code.code,
            "enrolment_version": 2,
            "public_key": hex::encode(key),
        }),
        None => serde_json::json!({"code": code.code}),
    };
    let enrolled: CodeEnrolment = call
        .json("POST", "/api/enrol", None, Some(body))
        .await
        .map_err(|e| match e {
            SyncError::Enrolment {
                status: 401,
                message,
                ..
            } => SyncError::Enrolment {
                status: 401,
                code: super::error::ENROLMENT_CODE_REFUSED.into(),
                message,
            },
            other => other,
        })?;
    let invalid = |what: &str| SyncError::Enrolment {
        status: 200,
        code: "invalid_response".into(),
        message: format!("the server's enrolment answer has no valid {what}"),
    };
    let device_id = DeviceId::new(enrolled.device_id).map_err(|_| invalid("device_id"))?;
    let technician_id =
        TechnicianId::new(enrolled.technician_id).map_err(|_| invalid("technician_id"))?;
    log::info!(target: "doorstep::sync", "device {device_id} enrolled by code for {technician_id} at {base}");
    Ok(Enrolled {
        server_url: base,
        technician_name: if enrolled.technician_name.is_empty() {
            technician_id.to_string()
        } else {
            enrolled.technician_name
        },
        device_id,
        technician_id,
        device_token: enrolled.token,
        enrolment_version: enrolled.enrolment_version.max(1),
        discount_secret: enrolled.discount_secret,
        playbook_key: enrolled.playbook_key.filter(|k| !k.is_empty()),
    })
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
    let base = enrolment_base(server_url)?;
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
        discount_secret: enrolment.discount_secret,
        playbook_key: enrolment.playbook_key.filter(|k| !k.is_empty()),
    })
}

/// The server's base address, or why it is not one (before any request).
fn enrolment_base(server_url: &str) -> Result<String, SyncError> {
    super::server_base(server_url).map_err(|message| SyncError::Enrolment {
        status: 0,
        code: "invalid_server_url".into(),
        message,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centers_qr_link_gives_the_server_and_the_code() {
        let code = EnrolmentCode::from_link(
            "doorstep://enrol?server=https%3A%2F%2Fservice.example%3A8443&code=K7QM-4XRT-9PWD",
        )
        .unwrap();
        assert_eq!(code.server_url, "https://service.example:8443");
        assert_eq!(code.code, "K7QM-4XRT-9PWD");
    }

    #[test]
    fn a_link_that_is_not_the_centers_is_refused_saying_what_one_looks_like() {
        for link in [
            "https://service.example/?code=K7QM",
            "doorstep://enrol?server=https%3A%2F%2Fs.example",
            "doorstep://enrol?server=ftp%3A%2F%2Fs.example&code=K7QM",
            "doorstep://enrol?server=https%3A%2F%2Fs.example&code=%ZZ",
            "doorstep://enrol?server=https%3A%2F%2Fs.example&code=",
        ] {
            let err = EnrolmentCode::from_link(link).unwrap_err();
            assert!(
                err.contains("doorstep://enrol?server=") || err.contains("https://host"),
                "{link}: {err}"
            );
        }
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(
            percent_decoded("a%2Fb+c%E5%B8%88").as_deref(),
            Some("a/b c师")
        );
        assert_eq!(percent_decoded("%4"), None);
        assert_eq!(percent_decoded("%FF"), None);
    }
}
