//! The device sync protocol (`doorstep_core::protocol`, docs/API.md).
//!
//! Push, in one transaction under the device's lock: skip sequences already
//! applied, refuse a gap (409 naming the expected sequence), store the rest,
//! refuse-and-acknowledge events that can never be valid (an assignment that
//! is not the technician's), rebuild the touched visits, record the receive
//! time and the device's clock offset. Exactly-once over at-least-once:
//! `(device_id, seq)` and `event_id` are both unique.
//!
//! A batch that is structurally invalid (does not parse, sequences out of
//! order, an event claiming another device) is refused whole with 400 and
//! stores nothing; a batch over the configured limit is refused with 413.

use crate::auth::{Auth, Principal};
use crate::error::{parse_json, read_body, ApiError, ApiResult};
use crate::projection::{project_visit, store_projection, VisitOwner};
use crate::store::{LockKey, Tx};
use crate::{now_ms, AppState};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use doorstep_core::protocol::{
    AssignmentChange, ChangeKind, PullRequest, PullResponse, PushRequest, PushResponse,
    RefusalCode, RefusedEvent, VersionProbe, ACCEPTED_VERSIONS, PROTOCOL_VERSION,
};
use doorstep_core::{EventKind, VisitEvent, VisitState};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Refuses a request whose `protocol_version` this server does not speak,
/// before the body is parsed as that version.
pub fn check_version(bytes: &[u8]) -> ApiResult<()> {
    let probe: VersionProbe = match serde_json::from_slice(bytes) {
        Ok(p) => p,
        // Malformed: let the full parse name the problem.
        Err(_) => return Ok(()),
    };
    match probe.protocol_version {
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

pub async fn push(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<Json<PushResponse>> {
    let (device, technician) = device_of(&who)?;
    let bytes = read_body(req, &state).await?;
    check_version(&bytes)?;
    let push: PushRequest = parse_json(&bytes)?;
    same_device(push.device_id.as_str(), &device)?;
    validate_push(&push, &device, state.config.max_batch_events)?;
    let st = state.clone();
    let resp = state
        .db
        .tx(move |tx| {
            Box::pin(async move { ingest(tx, &st, &device, &technician, &push, now_ms()).await })
        })
        .await?;
    Ok(Json(resp))
}

/// Why an event can never be applied, if it cannot.
async fn refusal(
    tx: &mut dyn Tx,
    technician: &str,
    assignment: &str,
    visit: &str,
    holders: &mut HashMap<String, Option<bool>>,
    visits: &mut HashMap<String, Option<(String, String)>>,
    new_visits: &mut HashSet<String>,
) -> ApiResult<Option<(RefusalCode, String)>> {
    if !holders.contains_key(assignment) {
        let exists = tx
            .query_opt(
                "SELECT 1 FROM assignments WHERE id = $1",
                &[assignment.into()],
            )
            .await?
            .is_some();
        let holder = if exists {
            Some(
                tx.query_opt(
                    "SELECT 1 FROM assignment_holders WHERE assignment_id = $1 AND technician_id = $2",
                    &[assignment.into(), technician.into()],
                )
                .await?
                .is_some(),
            )
        } else {
            None
        };
        holders.insert(assignment.to_string(), holder);
    }
    match holders[assignment] {
        None => {
            return Ok(Some((
                RefusalCode::UnknownAssignment,
                format!("assignment {assignment} does not exist on the server"),
            )))
        }
        Some(false) => {
            return Ok(Some((
                RefusalCode::NotYourAssignment,
                format!("assignment {assignment} was never assigned to technician {technician}"),
            )))
        }
        Some(true) => {}
    }
    if !visits.contains_key(visit) {
        let owner = tx
            .query_opt(
                "SELECT assignment_id, technician_id FROM events WHERE visit_id = $1 LIMIT 1",
                &[visit.into()],
            )
            .await?
            .map(|r| (r.text(0), r.text(1)));
        visits.insert(visit.to_string(), owner);
    }
    match &visits[visit] {
        Some((a, t)) if a != assignment || t != technician => Ok(Some((
            RefusalCode::VisitMismatch,
            format!("visit {visit} belongs to another assignment or technician"),
        ))),
        Some(_) => Ok(None),
        None => {
            // No stored event yet: the visit starts in this push.
            new_visits.insert(visit.to_string());
            visits.insert(
                visit.to_string(),
                Some((assignment.to_string(), technician.to_string())),
            );
            Ok(None)
        }
    }
}

/// A visit touched by a push: its sign-off chain check and the events
/// applied now, with their sequence numbers.
type Touched<'a> = (Option<bool>, Vec<(u64, &'a VisitEvent)>);

/// A retried sequence must carry the event the server stored under it. A
/// different event means this device id is being reused by a fresh install
/// (its sequence restarted): acknowledging it as a duplicate would silently
/// drop the new facts, so the whole push is refused instead.
async fn verify_duplicates(
    tx: &mut dyn Tx,
    device: &str,
    req: &PushRequest,
    last: u64,
) -> ApiResult<()> {
    let retried: Vec<_> = req.events.iter().filter(|e| e.seq <= last).collect();
    let (Some(lo), Some(hi)) = (
        retried.iter().map(|e| e.seq).min(),
        retried.iter().map(|e| e.seq).max(),
    ) else {
        return Ok(());
    };
    let rows = tx
        .query(
            "SELECT seq, event_id FROM events WHERE device_id = $1 AND seq BETWEEN $2 AND $3
             UNION ALL
             SELECT seq, event_id FROM refused_events WHERE device_id = $1 AND seq BETWEEN $2 AND $3",
            &[device.into(), lo.into(), hi.into()],
        )
        .await?;
    let stored: HashMap<u64, String> = rows.iter().map(|r| (r.int(0) as u64, r.text(1))).collect();
    for e in retried {
        if stored
            .get(&e.seq)
            .is_some_and(|id| *id != e.event.id.to_string())
        {
            return Err(ApiError::conflict(
                "device_sequence_reused",
                format!(
                    "sequence {} of this device already holds another event: this device id was used by an earlier install. \
                     Enrol the phone as a new device; nothing was stored",
                    e.seq
                ),
            )
            .with("acked_seq", last));
        }
    }
    Ok(())
}

/// Applies a structurally valid push in the caller's transaction.
pub async fn ingest(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    technician: &str,
    req: &PushRequest,
    now: i64,
) -> ApiResult<PushResponse> {
    tx.lock(LockKey::device(device)).await?;
    let row = tx
        .query_opt(
            "SELECT last_seq, last_evidence_digest FROM devices WHERE id = $1",
            &[device.into()],
        )
        .await?
        .ok_or_else(|| ApiError::unauthorized("the device is no longer enrolled"))?;
    let last = row.int(0).max(0) as u64;
    let mut chain = row.opt_text(1);
    let fresh: Vec<_> = req.events.iter().filter(|e| e.seq > last).collect();
    let duplicates = (req.events.len() - fresh.len()) as u64;
    verify_duplicates(tx, device, req, last).await?;
    for (i, e) in fresh.iter().enumerate() {
        let expected = last + 1 + i as u64;
        if e.seq != expected {
            return Err(ApiError::conflict(
                "sequence_gap",
                format!(
                    "sequence {} arrived but the server expects {expected} next: upload the outbox from {expected} in order",
                    e.seq
                ),
            )
            .with("expected_seq", expected)
            .with("acked_seq", last));
        }
    }

    let mut holders = HashMap::new();
    let mut visits = HashMap::new();
    let mut new_visits = HashSet::new();
    let mut touched: BTreeMap<String, Touched> = BTreeMap::new();
    let mut refused = vec![];
    let mut applied = 0u64;
    for oe in &fresh {
        let e = &oe.event;
        let (event_id, visit_id) = (e.id.to_string(), e.visit_id.to_string());
        let body = serde_json::to_string(e).map_err(|_| ApiError::internal("encoding"))?;
        let mut problem = refusal(
            tx,
            technician,
            e.assignment_id.as_str(),
            &visit_id,
            &mut holders,
            &mut visits,
            &mut new_visits,
        )
        .await?;
        if problem.is_none() {
            let inserted = tx
                .execute(
                    "INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id, kind,
                        hlc_millis, hlc_counter, recorded_at, received_at, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT DO NOTHING",
                    &[
                        event_id.clone().into(),
                        device.into(),
                        oe.seq.into(),
                        visit_id.clone().into(),
                        e.assignment_id.as_str().into(),
                        technician.into(),
                        e.kind.name().into(),
                        e.hlc.millis.into(),
                        e.hlc.counter.into(),
                        e.recorded_at.timestamp_millis().into(),
                        now.into(),
                        body.clone().into(),
                    ],
                )
                .await?;
            if inserted == 0 {
                problem = Some((
                    RefusalCode::DuplicateEventId,
                    format!("event {event_id} is already stored under another sequence number"),
                ));
            }
        }
        if let Some((code, reason)) = problem {
            tx.execute(
                "INSERT INTO refused_events (device_id, seq, event_id, code, reason, received_at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    device.into(),
                    oe.seq.into(),
                    event_id.into(),
                    crate::wire_name(&code).into(),
                    reason.clone().into(),
                    now.into(),
                    body.into(),
                ],
            )
            .await?;
            refused.push(RefusedEvent {
                seq: oe.seq,
                event_id: e.id,
                code,
                reason,
            });
            continue;
        }
        applied += 1;
        let entry = touched.entry(visit_id).or_insert((None, vec![]));
        entry.1.push((oe.seq, e));
        if let EventKind::CustomerSignedOff { evidence, .. } = &e.kind {
            // The per-device evidence chain (sign-off binding).
            let linked = evidence.previous_evidence_digest == chain;
            entry.0 = Some(entry.0.unwrap_or(true) && linked);
            chain = Some(evidence.digest());
        }
    }

    let acked = last + fresh.len() as u64;
    let offset = req.sent_at.map(|t| now - t.timestamp_millis());
    tx.execute(
        "UPDATE devices SET last_seq = $1, last_sync_at = $2, clock_offset_ms = COALESCE($3, clock_offset_ms),
            last_evidence_digest = $4 WHERE id = $5",
        &[
            acked.into(),
            now.into(),
            offset.into(),
            chain.into(),
            device.into(),
        ],
    )
    .await?;
    record_sync(tx, device, "push", now, req.sent_at, offset, applied).await?;
    for (visit, (chain_ok, mut events)) in touched {
        if new_visits.contains(&visit) {
            // Every event of the visit is in this push: replay from memory,
            // in the order the store uses (HLC, then sequence).
            events.sort_by_key(|(seq, e)| (e.hlc, *seq));
            let state = VisitState::replay(events.iter().map(|(_, e)| *e));
            let owner = VisitOwner {
                assignment_id: events[0].1.assignment_id.to_string(),
                technician: technician.to_string(),
                device: device.to_string(),
            };
            store_projection(tx, app, &visit, &owner, &state, chain_ok).await?;
        } else {
            project_visit(tx, app, &visit, chain_ok).await?;
        }
    }
    Ok(PushResponse {
        protocol_version: PROTOCOL_VERSION,
        acked_seq: acked,
        applied,
        duplicates,
        refused,
        server_time: crate::from_ms(now),
    })
}

async fn record_sync(
    tx: &mut dyn Tx,
    device: &str,
    kind: &str,
    now: i64,
    sent_at: Option<chrono::DateTime<Utc>>,
    offset: Option<i64>,
    events: u64,
) -> ApiResult<()> {
    tx.execute(
        "INSERT INTO device_syncs (device_id, kind, received_at, device_time, clock_offset_ms, events)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            device.into(),
            kind.into(),
            now.into(),
            sent_at.map(|t| t.timestamp_millis()).into(),
            offset.into(),
            events.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn pull(
    State(state): State<AppState>,
    Auth(who): Auth,
    req: Request,
) -> ApiResult<Json<PullResponse>> {
    let (device, technician) = device_of(&who)?;
    let bytes = read_body(req, &state).await?;
    check_version(&bytes)?;
    let pull: PullRequest = parse_json(&bytes)?;
    same_device(pull.device_id.as_str(), &device)?;
    let max = state.config.max_page;
    let limit = pull.limit.unwrap_or(max).clamp(1, max);
    let resp = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let now = now_ms();
                let rows = tx
                    .query(
                        "SELECT seq, payload FROM assignment_changes
                         WHERE technician_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                        &[
                            technician.into(),
                            pull.cursor.into(),
                            (i64::from(limit) + 1).into(),
                        ],
                    )
                    .await?;
                let more = rows.len() > limit as usize;
                let mut changes = Vec::with_capacity(rows.len().min(limit as usize));
                for r in rows.iter().take(limit as usize) {
                    let change: ChangeKind = serde_json::from_str(&r.text(1))
                        .map_err(|_| ApiError::internal("reading the change log"))?;
                    changes.push(AssignmentChange {
                        seq: r.int(0) as u64,
                        change,
                    });
                }
                let next_cursor = changes.last().map_or(pull.cursor, |c| c.seq);
                let offset = pull.sent_at.map(|t| now - t.timestamp_millis());
                tx.execute(
                    "UPDATE devices SET last_sync_at = $1, clock_offset_ms = COALESCE($2, clock_offset_ms) WHERE id = $3",
                    &[now.into(), offset.into(), device.clone().into()],
                )
                .await?;
                record_sync(tx, &device, "pull", now, pull.sent_at, offset, changes.len() as u64)
                    .await?;
                Ok::<_, ApiError>(PullResponse {
                    protocol_version: PROTOCOL_VERSION,
                    changes,
                    next_cursor,
                    more,
                    server_time: crate::from_ms(now),
                })
            })
        })
        .await?;
    Ok(Json(resp))
}
