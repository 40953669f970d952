//! Retention: customer personal data is kept only as long as the visit needs it.
//!
//! A visit is purged once it is closed, every one of its events has been
//! acknowledged by the server (acked, or refused with a reason, which the
//! server also acknowledges), and the retention period since it closed has
//! passed. Purging removes the customer's phone, address and map location
//! from the visit's events (the order is kept only in its "assignment
//! received" fact, which the projection reads), every location fix (the
//! technician's fixes are the customer's doorstep, including the
//! one in the sign-off evidence), and the signature strokes (sign-off,
//! backup consent, custody receipt). It keeps everything history needs:
//! ids, times, outcome, work, quote, payment, ratings, the customer's name,
//! and every digest (report, strokes, consent, previous evidence).
//!
//! What is lost on the phone, by design: a purged visit's strokes can no
//! longer be matched against their digest (its projection shows zero
//! strokes, not matching), and its evidence record no longer hashes to the
//! digest the next sign-off chained to. The server verified both when the
//! events were uploaded (that is what the acknowledgement means) and keeps
//! the originals; the device's chain head lives in the device row and is
//! unaffected. The projection is re-derived from the purged events, so it
//! still equals a replay.
//!
//! Unacknowledged events are never touched (a database trigger refuses
//! editing an event whose outbox entry is pending). Old copies of the data
//! do not linger in the file: the writer always runs with
//! `secure_delete=FAST` (overwritten cells are zeroed inside their pages),
//! the purge itself runs with `secure_delete=ON`, and the WAL is
//! checkpointed and truncated afterwards. A test reads the raw file bytes.

use super::db::Durability;
use super::error::{Result, StoreError};
use super::{millis, parse_id, save_visit, Store};
use crate::ids::VisitId;
use crate::workflow::{VisitEvent, VisitState};
use chrono::{DateTime, Duration, Utc};
use rusqlite::params;
use serde_json::Value;

/// What a purge did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeReport {
    pub visits: Vec<VisitId>,
    pub events_rewritten: usize,
}

/// Removes the customer's contact and map location from an assignment value.
fn scrub_assignment(a: &mut Value) {
    if let Some(c) = a.get_mut("customer").and_then(Value::as_object_mut) {
        for key in ["phone", "address", "location"] {
            if c.contains_key(key) {
                c.insert(key.into(), Value::Null);
            }
        }
    }
}

/// Scrubs one stored event: location fixes at any depth (the envelope's,
/// the arrival's, the sign-off evidence's), signature strokes, and the
/// customer's contact in an embedded assignment. Returns whether it changed.
fn scrub_event(e: &mut Value) -> bool {
    let before = e.clone();
    scrub(e);
    *e != before
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(obj) => {
            for (key, child) in obj.iter_mut() {
                match key.as_str() {
                    "location" | "arrival_location" => *child = Value::Null,
                    "strokes" => *child = Value::Array(vec![]),
                    "assignment" => {
                        scrub_assignment(child);
                        scrub(child);
                    }
                    _ => scrub(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

impl Store {
    /// Purges personal data from visits closed longer than `retention` ago
    /// whose events the server has all acknowledged. Returns what was purged.
    pub fn purge_personal_data(
        &self,
        now: DateTime<Utc>,
        retention: Duration,
    ) -> Result<PurgeReport> {
        let cutoff = millis(now - retention);
        self.shared.db.with_writer(|c| {
            c.pragma_update(None, "secure_delete", true)?;
            Ok(())
        })?;
        let result = self.shared.db.write(Durability::Normal, |tx| {
            let mut report = PurgeReport::default();
            let candidates: Vec<(String, String)> = {
                let mut stmt = tx.prepare(
                    "SELECT v.visit_id, v.assignment_id FROM visits v
                     WHERE v.closed = 1 AND v.purged_at IS NULL AND v.closed_at <= ?1
                       AND v.visit_id NOT IN (SELECT o.visit_id FROM outbox o
                                              WHERE o.status = 'pending')
                     ORDER BY v.visit_id",
                )?;
                let rows = stmt.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (visit, assignment) in candidates {
                let visit_id: VisitId = parse_id("visit id", &visit)?;
                let mut events: Vec<VisitEvent> = vec![];
                for (event_id, json) in event_rows(tx, &visit)? {
                    let mut v: Value = serde_json::from_str(&json)
                        .map_err(|e| StoreError::decode("visit event", e))?;
                    if scrub_event(&mut v) {
                        let text = serde_json::to_string(&v)
                            .map_err(|e| StoreError::encode("visit event", e))?;
                        tx.prepare_cached("UPDATE visit_events SET json = ?2 WHERE event_id = ?1")?
                            .execute(params![event_id, text])?;
                        report.events_rewritten += 1;
                    }
                    events.push(
                        serde_json::from_value(v)
                            .map_err(|e| StoreError::decode("visit event", e))?,
                    );
                }
                // The projection follows the purged events.
                save_visit(tx, visit_id, &mut VisitState::replay(&events))?;
                tx.prepare_cached("UPDATE visits SET purged_at = ?2 WHERE visit_id = ?1")?
                    .execute(params![visit, millis(now)])?;
                tx.prepare_cached(
                    "UPDATE assignments SET purged_at = ?2 WHERE assignment_id = ?1",
                )?
                .execute(params![assignment, millis(now)])?;
                report.visits.push(visit_id);
            }
            Ok(report)
        });
        // Back to normal writes, and flush the old bytes out of the WAL.
        let restored = self.shared.db.with_writer(|c| {
            c.pragma_update(None, "secure_delete", "FAST")?;
            if result.as_ref().is_ok_and(|r| !r.visits.is_empty()) {
                c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Ok(())
        });
        let report = result?;
        restored?;
        Ok(report)
    }
}

fn event_rows(tx: &rusqlite::Transaction<'_>, visit: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT event_id, json FROM visit_events WHERE visit_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([visit], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubbing_keeps_digests_and_facts() {
        let mut e = json!({
            "type": "customer_signed_off",
            "location": {"lat": 31.2, "lon": 121.4, "accuracy_m": 5.0},
            "strokes": [{"points": [{"x": 1, "y": 2, "t_ms": 0}]}],
            "ratings": {"quality": 5, "attitude": 5},
            "evidence": {"strokes_digest": "abc", "report_digest": "def"}
        });
        assert!(scrub_event(&mut e));
        assert_eq!(e["strokes"], json!([]));
        assert_eq!(e["location"], Value::Null);
        assert_eq!(e["evidence"]["strokes_digest"], "abc");
        assert_eq!(e["ratings"]["quality"], 5);
        assert!(!scrub_event(&mut e), "a second purge changes nothing");
    }
}
