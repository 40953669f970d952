//! Erasure on request (PIPL): the center erased a customer's personal data
//! and the download says so (`ChangeKind::Erased`). The phone blanks the
//! customer's name, phone, address and map location, and removes the mobile
//! numbers typed into the order's free text (`contact_text`), in every
//! acknowledged event of the visit that embeds the assignment (the phone
//! keeps the order only there: `projection`), then re-derives the
//! projection from the events (so it still equals a replay). Everything
//! else stays: amounts, payments, receipts,
//! signatures and every digest (the signed report holds no contact data, so
//! it still verifies).
//!
//! An event still waiting in the outbox cannot be edited (the store's
//! trigger); the server blanks the same fields when that event arrives for
//! an erased order, and the phone's own retention purge clears it later.

use super::error::{Result, StoreError};
use super::{parse_id, save_visit};
use crate::contact_text::{replace_in_fields, ORDER_FREE_TEXT};
use crate::ids::{AssignmentId, VisitId};
use crate::workflow::{VisitEvent, VisitState};
use rusqlite::{params, OptionalExtension, Transaction};
use serde_json::Value;

/// The customer fields an erasure blanks.
const ERASED_FIELDS: [&str; 4] = ["name", "phone", "address", "location"];

/// Blanks the customer's contact in every `customer` object inside an
/// embedded assignment, at any depth, and the mobile numbers in that
/// assignment's free text. Returns whether anything changed.
fn blank_customer(v: &mut Value) -> bool {
    let mut changed = false;
    match v {
        Value::Object(obj) => {
            if obj.contains_key("customer") {
                changed |= replace_in_fields(obj, &ORDER_FREE_TEXT, |_| "***".into());
            }
            for (key, child) in obj.iter_mut() {
                if key == "customer" {
                    if let Some(c) = child.as_object_mut() {
                        for field in ERASED_FIELDS {
                            if c.get(field).is_some_and(|x| !x.is_null()) {
                                c.insert(field.into(), Value::Null);
                                changed = true;
                            }
                        }
                    }
                } else {
                    changed |= blank_customer(child);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                changed |= blank_customer(item);
            }
        }
        _ => {}
    }
    changed
}

/// Applies an erasure to the order's visit: its acknowledged events and its
/// projection, in the caller's transaction.
pub(super) fn erase_customer(tx: &Transaction<'_>, assignment: &AssignmentId) -> Result<()> {
    let visit: Option<String> = tx
        .prepare_cached("SELECT visit_id FROM visits WHERE assignment_id = ?1")?
        .query_row([assignment.as_str()], |r| r.get(0))
        .optional()?;
    let Some(visit) = visit else {
        return Ok(());
    };
    let rows: Vec<(String, String, bool)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT e.event_id, e.json,
                    EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.event_id AND o.status = 'pending')
             FROM visit_events e WHERE e.visit_id = ?1 ORDER BY e.seq",
        )?;
        let rows = stmt.query_map([&visit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut events: Vec<VisitEvent> = Vec::with_capacity(rows.len());
    for (event_id, json, pending) in rows {
        let mut v: Value =
            serde_json::from_str(&json).map_err(|e| StoreError::decode("visit event", e))?;
        if !pending && blank_customer(&mut v) {
            let text =
                serde_json::to_string(&v).map_err(|e| StoreError::encode("visit event", e))?;
            tx.prepare_cached("UPDATE visit_events SET json = ?2 WHERE event_id = ?1")?
                .execute(params![event_id, text])?;
        }
        events.push(serde_json::from_value(v).map_err(|e| StoreError::decode("visit event", e))?);
    }
    let visit_id: VisitId = parse_id("visit id", &visit)?;
    save_visit(tx, visit_id, &mut VisitState::replay(&events))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn erasure_blanks_the_customer_contact_and_keeps_the_rest() {
        let mut e = json!({
            "type": "assignment_received",
            "assignment": {"id": "A-1", "customer": {"name": "王伟", "phone": "13812345678",
                "address": "上海市浦东新区世纪大道 100 号", "location": {"lat": 31.2, "lon": 121.5},
                "time_zone": "Asia/Shanghai"}, "product": {"model": "M-1"},
                "notes": "白天打儿子电话 138 0013 9999", "fault_description": "不制冷"},
            "location": {"lat": 31.2, "lon": 121.5}
        });
        assert!(blank_customer(&mut e));
        let c = &e["assignment"]["customer"];
        for field in ERASED_FIELDS {
            assert_eq!(c[field], Value::Null, "{field}");
        }
        assert_eq!(c["time_zone"], "Asia/Shanghai");
        assert_eq!(e["assignment"]["product"]["model"], "M-1");
        assert_eq!(e["assignment"]["notes"], "白天打儿子电话 ***");
        assert_eq!(e["assignment"]["fault_description"], "不制冷");
        assert!(!blank_customer(&mut e), "a second erasure changes nothing");
    }
}
