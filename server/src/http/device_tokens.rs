//! Device-token rotation on the sync routes: after a successful sync
//! answer, a device whose token is older than `--device-token-rotate-days`
//! (or that still used a token a rotation already replaced) gets a new
//! token in the `Doorstep-Device-Token` response header. The replaced token
//! keeps working for `--device-token-grace-days`, so a phone that lost the
//! answer, or stayed offline, still syncs with it and is sent a new one.
//!
//! The phone stores the new token (atomically, in its store) and uses it
//! from its next request; nothing of its offline work depends on which
//! token it holds.

use crate::app::AppState;
use crate::auth;
use crate::failure::Fallible;
use crate::http::auth::bearer_token;
use crate::store::devices::{self, TokenAge};
use crate::time::now_ms;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The response header that carries a device's new token.
pub const NEW_TOKEN_HEADER: &str = "doorstep-device-token";

const DAY_MS: i64 = 86_400_000;

/// Middleware on the sync routes: answers first, then rotates the caller's
/// token when it is due and adds the new one to a successful answer. A
/// failed rotation is logged and left for the next sync.
pub async fn rotate_device_token(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let token = bearer_token(req.headers()).map(str::to_string);
    let mut res = next.run(req).await;
    let Some(token) = token.filter(|_| res.status().is_success()) else {
        return res;
    };
    match rotate_if_due(&state, &token, now_ms()).await {
        Ok(Some(new)) => {
            if let Ok(value) = HeaderValue::from_str(&new) {
                res.headers_mut().insert(NEW_TOKEN_HEADER, value);
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "device token rotation failed; retried at the next sync")
        }
    }
    res
}

/// Rotates the device token `token` when it is due (older than the rotation
/// age, or already replaced); the new token, or `None` when not due.
pub async fn rotate_if_due(state: &AppState, token: &str, now: i64) -> Fallible<Option<String>> {
    let hash = auth::token_hash(token);
    let rotate_after = state.config.device_token_rotate_days * DAY_MS;
    let grace = state.config.device_token_grace_days * DAY_MS;
    let probe = hash.clone();
    let age = state
        .db
        .read(move |tx| Box::pin(async move { devices::token_age(tx, &probe, now).await }))
        .await?;
    let due = match &age {
        TokenAge::Current { issued_at, .. } => now - issued_at >= rotate_after,
        TokenAge::Retired { .. } => true,
        TokenAge::Unknown => false,
    };
    if !due {
        return Ok(None);
    }
    let new = auth::new_token("d");
    let new_hash = auth::token_hash(&new);
    let rotated = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                // Looked at again under the writer: a concurrent sync may have
                // rotated it meanwhile (then this token is retired, and gets a
                // new one all the same: every token handed out stays valid
                // for the grace period).
                let device = match devices::token_age(tx, &hash, now).await? {
                    TokenAge::Current { device, issued_at } if now - issued_at >= rotate_after => {
                        device
                    }
                    TokenAge::Retired { device } => device,
                    _ => return Ok::<_, crate::failure::Failure>(false),
                };
                devices::rotate_token(tx, &device, &new_hash, now, now + grace).await?;
                tracing::info!(device = %device, "device token rotated");
                Ok(true)
            })
        })
        .await?;
    Ok(rotated.then_some(new))
}
