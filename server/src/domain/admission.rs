//! Admission of pushed facts at the server: the core's event admission
//! (`doorstep_core::admission`, the workflow's own rules re-run on the
//! visit's stored facts) and the checks on a fact as sent (its size, a field
//! its type does not have), with each device's discount key for the
//! center's offline codes its quotes carry. A fact that fails is refused with a stable code
//! and still acknowledged, so the phone's queue never blocks; it is kept in
//! `refused_events` for audit and listed for dispatchers
//! (`GET /api/refused-events`).

use crate::app::AppState;
use crate::domain::bounds::{check_event_json, EventLimits};
use crate::failure::{Failure, Fallible};
use crate::store::{devices, events, Tx};
use doorstep_core::admission::{unknown_field, VisitAdmission};
use doorstep_core::discount_approval::SharedDiscountKey;
use doorstep_core::protocol::{PushRequest, RefusalCode};
use doorstep_core::{VisitEvent, VisitState};
use std::collections::HashMap;
use std::sync::Arc;

/// The facts of a push refused before admission, by sequence number, from
/// the body as sent.
#[derive(Debug, Default)]
pub struct Screening {
    by_seq: HashMap<u64, (RefusalCode, String)>,
    /// Each event sent exactly as the server writes it, by sequence number:
    /// the body it is stored with, written once.
    written: HashMap<u64, String>,
}

impl Screening {
    /// Checks each event of a parsed push against its raw JSON (`bytes`):
    /// every string, list and the whole event within `limits`, and no field
    /// the event's type does not have. An event sent exactly as the server
    /// writes it (as phones send) passes the second check at once, and its
    /// body is kept for ingest to store ([`Screening::written`]).
    pub fn of(bytes: &[u8], push: &PushRequest, limits: EventLimits) -> Screening {
        #[derive(serde::Deserialize)]
        struct Shape<'a> {
            #[serde(borrow, default)]
            events: Vec<EventShape<'a>>,
        }
        #[derive(serde::Deserialize)]
        struct EventShape<'a> {
            #[serde(borrow)]
            event: Option<&'a serde_json::value::RawValue>,
        }
        let mut screening = Screening::default();
        let Ok(shape) = serde_json::from_slice::<Shape>(bytes) else {
            return screening;
        };
        for (i, (raw, typed)) in shape.events.iter().zip(&push.events).enumerate() {
            let Some(raw) = raw.event else { continue };
            let bounds = check_event_json(raw.get(), &format!("events[{i}].event"), limits);
            // Sent exactly as written here (the phone's own serialiser
            // sends it so): no field its type lacks, no trees to compare.
            // Not written for a fact its bounds refuse.
            let written = (bounds.is_ok() && writes_as(&typed.event, raw.get()))
                .then(|| raw.get().to_string());
            let problem = match bounds {
                Err(o) => Some((RefusalCode::OutOfBounds, format!("{}: {}", o.field, o.message))),
                Ok(()) if written.is_some() => None,
                Ok(()) => serde_json::from_str::<serde_json::Value>(raw.get())
                    .ok()
                    .and_then(|v| unknown_field(&v, &typed.event))
                    .map(|field| {
                        (
                            RefusalCode::UnknownField,
                            format!(
                                "{field} is not part of a {} fact (ratings exist only inside a customer sign-off)",
                                typed.event.kind.name()
                            ),
                        )
                    }),
            };
            if let Some(p) = problem {
                screening.by_seq.insert(typed.seq, p);
            } else if let Some(w) = written {
                screening.written.insert(typed.seq, w);
            }
        }
        screening
    }

    /// Why the event under `seq` was refused as sent, if it was.
    pub fn refusal(&self, seq: u64) -> Option<(RefusalCode, String)> {
        self.by_seq.get(&seq).cloned()
    }

    /// The event under `seq` as the server writes it, when it was sent so.
    pub fn written(&self, seq: u64) -> Option<&str> {
        self.written.get(&seq).map(String::as_str)
    }
}

/// Whether `event` serialises to exactly `sent`: compared byte by byte as it
/// is written, stopping at the first difference, with nothing allocated.
fn writes_as(event: &VisitEvent, sent: &str) -> bool {
    /// A writer that accepts only the next bytes of `rest`.
    struct Same<'a> {
        rest: &'a [u8],
    }
    impl std::io::Write for Same<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match self.rest.strip_prefix(buf) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(buf.len())
                }
                None => Err(std::io::ErrorKind::InvalidData.into()),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut same = Same {
        rest: sent.as_bytes(),
    };
    serde_json::to_writer(&mut same, event).is_ok() && same.rest.is_empty()
}

/// The visits of one push under admission, each resumed from its stored facts.
#[derive(Default)]
pub struct Admissions {
    visits: HashMap<String, VisitAdmission>,
    /// Each pushing device's discount key, read once per push (`None`: a
    /// device enrolled before discount secrets).
    discount_keys: HashMap<String, Option<SharedDiscountKey>>,
}

impl Admissions {
    /// Admits `event` on its visit (the workflow would have produced it from
    /// the facts stored and admitted before it) or says why not.
    pub async fn check(
        &mut self,
        tx: &mut dyn Tx,
        app: &AppState,
        event: &VisitEvent,
    ) -> Fallible<Option<(RefusalCode, String)>> {
        let visit = event.visit_id.to_string();
        if !self.visits.contains_key(&visit) {
            let stored = stored_events(tx, &visit).await?;
            let zone = (*app.zone).clone();
            // Judged by the playbook version the visit started with.
            let (trade, version) = walked(stored.iter().chain([event]));
            let playbooks = app.playbooks.holding(tx, &trade, version).await?;
            self.visits.insert(
                visit.clone(),
                VisitAdmission::resume(&stored, zone, playbooks),
            );
        }
        let device = event.device_id.to_string();
        if !self.discount_keys.contains_key(&device) {
            let key = devices::discount_key(tx, &device).await?;
            self.discount_keys
                .insert(device.clone(), key.map(|k| SharedDiscountKey(Arc::new(k))));
        }
        let admission = self.visits.get_mut(&visit).expect("inserted above");
        if let Some(Some(key)) = self.discount_keys.get(&device) {
            if !admission.has_discount_key(&event.device_id) {
                admission.use_discount_key(event.device_id.clone(), key.clone());
            }
        }
        if admission.knows(event.id) {
            // Sent again under another sequence number: the store names it
            // a duplicate.
            return Ok(None);
        }
        Ok(admission
            .admit(event)
            .err()
            .map(|refusal| (refusal.code(), refusal.to_string())))
    }

    /// The state of `visit`'s stored facts and the facts admitted after
    /// them in this push: what replaying the visit from the store gives once
    /// those facts are stored as sent. An admitted fact's clock is after
    /// every earlier fact of its visit (`check_clock`), so the store's
    /// timeline order (HLC, then device and sequence) is the stored facts
    /// followed by the admitted ones in the order they were admitted.
    pub fn state_of(&self, visit: &str) -> Option<&VisitState> {
        self.visits.get(visit).map(VisitAdmission::state)
    }
}

/// The trade and playbook version of the visit whose facts are `events`
/// (its first "assignment received"); none yet: the admission refuses.
fn walked<'a>(mut events: impl Iterator<Item = &'a VisitEvent>) -> (String, Option<i64>) {
    events
        .find_map(|e| e.kind.playbook_walked())
        .map(|(trade, version)| (trade.to_string(), version))
        .unwrap_or_default()
}

/// A visit's stored facts in timeline order.
async fn stored_events(tx: &mut dyn Tx, visit: &str) -> Fallible<Vec<VisitEvent>> {
    events::visit_event_bodies(tx, visit)
        .await?
        .iter()
        .map(|b| serde_json::from_str(b).map_err(|_| Failure::internal("reading a stored event")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_core::clock::HlcStamp;
    use doorstep_core::{DeviceId, EventId, EventKind, VisitId};

    fn cancelled() -> VisitEvent {
        VisitEvent {
            id: EventId::new_v7(),
            visit_id: VisitId::new_v7(),
            assignment_id: "A-1".parse().unwrap(),
            device_id: DeviceId::new("phone-1").unwrap(),
            hlc: HlcStamp {
                millis: 1_700_000_000_000,
                counter: 0,
            },
            recorded_at: chrono::Utc::now(),
            location: None,
            assignment_version: 2,
            kind: EventKind::AssignmentCancelled {
                version: 2,
                reason: "客户改期 / rescheduled".into(),
            },
        }
    }

    #[test]
    fn a_fact_sent_as_the_server_writes_it_is_recognised_byte_for_byte() {
        let e = cancelled();
        let text = serde_json::to_string(&e).unwrap();
        assert!(writes_as(&e, &text));
        // Longer, shorter, one byte changed, another key order: not the same.
        assert!(!writes_as(&e, &format!("{text} ")));
        assert!(!writes_as(&e, &text[..text.len() - 1]));
        assert!(!writes_as(&e, &text.replacen("改期", "改日", 1)));
        let reordered: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut keys: Vec<_> = reordered.as_object().unwrap().iter().collect();
        keys.reverse();
        let reordered = format!(
            "{{{}}}",
            keys.iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(!writes_as(&e, &reordered));
    }
}
