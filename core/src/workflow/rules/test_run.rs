//! Step 13, Test run (试机通检), STANDARDS §2.13: the test run after the work;
//! no time to test → a callback 2 hours later (not a stand-in for a failed test).

use super::shared::{non_empty, out_of_order, require_work_recorded};
use super::{Given, Result};
use crate::workflow::event::EventKind;
use crate::workflow::state::VisitState;

pub(super) fn record_test_run(
    g: Given,
    passed: bool,
    uncertain: bool,
    notes: &Option<String>,
) -> Result<Vec<EventKind>> {
    require_work_recorded(g, "record the repair work")?;
    Ok(vec![EventKind::TestRunRecorded {
        passed,
        uncertain: uncertain && passed,
        notes: notes.clone(),
    }])
}

pub(super) fn schedule_untested_callback(g: Given, reason: &str) -> Result<Vec<EventKind>> {
    non_empty("reason", reason)?;
    require_work_recorded(g, "record the repair work")?;
    require_callback_not_for_failed_test(g)?;
    Ok(vec![EventKind::UntestedCallbackScheduled {
        reason: reason.to_string(),
    }])
}

/// STANDARDS §2.13 (试机通检): "the test run must pass … no time to test →
/// callback 2 hours later" — the callback stands in for a test there was no
/// time for, not for one that failed.
fn require_callback_not_for_failed_test(g: Given) -> Result<()> {
    if latest_test_failed(g.state) {
        Err(out_of_order(
            g.command,
            g.state,
            "the test run failed: repair and test again (the 2-hour callback is for when there is no time to test)",
        ))
    } else {
        Ok(())
    }
}

/// The latest test run failed: not fixed. Work recorded after a test run
/// clears it (the unit is tested again, `VisitState`), so a test run on
/// record is always the one after the last work.
pub(super) fn latest_test_failed(s: &VisitState) -> bool {
    s.test_run.as_ref().is_some_and(|t| !t.passed)
}
