//! The server's view of each visit, rebuilt from the device's events with
//! `doorstep-core` (the same `VisitState::replay` the device runs), plus the
//! center's side: sign-off verification, the authority rules and callbacks.
//!
//! Authority (DESIGN.md): the center owns the assignment's fields, the
//! device owns what happened. The server never drops a device fact. When a
//! cancel or reassign meets a visit the technician already started, both
//! stand and the visit is marked `conflict` until a dispatcher resolves it.
//! The decision uses causal facts (did the visit start; which version the
//! device had seen), never device clocks.

use crate::app::AppState;
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentStatus, AssignmentView, SignOffStatus};
use crate::store::assignments::{self, load_assignment};
use crate::store::events::{self, VisitOwner};
use crate::store::visits::{self, Projection};
use crate::store::{callbacks as callback_store, Tx};
use crate::time::now_ms;
use doorstep_core::callbacks;
use doorstep_core::signoff;
use doorstep_core::wire::wire_name;
use doorstep_core::workflow::event::ConflictKind;
use doorstep_core::{Outcome, VisitEvent, VisitState};

/// What the center needs to know about one visit, derived from its state.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitSummary {
    pub stage: String,
    pub outcome: Option<Outcome>,
    pub trip: u32,
    pub started_at: Option<i64>,
    pub arrived_at: Option<i64>,
    pub late: Option<bool>,
    pub closed_at: Option<i64>,
    pub signoff: SignOffStatus,
    /// Why a broken sign-off does not verify, as stored
    /// ([`SignOffProblem::to_stored`](doorstep_core::signoff::SignOffProblem::to_stored)).
    pub signoff_problem: Option<String>,
    pub satisfied: Option<bool>,
    pub conflict: Option<(ConflictKind, u64)>,
}

/// The collision rule: a cancel or reassign by the center after the
/// technician started keeps both sides and marks a conflict. The device may
/// already have recorded it (it saw the change while on the way); otherwise
/// the server detects it from the assignment as it stands.
pub fn conflict_of(
    state: &VisitState,
    center: &AssignmentView,
    visit_technician: &str,
) -> Option<(ConflictKind, u64)> {
    if let Some(c) = &state.conflict {
        return Some((c.kind, c.version));
    }
    if !state.started() {
        return None;
    }
    let version = center.assignment.version;
    if center.status == AssignmentStatus::Cancelled {
        return Some((ConflictKind::CancelledAfterStart, version));
    }
    let holder = center.assignment.technician.as_ref().map(|t| t.as_str());
    if holder != Some(visit_technician) {
        return Some((ConflictKind::ReassignedAfterStart, version));
    }
    None
}

/// Summarises a replayed visit.
pub fn summarize(state: &VisitState, center: &AssignmentView, technician: &str) -> VisitSummary {
    let (signoff_status, problem) = if state.sign_off.is_some() {
        match signoff::verify(state) {
            Ok(()) => (SignOffStatus::Verified, None),
            Err(p) => (SignOffStatus::Broken, Some(p.to_stored())),
        }
    } else if state.declined.is_some() {
        (SignOffStatus::Declined, None)
    } else {
        (SignOffStatus::None, None)
    };
    VisitSummary {
        stage: wire_name(&state.stage),
        outcome: state.outcome,
        trip: state.trip,
        started_at: state.started_at.map(|t| t.timestamp_millis()),
        arrived_at: state.arrival.as_ref().map(|a| a.at.timestamp_millis()),
        late: state.arrival.as_ref().map(|a| a.punctuality.is_late()),
        closed_at: state.closed_at.map(|t| t.timestamp_millis()),
        signoff: signoff_status,
        signoff_problem: problem,
        // Only a sign-off that verifies says anything about satisfaction: a
        // broken one never shows "satisfied".
        satisfied: state
            .sign_off
            .as_ref()
            .filter(|_| signoff_status == SignOffStatus::Verified)
            .map(|s| s.ratings.satisfied()),
        conflict: conflict_of(state, center, technician),
    }
}

/// Loads a visit's events in timeline order.
pub async fn events_of(tx: &mut dyn Tx, visit_id: &str) -> Fallible<Vec<VisitEvent>> {
    let bodies = events::visit_event_bodies(tx, visit_id).await?;
    let mut list = Vec::with_capacity(bodies.len());
    for body in &bodies {
        list.push(
            serde_json::from_str::<VisitEvent>(body)
                .map_err(|e| Failure::corrupt("replaying a visit", e))?,
        );
    }
    Ok(list)
}

/// Loads a visit's events in timeline order and replays them.
pub async fn replay(tx: &mut dyn Tx, visit_id: &str) -> Fallible<(Vec<VisitEvent>, VisitState)> {
    let list = events_of(tx, visit_id).await?;
    let state = VisitState::replay(&list);
    Ok((list, state))
}

/// Rebuilds one visit's row and its callbacks from its stored events.
/// `chain_ok` is the sign-off hash-chain check of this push (kept as it was
/// when `None`).
pub async fn project_visit(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    chain_ok: Option<bool>,
) -> Fallible<()> {
    let Some(owner) = events::visit_owner(tx, visit_id).await? else {
        return Ok(());
    };
    let (_, state) = replay(tx, visit_id).await?;
    store_projection(tx, app, visit_id, &owner, &state, chain_ok).await
}

/// Stores a replayed visit: its row, its callbacks, and what its facts mean
/// for the center's bookkeeping.
pub async fn store_projection(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    owner: &VisitOwner,
    state: &VisitState,
    chain_ok: Option<bool>,
) -> Fallible<()> {
    let center = load_assignment(tx, &owner.assignment_id)
        .await?
        .ok_or_else(|| Failure::internal("projecting a visit of an unknown assignment"))?;
    store_projection_of(tx, app, visit_id, owner, state, chain_ok, &center).await
}

/// [`store_projection`] with the center's assignment as this transaction
/// reads it (`center`, read together with what the visit's facts came from).
pub async fn store_projection_of(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    owner: &VisitOwner,
    state: &VisitState,
    chain_ok: Option<bool>,
    center: &AssignmentView,
) -> Fallible<()> {
    let VisitOwner {
        assignment_id,
        technician,
        device,
    } = owner;
    let s = summarize(state, center, technician);
    let state_json = serde_json::to_string(state).map_err(|_| Failure::internal("encoding"))?;
    let (conflict, conflict_version) = match s.conflict {
        Some((k, v)) => (Some(wire_name(&k)), Some(v)),
        None => (None, None),
    };
    visits::upsert_projection(
        tx,
        Projection {
            visit_id,
            assignment_id,
            technician,
            device,
            trade: center.assignment.trade.as_str(),
            stage: s.stage,
            outcome: s.outcome.map(|o| wire_name(&o)),
            trip: s.trip,
            started_at: s.started_at,
            arrived_at: s.arrived_at,
            late: s.late,
            closed_at: s.closed_at,
            signoff: s.signoff,
            signoff_problem: s.signoff_problem,
            chain_ok,
            satisfied: s.satisfied,
            conflict,
            conflict_version,
            state_json,
            event_count: state.event_count,
            updated_at: now_ms(),
        },
    )
    .await?;

    // Callbacks the facts call for; done ones stay as recorded.
    callback_store::clear_scheduled(tx, visit_id).await?;
    let trade = center.assignment.trade.as_str();
    let walked = app
        .playbooks
        .holding(tx, trade, state.playbook_version)
        .await?;
    if let Some(pb) = walked.get(trade, state.playbook_version) {
        for due in callbacks::schedule(state, pb) {
            callback_store::schedule(tx, visit_id, due.reason, due.due_at.timestamp_millis())
                .await?;
        }
    }

    // The device's facts update the center's bookkeeping (not its fields).
    let holder = center.assignment.technician.as_ref().map(|t| t.as_str());
    if holder == Some(technician.as_str()) && center.status != AssignmentStatus::Cancelled {
        if state.window_confirmed && !center.window_confirmed {
            assignments::confirm_window(tx, assignment_id).await?;
        }
        if let Some(status) = status_after(state.outcome).filter(|s| *s != center.status) {
            assignments::set_status(tx, assignment_id, status).await?;
        }
    }
    Ok(())
}

/// The assignment status a visit's outcome gives its holder's assignment.
fn status_after(outcome: Option<Outcome>) -> Option<AssignmentStatus> {
    match outcome {
        Some(Outcome::HandedBack) => Some(AssignmentStatus::HandedBack),
        Some(Outcome::Cancelled | Outcome::Reassigned) | None => None,
        Some(_) => Some(AssignmentStatus::Done),
    }
}

/// Re-projects every visit of an assignment (after a cancel or reassign).
pub async fn reproject_assignment(
    tx: &mut dyn Tx,
    app: &AppState,
    assignment_id: &str,
) -> Fallible<()> {
    for visit in visits::visit_ids_of_assignment(tx, assignment_id).await? {
        project_visit(tx, app, &visit, None).await?;
    }
    Ok(())
}
