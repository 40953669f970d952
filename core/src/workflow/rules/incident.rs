//! Incidents, STANDARDS §4 (conduct worth recording): damage and its
//! compensation, recorded at the door or on site.

use super::shared::non_empty;
use super::Result;
use crate::messages::Text;
use crate::workflow::command::IncidentKind;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;

pub(super) fn record_incident(
    kind: IncidentKind,
    description: &str,
    compensation: Option<i64>,
) -> Result<Vec<EventKind>> {
    non_empty("description", description)?;
    require_non_negative_compensation(compensation)?;
    Ok(vec![EventKind::IncidentRecorded {
        kind,
        description: description.to_string(),
        compensation,
    }])
}

/// STANDARDS §4: "damage is compensated" — a compensation is an amount paid
/// to the customer, never negative.
fn require_non_negative_compensation(compensation: Option<i64>) -> Result<()> {
    if compensation.is_some_and(|c| c < 0) {
        Err(WorkflowError::InvalidInput {
            field: "compensation".into(),
            problem: Text::new("must not be negative", "不能为负数"),
        })
    } else {
        Ok(())
    }
}
