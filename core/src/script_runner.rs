//! Visit scripts: JSON lines that drive one visit through the workflow, each
//! line with an explicit timestamp and a command. What the `doorstep` CLI
//! runs, and how the examples under `examples/` are checked. Format in
//! docs/SCRIPTS.md.
//!
//! ```text
//! {"doorstep_script": 1, "trade": "appliance_repair", "device_id": "dev-1", "technician": "Wang Wei"}
//! {"at": "2026-11-25T08:00:00Z", "command": {"type": "receive_assignment", "assignment": {...}}}
//! {"at": "2026-11-25T08:05:00Z", "command": {"type": "depart", "travel_minutes": 20}, "expect": "kit_incomplete"}
//! ```

use crate::ids::DeviceId;
use crate::location::GeoFix;
use crate::playbook::Playbook;
use crate::workflow::view::{view, VisitView};
use crate::workflow::{Context, SequentialStamper, Visit, VisitCommand, VisitEvent, WorkflowError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The script format version this build understands.
pub const SCRIPT_VERSION: u32 = 1;

/// The first line of a script.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptHeader {
    pub doorstep_script: u32,
    /// A shipped trade id, unless the caller supplies a playbook.
    pub trade: String,
    pub device_id: DeviceId,
    #[serde(default)]
    pub technician: Option<String>,
}

/// One command line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptLine {
    pub at: DateTime<Utc>,
    pub command: VisitCommand,
    #[serde(default)]
    pub location: Option<GeoFix>,
    /// The refusal code this command must produce (the line documents a rule).
    #[serde(default)]
    pub expect: Option<String>,
}

/// What happened on one line.
#[derive(Debug, Clone, Serialize)]
pub struct LineResult {
    pub line: usize,
    pub command: String,
    /// Events appended (0 for an expected refusal).
    pub events: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The result of a whole script.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptOutcome {
    pub lines: Vec<LineResult>,
    pub events: Vec<VisitEvent>,
    pub view: VisitView,
}

/// Why a script stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("line {line}: not a valid script line: {message}")]
    Parse { line: usize, message: String },
    #[error("line 1: script version {found} is not supported (this build reads version {SCRIPT_VERSION})")]
    UnknownVersion { found: u32 },
    #[error("line 1: unknown trade {0:?}; shipped trades: appliance_repair, computer_repair, water_delivery, home_care, property_maintenance, heating_service (or pass --playbook FILE)")]
    UnknownTrade(String),
    #[error("line {line}: {command} refused [{}]: {}", error.code(), error.message(crate::messages::Lang::En))]
    Refused {
        line: usize,
        command: String,
        error: WorkflowError,
    },
    #[error(
        "line {line}: {command} was expected to be refused with {expected:?} but was accepted"
    )]
    UnexpectedSuccess {
        line: usize,
        command: String,
        expected: String,
    },
    #[error("line {line}: {command} was expected to be refused with {expected:?} but was refused with {got:?}: {message}")]
    WrongRefusal {
        line: usize,
        command: String,
        expected: String,
        got: String,
        message: String,
    },
    #[error("the script is empty: the first line must be a header like {{\"doorstep_script\": 1, \"trade\": \"appliance_repair\", \"device_id\": \"dev-1\"}}")]
    Empty,
}

impl ScriptError {
    /// The line the error is about.
    pub fn line(&self) -> usize {
        match self {
            Self::Parse { line, .. }
            | Self::Refused { line, .. }
            | Self::UnexpectedSuccess { line, .. }
            | Self::WrongRefusal { line, .. } => *line,
            _ => 1,
        }
    }
}

/// Runs a script. `playbook` overrides the header's trade (a custom playbook).
pub fn run_script(text: &str, playbook: Option<Playbook>) -> Result<ScriptOutcome, ScriptError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with("//"));
    let (n, first) = lines.next().ok_or(ScriptError::Empty)?;
    let header: ScriptHeader = serde_json::from_str(first).map_err(|e| ScriptError::Parse {
        line: n,
        message: e.to_string(),
    })?;
    if header.doorstep_script != SCRIPT_VERSION {
        return Err(ScriptError::UnknownVersion {
            found: header.doorstep_script,
        });
    }
    let playbook = match playbook {
        Some(p) => p,
        None => Playbook::shipped_by_id(&header.trade)
            .ok_or_else(|| ScriptError::UnknownTrade(header.trade.clone()))?,
    };
    let technician = header
        .technician
        .clone()
        .unwrap_or_else(|| header.device_id.to_string());
    let mut visit = Visit::new(playbook);
    let mut stamper = SequentialStamper::default();
    let mut results = vec![];
    let mut last_at = None;
    for (n, text) in lines {
        let line: ScriptLine = serde_json::from_str(text).map_err(|e| ScriptError::Parse {
            line: n,
            message: e.to_string(),
        })?;
        let command = line.command.name();
        let mut ctx = Context::new(line.at, header.device_id.clone());
        ctx.location = line.location;
        last_at = Some(line.at);
        match (visit.handle(&line.command, &ctx, &mut stamper), line.expect) {
            (Ok(events), None) => results.push(LineResult {
                line: n,
                command,
                events: events.len(),
                refused: None,
            }),
            (Ok(_), Some(expected)) => {
                return Err(ScriptError::UnexpectedSuccess {
                    line: n,
                    command,
                    expected,
                })
            }
            (Err(error), None) => {
                return Err(ScriptError::Refused {
                    line: n,
                    command,
                    error,
                })
            }
            (Err(error), Some(expected)) if error.code() == expected => results.push(LineResult {
                line: n,
                command,
                events: 0,
                refused: Some(expected),
            }),
            (Err(error), Some(expected)) => {
                return Err(ScriptError::WrongRefusal {
                    line: n,
                    command,
                    expected,
                    got: error.code().to_string(),
                    message: error.message(crate::messages::Lang::En),
                })
            }
        }
    }
    let now = last_at.unwrap_or(chrono::DateTime::<Utc>::UNIX_EPOCH);
    let view = view(&visit.state, &visit.playbook, now, &technician);
    Ok(ScriptOutcome {
        lines: results,
        events: visit.events,
        view,
    })
}
