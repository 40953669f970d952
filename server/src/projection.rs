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

use crate::center::{load_assignment, AssignmentView};
use crate::error::{ApiError, ApiResult};
use crate::store::{Tx, Value};
use crate::{now_ms, wire_name, AppState};
use doorstep_core::callbacks;
use doorstep_core::signoff;
use doorstep_core::workflow::event::ConflictKind;
use doorstep_core::{Outcome, VisitEvent, VisitState};
use serde::{Deserialize, Serialize};

/// Sign-off status of a visit, as the server verified it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignOffStatus {
    /// The report digest recomputed from the events matches the signed one.
    Verified,
    /// Signed, but the binding does not verify (see `signoff_problem`).
    Broken,
    /// The customer declined to sign (a valid outcome, followed up).
    Declined,
    None,
}

impl SignOffStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Broken => "broken",
            Self::Declined => "declined",
            Self::None => "none",
        }
    }
}

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
    if center.status == "cancelled" {
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
            Err(p) => (SignOffStatus::Broken, Some(p.to_string())),
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
        satisfied: state.sign_off.as_ref().map(|s| s.ratings.satisfied()),
        conflict: conflict_of(state, center, technician),
    }
}

/// Loads a visit's events in timeline order and replays them.
pub async fn replay(tx: &mut dyn Tx, visit_id: &str) -> ApiResult<(Vec<VisitEvent>, VisitState)> {
    let rows = tx
        .query(
            "SELECT body FROM events WHERE visit_id = $1 ORDER BY hlc_millis, hlc_counter, device_id, seq",
            &[visit_id.into()],
        )
        .await?;
    let mut events = Vec::with_capacity(rows.len());
    for r in &rows {
        events.push(serde_json::from_str::<VisitEvent>(&r.text(0)).map_err(|e| {
            tracing::error!(error = %e, "stored event does not parse");
            ApiError::internal("replaying a visit")
        })?);
    }
    let state = VisitState::replay(&events);
    Ok((events, state))
}

/// Rebuilds one visit's row and its callbacks from its stored events.
/// `chain_ok` is the sign-off hash-chain check of this push (kept as it was
/// when `None`).
pub async fn project_visit(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    chain_ok: Option<bool>,
) -> ApiResult<()> {
    let Some(first) = tx
        .query_opt(
            "SELECT assignment_id, technician_id, device_id FROM events WHERE visit_id = $1 ORDER BY hlc_millis, hlc_counter, seq LIMIT 1",
            &[visit_id.into()],
        )
        .await?
    else {
        return Ok(());
    };
    let owner = VisitOwner {
        assignment_id: first.text(0),
        technician: first.text(1),
        device: first.text(2),
    };
    let (_, state) = replay(tx, visit_id).await?;
    store_projection(tx, app, visit_id, &owner, &state, chain_ok).await
}

/// Whose a visit is.
#[derive(Debug, Clone)]
pub struct VisitOwner {
    pub assignment_id: String,
    pub technician: String,
    pub device: String,
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
) -> ApiResult<()> {
    let VisitOwner {
        assignment_id,
        technician,
        device,
    } = owner.clone();
    let center = load_assignment(tx, &assignment_id)
        .await?
        .ok_or_else(|| ApiError::internal("projecting a visit of an unknown assignment"))?;
    let s = summarize(state, &center, &technician);
    let state_json = serde_json::to_string(state).map_err(|_| ApiError::internal("encoding"))?;
    let (conflict, conflict_version) = match s.conflict {
        Some((k, v)) => (Some(wire_name(&k)), Some(v)),
        None => (None, None),
    };
    let params: Vec<Value> = vec![
        visit_id.into(),
        assignment_id.clone().into(),
        technician.clone().into(),
        device.into(),
        center.assignment.trade.as_str().into(),
        s.stage.into(),
        s.outcome.map(|o| wire_name(&o)).into(),
        s.trip.into(),
        s.started_at.into(),
        s.arrived_at.into(),
        s.late.into(),
        s.closed_at.into(),
        s.signoff.as_str().into(),
        s.signoff_problem.into(),
        chain_ok.unwrap_or(true).into(),
        s.satisfied.into(),
        conflict.into(),
        conflict_version.into(),
        state_json.into(),
        state.event_count.into(),
        now_ms().into(),
        chain_ok.is_some().into(),
    ];
    tx.execute(
        "INSERT INTO visits (visit_id, assignment_id, technician_id, device_id, trade, stage, outcome, trip,
            started_at, arrived_at, late, closed_at, signoff, signoff_problem, chain_ok, satisfied,
            conflict, conflict_version, state, event_count, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (visit_id) DO UPDATE SET stage = excluded.stage, outcome = excluded.outcome,
            trip = excluded.trip, started_at = excluded.started_at, arrived_at = excluded.arrived_at,
            late = excluded.late, closed_at = excluded.closed_at, signoff = excluded.signoff,
            signoff_problem = excluded.signoff_problem,
            chain_ok = CASE WHEN $22 = 1 THEN excluded.chain_ok ELSE visits.chain_ok END,
            satisfied = excluded.satisfied, conflict = excluded.conflict,
            conflict_version = excluded.conflict_version, state = excluded.state,
            event_count = excluded.event_count, updated_at = excluded.updated_at",
        &params,
    )
    .await?;

    // Callbacks the facts call for; done ones stay as recorded.
    tx.execute(
        "DELETE FROM callbacks WHERE visit_id = $1 AND done_at IS NULL AND reason <> 'monthly_sample'",
        &[visit_id.into()],
    )
    .await?;
    if let Some(pb) = app.playbook(center.assignment.trade.as_str()) {
        for due in callbacks::schedule(state, pb) {
            tx.execute(
                "INSERT INTO callbacks (visit_id, reason, due_at) VALUES ($1, $2, $3)
                 ON CONFLICT (visit_id, reason) DO NOTHING",
                &[
                    visit_id.into(),
                    wire_name(&due.reason).into(),
                    due.due_at.timestamp_millis().into(),
                ],
            )
            .await?;
        }
    }

    // The device's facts update the center's bookkeeping (not its fields).
    let holder = center.assignment.technician.as_ref().map(|t| t.as_str());
    if holder == Some(technician.as_str()) && center.status != "cancelled" {
        if state.window_confirmed && !center.window_confirmed {
            tx.execute(
                "UPDATE assignments SET window_confirmed = 1 WHERE id = $1",
                &[assignment_id.clone().into()],
            )
            .await?;
        }
        let status = match state.outcome {
            Some(Outcome::HandedBack) => Some("handed_back"),
            Some(Outcome::Cancelled | Outcome::Reassigned) | None => None,
            Some(_) => Some("done"),
        };
        if let Some(status) = status.filter(|s| *s != center.status) {
            tx.execute(
                "UPDATE assignments SET status = $1 WHERE id = $2",
                &[status.into(), assignment_id.into()],
            )
            .await?;
        }
    }
    Ok(())
}

/// Re-projects every visit of an assignment (after a cancel or reassign).
pub async fn reproject_assignment(
    tx: &mut dyn Tx,
    app: &AppState,
    assignment_id: &str,
) -> ApiResult<()> {
    let rows = tx
        .query(
            "SELECT visit_id FROM visits WHERE assignment_id = $1",
            &[assignment_id.into()],
        )
        .await?;
    for r in rows {
        project_visit(tx, app, &r.text(0), None).await?;
    }
    Ok(())
}
