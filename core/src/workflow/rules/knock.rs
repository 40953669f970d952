//! Step 8, Knock (敲门), STANDARDS §2.8: ring or knock, repeat at the trade's
//! interval, phone the customer, ask a neighbour, leave a note, notify the
//! center — and only then "customer absent".

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::playbook::{Playbook, Step};
use crate::workflow::command::KnockMethod;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;
use chrono::{DateTime, Utc};

/// Nobody has answered the door yet (the command table keeps these commands at the door).
fn at_closed_door(g: Given) -> Result<()> {
    if g.state.door.answered {
        return Err(out_of_order(
            g.command,
            g.state,
            "the door was answered: enter",
        ));
    }
    Ok(())
}

pub(super) fn knock(g: Given, method: KnockMethod) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    require_appearance_checked(g)?;
    require_knock_interval(g.state, g.playbook, g.ctx.now)?;
    Ok(vec![EventKind::Knocked { method }])
}

/// STANDARDS §2.7 (Before the door): the appearance self-check comes before
/// the knock, where the trade walks that step.
fn require_appearance_checked(g: Given) -> Result<()> {
    if g.playbook.has(Step::Appearance) && !g.state.appearance_checked {
        Err(out_of_order(
            g.command,
            g.state,
            "do the appearance self-check",
        ))
    } else {
        Ok(())
    }
}

/// STANDARDS §2.8 (敲门): "no answer: repeat every 30 s" (property trade:
/// "wait 10 s between rings") — knocks at least the trade's interval apart.
fn require_knock_interval(s: &VisitState, pb: &Playbook, now: DateTime<Utc>) -> Result<()> {
    if let Some(last) = s.door.knocks.last() {
        let elapsed = (now - *last).num_seconds();
        let interval = pb.knock.interval_seconds;
        if elapsed < interval {
            return Err(WorkflowError::KnockTooSoon {
                wait_seconds: interval - elapsed,
            });
        }
    }
    Ok(())
}

pub(super) fn door_answered(g: Given) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    require_knocked(g)?;
    Ok(vec![EventKind::DoorAnswered])
}

/// STANDARDS §2.8 (敲门): "ring the bell if present, else 2 rounds of 3 light
/// knocks" — the door is answered to a ring or a knock.
fn require_knocked(g: Given) -> Result<()> {
    if g.state.door.knocks.is_empty() {
        Err(out_of_order(g.command, g.state, "ring the bell or knock"))
    } else {
        Ok(())
    }
}

pub(super) fn ask_neighbour(g: Given, note: &str) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    non_empty("note", note)?;
    Ok(vec![EventKind::NeighbourAsked {
        note: note.to_string(),
    }])
}

pub(super) fn leave_door_note(g: Given) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    Ok(vec![EventKind::DoorNoteLeft])
}

pub(super) fn notify_center_absent(g: Given) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    Ok(vec![EventKind::CenterNotifiedAbsent])
}

pub(super) fn declare_customer_absent(g: Given) -> Result<Vec<EventKind>> {
    at_closed_door(g)?;
    require_absence_attempts(g.state, g.playbook).map(|e| vec![e])
}

/// STANDARDS §2.8 (敲门): "'customer absent' requires ≥ 5 min of logged
/// attempts and one call attempt (property trade: … its own minimum)"; the
/// protocol also asks a neighbour (where the trade does), leaves a note on
/// the door and notifies the center. Returns the absence fact.
fn require_absence_attempts(s: &VisitState, pb: &Playbook) -> Result<EventKind> {
    let arrived = s.arrival.as_ref().map(|a| a.at);
    let call_times: Vec<DateTime<Utc>> = s
        .calls
        .iter()
        .filter(|c| arrived.is_some_and(|t| c.at >= t))
        .map(|c| c.at)
        .collect();
    let calls = call_times.len() as u32;
    // Minutes of logged attempts: from the first knock to the latest knock or
    // call, not merely the time since the first knock.
    let first = s.door.knocks.first().copied();
    let last = s.door.knocks.iter().chain(&call_times).max().copied();
    let minutes_logged = match (first, last) {
        (Some(f), Some(l)) => (l - f).num_seconds().max(0) / 60,
        _ => 0,
    };
    let minimum = pb.knock.absent_minimum_minutes;
    let neighbour_ok = !pb.knock.neighbour_check || s.door.neighbour_asked;
    let note_ok = !pb.knock.door_note_required || s.door.note_left;
    if minutes_logged < minimum
        || calls == 0
        || !neighbour_ok
        || !note_ok
        || !s.door.center_notified
    {
        return Err(WorkflowError::AbsentTooSoon {
            minutes_logged,
            minimum,
            calls,
            door_note: note_ok,
            center_notified: s.door.center_notified,
            neighbour_asked: neighbour_ok,
        });
    }
    Ok(EventKind::CustomerAbsent {
        minutes_of_attempts: minutes_logged,
        knocks: s.door.knocks.len() as u32,
        calls,
    })
}
