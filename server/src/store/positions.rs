//! Technicians' last known positions: the `technician_positions` table
//! (migration 0033), one row a technician holding the newest location fix
//! their phone attached to a stored fact (`location` in the event body,
//! WGS-84), moved on by each push that brings a newer one; the fixes of
//! the facts stored before the migration are copied in once.

use super::sql::Tx;
use crate::failure::{Failure, Fallible};
use doorstep_core::location::GeoFix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A fix older than this many days is no last known position.
pub const LAST_KNOWN_DAYS: i64 = 2;

/// Where a technician's phone last was, and when it said so.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct LastPosition {
    pub technician_id: String,
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
    /// When the phone recorded the fact (ms since the epoch).
    pub recorded_at: i64,
}

/// Keeps `fix`, recorded at `recorded_at`, as `technician`'s last known
/// position unless a newer one is kept already. Only a usable fix is kept.
pub async fn record_fix(
    tx: &mut dyn Tx,
    technician: &str,
    recorded_at: i64,
    fix: &GeoFix,
) -> Fallible<()> {
    if !fix.is_valid() {
        return Ok(());
    }
    let text = serde_json::to_string(fix).map_err(|_| Failure::internal("encoding"))?;
    tx.execute(
        "INSERT INTO technician_positions (technician_id, recorded_at, fix) VALUES ($1, $2, $3)
         ON CONFLICT (technician_id) DO UPDATE SET recorded_at = excluded.recorded_at, fix = excluded.fix
         WHERE excluded.recorded_at > technician_positions.recorded_at",
        &[technician.into(), recorded_at.into(), text.into()],
    )
    .await?;
    Ok(())
}

/// Each technician's last known position recorded since `since_ms`.
pub async fn last_positions(
    tx: &mut dyn Tx,
    since_ms: i64,
) -> Fallible<BTreeMap<String, LastPosition>> {
    let rows = tx
        .query(
            "SELECT technician_id, recorded_at, fix FROM technician_positions WHERE recorded_at >= $1",
            &[since_ms.into()],
        )
        .await?;
    let mut out = BTreeMap::new();
    for r in &rows {
        let technician = r.text("technician_id");
        let fix: GeoFix = serde_json::from_str(&r.text("fix"))
            .map_err(|e| Failure::corrupt("reading a technician's position", e))?;
        out.insert(
            technician.clone(),
            LastPosition {
                technician_id: technician,
                lat: fix.point.lat,
                lon: fix.point.lon,
                accuracy_m: fix.accuracy_m,
                recorded_at: r.int("recorded_at"),
            },
        );
    }
    Ok(out)
}

#[derive(Deserialize)]
struct WithLocation {
    location: Option<GeoFix>,
}

/// Keeps, for each technician, the newest usable fix among the facts
/// recorded since `since_ms` (the facts stored before migration 0033: read
/// once, in full, as the map read them before); how many technicians.
pub async fn fill_from_facts(tx: &mut dyn Tx, since_ms: i64) -> Fallible<usize> {
    let rows = tx
        .query(
            "SELECT technician_id, recorded_at, body FROM events WHERE recorded_at >= $1",
            &[since_ms.into()],
        )
        .await?;
    let mut newest: BTreeMap<String, (i64, GeoFix)> = BTreeMap::new();
    for r in &rows {
        let recorded_at = r.int("recorded_at");
        let Some(fix) = serde_json::from_str::<WithLocation>(&r.text("body"))
            .ok()
            .and_then(|b| b.location)
            .filter(GeoFix::is_valid)
        else {
            continue;
        };
        let technician = r.text("technician_id");
        if newest
            .get(&technician)
            .is_none_or(|(at, _)| recorded_at > *at)
        {
            newest.insert(technician, (recorded_at, fix));
        }
    }
    for (technician, (recorded_at, fix)) in &newest {
        record_fix(tx, technician, *recorded_at, fix).await?;
    }
    Ok(newest.len())
}
