//! Step 6, Arrive, STANDARDS §2.6: the geofence check against the customer's
//! location, the punctuality class, and the apology (with a gift at 15
//! minutes or more) a late arrival owes before entering.

use super::shared::{current_window, out_of_order};
use super::{Given, Result};
use crate::assignment::TimeWindow;
use crate::clock;
use crate::location::{geofence, GeoFix, GeofenceCheck, LocationUnavailable};
use crate::messages::Text;
use crate::playbook::Playbook;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::{EventKind, Punctuality};
use crate::workflow::state::VisitState;
use chrono::{DateTime, TimeDelta, Utc};

pub(super) fn arrive(
    g: Given,
    location: Option<GeoFix>,
    outside_geofence_reason: &Option<String>,
    location_unavailable: Option<LocationUnavailable>,
) -> Result<Vec<EventKind>> {
    let pb = g.playbook;
    let window = current_window(g)?;
    if location.is_some_and(|f| !f.is_valid()) {
        return Err(WorkflowError::InvalidInput {
            field: "location".into(),
            problem: Text::new(
                "not a valid GPS fix (latitude -90..90, longitude -180..180, accuracy in metres)",
                "不是有效的定位（纬度-90至90，经度-180至180，精度以米计）",
            ),
        });
    }
    let fix = location.or(g.ctx.fix());
    let check = match (
        fix,
        g.state
            .assignment
            .as_ref()
            .and_then(|a| a.customer.location),
    ) {
        (Some(fix), Some(target)) => {
            Some(geofence(&fix, &target, pb.timing.geofence_radius_m as u32))
        }
        _ => None,
    };
    require_inside_geofence_or_reason(check, outside_geofence_reason)?;
    let punctuality = punctuality(&window, g.ctx.now, pb);
    Ok(vec![EventKind::Arrived {
        location: fix,
        geofence: check,
        outside_geofence_reason: outside_geofence_reason.clone(),
        punctuality,
        late_without_prior_call: late_without_prior_call(g, &window, punctuality),
        // No fix is recorded as such (permission refused, no signal), never as a silent null.
        location_unavailable: fix.is_none().then_some(location_unavailable).flatten(),
    }])
}

/// STANDARDS §2.6 (Arrive): "geofence check against the customer's
/// location" — an arrival outside the fence needs a reason.
fn require_inside_geofence_or_reason(
    check: Option<GeofenceCheck>,
    reason: &Option<String>,
) -> Result<()> {
    let Some(c) = check else {
        return Ok(());
    };
    let reason_given = reason.as_deref().is_some_and(|r| !r.trim().is_empty());
    if !c.inside && !reason_given {
        return Err(WorkflowError::OutsideGeofence {
            distance_m: c.distance_m,
            radius_m: c.radius_m,
        });
    }
    Ok(())
}

/// STANDARDS §2.6 (Arrive): "if late is foreseeable, call 1-2 minutes before
/// the appointment at the latest" — a late arrival without such a call is flagged.
fn late_without_prior_call(g: Given, window: &TimeWindow, punctuality: Punctuality) -> bool {
    let call_deadline = clock::shift(
        window.start,
        -clock::minutes(g.playbook.timing.late_call_lead_minutes),
    );
    punctuality.is_late()
        && g.state
            .running_late_notified
            .is_none_or(|t| t > call_deadline)
}

pub(super) fn apologise_for_lateness(
    g: Given,
    gift_offered: bool,
    gift_accepted: bool,
) -> Result<Vec<EventKind>> {
    let Some(arrival) = &g.state.arrival else {
        return Err(out_of_order(g.command, g.state, "arrive"));
    };
    match arrival.punctuality {
        Punctuality::LateSerious { minutes_late } => {
            require_gift_when_seriously_late(minutes_late, gift_offered)?;
            let mut ev = vec![EventKind::LatenessApologised {
                gift_offered: true,
                gift_accepted,
            }];
            if !gift_accepted {
                // Not accepted: a manager visits.
                ev.push(EventKind::ManagerVisitRequested {
                    reason: format!(
                        "arrived {minutes_late} min late; apology and gift not accepted"
                    ),
                });
            }
            Ok(ev)
        }
        Punctuality::LateMinor { .. } => Ok(vec![EventKind::LatenessApologised {
            gift_offered,
            gift_accepted: gift_offered && gift_accepted,
        }]),
        _ => Err(out_of_order(
            g.command,
            g.state,
            "an apology for lateness is only recorded after a late arrival",
        )),
    }
}

/// STANDARDS §2.6 (Arrive): "late ≥ 15 min (sincere apology, small gift; if
/// not accepted a manager visits)" — the apology comes with the gift.
fn require_gift_when_seriously_late(minutes_late: i64, gift_offered: bool) -> Result<()> {
    if gift_offered {
        Ok(())
    } else {
        Err(WorkflowError::LatenessApologyRequired {
            minutes_late,
            gift_required: true,
        })
    }
}

/// STANDARDS §2.6 (Arrive): "early/on time; late < 15 min; late ≥ 15 min".
/// The tiers compare exact durations (14 min 1 s late is under 15 min); the
/// minutes shown are whole minutes, at least 1 when late at all.
pub fn punctuality(window: &TimeWindow, at: DateTime<Utc>, pb: &Playbook) -> Punctuality {
    let early = window.start - at;
    if early >= TimeDelta::zero() {
        let minutes_early = early.num_minutes();
        if early >= clock::minutes(pb.timing.early_arrival_min_minutes) {
            Punctuality::Early { minutes_early }
        } else {
            Punctuality::OnTime
        }
    } else {
        let late = -early;
        let minutes_late = late.num_minutes().max(1);
        if late < clock::minutes(pb.timing.late_serious_minutes) {
            Punctuality::LateMinor { minutes_late }
        } else {
            Punctuality::LateSerious { minutes_late }
        }
    }
}

/// STANDARDS §2.6 (Arrive): a late arrival is apologised for ("late < 15 min
/// (apologise …)", where the trade asks it; "late ≥ 15 min (sincere apology,
/// small gift …)") before entering.
pub(super) fn require_lateness_apology(s: &VisitState, pb: &Playbook) -> Result<()> {
    let Some(arrival) = &s.arrival else {
        return Ok(());
    };
    if s.lateness_apologised {
        return Ok(());
    }
    match arrival.punctuality {
        Punctuality::LateSerious { minutes_late } => Err(WorkflowError::LatenessApologyRequired {
            minutes_late,
            gift_required: true,
        }),
        Punctuality::LateMinor { minutes_late } if pb.rules.lateness_apology => {
            Err(WorkflowError::LatenessApologyRequired {
                minutes_late,
                gift_required: false,
            })
        }
        _ => Ok(()),
    }
}
