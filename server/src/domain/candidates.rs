//! Who could take an assignment: the technician picker's ranking. Only
//! active technicians qualified for the trade are candidates; they are
//! ranked free-around-the-window first, then by the day's workload, then by
//! distance from their last known position, then by name. Pure: the caller
//! gathers the roster, the day's bookings and the positions.

use chrono::{DateTime, Utc};
use doorstep_core::location::GeoPoint;
use serde::Serialize;
use std::cmp::Ordering;

/// The work to place: its trade, its window and where it is.
pub struct Job<'a> {
    pub assignment_id: &'a str,
    pub trade: &'a str,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub location: Option<GeoPoint>,
}

/// Work already given to a technician on the job's day.
#[derive(Debug, Clone)]
pub struct Booking {
    pub assignment_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// One technician as the ranking sees them.
pub struct TechnicianDay {
    pub id: String,
    pub name: String,
    pub trades: Vec<String>,
    pub active: bool,
    /// The technician's other work on the job's business day.
    pub bookings: Vec<Booking>,
    /// Last known position (WGS-84), from the phone's location facts.
    pub position: Option<GeoPoint>,
}

/// A ranked candidate, as the picker shows it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Candidate {
    pub technician_id: String,
    pub name: String,
    /// Assignments the technician has that day (the job itself not counted).
    pub workload: usize,
    /// Assignments whose windows overlap the job's window.
    pub overlapping: Vec<String>,
    /// Free minutes between the previous booking's end and the window's
    /// start (None: nothing earlier that day, or no window).
    pub free_before_minutes: Option<i64>,
    /// Free minutes between the window's end and the next booking's start.
    pub free_after_minutes: Option<i64>,
    /// Metres from the last known position to the customer (None: either unknown).
    pub distance_m: Option<u32>,
}

impl Candidate {
    pub fn free(&self) -> bool {
        self.overlapping.is_empty()
    }
}

/// The candidates for `job`, best first (see the module comment).
pub fn rank(job: &Job<'_>, technicians: &[TechnicianDay]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = technicians
        .iter()
        .filter(|t| t.active && t.trades.iter().any(|x| x == job.trade))
        .map(|t| candidate(job, t))
        .collect();
    out.sort_by(|a, b| {
        b.free()
            .cmp(&a.free())
            .then(a.workload.cmp(&b.workload))
            .then(nearer(a.distance_m, b.distance_m))
            .then(a.name.cmp(&b.name))
            .then(a.technician_id.cmp(&b.technician_id))
    });
    out
}

/// Known distances before unknown ones, shorter first.
fn nearer(a: Option<u32>, b: Option<u32>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn candidate(job: &Job<'_>, t: &TechnicianDay) -> Candidate {
    let others: Vec<&Booking> = t
        .bookings
        .iter()
        .filter(|b| b.assignment_id != job.assignment_id)
        .collect();
    let (overlapping, before, after) = match job.window {
        Some((start, end)) => {
            let overlapping = others
                .iter()
                .filter(|b| b.start < end && start < b.end)
                .map(|b| b.assignment_id.clone())
                .collect();
            let before = others
                .iter()
                .filter(|b| b.end <= start)
                .map(|b| (start - b.end).num_minutes())
                .min();
            let after = others
                .iter()
                .filter(|b| b.start >= end)
                .map(|b| (b.start - end).num_minutes())
                .min();
            (overlapping, before, after)
        }
        None => (Vec::new(), None, None),
    };
    let distance_m = match (t.position, job.location) {
        (Some(p), Some(q)) if p.is_valid() && q.is_valid() => Some(p.distance_m(&q).round() as u32),
        _ => None,
    };
    Candidate {
        technician_id: t.id.clone(),
        name: t.name.clone(),
        workload: others.len(),
        overlapping,
        free_before_minutes: before,
        free_after_minutes: after,
        distance_m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, hour, 0, 0).unwrap()
    }

    fn tech(id: &str, trades: &[&str]) -> TechnicianDay {
        TechnicianDay {
            id: id.into(),
            name: id.to_uppercase(),
            trades: trades.iter().map(|s| s.to_string()).collect(),
            active: true,
            bookings: Vec::new(),
            position: None,
        }
    }

    fn booking(id: &str, start: u32, end: u32) -> Booking {
        Booking {
            assignment_id: id.into(),
            start: at(start),
            end: at(end),
        }
    }

    const CUSTOMER: GeoPoint = GeoPoint {
        lat: 31.22,
        lon: 121.44,
    };

    fn job() -> Job<'static> {
        Job {
            assignment_id: "A-job",
            trade: "appliance_repair",
            window: Some((at(4), at(6))),
            location: Some(CUSTOMER),
        }
    }

    fn ids(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.technician_id.as_str()).collect()
    }

    #[test]
    fn only_active_technicians_of_the_trade_are_candidates() {
        let mut retired = tech("retired", &["appliance_repair"]);
        retired.active = false;
        let techs = [
            tech("fixer", &["appliance_repair", "heating_service"]),
            tech("driver", &["water_delivery"]),
            retired,
        ];
        assert_eq!(ids(&rank(&job(), &techs)), ["fixer"]);
    }

    #[test]
    fn a_technician_free_around_the_window_ranks_before_a_busy_one() {
        let mut busy = tech("a-busy", &["appliance_repair"]);
        busy.bookings.push(booking("A-1", 5, 7));
        let mut free = tech("b-free", &["appliance_repair"]);
        free.bookings = vec![booking("A-2", 1, 2), booking("A-3", 8, 9)];
        let ranked = rank(&job(), &[busy, free]);
        assert_eq!(ids(&ranked), ["b-free", "a-busy"]);
        assert_eq!(ranked[1].overlapping, ["A-1"]);
        assert_eq!(ranked[0].free_before_minutes, Some(120));
        assert_eq!(ranked[0].free_after_minutes, Some(120));
    }

    #[test]
    fn among_free_technicians_the_lighter_day_ranks_first() {
        let mut heavy = tech("a-heavy", &["appliance_repair"]);
        heavy.bookings = vec![booking("A-1", 1, 2), booking("A-2", 7, 8)];
        let mut light = tech("b-light", &["appliance_repair"]);
        light.bookings = vec![booking("A-3", 1, 2)];
        let ranked = rank(&job(), &[heavy, light]);
        assert_eq!(ids(&ranked), ["b-light", "a-heavy"]);
        assert_eq!((ranked[0].workload, ranked[1].workload), (1, 2));
    }

    #[test]
    fn the_job_itself_is_not_counted_as_workload_or_overlap() {
        let mut current = tech("current", &["appliance_repair"]);
        current.bookings.push(booking("A-job", 4, 6));
        let ranked = rank(&job(), &[current]);
        assert_eq!(ranked[0].workload, 0);
        assert!(ranked[0].free());
    }

    #[test]
    fn with_equal_days_the_nearer_technician_ranks_first_and_unknown_positions_last() {
        let mut far = tech("a-far", &["appliance_repair"]);
        far.position = Some(GeoPoint {
            lat: 31.30,
            lon: 121.44,
        });
        let mut near = tech("b-near", &["appliance_repair"]);
        near.position = Some(GeoPoint {
            lat: 31.221,
            lon: 121.44,
        });
        let unknown = tech("0-unknown", &["appliance_repair"]);
        let ranked = rank(&job(), &[far, unknown, near]);
        assert_eq!(ids(&ranked), ["b-near", "a-far", "0-unknown"]);
        let near_m = ranked[0].distance_m.unwrap();
        assert!((100..=125).contains(&near_m), "about 111 m, got {near_m}");
        assert_eq!(ranked[2].distance_m, None);
    }

    #[test]
    fn without_a_window_nobody_overlaps_and_no_free_time_is_claimed() {
        let mut busy = tech("busy", &["appliance_repair"]);
        busy.bookings.push(booking("A-1", 4, 6));
        let j = Job {
            window: None,
            ..job()
        };
        let ranked = rank(&j, &[busy]);
        assert!(ranked[0].free());
        assert_eq!(ranked[0].free_before_minutes, None);
        assert_eq!(ranked[0].workload, 1);
    }
}
