//! Step 9, Enter, STANDARDS §2.9: greet, introduce self and company, show the
//! permit; the entry exceptions (customer not home, power cut, …) reschedule
//! with a new agreed time.

use super::arrive::require_lateness_apology;
use super::shared::{out_of_order, require_agreement_on_site, valid_future_window};
use super::{Given, Result};
use crate::assignment::TimeWindow;
use crate::playbook::Step;
use crate::workflow::command::EntryException;
use crate::workflow::error::WorkflowError;
use crate::workflow::event::EventKind;

pub(super) fn enter(g: Given, greeted: bool, permit_shown: bool) -> Result<Vec<EventKind>> {
    require_entry_complete(g, greeted, permit_shown)?;
    require_lateness_apology(g.state, g.playbook)?;
    Ok(vec![EventKind::Entered {
        greeted,
        permit_shown,
    }])
}

/// STANDARDS §2.9 (Enter): "greet, introduce self and company, show the
/// permit" — after the door was answered, where the trade knocks.
fn require_entry_complete(g: Given, greeted: bool, permit_shown: bool) -> Result<()> {
    if g.playbook.has(Step::Knock) && !g.state.door.answered {
        return Err(WorkflowError::EntryIncomplete);
    }
    if !greeted || !permit_shown {
        return Err(WorkflowError::EntryIncomplete);
    }
    Ok(())
}

pub(super) fn record_entry_exception(
    g: Given,
    exception: EntryException,
    new_window: &TimeWindow,
) -> Result<Vec<EventKind>> {
    require_no_work_yet(g)?;
    valid_future_window("new_window", new_window, g.ctx.now)?;
    require_agreement_on_site(g.state)?;
    Ok(vec![EventKind::EntryExceptionRecorded {
        exception,
        new_window: *new_window,
    }])
}

/// STANDARDS §2.9 (Enter): the entry exceptions are met at the door, before
/// any work is recorded.
fn require_no_work_yet(g: Given) -> Result<()> {
    if g.state.work.is_empty() {
        Ok(())
    } else {
        Err(out_of_order(
            g.command,
            g.state,
            "entry exceptions apply before work starts",
        ))
    }
}
