//! Authentication and roles.
//!
//! - Dispatchers and admins log in with a password (argon2id, PHC string
//!   with a random salt) and get a random bearer session token.
//! - Technician devices are enrolled by a dispatcher and get a random bearer
//!   token once. Both kinds of token are 256 random bits and only their
//!   SHA-256 is stored, so a leaked database does not leak usable tokens
//!   (a fast hash is right here: the token has full entropy, unlike a password).
//! - Missing or unknown token → 401; a technician on a dispatcher endpoint → 403.

use crate::error::{ApiError, ApiResult};
use crate::store::{Tx, Value};
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use serde::Serialize;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    User {
        username: String,
        role: Role,
    },
    Device {
        device_id: String,
        technician_id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Dispatcher,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "dispatcher" => Some(Role::Dispatcher),
            _ => None,
        }
    }
}

impl Principal {
    /// The center's staff (dispatcher or admin); technicians get 403.
    pub fn dispatcher(&self) -> ApiResult<&str> {
        match self {
            Principal::User { username, .. } => Ok(username),
            Principal::Device { .. } => Err(ApiError::forbidden(
                "this endpoint is for the center's dispatchers; a technician device may use /api/sync/* and its own assignments and visits",
            )),
        }
    }

    pub fn admin(&self) -> ApiResult<&str> {
        match self {
            Principal::User {
                username,
                role: Role::Admin,
            } => Ok(username),
            _ => Err(ApiError::forbidden("this endpoint is for admins only")),
        }
    }

    /// The technician of a device principal.
    pub fn technician(&self) -> Option<&str> {
        match self {
            Principal::Device { technician_id, .. } => Some(technician_id),
            Principal::User { .. } => None,
        }
    }

    /// A name for audit columns.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { username, .. } => format!("user:{username}"),
            Principal::Device { device_id, .. } => format!("device:{device_id}"),
        }
    }
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new random token: 32 bytes, hex, with a prefix that says what it is.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// What is stored for a token.
pub fn token_hash(token: &str) -> String {
    doorstep_core::canonical::sha256_hex(token.as_bytes())
}

/// Looks a bearer token up: a live session, else an enrolled, unrevoked device.
pub async fn lookup(tx: &mut dyn Tx, token: &str, now_ms: i64) -> ApiResult<Option<Principal>> {
    let hash = Value::from(token_hash(token));
    if let Some(r) = tx
        .query_opt(
            "SELECT u.username, u.role FROM sessions s JOIN users u ON u.username = s.username
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            &[hash.clone(), now_ms.into()],
        )
        .await?
    {
        let role = Role::parse(&r.text(1)).unwrap_or(Role::Dispatcher);
        return Ok(Some(Principal::User {
            username: r.text(0),
            role,
        }));
    }
    Ok(tx
        .query_opt(
            "SELECT id, technician_id FROM devices WHERE token_hash = $1 AND revoked_at IS NULL",
            &[hash],
        )
        .await?
        .map(|r| Principal::Device {
            device_id: r.text(0),
            technician_id: r.text(1),
        }))
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
        let now = crate::now_ms();
        let found = state
            .db
            .tx(move |tx| Box::pin(async move { lookup(tx, &token, now).await }))
            .await?;
        found.map(Auth).ok_or_else(|| {
            ApiError::unauthorized(
                "the token is unknown, expired or revoked: log in again or re-enrol the device",
            )
        })
    }
}
