//! Step 4, Prepare (准备), STANDARDS §2.4: the kit self-check against the
//! trade's list; no departure with an unchecked mandatory item.

use super::shared::non_empty;
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::{KitItem, Playbook};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::{KitStatus, VisitState};

pub(super) fn check_kit_item(g: Given, item: &str) -> Result<Vec<EventKind>> {
    require_known_kit_item(g.playbook, item)?;
    Ok(vec![EventKind::KitItemChecked {
        item: item.to_string(),
    }])
}

pub(super) fn skip_kit_item(g: Given, item: &str, reason: &str) -> Result<Vec<EventKind>> {
    require_known_kit_item(g.playbook, item)?;
    non_empty("reason", reason)?;
    Ok(vec![EventKind::KitItemSkipped {
        item: item.to_string(),
        reason: reason.to_string(),
    }])
}

/// STANDARDS §2.4 (准备): the self-check is "against the trade's list" — an
/// item not on it is refused, naming the list.
fn require_known_kit_item(pb: &Playbook, item: &str) -> Result<()> {
    if pb.kit_item(item).is_some() {
        Ok(())
    } else {
        let en: Vec<&str> = pb.kit.iter().map(|k| k.name.en.as_str()).collect();
        let zh: Vec<&str> = pb.kit.iter().map(|k| k.name.zh.as_str()).collect();
        Err(WorkflowError::InvalidInput {
            field: "item".into(),
            problem: Text::new(
                format!("not on the kit list ({})", en.join(", ")),
                format!("不在物品清单上（清单：{}）", zh.join("、")),
            ),
        })
    }
}

/// STANDARDS §2.4 (准备): "cannot depart with unchecked mandatory items (a
/// skipped item needs a reason)".
pub(super) fn require_kit_complete(s: &VisitState, pb: &Playbook) -> Result<()> {
    let missing: Vec<&KitItem> = pb
        .kit
        .iter()
        .filter(|k| k.mandatory)
        .filter(|k| match s.kit.get(&k.id) {
            Some(KitStatus::Checked) => false,
            Some(KitStatus::Skipped { reason }) => reason.trim().is_empty(),
            None => true,
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::KitIncomplete {
            items: missing.iter().map(|k| k.id.clone()).collect(),
            names: missing.iter().map(|k| k.name.clone()).collect(),
        })
    }
}
