//! Step 10, Shoe covers (鞋套) and drop cloth, STANDARDS §2.10: covers on (or
//! waived by the customer) and the drop cloth laid before the work starts.

use super::shared::non_empty;
use super::Result;
use crate::playbook::{Playbook, Step};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn put_on_shoe_covers() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::ShoeCoversOn])
}

pub(super) fn waive_shoe_covers(note: &str) -> Result<Vec<EventKind>> {
    non_empty("note", note)?;
    Ok(vec![EventKind::ShoeCoversWaived {
        note: note.to_string(),
    }])
}

pub(super) fn lay_drop_cloth() -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::DropClothLaid])
}

/// STANDARDS §2.10 (鞋套): shoe covers on ("customer may decline shoe
/// covers: record as a customer waiver") and the drop cloth laid ("toolbox on
/// the drop cloth") before diagnosis, inspection or work.
pub(super) fn require_protection(s: &VisitState, pb: &Playbook) -> Result<()> {
    if !pb.has(Step::Protect) {
        return Ok(());
    }
    let shoe_ok = !pb.rules.shoe_covers || s.shoe_covers.is_some();
    let cloth_ok = !pb.rules.drop_cloth || s.drop_cloth_laid;
    if shoe_ok && cloth_ok {
        Ok(())
    } else {
        Err(WorkflowError::ProtectionMissing {
            shoe_covers: shoe_ok,
            drop_cloth: cloth_ok,
        })
    }
}
