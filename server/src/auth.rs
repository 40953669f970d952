//! Authentication and roles.
//!
//! - Dispatchers and admins log in with a password (argon2id, PHC string
//!   with a random salt) and get a random bearer session token.
//! - Technician devices are enrolled by a dispatcher and get a random bearer
//!   token once. Both kinds of token are 256 random bits and only their
//!   SHA-256 is stored, so a leaked database does not leak usable tokens
//!   (a fast hash is right here: the token has full entropy, unlike a password).
//! - Missing or unknown token → 401; a technician on a dispatcher endpoint → 403
//!   (the request extractor is `http::auth`).

pub use crate::model::Role;

use crate::failure::{Failure, Fallible};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
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

impl Principal {
    /// The center's staff (dispatcher or admin); technicians get 403.
    pub fn dispatcher(&self) -> Fallible<&str> {
        match self {
            Principal::User { username, .. } => Ok(username),
            Principal::Device { .. } => Err(Failure::Forbidden(
                "this endpoint is for the center's dispatchers; a technician device may use /api/sync/* and its own assignments and visits".into(),
            )),
        }
    }

    pub fn admin(&self) -> Fallible<&str> {
        match self {
            Principal::User {
                username,
                role: Role::Admin,
            } => Ok(username),
            _ => Err(Failure::Forbidden(
                "this endpoint is for admins only".into(),
            )),
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
