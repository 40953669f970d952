//! Privacy numbers at the edge of the API: every JSON answer a technician's
//! device token reads is rewritten as it is served
//! (`domain::privacy_numbers::mask_for_device`: the order's virtual number,
//! else the masked number — never the customer's real one), whatever route
//! made it, stored rows old or new; and the dispatchers' view of a work
//! order's bindings.

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::privacy_numbers::mask_for_device;
use crate::http::auth::{Auth, CallerSlot};
use crate::http::error::{ApiError, ApiResult};
use crate::store::assignments;
use crate::store::privacy_numbers::{self as store, Binding};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Middleware on every route: a JSON answer to a device token carries only
/// virtual or masked customer numbers. Fails closed: an answer that cannot
/// be read back is not sent.
pub async fn mask_device_answers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let slot = CallerSlot::default();
    req.extensions_mut().insert(slot.clone());
    let res = next.run(req).await;
    let Some(Principal::Device { technician_id, .. }) = slot.get() else {
        return res;
    };
    let json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return withheld();
    };
    if !contains(&bytes, b"\"customer") {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let technician = technician_id.clone();
    let virtuals = state
        .db
        .read(move |tx| Box::pin(async move { store::bound_for_technician(tx, &technician).await }))
        .await
        .unwrap_or_else(|e| {
            // Masked rather than virtual: never the real number.
            tracing::warn!(error = %e, "reading the technician's virtual numbers");
            Default::default()
        });
    let mask_unbound = state.providers.privacy_mask_unbound;
    if !mask_unbound && virtuals.is_empty() {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let Ok(out) = mask_for_device(&bytes, &virtuals, mask_unbound) else {
        return withheld();
    };
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn withheld() -> Response {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the answer could not be checked for customer numbers and was withheld; try again",
    )
    .into_response()
}

#[utoipa::path(
    get, path = "/api/assignments/{id}/privacy-numbers", tag = "center", security(("session" = [])),
    params(("id" = String, Path, description = "The work order's id")),
    responses((status = 200, description = "The order's privacy-number bindings, newest first (virtual number and state)", body = Vec<Binding>))
)]
pub async fn bindings_of_order(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Binding>>> {
    who.dispatcher()?;
    let key = id.clone();
    let found = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                if assignments::load_assignment(tx, &key).await?.is_none() {
                    return crate::failure::Fallible::Ok(None);
                }
                Ok(Some(store::of_assignment(tx, &key).await?))
            })
        })
        .await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("assignment", &id))
}
