//! Step 5, Depart, STANDARDS §2.5: leave so as to arrive 5-10 minutes early;
//! a projected late arrival prompts a call to the customer before the
//! appointment (apologise, agree a new time or ask the center to reassign).

use super::prepare::require_kit_complete;
use super::shared::{current_window, valid_future_window};
use super::{Given, Result};
use crate::assignment::TimeWindow;
use crate::clock;
use crate::location::GeoPoint;
use crate::messages::Text;
use crate::playbook::{Playbook, Step};
use crate::workflow::command::{CallOutcome, LateChoice};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use chrono::{DateTime, Utc};

pub(super) fn depart(g: Given, travel_minutes: u32) -> Result<Vec<EventKind>> {
    if g.playbook.has(Step::Prepare) {
        require_kit_complete(g.state, g.playbook)?;
    }
    let window = current_window(g)?;
    let plan = departure_plan(&window, travel_minutes, g.playbook, g.ctx.now);
    Ok(vec![EventKind::Departed {
        travel_minutes,
        projected_arrival: plan.projected_arrival,
        latest_on_time_departure: plan.latest_departure,
        late_risk: plan.late_risk,
    }])
}

pub(super) fn plan_travel(
    estimated_travel_minutes: Option<u32>,
    from: Option<GeoPoint>,
) -> Result<Vec<EventKind>> {
    require_valid_origin(from)?;
    Ok(vec![EventKind::TravelPlanned {
        estimated_travel_minutes,
        from,
    }])
}

/// STANDARDS §2.5: the trip's starting point is a real place (the travel
/// time is worked out from it).
fn require_valid_origin(from: Option<GeoPoint>) -> Result<()> {
    if from.is_some_and(|p| !p.is_valid()) {
        Err(WorkflowError::InvalidInput {
            field: "from".into(),
            problem: Text::new(
                "not a valid place (latitude -90..90, longitude -180..180)",
                "不是有效的地点（纬度-90至90，经度-180至180）",
            ),
        })
    } else {
        Ok(())
    }
}

pub(super) fn notify_running_late(
    g: Given,
    outcome: CallOutcome,
    choice: &Option<LateChoice>,
) -> Result<Vec<EventKind>> {
    if let Some(LateChoice::NewWindow { window }) = choice {
        valid_future_window("choice.window", window, g.ctx.now)?;
    }
    require_choice_agreed_on_the_call(outcome, choice)?;
    Ok(vec![EventKind::RunningLateNotified {
        outcome,
        choice: choice.clone(),
    }])
}

/// STANDARDS §2.5: "call the customer before the appointment, apologise, and
/// either agree a new time or ask the center to reassign" — a choice is
/// recorded only from a call that reached the customer.
fn require_choice_agreed_on_the_call(
    outcome: CallOutcome,
    choice: &Option<LateChoice>,
) -> Result<()> {
    if choice.is_some() && outcome != CallOutcome::Reached {
        Err(WorkflowError::NoCustomerAgreement)
    } else {
        Ok(())
    }
}

/// The departure plan of §2.5: leave so as to arrive 5-10 minutes early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeparturePlan {
    /// Leave by this time to arrive at the earliest margin (10 min early).
    pub ideal_departure: DateTime<Utc>,
    /// Leave by this time at the latest to arrive with the minimum margin (5 min early).
    pub latest_departure: DateTime<Utc>,
    pub projected_arrival: DateTime<Utc>,
    /// The projected arrival is after the window starts: call the customer now.
    pub late_risk: bool,
}

/// STANDARDS §2.5 (Depart): "departure time is computed backwards from the
/// window start and the travel time so that arrival is 5-10 minutes early";
/// a projected arrival after the window starts is a late risk.
pub fn departure_plan(
    window: &TimeWindow,
    travel_minutes: u32,
    pb: &Playbook,
    now: DateTime<Utc>,
) -> DeparturePlan {
    let travel = clock::minutes(i64::from(travel_minutes));
    let projected_arrival = clock::shift(now, travel);
    let before_start =
        |early: i64| clock::shift(clock::shift(window.start, -travel), -clock::minutes(early));
    DeparturePlan {
        ideal_departure: before_start(pb.timing.early_arrival_max_minutes),
        latest_departure: before_start(pb.timing.early_arrival_min_minutes),
        projected_arrival,
        late_risk: projected_arrival > window.start,
    }
}
