//! The visit workflow: a pure state machine driven by the trade's playbook.
//!
//! `decide(state, command, playbook, context) -> events | WorkflowError` and
//! `VisitState::apply(event)`. `execute` adds the envelope (ids, HLC stamp,
//! device, location, assignment version) so callers get ready-to-store events.

pub mod bounds;
pub mod callbacks;
pub mod command;
pub mod command_table;
mod context;
pub mod decide;
pub mod error;
pub mod event;
pub mod field_walk;
pub mod form;
pub mod form_fill;
pub mod needs;
pub mod report;
pub mod report_summary;
mod rules;
pub mod signature;
pub mod state;
pub mod travel;
pub mod view;

pub use command::VisitCommand;
pub use decide::{decide, departure_plan, punctuality, step_of, Context, DeparturePlan};
pub use error::WorkflowError;
pub use event::{EventKind, Outcome, Punctuality, VisitEvent, EVENT_TEXT_FORMAT};
pub use form::{action_forms, ActionForm, FieldKind, FieldValue, FormField, FormValue};
pub use form_fill::{fill, FormError};
pub use rules::acceptance::acceptance_due;
pub use rules::photos::{is_sha256_hex, missing_required_photos};
pub use state::{Stage, VisitState};
pub use view::VisitView;

use crate::clock::{Hlc, HlcStamp};
use crate::ids::{EventId, VisitId};
use crate::playbook::Playbook;
use chrono::{DateTime, Utc};

/// Where new ids and HLC stamps come from.
pub trait Stamper {
    fn visit_id(&mut self) -> VisitId;
    fn event_id(&mut self) -> EventId;
    fn hlc(&mut self, now: DateTime<Utc>) -> HlcStamp;
}

/// Real ids: UUIDv7 and the device's HLC.
#[derive(Debug, Default, Clone)]
pub struct LiveStamper {
    pub hlc: Hlc,
}

impl Stamper for LiveStamper {
    fn visit_id(&mut self) -> VisitId {
        VisitId::new_v7()
    }
    fn event_id(&mut self) -> EventId {
        EventId::new_v7()
    }
    fn hlc(&mut self, now: DateTime<Utc>) -> HlcStamp {
        self.hlc.tick(now)
    }
}

/// Deterministic ids for tests and reproducible scripts: counters in UUID form.
#[derive(Debug, Default, Clone)]
pub struct SequentialStamper {
    next: u128,
    hlc: Hlc,
}

impl Stamper for SequentialStamper {
    fn visit_id(&mut self) -> VisitId {
        self.next += 1;
        VisitId(uuid::Uuid::from_u128(0xD00 << 64 | self.next))
    }
    fn event_id(&mut self) -> EventId {
        self.next += 1;
        EventId(uuid::Uuid::from_u128(0xE00 << 64 | self.next))
    }
    fn hlc(&mut self, now: DateTime<Utc>) -> HlcStamp {
        self.hlc.tick(now)
    }
}

/// Decides a command and wraps the resulting facts in envelopes.
/// The state is not changed: apply the events (or store them) to move on.
pub fn execute(
    state: &VisitState,
    command: &VisitCommand,
    playbook: &Playbook,
    ctx: &Context,
    stamper: &mut dyn Stamper,
) -> Result<Vec<VisitEvent>, WorkflowError> {
    let kinds = decide(state, command, playbook, ctx)?;
    let visit_id = match state.visit_id {
        Some(id) => id,
        None => stamper.visit_id(),
    };
    let assignment = match (&state.assignment, command) {
        (Some(a), _) => a,
        (None, VisitCommand::ReceiveAssignment { assignment }) => assignment,
        (None, _) => return Err(WorkflowError::VisitNotStarted),
    };
    let assignment_id = assignment.id.clone();
    let assignment_version = assignment.version;
    Ok(kinds
        .into_iter()
        .map(|kind| {
            let version = match &kind {
                EventKind::AssignmentReceived { assignment, .. } => assignment.version,
                EventKind::AssignmentCancelled { version, .. }
                | EventKind::AssignmentReassigned { version, .. }
                | EventKind::ConflictRaised { version, .. } => *version,
                _ => assignment_version,
            };
            VisitEvent {
                id: stamper.event_id(),
                visit_id,
                assignment_id: assignment_id.clone(),
                device_id: ctx.device_id.clone(),
                hlc: stamper.hlc(ctx.now),
                recorded_at: ctx.now,
                location: ctx.fix(),
                assignment_version: version,
                kind,
            }
        })
        .collect())
}

/// One visit in memory: its events, its state, its playbook. What the CLI
/// and tests drive; the store does the same with persistence.
#[derive(Debug, Clone)]
pub struct Visit {
    pub playbook: Playbook,
    pub events: Vec<VisitEvent>,
    pub state: VisitState,
}

impl Visit {
    pub fn new(playbook: Playbook) -> Self {
        Self {
            playbook,
            events: vec![],
            state: VisitState::default(),
        }
    }

    /// Decides, stamps and applies a command; returns the new events.
    pub fn handle(
        &mut self,
        command: &VisitCommand,
        ctx: &Context,
        stamper: &mut dyn Stamper,
    ) -> Result<&[VisitEvent], WorkflowError> {
        let events = execute(&self.state, command, &self.playbook, ctx, stamper)?;
        let start = self.events.len();
        for e in events {
            self.state.apply(&e);
            self.events.push(e);
        }
        Ok(&self.events[start..])
    }
}
