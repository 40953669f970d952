//! Center facts (STANDARDS §3): the assignment received, updated, cancelled
//! or reassigned. Recorded whatever the visit's stage — nothing the
//! technician recorded is lost; a change after the technician set off is a
//! conflict shown to the center.

use super::Result;
use crate::assignment::Assignment;
use crate::business_time::BusinessZone;
use crate::ids::TechnicianId;
use crate::messages::Text;
use crate::playbook::Playbook;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::{ConflictKind, EventKind};
use crate::workflow::state::VisitState;

/// The first fact of a visit: the assignment, with its field issues (§2.1).
pub(in crate::workflow) fn receive_first(
    a: &Assignment,
    pb: &Playbook,
    zone: &BusinessZone,
) -> Result<Vec<EventKind>> {
    require_trade_matches(a, pb)?;
    Ok(vec![EventKind::AssignmentReceived {
        assignment: Box::new(a.clone()),
        field_issues: a.field_issues(&pb.required_fields, zone),
        playbook_version: Some(pb.version),
    }])
}

/// STANDARDS §1 (trades): an assignment is walked with its own trade's playbook.
fn require_trade_matches(a: &Assignment, pb: &Playbook) -> Result<()> {
    if a.trade == pb.id {
        Ok(())
    } else {
        Err(WorkflowError::InvalidInput {
            field: "assignment.trade".into(),
            problem: Text::new(
                format!("is {} but the playbook is {}", a.trade, pb.id),
                format!("工单行业为{}，与本机服务规范{}不符", a.trade, pb.id),
            ),
        })
    }
}

/// A newer version of the visit's assignment; the same version again is a no-op.
pub(in crate::workflow) fn receive_update(
    s: &VisitState,
    a: &Assignment,
    pb: &Playbook,
    zone: &BusinessZone,
) -> Result<Vec<EventKind>> {
    let current = s
        .assignment
        .as_ref()
        .ok_or(WorkflowError::VisitNotStarted)?;
    if a.id != current.id {
        return Err(WorkflowError::InvalidInput {
            field: "assignment.id".into(),
            problem: Text::new(
                format!("this visit is for assignment {}, not {}", current.id, a.id),
                format!("本次服务对应工单{}，不是{}", current.id, a.id),
            ),
        });
    }
    if a.version == current.version {
        return Ok(vec![]); // already have it: idempotent
    }
    require_newer_version(current, a)?;
    Ok(vec![EventKind::AssignmentReceived {
        assignment: Box::new(a.clone()),
        field_issues: a.field_issues(&pb.required_fields, zone),
        playbook_version: s.playbook_version,
    }])
}

/// STANDARDS §3 (reassign or cancel while offline): an older version of the
/// assignment never replaces a newer one.
fn require_newer_version(current: &Assignment, got: &Assignment) -> Result<()> {
    if got.version < current.version {
        Err(WorkflowError::StaleAssignment {
            have: current.version,
            got: got.version,
        })
    } else {
        Ok(())
    }
}

/// The center cancelled; once the technician set off, also a conflict.
pub(in crate::workflow) fn cancel(s: &VisitState, version: u64, reason: &str) -> Vec<EventKind> {
    if s.cancelled {
        return vec![];
    }
    let mut ev = vec![EventKind::AssignmentCancelled {
        version,
        reason: reason.to_string(),
    }];
    if s.started() {
        ev.push(EventKind::ConflictRaised {
            kind: ConflictKind::CancelledAfterStart,
            version,
        });
    }
    ev
}

/// The center reassigned; once the technician set off, also a conflict.
pub(in crate::workflow) fn reassign(
    s: &VisitState,
    version: u64,
    to: &TechnicianId,
) -> Vec<EventKind> {
    let current = s.assignment.as_ref().and_then(|a| a.technician.as_ref());
    if current == Some(to) || s.reassigned && version <= s.assignment_version() {
        return vec![];
    }
    let mut ev = vec![EventKind::AssignmentReassigned {
        version,
        to: to.clone(),
    }];
    if s.started() {
        ev.push(EventKind::ConflictRaised {
            kind: ConflictKind::ReassignedAfterStart,
            version,
        });
    }
    ev
}
