//! Step 2, Triage (分析), STANDARDS §2.2: likely causes and parts to bring;
//! a fault fixable by phone guidance is resolved remotely (with a 2-hour
//! callback, see `workflow::callbacks`).

use super::shared::{non_empty, out_of_order, reached_customer};
use super::{Given, Result};
use crate::workflow::event::EventKind;

pub(super) fn record_triage(
    g: Given,
    likely_causes: &[String],
    parts_to_bring: &[String],
    remote_fixable: bool,
) -> Result<Vec<EventKind>> {
    Ok(vec![EventKind::TriageRecorded {
        likely_causes: likely_causes.to_vec(),
        parts_to_bring: parts_to_bring.to_vec(),
        remote_fixable: remote_fixable && g.playbook.rules.remote_resolution,
    }])
}

pub(super) fn resolve_remotely(g: Given, guidance: &str) -> Result<Vec<EventKind>> {
    require_remote_resolution_possible(g)?;
    non_empty("guidance", guidance)?;
    Ok(vec![EventKind::ResolvedRemotely {
        guidance: guidance.to_string(),
    }])
}

/// STANDARDS §2.2 (分析): "if the problem may be fixed by phone guidance …
/// the visit can close as resolved remotely" — only in a trade that resolves
/// remotely, after a triage that found it fixable, with the customer reached.
fn require_remote_resolution_possible(g: Given) -> Result<()> {
    let (cmd, s) = (g.command, g.state);
    if !g.playbook.rules.remote_resolution {
        return Err(out_of_order(cmd, s, "this trade resolves on site only"));
    }
    if !s.remote_fixable {
        return Err(out_of_order(
            cmd,
            s,
            "record a triage that finds the fault fixable by phone guidance",
        ));
    }
    if !reached_customer(s) {
        return Err(out_of_order(
            cmd,
            s,
            "reach the customer by phone to give the guidance",
        ));
    }
    Ok(())
}
