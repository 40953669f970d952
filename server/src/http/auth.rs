//! The authenticated caller of a request: a bearer token looked up as a
//! live session, else as an enrolled, unrevoked device (401 otherwise).

use crate::app::AppState;
use crate::auth::{token_hash, Principal};
use crate::failure::Fallible;
use crate::http::error::ApiError;
use crate::store::{devices, sessions, Tx};
use crate::time::now_ms;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use std::net::SocketAddr;

/// Looks a bearer token up: a live session, else an enrolled, unrevoked device.
pub async fn lookup(tx: &mut dyn Tx, token: &str, now_ms: i64) -> Fallible<Option<Principal>> {
    let hash = token_hash(token);
    if let Some((username, role)) = sessions::session_user(tx, &hash, now_ms).await? {
        return Ok(Some(Principal::User { username, role }));
    }
    Ok(devices::device_of_token(tx, &hash, now_ms)
        .await?
        .map(|(device_id, technician_id)| Principal::Device {
            device_id,
            technician_id,
        }))
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The authenticated caller of a request.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing credentials: send `Authorization: Bearer <token>` (POST /api/login for a session token, or a device token from enrolment)",
                )
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
            })?
            .to_string();
        let now = now_ms();
        let found = state
            .db
            .read(move |tx| Box::pin(async move { lookup(tx, &token, now).await }))
            .await?;
        if let Some(who) = &found {
            crate::http::observe::record_caller(who);
            if let Some(slot) = parts.extensions.get::<CallerSlot>() {
                slot.set(who);
            }
        }
        found.map(Auth).ok_or_else(|| {
            ApiError::unauthorized(
                "the token is unknown, expired or revoked: log in again or re-enrol the device",
            )
        })
    }
}

/// The source address of the connection (the peer's IP, port dropped), for
/// the per-address login limit; `unknown` when served without one. A proxy
/// in front makes every caller one address: `X-Forwarded-For` is not trusted.
pub struct SourceAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(SourceAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string()),
        ))
    }
}

/// Who the request's [`Auth`] found, kept for the answer's way out (the
/// privacy layer masks what a device token reads: `http::privacy`).
#[derive(Clone, Default)]
pub struct CallerSlot(std::sync::Arc<std::sync::OnceLock<crate::auth::Principal>>);

impl CallerSlot {
    /// Records the caller (the first time).
    pub fn set(&self, who: &crate::auth::Principal) {
        let _ = self.0.set(who.clone());
    }

    /// The caller recorded, if any.
    pub fn get(&self) -> Option<&crate::auth::Principal> {
        self.0.get()
    }
}
