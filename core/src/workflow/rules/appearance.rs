//! Step 7, Before the door, STANDARDS §2.7: the appearance self-check
//! (uniform, clean, permit visible).

use super::{Given, Result};
use crate::playbook::{KitItem, Playbook};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;

pub(super) fn check_appearance(g: Given, items: &[String]) -> Result<Vec<EventKind>> {
    require_mandatory_appearance(g.playbook, items)?;
    Ok(vec![EventKind::AppearanceChecked {
        items: items.to_vec(),
    }])
}

/// STANDARDS §2.7 (Before the door): "appearance self-check (uniform, clean,
/// permit visible)" — every mandatory item of the trade's list is ticked.
fn require_mandatory_appearance(pb: &Playbook, items: &[String]) -> Result<()> {
    let missing: Vec<&KitItem> = pb
        .appearance
        .iter()
        .filter(|a| a.mandatory && !items.contains(&a.id))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::AppearanceIncomplete {
            items: missing.iter().map(|a| a.id.clone()).collect(),
            names: missing.iter().map(|a| a.name.clone()).collect(),
        })
    }
}
