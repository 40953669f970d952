//! Photo uploads from the devices, content-addressed and resumable:
//! `HEAD /api/sync/blobs/{sha256}` answers how many bytes are stored
//! (`Upload-Offset`, with `Upload-Length` and `Blob-Complete`), and
//! `PUT /api/sync/blobs/{sha256}` with `Content-Range: bytes a-b/total`
//! stores a part at `a` — an interrupted upload goes on from the last
//! stored byte. A device uploads only photos its own `photo_taken` events
//! name (after the events), of the size they give. The same digest twice is
//! stored once; bytes that do not hash to their digest are refused
//! (`blob_digest_mismatch`) and dropped.

use crate::app::AppState;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiResult};
use crate::store::blobs::{self, Appended, BlobRow};
use crate::time::now_ms;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use doorstep_core::photos::content_type_of;
use doorstep_core::workflow::is_sha256_hex;
use serde_json::json;

/// The digest in the path: 64 lower-case hex characters.
pub fn checked_digest(digest: &str) -> ApiResult<()> {
    if is_sha256_hex(digest) {
        Ok(())
    } else {
        Err(ApiError::field(
            "sha256",
            "must be the SHA-256 of the photo's bytes: 64 lower-case hex characters / 应为照片内容的 SHA-256：64 位小写十六进制字符",
        ))
    }
}

fn device_of(who: &crate::auth::Principal) -> ApiResult<String> {
    match who {
        crate::auth::Principal::Device { device_id, .. } => Ok(device_id.clone()),
        crate::auth::Principal::User { .. } => Err(ApiError::forbidden(
            "photo uploads are for enrolled technician devices: use a device token",
        )),
    }
}

/// What the device may upload under `digest`: the size its `photo_taken`
/// event gives, and the blob's row when it is already whole.
async fn upload_target(
    state: &AppState,
    device: &str,
    digest: &str,
) -> ApiResult<(u64, Option<BlobRow>)> {
    let (device_q, digest_q) = (device.to_string(), digest.to_string());
    let (size, row) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let size = blobs::photo_size_recorded_by(tx, &device_q, &digest_q).await?;
                let row = blobs::stored_blob(tx, &digest_q).await?;
                Ok::<_, ApiError>((size, row))
            })
        })
        .await?;
    let size = size.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_blob",
            format!("no photo_taken event of device {device} names the photo {digest}: push the events first, then upload their photos"),
        )
    })?;
    Ok((size, row))
}

fn offset_headers(stored: u64, total: u64, complete: bool) -> [(&'static str, HeaderValue); 3] {
    [
        ("upload-offset", HeaderValue::from(stored)),
        ("upload-length", HeaderValue::from(total)),
        (
            "blob-complete",
            HeaderValue::from_static(if complete { "true" } else { "false" }),
        ),
    ]
}

/// `HEAD /api/sync/blobs/{sha256}`: the bytes stored so far.
#[utoipa::path(
    head, path = "/api/sync/blobs/{sha256}", tag = "sync", security(("device" = [])),
    params(("sha256" = String, Path, description = "The photo's SHA-256, 64 lower-case hex characters")),
    responses((status = 200, description = "How many bytes are stored (Upload-Offset, Upload-Length, Blob-Complete headers)"))
)]
pub async fn head_blob(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(digest): Path<String>,
) -> ApiResult<Response> {
    let device = device_of(&who)?;
    checked_digest(&digest)?;
    let (size, row) = upload_target(&state, &device, &digest).await?;
    let stored = if row.is_some() {
        size
    } else {
        state.blobs.partial_len(&digest)
    };
    Ok((StatusCode::OK, offset_headers(stored, size, row.is_some())).into_response())
}

/// `bytes a-b/total` → (a, b, total); a missing header is the whole body.
fn content_range(headers: &HeaderMap, body_len: u64) -> ApiResult<(u64, u64, Option<u64>)> {
    let Some(value) = headers.get("content-range") else {
        return Ok((0, body_len.saturating_sub(1), None));
    };
    let bad = || {
        ApiError::field(
            "Content-Range",
            "expected `bytes FIRST-LAST/TOTAL` matching the body, e.g. `bytes 0-1048575/2500000` / 应为 `bytes 起始-结束/总长` 且与请求体一致",
        )
    };
    let text = value.to_str().map_err(|_| bad())?;
    let spec = text.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = spec.split_once('/').ok_or_else(bad)?;
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let first: u64 = first.trim().parse().map_err(|_| bad())?;
    let last: u64 = last.trim().parse().map_err(|_| bad())?;
    let total: u64 = total.trim().parse().map_err(|_| bad())?;
    if last < first || last - first + 1 != body_len || last >= total {
        return Err(bad());
    }
    Ok((first, last, Some(total)))
}

/// `PUT /api/sync/blobs/{sha256}`: stores one part of a photo.
#[utoipa::path(
    put, path = "/api/sync/blobs/{sha256}", tag = "sync", security(("device" = [])),
    params(("sha256" = String, Path, description = "The photo's SHA-256, 64 lower-case hex characters"),
           ("Content-Range" = Option<String>, Header, description = "`bytes FIRST-LAST/TOTAL` (absent: the whole photo)")),
    request_body(content = String, content_type = "application/octet-stream", description = "A part of the photo's bytes"),
    responses((status = 200, description = "The part was stored (Upload-Offset says how much is)"),
              (status = 201, description = "The photo is complete"))
)]
pub async fn put_blob(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(digest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let device = device_of(&who)?;
    checked_digest(&digest)?;
    let (size, row) = upload_target(&state, &device, &digest).await?;
    if row.is_some() {
        // The same digest twice: stored once.
        return Ok((
            StatusCode::OK,
            offset_headers(size, size, true),
            Json(json!({"digest": digest, "stored_bytes": size, "complete": true})),
        )
            .into_response());
    }
    if body.is_empty() {
        return Err(ApiError::field(
            "body",
            "a part of the photo, at least one byte / 请求体应为照片的一部分，至少 1 字节",
        ));
    }
    let (first, _, total) = content_range(&headers, body.len() as u64)?;
    if total.is_some_and(|t| t != size) {
        return Err(ApiError::field(
            "Content-Range",
            format!("the total must be the photo's size, {size} bytes, as its photo_taken event gives it / 总长应为照片大小 {size} 字节"),
        ));
    }
    let appended = state.blobs.append(&digest, first, body, size).await?;
    match appended {
        Appended::Partial { stored_bytes } => Ok((
            StatusCode::OK,
            offset_headers(stored_bytes, size, false),
            Json(json!({"digest": digest, "stored_bytes": stored_bytes, "complete": false})),
        )
            .into_response()),
        Appended::OffsetMismatch { stored_bytes } => Err(ApiError::conflict(
            "upload_offset_mismatch",
            format!("the part starts at byte {first} but {stored_bytes} bytes are stored: resume from byte {stored_bytes}"),
        )
        .with("stored_bytes", stored_bytes)),
        Appended::DigestMismatch { actual } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "blob_digest_mismatch",
            format!("the bytes uploaded hash to {actual}, not {digest}: they were dropped; upload the photo again"),
        )
        .with("actual_sha256", actual)),
        Appended::Whole { bytes } => {
            let content_type = content_type_of(&bytes).to_string();
            let row = BlobRow {
                digest: digest.clone(),
                size_bytes: size,
                content_type,
                device_id: device,
                stored_at: now_ms(),
            };
            state
                .db
                .tx(move |tx| {
                    Box::pin(async move {
                        blobs::insert_blob(tx, &row).await?;
                        Ok::<_, ApiError>(())
                    })
                })
                .await?;
            // Make the photo's report rendition now, off the request, so the
            // first report with it does not wait for a 12 MP decode.
            let (blobs, kept) = (state.blobs.clone(), digest.clone());
            tokio::task::spawn_blocking(move || {
                crate::report::renditions::report_copy(&blobs, &kept, bytes.to_vec());
            });
            Ok((
                StatusCode::CREATED,
                offset_headers(size, size, true),
                Json(json!({"digest": digest, "stored_bytes": size, "complete": true})),
            )
                .into_response())
        }
    }
}
