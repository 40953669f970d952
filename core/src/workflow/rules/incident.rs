//! Incidents, STANDARDS §4 (conduct worth recording): damage and its
//! compensation, recorded at the door or on site.

use super::shared::non_empty;
use super::Result;
use crate::workflow::command::IncidentKind;
use crate::workflow::event::EventKind;

pub(super) fn record_incident(
    kind: IncidentKind,
    description: &str,
    compensation: Option<i64>,
) -> Result<Vec<EventKind>> {
    non_empty("description", description)?;
    // STANDARDS §4: "damage is compensated" — a compensation is never
    // negative: the command's bounds refuse that (`workflow::bounds`).
    Ok(vec![EventKind::IncidentRecorded {
        kind,
        description: description.to_string(),
        compensation,
    }])
}
