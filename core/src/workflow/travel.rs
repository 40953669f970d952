//! The expected travel time before departing (STANDARDS §2.5): the
//! technician's own estimate when given, else the distance from where the
//! technician sets off — the previous job named in the travel plan, or the
//! technician's last recorded position — to the customer, over the trade's
//! travel speed (`timing.travel_speed_kmh`, a door-to-door speed over the
//! straight-line haversine distance). The departure plan and the late-risk
//! prompt are worked out from it before the technician leaves.

use super::state::VisitState;
use crate::location::GeoPoint;
use crate::playbook::Playbook;
use serde::{Deserialize, Serialize};

/// Where the expected travel time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TravelSource {
    /// The technician's own estimate.
    TechnicianEstimate,
    /// The distance from the previous job (given in the travel plan).
    FromPreviousJob,
    /// The distance from the technician's last recorded position.
    FromLastPosition,
}

/// An expected travel time and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TravelEstimate {
    pub minutes: u32,
    pub source: TravelSource,
    /// The straight-line distance, when the estimate comes from one.
    pub distance_m: Option<u32>,
}

/// Whole minutes to cover `distance_m` at `speed_kmh`, rounded up (at
/// least one minute for any distance).
pub fn minutes_for(distance_m: f64, speed_kmh: i64) -> u32 {
    if !distance_m.is_finite() || distance_m <= 0.0 || speed_kmh <= 0 {
        return 0;
    }
    let minutes = (distance_m / 1000.0) / speed_kmh as f64 * 60.0;
    minutes.ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// The expected travel time for the visit as it stands, if anything gives
/// one (an estimate, or an origin and the customer's location).
pub fn expected_travel(s: &VisitState, pb: &Playbook) -> Option<TravelEstimate> {
    let plan = s.travel_plan.as_ref();
    if let Some(minutes) = plan.and_then(|p| p.estimated_travel_minutes) {
        return Some(TravelEstimate {
            minutes,
            source: TravelSource::TechnicianEstimate,
            distance_m: None,
        });
    }
    let target = s.assignment.as_ref()?.customer.location?;
    let (origin, source) = match plan.and_then(|p| p.from) {
        Some(from) => (from.point(), TravelSource::FromPreviousJob),
        None => (s.last_position?.point(), TravelSource::FromLastPosition),
    };
    Some(from_distance(&origin, &target, pb, source))
}

fn from_distance(
    origin: &GeoPoint,
    target: &GeoPoint,
    pb: &Playbook,
    source: TravelSource,
) -> TravelEstimate {
    let d = origin.distance_m(target);
    TravelEstimate {
        minutes: minutes_for(d, pb.timing.travel_speed_kmh),
        source,
        distance_m: Some(d.round().min(f64::from(u32::MAX)) as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::minutes_for;

    #[test]
    fn minutes_round_up_at_the_trades_speed() {
        assert_eq!(minutes_for(10_000.0, 30), 20);
        assert_eq!(minutes_for(10_001.0, 30), 21);
        assert_eq!(minutes_for(1.0, 30), 1);
        assert_eq!(minutes_for(0.0, 30), 0);
    }
}
