//! A dispatcher's decision on a conflict (a cancel or reassign that met a
//! visit already started): the center's change stands, or the technician who
//! started is reinstated. Either way the visit's facts stay on record.

use crate::app::AppState;
use crate::domain::assignments::reinstate_tx;
use crate::domain::projection::reproject_assignment;
use crate::failure::{Failure, Fallible};
use crate::model::VisitRow;
use crate::store::{visits, LockKey, Tx};
use crate::time::now_ms;
use doorstep_core::wire::wire_name;
use serde::{Deserialize, Serialize};

/// A dispatcher's decision on a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(utoipa::ToSchema)]
pub enum Decision {
    /// The center's cancel or reassign stands; the visit's facts stay on record.
    KeepCenter,
    /// The technician who started keeps the assignment (un-cancel or give it back).
    ReinstateTechnician,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResolveRequest {
    pub decision: Decision,
    #[serde(default)]
    pub note: Option<String>,
}

/// Resolves a visit's open conflict and re-projects the assignment's visits.
pub async fn resolve_tx(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    req: &ResolveRequest,
    actor: &str,
) -> Fallible<VisitRow> {
    tx.lock(LockKey::Assignments).await?;
    let row = visits::load_visit(tx, visit_id)
        .await?
        .ok_or_else(|| Failure::not_found("visit", visit_id))?;
    if !row.conflict_open {
        return Err(Failure::conflict(
            "no_conflict",
            format!("visit {visit_id} has no open conflict to resolve"),
        ));
    }
    if req.decision == Decision::ReinstateTechnician {
        reinstate_tx(tx, &row.assignment_id, &row.technician_id, actor).await?;
    }
    let decision = wire_name(&req.decision);
    let resolution = match &req.note {
        Some(n) if !n.trim().is_empty() => format!("{decision}: {n}"),
        _ => decision,
    };
    visits::record_resolution(
        tx,
        visit_id,
        &resolution,
        row.conflict_version,
        actor,
        now_ms(),
    )
    .await?;
    reproject_assignment(tx, app, &row.assignment_id).await?;
    visits::load_visit(tx, visit_id)
        .await?
        .ok_or_else(|| Failure::not_found("visit", visit_id))
}
