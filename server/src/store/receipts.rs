//! The `receipts` table: the "assignment received" facts the server derives
//! from a device's download acknowledgements (`domain::receipts`), stored
//! with the envelope the device gave them; with `events` they make a
//! visit's timeline (`store::events`). And `held_acknowledgements`: the
//! acknowledgements a pull stored and whose receipts are not derived yet.

use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentView, ChangeLogKind};
use crate::store::assignments;
use doorstep_core::protocol::{ChangeKind, PageReceipt};
use doorstep_core::Assignment;

/// The assignments a technician's change log gave in `first..=last`
/// (changes of other kinds, or another technician's, are not receipts),
/// each with the assignment as the center holds it now, read in the same
/// statement (the change log's foreign key: every change has its row).
pub async fn assignments_in(
    tx: &mut dyn Tx,
    technician: &str,
    first: u64,
    last: u64,
) -> Fallible<Vec<(u64, Assignment, AssignmentView)>> {
    let sql = format!(
        "SELECT c.seq AS seq, c.payload AS payload, {}
         FROM assignment_changes c JOIN assignments a ON a.id = c.assignment_id
         WHERE c.technician_id = $1 AND c.seq BETWEEN $2 AND $3 AND c.kind = $4 ORDER BY c.seq",
        assignments::columns_of("a")
    );
    let rows = tx
        .query(
            &sql,
            &[
                technician.into(),
                first.into(),
                last.into(),
                ChangeLogKind::Assignment.as_str().into(),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        match serde_json::from_str::<ChangeKind>(&r.text("payload")) {
            Ok(ChangeKind::Assignment { assignment }) => out.push((
                r.int("seq") as u64,
                *assignment,
                assignments::assignment_from_row(r)?,
            )),
            Ok(_) => {}
            Err(e) => return Err(Failure::corrupt("reading the change log", e)),
        }
    }
    Ok(out)
}

/// The change seqs in `first..=last` whose receipt from `device` is stored.
pub async fn stored_seqs(
    tx: &mut dyn Tx,
    device: &str,
    first: u64,
    last: u64,
) -> Fallible<std::collections::HashSet<u64>> {
    Ok(tx
        .query(
            "SELECT change_seq FROM receipts WHERE device_id = $1 AND change_seq BETWEEN $2 AND $3",
            &[device.into(), first.into(), last.into()],
        )
        .await?
        .iter()
        .map(|r| r.int("change_seq") as u64)
        .collect())
}

/// The visit `device` keeps for an assignment, if the server knows of one
/// (from an uploaded event or a derived receipt).
pub async fn visit_of(tx: &mut dyn Tx, device: &str, assignment: &str) -> Fallible<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT visit_id FROM receipts WHERE device_id = $1 AND assignment_id = $2
             UNION ALL
             SELECT visit_id FROM events WHERE device_id = $1 AND assignment_id = $2
             LIMIT 1",
            &[device.into(), assignment.into()],
        )
        .await?
        .map(|r| r.text("visit_id")))
}

/// A derived receipt to store.
pub struct NewReceipt<'a> {
    pub event_id: &'a str,
    pub device: &'a str,
    pub change_seq: u64,
    pub visit_id: &'a str,
    pub assignment_id: &'a str,
    pub version: u64,
    pub technician: &'a str,
    pub hlc_millis: i64,
    pub hlc_counter: u32,
    pub recorded_at: i64,
    pub received_at: i64,
    pub body: &'a str,
}

/// Stores a receipt; false when it is already stored.
pub async fn insert(tx: &mut dyn Tx, r: &NewReceipt<'_>) -> Fallible<bool> {
    let inserted = tx
        .execute(
            "INSERT INTO receipts (event_id, device_id, change_seq, visit_id, assignment_id, version,
                technician_id, hlc_millis, hlc_counter, recorded_at, received_at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT DO NOTHING",
            &[
                r.event_id.into(),
                r.device.into(),
                r.change_seq.into(),
                r.visit_id.into(),
                r.assignment_id.into(),
                r.version.into(),
                r.technician.into(),
                r.hlc_millis.into(),
                r.hlc_counter.into(),
                r.recorded_at.into(),
                r.received_at.into(),
                r.body.into(),
            ],
        )
        .await?;
    Ok(inserted > 0)
}

/// One assignment's receipts as the center reads them: which device
/// received which version, when (the device's time) and when the server
/// learnt it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptRow {
    pub device_id: String,
    pub visit_id: String,
    pub version: u64,
    pub received_at: i64,
    pub acknowledged_at: i64,
}

pub async fn of_assignment(tx: &mut dyn Tx, assignment: &str) -> Fallible<Vec<ReceiptRow>> {
    Ok(tx
        .query(
            "SELECT device_id, visit_id, version, recorded_at, received_at FROM receipts
             WHERE assignment_id = $1 ORDER BY recorded_at, version",
            &[assignment.into()],
        )
        .await?
        .iter()
        .map(|r| ReceiptRow {
            device_id: r.text("device_id"),
            visit_id: r.text("visit_id"),
            version: r.int("version") as u64,
            received_at: r.int("recorded_at"),
            acknowledged_at: r.int("received_at"),
        })
        .collect())
}

/// An acknowledgement a pull stored, its receipts not derived yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldAcknowledgement {
    pub device: String,
    pub technician: String,
    /// The pull's `received`, as JSON.
    pub received: String,
    /// When the server took it (the receipts' `received_at`).
    pub acknowledged_at: i64,
}

impl HeldAcknowledgement {
    /// The pages it holds, read back.
    pub fn pages(&self) -> Fallible<Vec<PageReceipt>> {
        serde_json::from_str(&self.received)
            .map_err(|e| Failure::corrupt("reading a held acknowledgement", e))
    }
}

/// Holds an acknowledgement until its receipts are derived.
pub async fn hold(tx: &mut dyn Tx, held: &HeldAcknowledgement) -> Fallible<()> {
    tx.execute(
        "INSERT INTO held_acknowledgements (device_id, technician_id, received, acknowledged_at)
         VALUES ($1, $2, $3, $4)",
        &[
            held.device.as_str().into(),
            held.technician.as_str().into(),
            held.received.as_str().into(),
            held.acknowledged_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Takes (deletes and returns) the held acknowledgements of `device`, or
/// of every device, in the order they were held. A transaction that takes
/// them derives them: two cannot take the same row.
pub async fn take_held(
    tx: &mut dyn Tx,
    device: Option<&str>,
) -> Fallible<Vec<HeldAcknowledgement>> {
    const TAKEN: &str = "RETURNING id, device_id, technician_id, received, acknowledged_at";
    let mut rows = match device {
        Some(device) => {
            tx.query(
                &format!("DELETE FROM held_acknowledgements WHERE device_id = $1 {TAKEN}"),
                &[device.into()],
            )
            .await?
        }
        None => {
            tx.query(&format!("DELETE FROM held_acknowledgements {TAKEN}"), &[])
                .await?
        }
    };
    rows.sort_by_key(|r| r.int("id"));
    Ok(rows.iter().map(held_from_row).collect())
}

fn held_from_row(r: &Row) -> HeldAcknowledgement {
    HeldAcknowledgement {
        device: r.text("device_id"),
        technician: r.text("technician_id"),
        received: r.text("received"),
        acknowledged_at: r.int("acknowledged_at"),
    }
}

/// The oldest acknowledgement `device` holds, with its row id (for
/// [`rewrite_held`] and [`drop_held`]), left in place: a settler that
/// derives it a part at a time keeps the rest where it is, ahead of any
/// held later.
pub async fn oldest_held(
    tx: &mut dyn Tx,
    device: &str,
) -> Fallible<Option<(i64, HeldAcknowledgement)>> {
    let row = tx
        .query_opt(
            "SELECT id, device_id, technician_id, received, acknowledged_at
               FROM held_acknowledgements WHERE device_id = $1 ORDER BY id LIMIT 1",
            &[device.into()],
        )
        .await?;
    Ok(row.map(|r| (r.int("id"), held_from_row(&r))))
}

/// What is left of held acknowledgement `id` once a part of it is derived.
pub async fn rewrite_held(tx: &mut dyn Tx, id: i64, received: &str) -> Fallible<()> {
    tx.execute(
        "UPDATE held_acknowledgements SET received = $2 WHERE id = $1",
        &[id.into(), received.into()],
    )
    .await?;
    Ok(())
}

/// Held acknowledgement `id`, derived whole.
pub async fn drop_held(tx: &mut dyn Tx, id: i64) -> Fallible<()> {
    tx.execute(
        "DELETE FROM held_acknowledgements WHERE id = $1",
        &[id.into()],
    )
    .await?;
    Ok(())
}
