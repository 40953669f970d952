//! Step 14, Teach and clean up, STANDARDS §2.14: brief the customer on use
//! and care; restore the product, wipe it, clean the floor, no tool left.

use super::shared::require_work_recorded;
use super::{Given, Result};
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;

pub(super) fn brief_customer(g: Given) -> Result<Vec<EventKind>> {
    require_work_recorded(g, "record the work")?;
    Ok(vec![EventKind::CustomerBriefed])
}

pub(super) fn clean_up(
    product_restored: bool,
    wiped: bool,
    floor_cleaned: bool,
    no_tool_left: bool,
) -> Result<Vec<EventKind>> {
    require_clean_up_complete([
        (product_restored, "product_restored"),
        (wiped, "wiped"),
        (floor_cleaned, "floor_cleaned"),
        (no_tool_left, "no_tool_left"),
    ])?;
    Ok(vec![EventKind::CleanedUp])
}

/// STANDARDS §2.14 (Teach and clean up): "restore the product, wipe it, clean
/// the floor; self-check that no tool is left" — every item done.
fn require_clean_up_complete(items: [(bool, &str); 4]) -> Result<()> {
    let missing: Vec<String> = items
        .iter()
        .filter(|(done, _)| !done)
        .map(|(_, name)| name.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(WorkflowError::CleanUpIncomplete { items: missing })
    }
}
