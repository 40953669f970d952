//! Step 10, Shoe covers (鞋套) and drop cloth, STANDARDS §2.10: covers on (or
//! waived by the customer) and the drop cloth laid (or its absence recorded
//! as a waiver: skipped at the kit check, or declined) before the work starts.

use super::shared::{non_empty, out_of_order};
use super::{Given, Result};
use crate::playbook::{Playbook, Step, DROP_CLOTH_KIT_ITEM};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::{KitStatus, VisitState};

pub(super) fn put_on_shoe_covers() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::ShoeCoversOn])
}

pub(super) fn waive_shoe_covers(note: &str) -> Result<Vec<EventKind>> {
    non_empty("note", note)?;
    Ok(vec![EventKind::ShoeCoversWaived {
        note: note.to_string(),
    }])
}

pub(super) fn lay_drop_cloth(g: Given) -> Result<Vec<EventKind>> {
    require_drop_cloth_brought(g)?;
    Ok(vec![EventKind::DropClothLaid])
}

/// STANDARDS §2.4 with §2.10: a drop cloth skipped at the kit check was not
/// brought, so it is not recorded as laid — its absence is a waiver.
fn require_drop_cloth_brought(g: Given) -> Result<()> {
    match g.state.kit.get(DROP_CLOTH_KIT_ITEM) {
        Some(KitStatus::Skipped { .. }) => Err(out_of_order(
            g.command,
            g.state,
            "the drop cloth was skipped at the kit check: record why there is none",
        )),
        _ => Ok(()),
    }
}

/// STANDARDS §2.10 with §2.4: a drop cloth skipped at the kit check (with its
/// reason) or declined is recorded as a waiver, never as a cloth laid.
pub(super) fn waive_drop_cloth(note: &str) -> Result<Vec<EventKind>> {
    non_empty("note", note)?;
    Ok(vec![EventKind::DropClothWaived {
        note: note.to_string(),
    }])
}

/// STANDARDS §2.10 (鞋套): shoe covers on ("customer may decline shoe
/// covers: record as a customer waiver") and the drop cloth laid ("toolbox on
/// the drop cloth") before diagnosis, inspection or work.
pub(super) fn require_protection(s: &VisitState, pb: &Playbook) -> Result<()> {
    if !pb.has(Step::Protect) {
        return Ok(());
    }
    let shoe_ok = !pb.rules.shoe_covers || s.shoe_covers.is_some();
    let cloth_ok = !pb.rules.drop_cloth || s.drop_cloth_laid || s.drop_cloth_waiver.is_some();
    if shoe_ok && cloth_ok {
        Ok(())
    } else {
        Err(WorkflowError::ProtectionMissing {
            shoe_covers: shoe_ok,
            drop_cloth: cloth_ok,
        })
    }
}
