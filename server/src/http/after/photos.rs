//! A visit's photos for the console: `GET /api/visits/{id}/photos` lists
//! them (moment and its name, digest, size, dimensions, time taken, whether the bytes
//! have arrived) and `GET /api/blobs/{sha256}` streams one with its content
//! type. Dispatchers see every visit's; a technician's device only its own
//! (a customer sees their report's photos through its link: `report.rs`).

use crate::app::AppState;
use crate::http::after::visits::require_own_visit;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiResult};
use crate::http::sync_blobs::checked_digest;
use crate::store::{blobs, visits};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use doorstep_core::messages::Text;
use doorstep_core::VisitState;
use serde_json::{json, Value};

/// `GET /api/visits/{id}/photos`.
#[utoipa::path(
    get, path = "/api/visits/{id}/photos", tag = "after", security(("session" = []), ("device" = [])),
    params(("id" = String, Path, description = "The visit's id")),
    responses((status = 200, description = "The visit's photos", body = crate::api_schema::VisitPhotos))
)]
pub async fn visit_photos(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = id.clone();
    let (row, state_text) = state
        .db
        .read(move |tx| Box::pin(async move { visits::load_visit_with_state(tx, &key).await }))
        .await?
        .ok_or_else(|| ApiError::not_found("visit", &id))?;
    require_own_visit(&who, &id, &row.technician_id)?;
    let visit: VisitState = serde_json::from_str(&state_text)
        .map_err(|_| ApiError::internal("reading a visit's state"))?;
    let digests: Vec<String> = visit.photos.iter().map(|p| p.digest.clone()).collect();
    let shelf = state.playbooks.clone();
    let walked = visit
        .assignment
        .as_ref()
        .map(|a| (a.trade.as_str().to_string(), visit.playbook_version));
    let needed = walked.clone();
    let (stored, playbook) = state
        .db
        .read(move |tx| {
            Box::pin(async move {
                let mut out = vec![];
                for d in &digests {
                    out.push(blobs::stored_blob(tx, d).await?.is_some());
                }
                // The playbooks, holding the version the visit walks (its
                // photo moments' names).
                let catalog = match &needed {
                    Some((trade, version)) => Some(shelf.holding(tx, trade, *version).await?),
                    None => None,
                };
                Ok::<_, ApiError>((out, catalog))
            })
        })
        .await?;
    let playbook = playbook
        .as_ref()
        .zip(walked.as_ref())
        .and_then(|(catalog, (trade, version))| catalog.get(trade, *version));
    let photos: Vec<Value> = visit
        .photos
        .iter()
        .zip(stored)
        .map(|(p, uploaded)| {
            let name = playbook
                .and_then(|pb| pb.photo_moment(&p.moment))
                .map_or_else(|| Text::new(&p.moment, &p.moment), |m| m.name.clone());
            json!({
                "moment": p.moment,
                "name": name,
                "digest": p.digest,
                "size_bytes": p.size_bytes,
                "width": p.width,
                "height": p.height,
                "taken_at": p.taken_at,
                "uploaded": uploaded,
                "url": format!("/api/blobs/{}", p.digest),
            })
        })
        .collect();
    let not_taken: Vec<Value> = visit
        .photos_not_taken
        .iter()
        .map(|p| json!({"moment": p.moment, "reason": p.reason, "at": p.at}))
        .collect();
    Ok(Json(
        json!({"visit_id": id, "photos": photos, "not_taken": not_taken}),
    ))
}

/// `GET /api/blobs/{sha256}`: the photo's bytes, streamed, with the content
/// type read from their magic number.
#[utoipa::path(
    get, path = "/api/blobs/{sha256}", tag = "after", security(("session" = []), ("device" = [])),
    params(("sha256" = String, Path, description = "The photo's SHA-256, 64 lower-case hex characters")),
    responses((status = 200, description = "The photo's bytes", content_type = "image/jpeg", body = String))
)]
pub async fn get_blob(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(digest): Path<String>,
) -> ApiResult<Response> {
    checked_digest(&digest)?;
    if let Some(technician) = who.technician().map(str::to_string) {
        let key = digest.clone();
        let visible = state
            .db
            .read(move |tx| {
                Box::pin(async move { blobs::photo_of_technician(tx, &technician, &key).await })
            })
            .await?;
        if !visible {
            return Err(ApiError::forbidden(format!(
                "photo {digest} is not on one of this technician's visits"
            )));
        }
    }
    blob_response(&state, &digest, "private, max-age=31536000, immutable").await
}

/// A stored photo's bytes, streamed with their content type (404 when they
/// have not arrived). The caller has checked that its reader may see it.
pub async fn blob_response(
    state: &AppState,
    digest: &str,
    cache_control: &'static str,
) -> ApiResult<Response> {
    let key = digest.to_string();
    let row = state
        .db
        .read(move |tx| Box::pin(async move { blobs::stored_blob(tx, &key).await }))
        .await?
        .ok_or_else(|| ApiError::not_found("photo", digest))?;
    let Some((_, bytes)) = state.blobs.store().stream(digest).await? else {
        tracing::error!(%digest, "a photo recorded as stored is not in the blob store");
        return Err(ApiError::internal("opening a stored photo"));
    };
    let body = Body::from_stream(bytes);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, row.content_type),
            (header::CONTENT_LENGTH, row.size_bytes.to_string()),
            (header::CACHE_CONTROL, cache_control.to_string()),
        ],
        body,
    )
        .into_response())
}
