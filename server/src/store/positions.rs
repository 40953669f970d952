//! Technicians' last known positions, read from the location fix the phone
//! attaches to each event (`location` in the stored event body, WGS-84).

use super::sql::Tx;
use crate::failure::Fallible;
use doorstep_core::location::GeoFix;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

#[derive(Deserialize)]
struct WithLocation {
    location: Option<GeoFix>,
}

/// The newest usable fix of each technician among events recorded since
/// `since_ms` (at most `scan` newest events are read).
pub async fn last_positions(
    tx: &mut dyn Tx,
    since_ms: i64,
    scan: i64,
) -> Fallible<BTreeMap<String, LastPosition>> {
    let rows = tx
        .query(
            "SELECT technician_id, recorded_at, body FROM events WHERE recorded_at >= $1
             ORDER BY recorded_at DESC LIMIT $2",
            &[since_ms.into(), scan.into()],
        )
        .await?;
    let mut out = BTreeMap::new();
    for r in &rows {
        let technician = r.text("technician_id");
        if out.contains_key(&technician) {
            continue;
        }
        let fix = serde_json::from_str::<WithLocation>(&r.text("body"))
            .ok()
            .and_then(|b| b.location)
            .filter(GeoFix::is_valid);
        if let Some(fix) = fix {
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
    }
    Ok(out)
}
