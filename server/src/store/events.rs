//! The `events` and `refused_events` tables: every event a device uploaded,
//! stored once under `(device_id, seq)` and `event_id`, and the ones refused
//! for good with their reason. A visit's timeline is its events and the
//! receipts derived for it (`store::receipts`): the reads here take both.

use super::sql::{Row, Tx};
use crate::failure::Fallible;
use std::collections::HashMap;

/// The event ids stored (applied or refused) under a device's sequence
/// numbers `lo..=hi`.
pub async fn ids_by_seq(
    tx: &mut dyn Tx,
    device: &str,
    lo: u64,
    hi: u64,
) -> Fallible<HashMap<u64, String>> {
    let rows = tx
        .query(
            "SELECT seq, event_id FROM events WHERE device_id = $1 AND seq BETWEEN $2 AND $3
             UNION ALL
             SELECT seq, event_id FROM refused_events WHERE device_id = $1 AND seq BETWEEN $2 AND $3",
            &[device.into(), lo.into(), hi.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.int("seq") as u64, r.text("event_id")))
        .collect())
}

/// Whose a visit is, from its first stored event.
#[derive(Debug, Clone)]
pub struct VisitOwner {
    pub assignment_id: String,
    pub technician: String,
    pub device: String,
}

/// The assignment and technician of any stored event of a visit.
pub async fn visit_assignment_and_technician(
    tx: &mut dyn Tx,
    visit: &str,
) -> Fallible<Option<(String, String)>> {
    Ok(tx
        .query_opt(
            "SELECT assignment_id, technician_id FROM events WHERE visit_id = $1
             UNION ALL
             SELECT assignment_id, technician_id FROM receipts WHERE visit_id = $1
             LIMIT 1",
            &[visit.into()],
        )
        .await?
        .map(|r| (r.text("assignment_id"), r.text("technician_id"))))
}

/// The owner of a visit, from its first event in timeline order.
pub async fn visit_owner(tx: &mut dyn Tx, visit: &str) -> Fallible<Option<VisitOwner>> {
    Ok(tx
        .query_opt(
            "SELECT assignment_id, technician_id, device_id, hlc_millis, hlc_counter, seq FROM events WHERE visit_id = $1
             UNION ALL
             SELECT assignment_id, technician_id, device_id, hlc_millis, hlc_counter, 0 AS seq FROM receipts WHERE visit_id = $1
             ORDER BY hlc_millis, hlc_counter, seq LIMIT 1",
            &[visit.into()],
        )
        .await?
        .map(|r| VisitOwner {
            assignment_id: r.text("assignment_id"),
            technician: r.text("technician_id"),
            device: r.text("device_id"),
        }))
}

/// A visit's event documents, its receipts included, in timeline order
/// (HLC, then device and sequence; a receipt's stamp is its own).
pub async fn visit_event_bodies(tx: &mut dyn Tx, visit: &str) -> Fallible<Vec<String>> {
    Ok(tx
        .query(
            "SELECT body, hlc_millis, hlc_counter, device_id, seq FROM events WHERE visit_id = $1
             UNION ALL
             SELECT body, hlc_millis, hlc_counter, device_id, 0 AS seq FROM receipts WHERE visit_id = $1
             ORDER BY hlc_millis, hlc_counter, device_id, seq",
            &[visit.into()],
        )
        .await?
        .iter()
        .map(|r| r.text("body"))
        .collect())
}

/// An event to store.
pub struct NewEvent<'a> {
    pub event_id: &'a str,
    pub device: &'a str,
    pub seq: u64,
    pub visit_id: &'a str,
    pub assignment_id: &'a str,
    pub technician: &'a str,
    pub kind: &'a str,
    pub hlc_millis: i64,
    pub hlc_counter: u32,
    pub recorded_at: i64,
    pub received_at: i64,
    pub body: &'a str,
}

/// Stores an event; false when its id is already stored.
pub async fn insert_event(tx: &mut dyn Tx, e: &NewEvent<'_>) -> Fallible<bool> {
    let inserted = tx
        .execute(
            "INSERT INTO events (event_id, device_id, seq, visit_id, assignment_id, technician_id, kind,
                hlc_millis, hlc_counter, recorded_at, received_at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING",
            &[
                e.event_id.into(),
                e.device.into(),
                e.seq.into(),
                e.visit_id.into(),
                e.assignment_id.into(),
                e.technician.into(),
                e.kind.into(),
                e.hlc_millis.into(),
                e.hlc_counter.into(),
                e.recorded_at.into(),
                e.received_at.into(),
                e.body.into(),
            ],
        )
        .await?;
    Ok(inserted > 0)
}

/// An event refused for good.
pub struct RefusedRow<'a> {
    pub device: &'a str,
    pub seq: u64,
    pub event_id: &'a str,
    pub code: &'a str,
    pub reason: &'a str,
    pub received_at: i64,
    pub body: &'a str,
    pub visit_id: &'a str,
    pub assignment_id: &'a str,
    pub kind: &'a str,
}

pub async fn insert_refused(tx: &mut dyn Tx, r: &RefusedRow<'_>) -> Fallible<()> {
    tx.execute(
        "INSERT INTO refused_events (device_id, seq, event_id, code, reason, received_at, body,
            visit_id, assignment_id, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            r.device.into(),
            r.seq.into(),
            r.event_id.into(),
            r.code.into(),
            r.reason.into(),
            r.received_at.into(),
            r.body.into(),
            r.visit_id.into(),
            r.assignment_id.into(),
            r.kind.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A refused fact as dispatchers list it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RefusedFact {
    pub device_id: String,
    pub technician_id: String,
    pub seq: u64,
    pub event_id: String,
    pub visit_id: Option<String>,
    pub assignment_id: Option<String>,
    pub kind: Option<String>,
    pub code: String,
    pub reason: String,
    /// Unix milliseconds.
    pub received_at: i64,
}

fn refused_fact_of(r: &Row) -> RefusedFact {
    RefusedFact {
        device_id: r.text("device_id"),
        technician_id: r.text("technician_id"),
        seq: r.int("seq").max(0) as u64,
        event_id: r.text("event_id"),
        visit_id: r.opt_text("visit_id"),
        assignment_id: r.opt_text("assignment_id"),
        kind: r.opt_text("kind"),
        code: r.text("code"),
        reason: r.text("reason"),
        received_at: r.int("received_at"),
    }
}

/// The latest refused facts, newest first, at most `limit`; only one
/// assignment's when `assignment` is given.
pub async fn refused_facts(
    tx: &mut dyn Tx,
    assignment: Option<&str>,
    limit: u32,
) -> Fallible<Vec<RefusedFact>> {
    const SELECT: &str = "SELECT r.device_id, d.technician_id, r.seq, r.event_id, r.visit_id,
            r.assignment_id, r.kind, r.code, r.reason, r.received_at
         FROM refused_events r JOIN devices d ON d.id = r.device_id";
    const ORDER: &str = "ORDER BY r.received_at DESC, r.device_id, r.seq DESC";
    let rows = match assignment {
        Some(a) => {
            let sql = format!("{SELECT} WHERE r.assignment_id = $1 {ORDER} LIMIT $2");
            tx.query(&sql, &[a.into(), limit.into()]).await?
        }
        None => {
            let sql = format!("{SELECT} {ORDER} LIMIT $1");
            tx.query(&sql, &[limit.into()]).await?
        }
    };
    Ok(rows.iter().map(refused_fact_of).collect())
}

/// [`unreviewed_refusals`]' query, through the partial index
/// `refused_events_unreviewed` (migration 0032).
pub const UNREVIEWED_REFUSALS_SQL: &str =
    "SELECT r.device_id, d.technician_id, r.seq, r.event_id, r.visit_id,
            r.assignment_id, r.kind, r.code, r.reason, r.received_at, r.body
     FROM refused_events r JOIN devices d ON d.id = r.device_id
     WHERE r.reviewed_at IS NULL AND r.assignment_id IS NOT NULL
     ORDER BY r.received_at, r.device_id, r.seq LIMIT $1";

/// The refused facts no dispatcher has reviewed yet, of an assignment
/// (those without one cannot be opened from the desk), oldest first, each
/// with its body as the phone sent it.
pub async fn unreviewed_refusals(
    tx: &mut dyn Tx,
    limit: i64,
) -> Fallible<Vec<(RefusedFact, String)>> {
    let rows = tx.query(UNREVIEWED_REFUSALS_SQL, &[limit.into()]).await?;
    Ok(rows
        .iter()
        .map(|r| (refused_fact_of(r), r.text("body")))
        .collect())
}

/// Marks a refused fact reviewed by `actor`: Some(true) when it was
/// waiting, Some(false) when it was reviewed already, None when there is
/// no such refused fact.
pub async fn review_refusal(
    tx: &mut dyn Tx,
    device: &str,
    seq: i64,
    actor: &str,
    now: i64,
) -> Fallible<Option<bool>> {
    let found = tx
        .query_opt(
            "SELECT reviewed_at FROM refused_events WHERE device_id = $1 AND seq = $2",
            &[device.into(), seq.into()],
        )
        .await?;
    let Some(row) = found else {
        return Ok(None);
    };
    if row.opt_int("reviewed_at").is_some() {
        return Ok(Some(false));
    }
    tx.execute(
        "UPDATE refused_events SET reviewed_at = $1, reviewed_by = $2 WHERE device_id = $3 AND seq = $4",
        &[now.into(), actor.into(), device.into(), seq.into()],
    )
    .await?;
    Ok(Some(true))
}
