//! Event admission: whether one fact a device pushed is one the core's
//! workflow would have produced from the visit's state — the same rules the
//! phone ran, run again where the fact arrives (the server), so the rules
//! exist once.
//!
//! A fact is admitted when the command that records it, rebuilt from the
//! fact and decided with `workflow::execute` on the state of the facts
//! admitted before it, yields exactly that fact: its kind and derived fields
//! (punctuality, outcome, digests), its assignment version, its device time
//! and location. The decision uses only what the fact records — the
//! playbook of the visit's trade, the assignment version the device had
//! seen, the device's clock — never the server's current assignment or
//! clock. A fact that collides with a later center change therefore stands
//! (the device could not know; the server marks the visit `conflict`).
//! Facts a command records after another one (a conflict after a cancel)
//! are admitted when they are what that command went on to record.
//!
//! Refusals carry a stable code ([`AdmissionRefusal::code`]) and a message
//! naming the rule. Also here: a fact's clock stamp must be positive and
//! after the visit's previous one, and a pushed fact may carry no field the
//! event type does not have ([`unknown_field`]: a "satisfied" rating outside
//! a sign-off would otherwise be dropped silently).

use crate::business_time::BusinessZone;
use crate::clock::HlcStamp;
use crate::discount_approval::SharedDiscountKey;
use crate::history_check::{command_for, NoCommand};
use crate::ids::{DeviceId, EventId, VisitId};
use crate::messages::Lang;
use crate::playbook::PlaybookCatalog;
use crate::protocol::RefusalCode;
use crate::workflow::command::VisitCommand;
use crate::workflow::signature::SignOffEvidence;
use crate::workflow::{execute, Context, EventKind, Stamper, VisitEvent, VisitState};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet, VecDeque};

/// Why a pushed fact is not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionRefusal {
    /// Its clock stamp is negative or not after the visit's previous fact.
    #[error("clock stamp {stamp} {problem}")]
    InvalidClock { stamp: String, problem: String },
    /// The workflow refuses the command that records it, in this state.
    #[error("the workflow refuses {command} here [{rule}]: {message}")]
    WorkflowRefused {
        command: String,
        rule: String,
        message: String,
    },
    /// No command records this fact here, or the command records other facts.
    #[error("{0}")]
    NotWorkflowFact(String),
    /// The fact carries a field its type does not have.
    #[error("field {0} is not part of this fact")]
    UnknownField(String),
    /// The visit's trade has no playbook in the version it walks here.
    #[error("no playbook for trade {trade} in version {}", version.map_or("shipped".to_string(), |v| v.to_string()))]
    UnknownPlaybook { trade: String, version: Option<i64> },
}

impl AdmissionRefusal {
    /// The refusal's stable code in the sync protocol.
    pub fn code(&self) -> RefusalCode {
        match self {
            Self::InvalidClock { .. } => RefusalCode::InvalidClock,
            Self::WorkflowRefused { .. } => RefusalCode::WorkflowRefused,
            Self::NotWorkflowFact(_) | Self::UnknownPlaybook { .. } => RefusalCode::NotWorkflowFact,
            Self::UnknownField(_) => RefusalCode::UnknownField,
        }
    }
}

/// The playbooks a visit may walk, by trade and version: the shipped ones
/// and the company's published ones (`crate::playbook::PlaybookCatalog`).
pub type PlaybookLookup = std::sync::Arc<PlaybookCatalog>;

/// One visit's admission: the state of the facts admitted so far, the
/// facts the last command went on to record and not seen yet, and the last
/// clock stamp.
#[derive(Debug, Clone)]
pub struct VisitAdmission {
    state: VisitState,
    zone: BusinessZone,
    playbook_for: PlaybookLookup,
    pending: VecDeque<VisitEvent>,
    last_hlc: Option<HlcStamp>,
    /// The ids of the facts stored and admitted: a fact sent again is the
    /// store's duplicate to name, not a new fact to judge.
    ids: HashSet<EventId>,
    /// Each device's discount key, which re-checks the center's offline
    /// short codes its quotes recorded (`crate::discount_approval`).
    discount_keys: HashMap<DeviceId, SharedDiscountKey>,
}

impl VisitAdmission {
    /// Resumes after the facts already admitted (`stored`, in timeline
    /// order; trusted as they are). `zone` is the business time zone the
    /// phone counts local dates in.
    pub fn resume(stored: &[VisitEvent], zone: BusinessZone, playbook_for: PlaybookLookup) -> Self {
        let mut me = Self {
            state: VisitState::default(),
            zone,
            playbook_for,
            pending: VecDeque::new(),
            last_hlc: stored.iter().map(|e| e.hlc).max(),
            ids: stored.iter().map(|e| e.id).collect(),
            discount_keys: HashMap::new(),
        };
        // Only the last command's group can still be open: re-decide it.
        let start = stored
            .iter()
            .rposition(|e| !matches!(command_for(&e.kind, &[]), Err(NoCommand::FollowOnly)))
            .unwrap_or(stored.len());
        me.state = VisitState::replay(&stored[..start]);
        if let Some(first) = stored.get(start) {
            if let Ok(produced) = me.decide(first) {
                let seen = stored.len() - start;
                let all_match = produced
                    .iter()
                    .zip(&stored[start..])
                    .all(|(p, s)| same_fact(p, s));
                if all_match && produced.len() > seen {
                    me.pending = produced.into_iter().skip(seen).collect();
                }
            }
        }
        for e in &stored[start..] {
            me.state.apply(e);
        }
        me
    }

    /// Checks `device`'s facts with its discount key: the secret the server
    /// issued it at enrolment. Without one, a quote under a short code from
    /// that device is refused as the phone would have refused it.
    pub fn use_discount_key(&mut self, device: DeviceId, key: SharedDiscountKey) {
        self.discount_keys.insert(device, key);
    }

    /// Whether `device`'s discount key is known here.
    pub fn has_discount_key(&self, device: &DeviceId) -> bool {
        self.discount_keys.contains_key(device)
    }

    /// Whether a fact with this id is already stored or admitted (a fact
    /// sent again under another sequence number).
    pub fn knows(&self, id: EventId) -> bool {
        self.ids.contains(&id)
    }

    /// The state of the facts admitted so far.
    pub fn state(&self) -> &VisitState {
        &self.state
    }

    /// Admits `event` (applying it to the state) or says why not (the state
    /// stays as it was).
    pub fn admit(&mut self, event: &VisitEvent) -> Result<(), AdmissionRefusal> {
        check_clock(event.hlc, self.last_hlc)?;
        if let Some(expected) = self.pending.pop_front() {
            if same_fact(&expected, event) {
                self.accept(event);
                return Ok(());
            }
            // Not the rest of the last command: judged on its own.
            self.pending.clear();
        }
        let produced = self.decide(event)?;
        let mut produced = produced.into_iter();
        match produced.next() {
            Some(first) if same_fact(&first, event) => {
                self.pending = produced.collect();
                self.accept(event);
                Ok(())
            }
            first => Err(AdmissionRefusal::NotWorkflowFact(match first {
                Some(p) => format!(
                    "the workflow records {} here, not this {}",
                    describe(&p.kind),
                    event.kind.name()
                ),
                None => format!(
                    "the workflow records nothing for this {}",
                    event.kind.name()
                ),
            })),
        }
    }

    fn accept(&mut self, event: &VisitEvent) {
        self.state.apply(event);
        self.last_hlc = Some(event.hlc);
        self.ids.insert(event.id);
    }

    /// The facts the workflow records for the command that records `event`,
    /// decided on the current state with the event's own envelope.
    fn decide(&self, event: &VisitEvent) -> Result<Vec<VisitEvent>, AdmissionRefusal> {
        let (trade, version) = match (&self.state.assignment, event.kind.playbook_walked()) {
            (Some(a), _) => (a.trade.as_str().to_string(), self.state.playbook_version),
            (None, Some((trade, version))) => (trade.to_string(), version),
            (None, None) => {
                return Err(AdmissionRefusal::NotWorkflowFact(format!(
                    "a visit starts with the assignment received, not with {}",
                    event.kind.name()
                )))
            }
        };
        let playbook = self
            .playbook_for
            .get(&trade, version)
            .ok_or(AdmissionRefusal::UnknownPlaybook { trade, version })?;
        let signed = match &event.kind {
            EventKind::CustomerSignedOff {
                ratings,
                comment,
                strokes,
                evidence,
                ..
            } => Some((ratings, comment, strokes, evidence)),
            _ => None,
        };
        let command = match signed {
            // The consent text itself stays on the signing screen: the
            // sign-off is re-decided with the digest it recorded.
            Some((ratings, comment, strokes, _)) => VisitCommand::SignOff {
                ratings: *ratings,
                comment: comment.clone(),
                strokes: strokes.clone(),
                consent_text: RECORDED_CONSENT.into(),
                shown_digest: None,
            },
            None => command_for(&event.kind, &[]).map_err(|_| {
                AdmissionRefusal::NotWorkflowFact(format!(
                    "no command records {} first: it only follows another fact",
                    event.kind.name()
                ))
            })?,
        };
        let mut ctx = Context::new(event.recorded_at, event.device_id.clone());
        ctx.location = event.location;
        ctx.zone = self.zone.clone();
        ctx.discount_key = self.discount_keys.get(&event.device_id).cloned();
        if let Some((_, _, _, evidence)) = signed {
            ctx.previous_evidence_digest = evidence.previous_evidence_digest.clone();
            // The report as signed with the recorded consent digest.
            ctx.recorded_consent_digest = Some(evidence.consent_digest.clone());
        }
        let mut stamper = AsRecorded(event);
        let produced =
            execute(&self.state, &command, playbook, &ctx, &mut stamper).map_err(|e| {
                AdmissionRefusal::WorkflowRefused {
                    command: command.name(),
                    rule: e.code().to_string(),
                    message: e.message(Lang::En),
                }
            })?;
        if let (Some((_, _, _, recorded)), Some(EventKind::CustomerSignedOff { evidence, .. })) =
            (signed, produced.first().map(|e| &e.kind))
        {
            if evidence.report_digest != recorded.report_digest {
                return Err(AdmissionRefusal::NotWorkflowFact(
                    "the sign-off's report digest is not the digest of this visit's report".into(),
                ));
            }
        }
        Ok(produced)
    }
}

/// Stands in for the signing screen's text when a recorded sign-off is
/// re-decided (its digest is replaced by the recorded one).
const RECORDED_CONSENT: &str = "(consent text as recorded)";

/// Ids and clock stamp as the fact recorded them: a re-decided fact is
/// compared with the recorded one envelope and all.
struct AsRecorded<'a>(&'a VisitEvent);

impl Stamper for AsRecorded<'_> {
    fn visit_id(&mut self) -> VisitId {
        self.0.visit_id
    }
    fn event_id(&mut self) -> EventId {
        self.0.id
    }
    fn hlc(&mut self, _now: DateTime<Utc>) -> HlcStamp {
        self.0.hlc
    }
}

/// Whether `produced` is the recorded fact: everything but the id and clock
/// stamp the device handed out (checked on their own) and the device key's
/// signature over the evidence (checked against the enrolled key). Compared
/// field by field, nothing copied (a sign-off carries its every stroke).
fn same_fact(produced: &VisitEvent, recorded: &VisitEvent) -> bool {
    envelope(produced) == envelope(recorded) && same_kind(&produced.kind, &recorded.kind)
}

/// A fact's envelope but for its id and clock stamp (a field added to
/// `VisitEvent` belongs here too).
fn envelope(
    e: &VisitEvent,
) -> (
    &VisitId,
    &crate::ids::AssignmentId,
    &DeviceId,
    &DateTime<Utc>,
    &Option<crate::location::GeoFix>,
    u64,
) {
    (
        &e.visit_id,
        &e.assignment_id,
        &e.device_id,
        &e.recorded_at,
        &e.location,
        e.assignment_version,
    )
}

/// [`same_fact`] for the facts' kinds: a sign-off's evidence compared but
/// for the device key's signature.
fn same_kind(produced: &EventKind, recorded: &EventKind) -> bool {
    match (produced, recorded) {
        (
            EventKind::CustomerSignedOff {
                report_version,
                ratings,
                comment,
                strokes,
                evidence,
            },
            EventKind::CustomerSignedOff {
                report_version: rv,
                ratings: rr,
                comment: rc,
                strokes: rs,
                evidence: re,
            },
        ) => {
            (report_version, ratings, comment, strokes) == (rv, rr, rc, rs)
                && unsigned(evidence) == unsigned(re)
        }
        _ => produced == recorded,
    }
}

/// A sign-off's evidence but for the device key's signature (a few short
/// lines: copied, unlike the strokes).
fn unsigned(evidence: &SignOffEvidence) -> SignOffEvidence {
    SignOffEvidence {
        device_signature: None,
        ..evidence.clone()
    }
}

fn describe(kind: &EventKind) -> String {
    serde_json::to_string(kind).unwrap_or_else(|_| kind.name().to_string())
}

/// A clock stamp is positive and after the visit's previous one.
fn check_clock(stamp: HlcStamp, last: Option<HlcStamp>) -> Result<(), AdmissionRefusal> {
    let problem = if stamp.millis <= 0 {
        "is not a time after 1970 (milliseconds must be positive)".to_string()
    } else if let Some(last) = last.filter(|last| stamp <= *last) {
        format!("is not after the visit's previous fact ({last})")
    } else {
        return Ok(());
    };
    Err(AdmissionRefusal::InvalidClock {
        stamp: stamp.to_string(),
        problem,
    })
}

/// The path of the first field of `raw` (a pushed event as sent) that the
/// decoded event does not carry: a field its type does not have, which
/// decoding would drop without a word. `None` when every field is understood.
pub fn unknown_field(raw: &serde_json::Value, event: &VisitEvent) -> Option<String> {
    let typed = serde_json::to_value(event).ok()?;
    first_extra(raw, &typed, "event")
}

fn first_extra(raw: &serde_json::Value, typed: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value as V;
    match (raw, typed) {
        (V::Object(r), V::Object(t)) => r.iter().find_map(|(k, v)| match t.get(k) {
            None if !v.is_null() => Some(format!("{path}.{k}")),
            None => None,
            Some(tv) => first_extra(v, tv, &format!("{path}.{k}")),
        }),
        (V::Array(r), V::Array(t)) => r
            .iter()
            .zip(t)
            .enumerate()
            .find_map(|(i, (rv, tv))| first_extra(rv, tv, &format!("{path}[{i}]"))),
        _ => None,
    }
}
