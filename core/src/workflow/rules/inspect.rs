//! Inspect (water delivery), STANDARDS §1: the goods are inspected before
//! installing (bottles: seal, leaks, foreign matter); only goods that passed
//! are installed.

use super::protect::require_protection;
use super::{Given, Result};
use crate::messages::Text;
use crate::playbook::Playbook;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn inspect_item(
    g: Given,
    item: &str,
    seal_intact: bool,
    no_leaks: bool,
    no_foreign_matter: bool,
) -> Result<Vec<EventKind>> {
    require_protection(g.state, g.playbook)?;
    require_scheduled_goods(g.playbook, item)?;
    Ok(vec![EventKind::ItemInspected {
        item: item.to_string(),
        seal_intact,
        no_leaks,
        no_foreign_matter,
    }])
}

/// STANDARDS §1 (water delivery: bottle inspection): the goods inspected are
/// goods of the trade's fee schedule.
fn require_scheduled_goods(pb: &Playbook, item: &str) -> Result<()> {
    if pb.fee(item).is_some() {
        Ok(())
    } else {
        Err(WorkflowError::InvalidInput {
            field: "item".into(),
            problem: Text::new(
                format!("“{item}” is not in the fee schedule"),
                format!("“{item}”不在收费标准中"),
            ),
        })
    }
}

/// STANDARDS §1 (water delivery: "bottle inspection (seal, leaks, foreign
/// matter)"): install only after an inspection every item passed.
pub(super) fn require_inspection_passed(s: &VisitState, pb: &Playbook) -> Result<()> {
    let failed: Vec<String> = s
        .inspected
        .iter()
        .filter(|(_, ok)| !**ok)
        .map(|(i, _)| i.clone())
        .collect();
    if !failed.is_empty() || s.inspected.is_empty() {
        let names = failed
            .iter()
            .map(|i| {
                pb.fee(i)
                    .map_or_else(|| Text::new(i, i), |f| f.name.clone())
            })
            .collect();
        return Err(WorkflowError::InspectionFailed {
            items: failed,
            names,
        });
    }
    Ok(())
}
