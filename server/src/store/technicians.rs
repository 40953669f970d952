//! The `technicians` table: the roster.

use super::sql::Tx;
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentStatus, TechnicianView};
use crate::time::now_ms;
use std::collections::BTreeMap;

/// A new technician row (checked by the caller).
pub struct TechnicianRow<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub trades: &'a [String],
    pub phone: Option<&'a str>,
}

/// Inserts a technician; an existing id is refused (`exists`).
pub async fn insert_technician(tx: &mut dyn Tx, t: &TechnicianRow<'_>) -> Fallible<()> {
    let trades = serde_json::to_string(t.trades).unwrap_or_else(|_| "[]".into());
    match tx
        .execute(
            "INSERT INTO technicians (id, name, trades, active, created_at, phone) VALUES ($1, $2, $3, 1, $4, $5)",
            &[t.id.into(), t.name.into(), trades.into(), now_ms().into(), t.phone.into()],
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_unique() => Err(Failure::conflict(
            "exists",
            format!("technician {} already exists", t.id),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A technician's name as the desk shows it (`None`: no such technician).
pub async fn name(tx: &mut dyn Tx, id: &str) -> Fallible<Option<String>> {
    Ok(tx
        .query_opt("SELECT name FROM technicians WHERE id = $1", &[id.into()])
        .await?
        .map(|r| r.text("name")))
}

/// Every technician's name by id, for naming the technicians of many rows
/// at once (the roster is small: one read instead of one per row).
pub async fn names(tx: &mut dyn Tx) -> Fallible<BTreeMap<String, String>> {
    Ok(tx
        .query("SELECT id, name FROM technicians", &[])
        .await?
        .iter()
        .map(|r| (r.text("id"), r.text("name")))
        .collect())
}

/// Whether a technician exists.
pub async fn exists(tx: &mut dyn Tx, id: &str) -> Fallible<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 AS found FROM technicians WHERE id = $1",
            &[id.into()],
        )
        .await?
        .is_some())
}

/// What decides whether a technician may take work: trades and whether active.
pub struct Qualification {
    pub trades: Vec<String>,
    pub active: bool,
}

pub async fn qualification(tx: &mut dyn Tx, id: &str) -> Fallible<Option<Qualification>> {
    Ok(tx
        .query_opt(
            "SELECT trades, active FROM technicians WHERE id = $1",
            &[id.into()],
        )
        .await?
        .map(|r| Qualification {
            trades: serde_json::from_str(&r.text("trades")).unwrap_or_default(),
            active: r.flag("active"),
        }))
}

/// The roster with each technician's devices, open assignments and visits
/// closed since `day_start`.
pub async fn roster(tx: &mut dyn Tx, day_start: i64) -> Fallible<Vec<TechnicianView>> {
    let rows = tx
        .query(
            "SELECT t.id AS id, t.name AS name, t.trades AS trades, t.active AS active, t.phone AS phone,
                (SELECT COUNT(*) FROM devices d WHERE d.technician_id = t.id AND d.revoked_at IS NULL) AS devices,
                (SELECT COUNT(*) FROM assignments a WHERE a.technician_id = t.id AND a.status = $2) AS open_assignments,
                (SELECT COUNT(*) FROM visits v WHERE v.technician_id = t.id AND v.closed_at >= $1) AS closed_today
             FROM technicians t ORDER BY t.id",
            &[day_start.into(), AssignmentStatus::Assigned.as_str().into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TechnicianView {
            id: r.text("id"),
            name: r.text("name"),
            phone: r.opt_text("phone"),
            trades: serde_json::from_str(&r.text("trades")).unwrap_or_default(),
            active: r.flag("active"),
            devices: r.int("devices"),
            open_assignments: r.int("open_assignments"),
            closed_today: r.int("closed_today"),
        })
        .collect())
}
