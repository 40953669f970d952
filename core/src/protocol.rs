//! The sync protocol's wire types (device ⇄ server), shared by the server
//! and the device's sync client so both sides agree by construction.
//!
//! Versioned JSON: every request carries `protocol_version`; a server refuses
//! a version it does not speak and names the ones it accepts. Unknown fields
//! are ignored (serde's default), so a newer device may add optional fields.
//!
//! - **Push** (`POST /api/sync/push`): the outbox's events with the device's
//!   increasing sequence numbers. The server skips sequences it already
//!   applied, refuses a gap, stores the rest in one transaction and answers
//!   with the acknowledged sequence. A permanently invalid event is refused
//!   with its reason *and* acknowledged, so it never blocks the queue.
//! - **Pull** (`POST /api/sync/pull`): the center's assignment changes for
//!   this technician after a cursor (the server's change sequence), paged,
//!   only open work (never a finished or cancelled job), with the business
//!   time zone. The request acknowledges the pages applied since the last
//!   one ([`PageReceipt`]): the server derives each "assignment received"
//!   fact from it (`crate::receipt`), so a download uploads no receipts.

use crate::assignment::Assignment;
use crate::business_time::BusinessZone;
use crate::clock::HlcStamp;
use crate::ids::{AssignmentId, DeviceId, EventId, TechnicianId};
use crate::playbook::PublishedPlaybook;
use crate::receipt::ReceiptIds;
use crate::workflow::{VisitCommand, VisitEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod change_reading;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Every version this build accepts.
pub const ACCEPTED_VERSIONS: &[u32] = &[PROTOCOL_VERSION];

/// Just the version, read before the rest of a request so that an unknown
/// version is refused as such rather than as a malformed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct VersionProbe {
    pub protocol_version: Option<u32>,
}

/// One outbox entry: the device's sequence number and the event. `E` is
/// the event as read (`VisitEvent`); the device sends its stored text as
/// it stands ([`SentEvent`]), the same JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent<E = VisitEvent> {
    /// Strictly increasing per device, starting at 1, without gaps.
    pub seq: u64,
    pub event: E,
}

/// A fact as the device sends it: the JSON text its store keeps
/// (`Store::pending_outbox_texts_after`), not parsed and written again.
pub type SentEvent = Box<serde_json::value::RawValue>;

/// A center change as the server sends it: an [`AssignmentChange`]'s JSON
/// made from the change log's stored text, not parsed and written again.
pub type SentChange = Box<serde_json::value::RawValue>;

/// Change `seq` as sent, from `stored`: a [`ChangeKind`]'s JSON object as
/// the change log keeps it. The same text as the [`AssignmentChange`]
/// written by serde (`seq` first, then the kind's fields); checked to be
/// JSON, not parsed into a change.
pub fn sent_change(seq: u64, stored: &str) -> Result<SentChange, serde_json::Error> {
    let Some(fields) = stored.trim_start().strip_prefix('{') else {
        return Err(serde::de::Error::custom(
            "a stored change that is not a JSON object",
        ));
    };
    let fields = fields.trim_start();
    let text = if fields.starts_with('}') {
        format!("{{\"seq\":{seq}{fields}")
    } else {
        format!("{{\"seq\":{seq},{fields}")
    };
    serde_json::value::RawValue::from_string(text)
}

/// An upload of outbox events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest<E = VisitEvent> {
    pub protocol_version: u32,
    pub device_id: DeviceId,
    /// The device's wall clock when it sent the request (for the clock offset).
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    pub events: Vec<OutboxEvent<E>>,
}

/// Why the server refused one event for good. The event is still acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The assignment does not exist on the server.
    UnknownAssignment,
    /// The assignment was never given to this device's technician.
    NotYourAssignment,
    /// The visit id already belongs to another assignment or technician.
    VisitMismatch,
    /// The same event id was already stored under another sequence number.
    DuplicateEventId,
    /// The workflow refuses the command that records this fact in the
    /// visit's state (a payment on a visit still in stage `new`, a payment
    /// that is not the quote): `crate::admission`.
    WorkflowRefused,
    /// No command records this fact here, or the command records other
    /// facts (a sign-off not bound to the visit's report).
    NotWorkflowFact,
    /// The fact's clock stamp is negative or not after the visit's previous one.
    InvalidClock,
    /// The fact carries a field its type does not have (a rating outside a
    /// sign-off).
    UnknownField,
    /// A string, a list or the whole fact is over its bound.
    OutOfBounds,
    /// A code this build does not know (from a newer server).
    #[serde(other)]
    Unrecognised,
}

impl RefusalCode {
    /// The code's name on screen, in both languages (dispatchers' list of
    /// refused facts).
    pub fn label(self) -> crate::messages::Text {
        use crate::messages::Text;
        match self {
            Self::UnknownAssignment => Text::new("Unknown assignment", "工单不存在"),
            Self::NotYourAssignment => {
                Text::new("Not this technician's assignment", "非本技师的工单")
            }
            Self::VisitMismatch => {
                Text::new("Visit belongs elsewhere", "上门记录属于其他工单或技师")
            }
            Self::DuplicateEventId => Text::new("Duplicate fact", "重复的记录"),
            Self::WorkflowRefused => Text::new("Refused by the service rules", "服务规范不允许"),
            Self::NotWorkflowFact => {
                Text::new("Not a fact the workflow records", "流程不会产生此记录")
            }
            Self::InvalidClock => Text::new("Invalid device clock", "设备时钟无效"),
            Self::UnknownField => Text::new("Unknown field", "含有未知字段"),
            Self::OutOfBounds => Text::new("Over the size limits", "超出长度或大小限制"),
            Self::Unrecognised => Text::new("Other reason", "其他原因"),
        }
    }
}

/// One refused event and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedEvent {
    pub seq: u64,
    pub event_id: EventId,
    pub code: RefusalCode,
    pub reason: String,
}

/// The server's answer to a push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub protocol_version: u32,
    /// Every event up to and including this sequence is safely stored (or
    /// refused for good): the device may drop them from its outbox.
    pub acked_seq: u64,
    /// Events newly stored by this request.
    #[serde(default)]
    pub applied: u64,
    /// Events of this request that were already stored (a retry).
    #[serde(default)]
    pub duplicates: u64,
    #[serde(default)]
    pub refused: Vec<RefusedEvent>,
    pub server_time: DateTime<Utc>,
}

/// A request for the center's changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    pub protocol_version: u32,
    pub device_id: DeviceId,
    /// The last change sequence the device applied (0 at first).
    #[serde(default)]
    pub cursor: u64,
    /// Page size; the server caps it.
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// The pages applied and not yet acknowledged, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<PageReceipt>,
    /// The newest published playbook version the phone holds, by trade:
    /// the server sends the newer ones (`PullResponse::playbooks`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playbooks: BTreeMap<String, i64>,
}

/// The acknowledgement of one applied download page: the phone holds every
/// change after `after` up to `cursor`, applied at `applied_at` with its
/// HLC at `hlc`; the changes in `receipts` (inclusive ranges of change
/// seqs) became "assignment received" facts there. Everything the server
/// needs to derive those facts (`crate::receipt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageReceipt {
    pub after: u64,
    pub cursor: u64,
    pub applied_at: DateTime<Utc>,
    pub hlc: HlcStamp,
    #[serde(default)]
    pub receipts: Vec<[u64; 2]>,
    /// The playbook version each trade's receipts in this page were
    /// recorded with (`EventKind::AssignmentReceived::playbook_version`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playbooks: BTreeMap<String, i64>,
    /// How the page's receipt and visit ids were drawn: the scheme the
    /// server's answer named (absent: [`ReceiptIds::Hashed`]).
    #[serde(default, skip_serializing_if = "ReceiptIds::is_hashed")]
    pub ids: ReceiptIds,
}

impl PageReceipt {
    /// The stamping base of the page's facts.
    pub fn base(&self) -> crate::receipt::PageBase {
        crate::receipt::PageBase {
            after: self.after,
            applied_at: self.applied_at,
            hlc: self.hlc,
            ids: self.ids,
        }
    }

    /// Why this acknowledgement cannot be one, naming the field (`at` is its
    /// path, e.g. `received[0]`): ranges inside the page, in order.
    pub fn problem(&self, at: &str) -> Option<(String, String)> {
        if self.cursor < self.after {
            return Some((
                format!("{at}.cursor"),
                format!(
                    "is {} but the page was asked after {}: a page's cursor is at least its start",
                    self.cursor, self.after
                ),
            ));
        }
        let mut previous = self.after;
        for (i, [first, last]) in self.receipts.iter().enumerate() {
            if *first <= previous || last < first || *last > self.cursor {
                return Some((
                    format!("{at}.receipts[{i}]"),
                    format!(
                        "[{first}, {last}] must be an increasing range after {previous} and up to the page's cursor {}",
                        self.cursor
                    ),
                ));
            }
            previous = *last;
        }
        None
    }
}

/// Push and pull in one round trip (`POST /api/sync/exchange`): the
/// outbox's last batch and the pull that follows it, answered together —
/// what a phone with work both ways sends instead of a push and a pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRequest<E = VisitEvent> {
    pub protocol_version: u32,
    pub device_id: DeviceId,
    #[serde(default)]
    pub sent_at: Option<DateTime<Utc>>,
    /// As a push's.
    #[serde(default = "Vec::new")]
    pub events: Vec<OutboxEvent<E>>,
    /// As a pull's: the page after `cursor`, at most `limit`, acknowledging
    /// the pages in `received`.
    #[serde(default)]
    pub cursor: u64,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub received: Vec<PageReceipt>,
    /// As a pull's: the published playbook versions the phone holds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub playbooks: BTreeMap<String, i64>,
}

impl ExchangeRequest {
    /// The push and the pull it holds.
    pub fn into_parts(self) -> (PushRequest, PullRequest) {
        let push = PushRequest {
            protocol_version: self.protocol_version,
            device_id: self.device_id.clone(),
            sent_at: self.sent_at,
            events: self.events,
        };
        let pull = PullRequest {
            protocol_version: self.protocol_version,
            device_id: self.device_id,
            cursor: self.cursor,
            limit: self.limit,
            sent_at: self.sent_at,
            received: self.received,
            playbooks: self.playbooks,
        };
        (push, pull)
    }
}

/// The answer to an exchange: the push's acknowledgement, then the page
/// (its changes typed as [`PullResponse`]'s).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeResponse<C = AssignmentChange> {
    pub push: PushResponse,
    pub pull: PullResponse<C>,
}

/// What the center changed. Read by `change_reading` (one pass, the
/// derived reader's rules); written by serde's derive.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChangeKind {
    /// The assignment as it now stands (new to this technician, or changed).
    Assignment { assignment: Box<Assignment> },
    /// The center cancelled it.
    Cancelled {
        assignment_id: AssignmentId,
        version: u64,
        reason: String,
    },
    /// The center gave it to another technician.
    Reassigned {
        assignment_id: AssignmentId,
        version: u64,
        to: TechnicianId,
    },
    /// The customer's personal data was erased on request (PIPL): the
    /// phone blanks the customer's name, phone, address and map location in
    /// its copy of the assignment, the visit's events and its projection.
    /// Not a visit fact: no event is recorded.
    Erased {
        assignment_id: AssignmentId,
        version: u64,
    },
}

/// One change, in the server's change sequence (read by `change_reading`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignmentChange {
    pub seq: u64,
    #[serde(flatten)]
    pub change: ChangeKind,
}

impl ChangeKind {
    pub fn assignment_id(&self) -> &AssignmentId {
        match self {
            ChangeKind::Assignment { assignment } => &assignment.id,
            ChangeKind::Cancelled { assignment_id, .. }
            | ChangeKind::Reassigned { assignment_id, .. }
            | ChangeKind::Erased { assignment_id, .. } => assignment_id,
        }
    }

    /// The assignment version after this change.
    pub fn version(&self) -> u64 {
        match self {
            ChangeKind::Assignment { assignment } => assignment.version,
            ChangeKind::Cancelled { version, .. }
            | ChangeKind::Reassigned { version, .. }
            | ChangeKind::Erased { version, .. } => *version,
        }
    }

    /// The workflow command that records this change on the device's
    /// visit; none for an erasure, which rewrites stored data instead.
    pub fn to_command(&self) -> Option<VisitCommand> {
        Some(match self {
            ChangeKind::Assignment { assignment } => VisitCommand::ReceiveAssignment {
                assignment: assignment.clone(),
            },
            ChangeKind::Cancelled {
                version, reason, ..
            } => VisitCommand::CancelAssignment {
                version: *version,
                reason: reason.clone(),
            },
            ChangeKind::Reassigned { version, to, .. } => VisitCommand::ReassignAssignment {
                version: *version,
                to: to.clone(),
            },
            ChangeKind::Erased { .. } => return None,
        })
    }
}

impl AssignmentChange {
    pub fn assignment_id(&self) -> &AssignmentId {
        self.change.assignment_id()
    }

    /// The workflow command that records this change on the device's
    /// visit (none for an erasure).
    pub fn to_command(&self) -> Option<VisitCommand> {
        self.change.to_command()
    }
}

/// A page of changes: [`AssignmentChange`]s as the phone reads them; the
/// server sends each as its change log stores it ([`SentChange`]), the
/// same JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse<C = AssignmentChange> {
    pub protocol_version: u32,
    pub changes: Vec<C>,
    /// Store this as the cursor once the page is applied.
    pub next_cursor: u64,
    /// More changes wait after this page.
    pub more: bool,
    pub server_time: DateTime<Utc>,
    /// The company's business time zone (name and UTC offsets over the
    /// coming years): the phone keeps it and counts every local date in it.
    /// Absent from older servers (the phone keeps what it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_zone: Option<BusinessZone>,
    /// The newest of this device's events the server holds (its upload
    /// position). A phone that marked later ones acknowledged — the server
    /// was restored from an older backup — queues them again and sends them
    /// in the same sync, new events or not. Absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acked_seq: Option<u64>,
    /// The company's published playbooks newer than the phone holds, the
    /// newest of each trade, signed (`crate::playbook::PublishedPlaybook`):
    /// the phone verifies and keeps them before it applies this page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub playbooks: Vec<PublishedPlaybook>,
    /// The public half of the server's playbook key (hex of the SEC1
    /// point). A phone enrolled before keys were issued pins it at its
    /// first sync; one that holds a key keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playbook_key: Option<String>,
    /// How the server derives the receipt and visit ids of the pages this
    /// answer brings (`crate::receipt`): the phone applies them so and
    /// names it in their acknowledgements. Absent from older servers, which
    /// derive [`ReceiptIds::Hashed`].
    #[serde(default, skip_serializing_if = "ReceiptIds::is_hashed")]
    pub receipt_ids: ReceiptIds,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_ignored() {
        let r: PullRequest = serde_json::from_str(
            r#"{"protocol_version":1,"device_id":"phone-1","cursor":7,"future":"x"}"#,
        )
        .unwrap();
        assert_eq!(r.cursor, 7);
    }

    /// A server or phone from before the ids' schemes names none: that
    /// reads as the first scheme, and the first scheme is written as
    /// nothing, so an older peer reads the same message it always did.
    #[test]
    fn receipt_ids_named_by_no_one_are_the_first_scheme() {
        let answer: PullResponse = serde_json::from_str(
            r#"{"protocol_version":1,"changes":[],"next_cursor":0,"more":false,
                "server_time":"2026-12-07T08:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(answer.receipt_ids, ReceiptIds::Hashed);
        let ack = r#"{"after":0,"cursor":4,"applied_at":"2026-12-07T08:00:00Z",
                      "hlc":{"millis":1,"counter":0},"receipts":[[1,4]]}"#;
        let mut ack: PageReceipt = serde_json::from_str(ack).unwrap();
        assert_eq!(ack.base().ids, ReceiptIds::Hashed);
        assert!(!serde_json::to_string(&ack).unwrap().contains("ids"));
        ack.ids = ReceiptIds::InChangeOrder;
        let written = serde_json::to_string(&ack).unwrap();
        assert!(written.contains(r#""ids":"in_change_order""#), "{written}");
        let read: PageReceipt = serde_json::from_str(&written).unwrap();
        assert_eq!(read.base().ids, ReceiptIds::InChangeOrder);
    }

    #[test]
    fn change_becomes_the_matching_command() {
        let c: AssignmentChange = serde_json::from_str(
            r#"{"seq":3,"type":"cancelled","assignment_id":"A-1","version":4,"reason":"customer"}"#,
        )
        .unwrap();
        assert_eq!(c.assignment_id().as_str(), "A-1");
        assert!(matches!(
            c.to_command(),
            Some(VisitCommand::CancelAssignment { version: 4, .. })
        ));
    }

    #[test]
    fn a_change_is_sent_as_serde_writes_it() {
        let kinds = [
            ChangeKind::Cancelled {
                assignment_id: AssignmentId::new("A-1").unwrap(),
                version: 4,
                reason: "客户改期".into(),
            },
            ChangeKind::Erased {
                assignment_id: AssignmentId::new("A-2").unwrap(),
                version: 7,
            },
        ];
        for (seq, change) in kinds.into_iter().enumerate() {
            let seq = seq as u64 + 10;
            let stored = serde_json::to_string(&change).unwrap();
            let written = serde_json::to_string(&AssignmentChange { seq, change }).unwrap();
            assert_eq!(sent_change(seq, &stored).unwrap().get(), written);
            // Spaces where a stored text might have them change nothing read.
            let spaced = format!("  {{ {}", &stored[1..]);
            let read: AssignmentChange =
                serde_json::from_str(sent_change(seq, &spaced).unwrap().get()).unwrap();
            assert_eq!(serde_json::to_string(&read).unwrap(), written);
        }
    }

    #[test]
    fn a_stored_change_that_is_no_object_is_not_sent() {
        for stored in ["[1]", "", "\"x\"", "{\"type\":", "{}}"] {
            assert!(sent_change(1, stored).is_err(), "{stored:?}");
        }
        assert_eq!(sent_change(3, "{}").unwrap().get(), "{\"seq\":3}");
    }

    #[test]
    fn an_erasure_is_no_visit_command() {
        let c: AssignmentChange =
            serde_json::from_str(r#"{"seq":9,"type":"erased","assignment_id":"A-1","version":4}"#)
                .unwrap();
        assert_eq!((c.assignment_id().as_str(), c.change.version()), ("A-1", 4));
        assert!(c.to_command().is_none());
    }
}
