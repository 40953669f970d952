//! What a command leaves of a visit, and writing it: the visit's projection
//! row (its state, without the order) and the new facts in the event log,
//! each waiting fact also in the outbox.
//!
//! A [`VisitWrite`] is worked out inside the transaction and written in it.
//! A command writes its one at once; a downloaded page holds many
//! ([`PageWrites`]) and writes them together, their JSON made on a second
//! thread while the writer stores the ones before it: on a page of
//! thousands of new orders the JSON is about a fifth of the apply.

use super::error::{Result, StoreError};
use super::projection::{self, VisitRowText};
use super::{millis, to_json};
use crate::assignment::Assignment;
use crate::ids::{AssignmentId, VisitId};
use crate::workflow::{EventKind, VisitEvent, VisitState};
use rusqlite::{params, CachedStatement, Transaction};
use std::collections::HashSet;

/// A visit's rows after a command, not yet written.
pub(super) struct VisitWrite {
    visit_id: VisitId,
    /// The state after the command, its order taken out into `order`: the
    /// row stores the state lean (`super::projection`).
    lean: VisitState,
    order: Assignment,
    events: Vec<VisitEvent>,
    /// Made from a downloaded page: its receipts stay off the outbox (the
    /// server derives them from the page's acknowledgement, `crate::receipt`).
    from_page: bool,
}

/// A write's JSON: the projection row and each fact's text.
struct WriteText {
    row: VisitRowText,
    events: Vec<String>,
}

impl VisitWrite {
    /// `state` is the visit's state after `events` (its order in place).
    pub fn new(
        visit_id: VisitId,
        mut state: VisitState,
        events: Vec<VisitEvent>,
        from_page: bool,
    ) -> Result<VisitWrite> {
        let order = state
            .assignment
            .take()
            .ok_or(StoreError::Workflow(crate::WorkflowError::VisitNotStarted))?;
        Ok(VisitWrite {
            visit_id,
            lean: state,
            order,
            events,
            from_page,
        })
    }

    pub fn events(&self) -> &[VisitEvent] {
        &self.events
    }

    pub fn assignment_id(&self) -> &AssignmentId {
        &self.order.id
    }

    /// Writes it now; gives back its facts.
    pub fn write(self, tx: &Transaction<'_>) -> Result<Vec<VisitEvent>> {
        self.write_in(&mut Batch::new(tx)?)
    }

    /// Writes it, its JSON made here, as one of `batch`; gives back its facts.
    fn write_in(self, batch: &mut Batch<'_>) -> Result<Vec<VisitEvent>> {
        self.store(batch, &self.text()?)?;
        Ok(self.events)
    }

    fn text(&self) -> Result<WriteText> {
        Ok(WriteText {
            row: projection::lean_row(self.visit_id, &self.lean, &self.order)?,
            events: self
                .events
                .iter()
                .map(|e| to_json("visit event", e))
                .collect::<Result<_>>()?,
        })
    }

    /// The row first (the facts refer to it), naming its order's fact when
    /// this write records one: the facts take their seqs from the batch's
    /// count, so the row knows the receipt's before it is written.
    fn store(&self, batch: &mut Batch<'_>, text: &WriteText) -> Result<()> {
        let receipt = |e: &VisitEvent| matches!(e.kind, EventKind::AssignmentReceived { .. });
        let first = batch.take_seqs(self.events.len());
        let order_seq = self.events.iter().rposition(receipt);
        let order_seq = order_seq.map(|at| first + at as i64);
        projection::store_row_with(&mut batch.row, &text.row, order_seq)?;
        for (k, (e, json)) in self.events.iter().zip(&text.events).enumerate() {
            batch.insert_event(first + k as i64, e, json, !(self.from_page && receipt(e)))?;
        }
        Ok(())
    }
}

/// What writes stored one after another in a transaction share: their
/// statements, prepared once (a page of thousands of orders otherwise
/// looks each up in the statement cache, by its text, three times an
/// order), and the seq the log's next fact takes: read from the log (its
/// last, plus one: the row id SQLite would give) when the batch starts,
/// then counted on, every fact being inserted at the seq given.
struct Batch<'tx> {
    row: CachedStatement<'tx>,
    event: CachedStatement<'tx>,
    outbox: CachedStatement<'tx>,
    next_seq: i64,
}

impl<'tx> Batch<'tx> {
    fn new(tx: &'tx Transaction<'_>) -> Result<Batch<'tx>> {
        Ok(Batch {
            row: tx.prepare_cached(projection::STORE_ROW)?,
            event: tx.prepare_cached(
                "INSERT INTO visit_events (seq, event_id, visit_id, kind, hlc_millis, hlc_counter, recorded_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?,
            outbox: tx.prepare_cached("INSERT INTO outbox (event_id, visit_id) VALUES (?1, ?2)")?,
            next_seq: tx
                .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM visit_events")?
                .query_row([], |r| r.get(0))?,
        })
    }

    /// The first of `n` seqs for one write's facts.
    fn take_seqs(&mut self, n: usize) -> i64 {
        let first = self.next_seq;
        self.next_seq += n as i64;
        first
    }

    /// Appends an event to the log at `seq`; `upload` also queues it for
    /// the server.
    fn insert_event(&mut self, seq: i64, e: &VisitEvent, json: &str, upload: bool) -> Result<()> {
        self.event.execute(params![
            seq,
            e.id.to_string(),
            e.visit_id.to_string(),
            e.kind.name(),
            e.hlc.millis,
            e.hlc.counter,
            millis(e.recorded_at),
            json,
        ])?;
        if upload {
            self.outbox
                .execute(params![e.id.to_string(), e.visit_id.to_string()])?;
        }
        Ok(())
    }
}

/// From this many writes on, a page's JSON is made on a second thread.
const SECOND_THREAD_FROM: usize = 64;

/// A downloaded page's writes, held until [`PageWrites::write`] so that
/// their JSON is made beside the writing. A change of an order the page
/// changed before (again, or its erasure) reads what that wrote: the held
/// writes are written first ([`PageWrites::must_write_before`]).
#[derive(Default)]
pub(super) struct PageWrites {
    held: Vec<VisitWrite>,
    orders: HashSet<AssignmentId>,
    written: Vec<VisitEvent>,
}

impl PageWrites {
    pub fn hold(&mut self, write: VisitWrite) {
        self.orders.insert(write.assignment_id().clone());
        self.held.push(write);
    }

    /// Whether a change of `order` must see the held writes.
    pub fn must_write_before(&self, order: &AssignmentId) -> bool {
        self.orders.contains(order)
    }

    /// Writes what is held, in the order it was made.
    pub fn write(&mut self, tx: &Transaction<'_>) -> Result<()> {
        let held = std::mem::take(&mut self.held);
        self.orders.clear();
        if held.len() < SECOND_THREAD_FROM {
            let mut batch = Batch::new(tx)?;
            for w in held {
                self.written.extend(w.write_in(&mut batch)?);
            }
            return Ok(());
        }
        write_beside_their_text(tx, &held)?;
        self.written.extend(held.into_iter().flat_map(|w| w.events));
        Ok(())
    }

    /// Every fact written, in order (after a last [`PageWrites::write`]).
    pub fn into_events(self) -> Vec<VisitEvent> {
        debug_assert!(self.held.is_empty(), "writes left held");
        self.written
    }
}

/// Stores `writes` in order on this thread while a second one makes their
/// JSON, a bounded queue between the two. The texts are freed once the
/// second thread is done: freeing them one by one as they are stored took
/// the lock of the allocator's arena the second thread was allocating in,
/// and the writer waited on it for about a seventh of its time.
fn write_beside_their_text(tx: &Transaction<'_>, writes: &[VisitWrite]) -> Result<()> {
    let mut spent = Vec::with_capacity(writes.len());
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Result<WriteText>>(256);
        let maker = scope.spawn(move || {
            for w in writes {
                // The writer stopped (an error): nothing more is wanted.
                if send.send(w.text()).is_err() {
                    break;
                }
            }
        });
        let mut batch = Batch::new(tx)?;
        for w in writes {
            match receive.recv() {
                Ok(text) => {
                    let text = text?;
                    w.store(&mut batch, &text)?;
                    spent.push(text);
                }
                // The maker ended early: only a panic does that.
                Err(_) => break,
            }
        }
        drop(receive);
        if let Err(panic) = maker.join() {
            std::panic::resume_unwind(panic);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::HlcStamp;
    use crate::ids::{DeviceId, EventId};
    use rusqlite::Connection;
    use serde_json::json;

    fn order(id: &str) -> Assignment {
        serde_json::from_value(json!({
            "id": id, "version": 1, "trade": "appliance_repair", "technician": "tech-42",
            "customer": {"name": "王芳", "phone": null, "address": "世纪大道1号", "location": null,
                         "time_zone": null},
            "product": {"model": null, "serial": null, "purchase_date": null, "installed_on": null,
                        "warranty": "out_of_warranty"},
            "fault_description": null, "requested_window": null, "received_at": null,
            "order": [], "service_items": [], "notes": null
        }))
        .unwrap()
    }

    fn fact(n: u128, visit: VisitId, order: &Assignment, kind: EventKind) -> VisitEvent {
        VisitEvent {
            id: EventId(uuid::Uuid::from_u128(n)),
            visit_id: visit,
            assignment_id: order.id.clone(),
            device_id: DeviceId::new("phone-7").unwrap(),
            hlc: HlcStamp::default(),
            recorded_at: chrono::DateTime::<chrono::Utc>::default(),
            location: None,
            assignment_version: 1,
            kind,
        }
    }

    /// A write whose facts are the given kinds, the receipts carrying its order.
    fn write(visit: u128, id: &str, receipt_at: &[bool]) -> VisitWrite {
        let (visit, order) = (VisitId(uuid::Uuid::from_u128(visit)), order(id));
        let events = receipt_at
            .iter()
            .enumerate()
            .map(|(k, receipt)| {
                let kind = match receipt {
                    true => EventKind::AssignmentReceived {
                        assignment: Box::new(order.clone()),
                        field_issues: vec![],
                        playbook_version: None,
                    },
                    false => EventKind::DoorAnswered,
                };
                fact(visit.0.as_u128() * 10 + k as u128, visit, &order, kind)
            })
            .collect();
        let state = VisitState {
            assignment: Some(order),
            ..VisitState::default()
        };
        VisitWrite::new(visit, state, events, true).unwrap()
    }

    /// Each row names the seq of its write's last receipt, wherever the
    /// write puts it, the seqs counted on across a batch's writes.
    #[test]
    fn a_visits_row_names_the_seq_of_its_writes_last_receipt() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        super::super::schema::init(&tx).unwrap();
        let batch = [
            write(1, "A-1", &[true]),
            write(2, "A-2", &[false, true, false]),
            write(3, "A-3", &[true, false, true]),
        ];
        let mut statements = Batch::new(&tx).unwrap();
        for w in &batch {
            w.store(&mut statements, &w.text().unwrap()).unwrap();
        }
        drop(statements);
        let named = |id: &str| -> (i64, String) {
            tx.query_row(
                "SELECT e.seq, e.event_id FROM visits v JOIN visit_events e ON e.seq = v.order_seq
                 WHERE v.assignment_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        let id = |n: u128| uuid::Uuid::from_u128(n).to_string();
        assert_eq!(named("A-1"), (1, id(10)));
        assert_eq!(named("A-2"), (3, id(21)));
        assert_eq!(named("A-3"), (7, id(32)), "the last of two receipts");
    }
}
