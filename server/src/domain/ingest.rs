//! Applying a device's uploads and serving its downloads (the sync
//! protocol's rules, `doorstep_core::protocol`, docs/API.md), in the
//! caller's transaction.
//!
//! Push, under the device's lock: derive the receipts its pulls left held
//! (`domain::receipts::settle`), skip sequences already applied, refuse a
//! gap (naming the expected sequence), store the rest, refuse-and-acknowledge
//! events that can never be valid (an assignment that is not the
//! technician's, a fact the workflow would not have produced:
//! `domain::admission`), rebuild the touched visits, record the receive time and the
//! device's clock offset. Exactly-once over at-least-once: `(device_id, seq)`
//! and `event_id` are both unique.

use crate::app::AppState;
use crate::domain::admission::{Admissions, Screening};
use crate::domain::personal_data;
use crate::domain::projection::{project_visit, store_projection};
use crate::domain::receipts;
use crate::failure::{Failure, Fallible};
use crate::model::SyncKind;
use crate::store::blobs::{self, PhotoEvent};
use crate::store::devices::{self, SyncRecord};
use crate::store::events::{self, NewEvent, RefusedRow, VisitOwner};
use crate::store::positions;
use crate::store::{assignments, LockKey, Tx};
use crate::time::from_ms;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::location::GeoFix;
use doorstep_core::protocol::{
    PullRequest, PullResponse, PushRequest, PushResponse, RefusalCode, RefusedEvent, SentChange,
    PROTOCOL_VERSION,
};
use doorstep_core::receipt::ReceiptIds;
use doorstep_core::wire::wire_name;
use doorstep_core::EventKind;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Why an event can never be applied, if it cannot.
async fn refusal(
    tx: &mut dyn Tx,
    technician: &str,
    assignment: &str,
    visit: &str,
    holders: &mut HashMap<String, Option<bool>>,
    visits: &mut HashMap<String, Option<(String, String)>>,
    new_visits: &mut HashSet<String>,
) -> Fallible<Option<(RefusalCode, String)>> {
    if !holders.contains_key(assignment) {
        let holder = if assignments::exists(tx, assignment).await? {
            Some(assignments::was_held_by(tx, assignment, technician).await?)
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
        let owner = events::visit_assignment_and_technician(tx, visit).await?;
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

/// A visit touched by a push: its sign-off chain check and its assignment.
type Touched<'a> = (Option<bool>, &'a str);

/// A retried sequence must carry the event the server stored under it. A
/// different event means this device id is being reused by a fresh install
/// (its sequence restarted): acknowledging it as a duplicate would silently
/// drop the new facts, so the whole push is refused instead.
async fn verify_duplicates(
    tx: &mut dyn Tx,
    device: &str,
    req: &PushRequest,
    last: u64,
) -> Fallible<()> {
    let retried: Vec<_> = req.events.iter().filter(|e| e.seq <= last).collect();
    let (Some(lo), Some(hi)) = (
        retried.iter().map(|e| e.seq).min(),
        retried.iter().map(|e| e.seq).max(),
    ) else {
        return Ok(());
    };
    let stored = events::ids_by_seq(tx, device, lo, hi).await?;
    for e in retried {
        if stored
            .get(&e.seq)
            .is_some_and(|id| *id != e.event.id.to_string())
        {
            return Err(Failure::conflict(
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

/// A push to apply: whose it is, what was sent and how its events were
/// screened as sent ([`Screening`]: size, unknown fields), and when.
#[derive(Debug, Clone, Copy)]
pub struct PushToApply<'a> {
    pub device: &'a str,
    pub technician: &'a str,
    pub push: &'a PushRequest,
    pub screening: &'a Screening,
    pub now: i64,
}

/// Applies a structurally valid push in the caller's transaction.
pub async fn ingest(
    tx: &mut dyn Tx,
    app: &AppState,
    device: &str,
    technician: &str,
    req: &PushRequest,
    now: i64,
) -> Fallible<PushResponse> {
    let screening = Screening::default();
    let push = PushToApply {
        device,
        technician,
        push: req,
        screening: &screening,
        now,
    };
    ingest_screened(tx, app, push).await
}

/// Applies a structurally valid, screened push; every event is also
/// admitted by the workflow's rules ([`Admissions`]) before it is stored.
pub async fn ingest_screened(
    tx: &mut dyn Tx,
    app: &AppState,
    push: PushToApply<'_>,
) -> Fallible<PushResponse> {
    // The receipts of the device's pulls first (under the device's lock,
    // which settling takes): its events may follow them.
    receipts::settle(tx, app, push.device).await?;
    ingest_settled(tx, app, push).await
}

/// [`ingest_screened`] for a caller that has derived the device's held
/// acknowledgements in this transaction already (an exchange:
/// `receipts::acknowledge_with_push`), so they are not looked for twice.
pub async fn ingest_settled(
    tx: &mut dyn Tx,
    app: &AppState,
    push: PushToApply<'_>,
) -> Fallible<PushResponse> {
    let PushToApply {
        device,
        technician,
        push: req,
        screening,
        now,
    } = push;
    tx.lock(LockKey::device(device)).await?;
    let position = devices::upload_position(tx, device)
        .await?
        .ok_or_else(|| Failure::Unauthorized("the device is no longer enrolled".into()))?;
    let last = position.last_seq;
    let mut chain = position.last_evidence_digest;
    let fresh: Vec<_> = req.events.iter().filter(|e| e.seq > last).collect();
    let duplicates = (req.events.len() - fresh.len()) as u64;
    verify_duplicates(tx, device, req, last).await?;
    for (i, e) in fresh.iter().enumerate() {
        let expected = last + 1 + i as u64;
        if e.seq != expected {
            return Err(Failure::conflict(
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
    let mut admissions = Admissions::default();
    let mut applied = 0u64;
    let mut contact = HashMap::new();
    let mut unstored = HashSet::new();
    let mut newest_fix: Option<(i64, GeoFix)> = None;
    for oe in &fresh {
        let e = &oe.event;
        let (event_id, visit_id) = (e.id.to_string(), e.visit_id.to_string());
        // Written once: the screening wrote it when it was sent so.
        let body = match screening.written(oe.seq) {
            Some(written) => written.to_string(),
            None => serde_json::to_string(e).map_err(|_| Failure::internal("encoding"))?,
        };
        // An order whose customer contact was masked or erased stays so.
        let body =
            personal_data::as_stored(tx, e.assignment_id.as_str(), body, &mut contact).await?;
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
            problem = screening.refusal(oe.seq);
        }
        if problem.is_none() {
            problem = admissions.check(tx, app, e).await?;
        }
        if problem.is_none() {
            let inserted = events::insert_event(
                tx,
                &NewEvent {
                    event_id: &event_id,
                    device,
                    seq: oe.seq,
                    visit_id: &visit_id,
                    assignment_id: e.assignment_id.as_str(),
                    technician,
                    kind: e.kind.name(),
                    hlc_millis: e.hlc.millis,
                    hlc_counter: e.hlc.counter,
                    recorded_at: e.recorded_at.timestamp_millis(),
                    received_at: now,
                    body: &body,
                },
            )
            .await?;
            if !inserted {
                // Admitted but not stored: the admission's state of this
                // visit is no longer the store's.
                unstored.insert(visit_id.clone());
                problem = Some((
                    RefusalCode::DuplicateEventId,
                    format!("event {event_id} is already stored under another sequence number"),
                ));
            }
        }
        if let Some((code, reason)) = problem {
            events::insert_refused(
                tx,
                &RefusedRow {
                    device,
                    seq: oe.seq,
                    event_id: &event_id,
                    code: &wire_name(&code),
                    reason: &reason,
                    received_at: now,
                    body: &body,
                    visit_id: &visit_id,
                    assignment_id: e.assignment_id.as_str(),
                    kind: e.kind.name(),
                },
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
        if let Some(fix) = e.location.as_ref().filter(|f| f.is_valid()) {
            let at = e.recorded_at.timestamp_millis();
            if newest_fix.as_ref().is_none_or(|(newest, _)| at > *newest) {
                newest_fix = Some((at, *fix));
            }
        }
        if let EventKind::PhotoTaken {
            digest, size_bytes, ..
        } = &e.kind
        {
            blobs::record_photo_event(
                tx,
                &PhotoEvent {
                    event_id: &event_id,
                    digest,
                    device,
                    technician,
                    size_bytes: *size_bytes,
                },
            )
            .await?;
        }
        crate::domain::outbox::record_milestone(tx, technician, e).await?;
        crate::domain::acceptance_codes::check_fact(tx, e).await?;
        crate::domain::cash_ledger::record_fact(tx, &app.zone, technician, e, now).await?;
        crate::domain::invoices::record_fact(tx, technician, e, now).await?;
        let entry = touched
            .entry(visit_id)
            .or_insert((None, e.assignment_id.as_str()));
        if let EventKind::CustomerSignedOff { evidence, .. } = &e.kind {
            // The per-device evidence chain (sign-off binding).
            let linked = evidence.previous_evidence_digest == chain;
            entry.0 = Some(entry.0.unwrap_or(true) && linked);
            chain = Some(evidence.digest());
        }
    }

    // The technician's last known position: the newest fix of the push.
    if let Some((at, fix)) = &newest_fix {
        positions::record_fix(tx, technician, *at, fix).await?;
    }
    let acked = last + fresh.len() as u64;
    let offset = req.sent_at.map(|t| now - t.timestamp_millis());
    devices::record_push(tx, device, acked, now, offset, chain).await?;
    devices::record_sync(
        tx,
        &SyncRecord {
            device,
            kind: SyncKind::Push,
            received_at: now,
            device_time: req.sent_at.map(|t| t.timestamp_millis()),
            clock_offset_ms: offset,
            events: applied,
        },
    )
    .await?;
    for (visit, (chain_ok, assignment)) in touched {
        // A masked or erased order's events were stored rewritten: replay those.
        let rewritten = contact.get(assignment).is_some_and(Option::is_some);
        let admitted = admissions
            .state_of(&visit)
            .filter(|_| !rewritten && !unstored.contains(&visit));
        let Some(state) = admitted else {
            project_visit(tx, app, &visit, chain_ok).await?;
            continue;
        };
        // The admission holds the visit as its stored and admitted facts
        // make it: projected from there, not read back and replayed.
        let owner = if new_visits.contains(&visit) {
            // Every event of the visit is in this push, the first from here.
            VisitOwner {
                assignment_id: assignment.to_string(),
                technician: technician.to_string(),
                device: device.to_string(),
            }
        } else {
            events::visit_owner(tx, &visit)
                .await?
                .ok_or_else(|| Failure::internal("projecting a visit without facts"))?
        };
        #[cfg(debug_assertions)]
        {
            let (_, replayed) = crate::domain::projection::replay(tx, &visit).await?;
            assert_eq!(
                state, &replayed,
                "visit {visit}: the admission's state is the store's replay"
            );
        }
        store_projection(tx, app, &visit, &owner, state, chain_ok).await?;
    }
    Ok(PushResponse {
        protocol_version: PROTOCOL_VERSION,
        acked_seq: acked,
        applied,
        duplicates,
        refused,
        server_time: from_ms(now),
    })
}

/// Serves one page of a technician's assignment changes after the pull's
/// cursor (at most `limit`), and records the pull.
pub async fn pull_changes(
    tx: &mut dyn Tx,
    device: &str,
    technician: &str,
    pull: &PullRequest,
    limit: u32,
    now: i64,
    zone: &BusinessZone,
) -> Fallible<PullResponse<SentChange>> {
    let mut rows =
        assignments::changes_since(tx, technician, pull.cursor, i64::from(limit) + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = rows.last().map_or(pull.cursor, |(seq, _)| *seq);
    let changes: Vec<SentChange> = rows.into_iter().map(|(_, change)| change).collect();
    let held = devices::upload_position(tx, device)
        .await?
        .map(|p| p.last_seq);
    let offset = pull.sent_at.map(|t| now - t.timestamp_millis());
    devices::record_pull(tx, device, now, offset).await?;
    devices::record_sync(
        tx,
        &SyncRecord {
            device,
            kind: SyncKind::Pull,
            received_at: now,
            device_time: pull.sent_at.map(|t| t.timestamp_millis()),
            clock_offset_ms: offset,
            events: changes.len() as u64,
        },
    )
    .await?;
    // The company's playbooks newer than the phone holds, with the key
    // they verify under (pinned by a phone enrolled before keys).
    let playbooks = crate::store::playbooks::newer_than(tx, &pull.playbooks).await?;
    let playbook_key = if playbooks.is_empty() {
        None
    } else {
        Some(crate::domain::playbooks::public_key_tx(tx).await?)
    };
    Ok(PullResponse {
        protocol_version: PROTOCOL_VERSION,
        changes,
        next_cursor,
        more,
        server_time: from_ms(now),
        business_zone: Some(crate::zone::for_phones(zone, from_ms(now))),
        acked_seq: held,
        playbooks,
        playbook_key,
        // The pages' ids in change order: the phone's indexes take each at
        // their end (`doorstep_core::receipt`).
        receipt_ids: ReceiptIds::InChangeOrder,
    })
}
