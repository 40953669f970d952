//! The device sync endpoints (`/api/sync/push`, `/api/sync/pull`, and both
//! in one round trip, `/api/sync/exchange`): who may
//! sync, the protocol version, and the structure of a batch; the rules of
//! applying it are `domain::ingest`.
//!
//! A batch that is structurally invalid (does not parse, sequences out of
//! order, an event claiming another device) is refused whole with 400 and
//! stores nothing; a batch over the configured limit is refused with 413.
//! A pull first takes the acknowledgement it carries (`domain::receipts`:
//! the pages the device applied, held with its cursor), then serves the
//! next page, in one transaction; the receipts are derived after the
//! answer.
//! An event over its bounds is refused alone, with the stable code
//! `out_of_bounds`, and acknowledged (`domain::admission::Screening`).

use crate::app::AppState;
use crate::auth::Principal;
use crate::domain::admission::Screening;
use crate::domain::bounds::EventLimits;
use crate::domain::ingest::{self, pull_changes, PushToApply};
use crate::domain::receipts;
use crate::http::auth::Auth;
use crate::http::error::{parse_json, read_body, require_json_media_type, ApiError, ApiResult};
use crate::store::devices;
use crate::store::Tx;
use crate::time::now_ms;
use crate::upload_order::Upload;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use doorstep_core::protocol::{
    ExchangeRequest, ExchangeResponse, PullRequest, PullResponse, PushRequest, PushResponse,
    SentChange, VersionProbe, ACCEPTED_VERSIONS,
};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Refuses a request whose `protocol_version` this server does not speak,
/// by that field alone (a body that does not parse as its type).
fn check_version(bytes: &[u8]) -> ApiResult<()> {
    match serde_json::from_slice::<VersionProbe>(bytes) {
        Ok(probe) => accepted(probe.protocol_version),
        // Malformed: let the full parse name the problem.
        Err(_) => Ok(()),
    }
}

/// Parses a sync body of a protocol version this server speaks, in one
/// pass: the version is checked on the parsed body, and probed on its own
/// only when the parse fails, so an unsupported version is still named as
/// such rather than as a malformed body.
pub fn parse_versioned<T: DeserializeOwned>(bytes: &[u8], version: fn(&T) -> u32) -> ApiResult<T> {
    match parse_json::<T>(bytes) {
        Ok(body) => {
            accepted(Some(version(&body)))?;
            Ok(body)
        }
        Err(refusal) => {
            check_version(bytes)?;
            Err(refusal)
        }
    }
}

/// Whether this server speaks `version` (`None`: the body names none).
fn accepted(version: Option<u32>) -> ApiResult<()> {
    match version {
        Some(v) if ACCEPTED_VERSIONS.contains(&v) => Ok(()),
        Some(v) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol_version",
            format!(
                "protocol_version {v} is not supported; this server accepts {ACCEPTED_VERSIONS:?}: update the app or send a supported version"
            ),
        )
        .with("accepted_versions", ACCEPTED_VERSIONS)),
        None => Err(ApiError::field(
            "protocol_version",
            format!("missing; this server accepts {ACCEPTED_VERSIONS:?}"),
        )
        .with("accepted_versions", ACCEPTED_VERSIONS)),
    }
}

fn device_of(who: &Principal) -> ApiResult<(String, String)> {
    match who {
        Principal::Device {
            device_id,
            technician_id,
        } => Ok((device_id.clone(), technician_id.clone())),
        Principal::User { .. } => Err(ApiError::forbidden(
            "sync is for enrolled technician devices: use a device token",
        )),
    }
}

fn same_device(claimed: &str, token_device: &str) -> ApiResult<()> {
    if claimed == token_device {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "device_id {claimed} does not match the device this token was issued to ({token_device})"
        )))
    }
}

/// Structural checks of a push: refused whole, nothing stored.
pub fn validate_push(req: &PushRequest, device: &str, max_events: usize) -> ApiResult<()> {
    if req.events.len() > max_events {
        return Err(ApiError::too_large(format!(
            "the batch has {} events; the limit is {max_events} (see --max-batch-events): split it",
            req.events.len()
        ))
        .with("max_batch_events", max_events));
    }
    let mut previous = 0u64;
    for (i, e) in req.events.iter().enumerate() {
        if e.seq == 0 || e.seq <= previous {
            return Err(ApiError::field(
                &format!("events[{i}].seq"),
                format!(
                    "sequence {} must be at least 1 and greater than the previous event's ({previous})",
                    e.seq
                ),
            ));
        }
        previous = e.seq;
        if e.event.device_id.as_str() != device {
            return Err(ApiError::field(
                &format!("events[{i}].event.device_id"),
                format!(
                    "is {} but the batch is from device {device}",
                    e.event.device_id
                ),
            ));
        }
    }
    Ok(())
}

/// An upload's JSON body, the upload registered before it is read
/// (`upload_order`: a push behind it may wait for it meanwhile).
async fn upload_body<'a>(
    state: &'a AppState,
    device: &str,
    req: Request,
) -> ApiResult<(Upload<'a>, axum::body::Bytes)> {
    let upload = state.uploads.begin(device);
    let headers = req.headers().clone();
    let bytes = read_body(req, state).await?;
    require_json_media_type(&headers)?;
    Ok((upload, bytes))
}

#[utoipa::path(
    post, path = "/api/sync/push", tag = "sync", security(("device" = [])),
    request_body = crate::api_schema::PushRequest,
    responses((status = 200, description = "Acknowledged up to acked_seq",
               headers(("Doorstep-Device-Token" = String, description = "A new device token, when the one used is due for rotation")),
               body = crate::api_schema::PushResponse))
)]
pub async fn push(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<Json<PushResponse>> {
    let (device, technician) = device_of(&who)?;
    let (mut upload, bytes) = upload_body(&state, &device, req).await?;
    let push = parse_versioned(&bytes, |p: &PushRequest| p.protocol_version)?;
    same_device(push.device_id.as_str(), &device)?;
    validate_push(&push, &device, state.config.max_batch_events)?;
    upload.starts_at(push.events.first().map(|e| e.seq));
    // An event over its bounds or with a field its type does not have is
    // refused alone and acknowledged (the queue never blocks).
    let screening = Arc::new(Screening::of(&bytes, &push, EventLimits::default()));
    let push = Arc::new(push);
    let resp = upload
        .in_turn(
            || {
                let (st, device, technician) = (state.clone(), device.clone(), technician.clone());
                let (push, screening) = (push.clone(), screening.clone());
                state.db.tx(move |tx| {
                    Box::pin(async move {
                        let push = PushToApply {
                            device: &device,
                            technician: &technician,
                            push: &push,
                            screening: &screening,
                            now: now_ms(),
                        };
                        ingest::ingest_screened(tx, &st, push)
                            .await
                            .map_err(ApiError::from)
                    })
                })
            },
            is_sequence_gap,
        )
        .await?;
    state.metrics.ingested(resp.applied, resp.duplicates);
    Ok(Json(resp))
}

/// A push refused because the sequences before it are not stored (yet).
fn is_sequence_gap(e: &ApiError) -> bool {
    e.code == "sequence_gap"
}

#[utoipa::path(
    post, path = "/api/sync/pull", tag = "sync", security(("device" = [])),
    request_body = crate::api_schema::PullRequest,
    responses((status = 200, description = "A page of the center's changes",
               headers(("Doorstep-Device-Token" = String, description = "A new device token, when the one used is due for rotation")),
               body = crate::api_schema::PullResponse))
)]
pub async fn pull(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<Json<PullResponse<SentChange>>> {
    let (device, technician) = device_of(&who)?;
    let headers = req.headers().clone();
    let bytes = read_body(req, &state).await?;
    require_json_media_type(&headers)?;
    let pull = parse_versioned(&bytes, |p: &PullRequest| p.protocol_version)?;
    same_device(pull.device_id.as_str(), &device)?;
    let max = state.config.max_page;
    let limit = pull.limit.unwrap_or(max).clamp(1, max);
    let zone = state.zone.clone();
    let (resp, held) = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                // What the device now holds: the pages it applied, whose
                // receipts are derived after the answer.
                let held =
                    receipts::acknowledge(tx, &device, &technician, &pull.received, now).await?;
                devices::record_download_cursor(tx, &device, pull.cursor).await?;
                let page = pull_changes(tx, &device, &technician, &pull, limit, now, &zone)
                    .await
                    .map_err(ApiError::from)?;
                Ok::<_, ApiError>((page, held.then_some(device)))
            })
        })
        .await?;
    if let Some(device) = held {
        let downloading = resp.more || !resp.changes.is_empty();
        receipts::settle_soon(&state, device, downloading);
    }
    Ok(Json(resp))
}

/// Push and pull in one round trip (`/api/sync/exchange`): the push's
/// checks, then in one transaction the acknowledged receipts, the push and
/// the next page — the order a push followed by a pull would give.
#[utoipa::path(
    post, path = "/api/sync/exchange", tag = "sync", security(("device" = [])),
    request_body = crate::api_schema::ExchangeRequest,
    responses((status = 200, description = "The push acknowledged and the next page of changes",
               headers(("Doorstep-Device-Token" = String, description = "A new device token, when the one used is due for rotation")),
               body = crate::api_schema::ExchangeResponse))
)]
pub async fn exchange(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<Json<ExchangeResponse<SentChange>>> {
    let (device, technician) = device_of(&who)?;
    let (mut upload, bytes) = upload_body(&state, &device, req).await?;
    let both = parse_versioned(&bytes, |b: &ExchangeRequest| b.protocol_version)?;
    same_device(both.device_id.as_str(), &device)?;
    let (push, pull) = both.into_parts();
    validate_push(&push, &device, state.config.max_batch_events)?;
    upload.starts_at(push.events.first().map(|e| e.seq));
    // The push's events are screened as a push's are (its `events` array
    // has the same place in the body).
    let screening = Arc::new(Screening::of(&bytes, &push, EventLimits::default()));
    let max = state.config.max_page;
    let limit = pull.limit.unwrap_or(max).clamp(1, max);
    let (push, pull) = (Arc::new(push), Arc::new(pull));
    let resp = upload
        .in_turn(
            || {
                let (st, device, technician) = (state.clone(), device.clone(), technician.clone());
                let (push, pull, screening) = (push.clone(), pull.clone(), screening.clone());
                state.db.tx(move |tx| {
                    Box::pin(async move {
                        let now = now_ms();
                        // Derived at once, in the push's transaction,
                        // after those the device's pulls left held.
                        receipts::acknowledge_with_push(
                            tx,
                            &st,
                            &device,
                            &technician,
                            &pull.received,
                            now,
                        )
                        .await?;
                        let to_apply = PushToApply {
                            device: &device,
                            technician: &technician,
                            push: &push,
                            screening: &screening,
                            now,
                        };
                        let push = ingest::ingest_settled(tx, &st, to_apply)
                            .await
                            .map_err(ApiError::from)?;
                        devices::record_download_cursor(tx, &device, pull.cursor).await?;
                        let pull =
                            pull_changes(tx, &device, &technician, &pull, limit, now, &st.zone)
                                .await
                                .map_err(ApiError::from)?;
                        Ok::<_, ApiError>(ExchangeResponse { push, pull })
                    })
                })
            },
            is_sequence_gap,
        )
        .await?;
    state
        .metrics
        .ingested(resp.push.applied, resp.push.duplicates);
    Ok(Json(resp))
}

/// Applies a structurally valid push in the caller's transaction: the
/// domain's [`ingest::ingest`] answering with the HTTP error, for in-process
/// callers (the demo, the benchmark) that speak `ApiError`.
pub async fn ingest(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    technician: &str,
    req: &PushRequest,
    now: i64,
) -> ApiResult<PushResponse> {
    ingest::ingest(tx, app, device, technician, req, now)
        .await
        .map_err(ApiError::from)
}
