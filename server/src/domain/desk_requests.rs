//! The dispatch desk's requests queue: what technicians asked of the center
//! (verify with center, waivers, escalations after a refused quote or
//! payment, a payment deferred to the center (`payment_deferred`: the
//! customer pays the center later; the desk follows it up), manager-visit requests, absent-customer notices, incidents),
//! the conflicts waiting for a decision, the customer notices that could not
//! be delivered, the acceptance codes the center found wrong (a phone sent
//! them unchecked after five wrong ones: the desk calls the customer, or
//! issues a new code), and the phones' facts the server refused, with
//! counts per kind for the tab.
//! A dispatcher answers a request (after editing the order, for a
//! verification) and marks it handled; conflicts are decided where they
//! always were (`/api/visits/{id}/resolve`).

use crate::failure::{Failure, Fallible};
use crate::store::desk_requests::{self, ACCEPTANCE_CODE_ENTERED, INCIDENT_KIND, REQUEST_KINDS};
use crate::store::outbox::{self, OutboxState};
use crate::store::{assignments, events, technicians, visits, Tx};
use chrono::{DateTime, Utc};
use doorstep_core::history_check::fact_label;
use doorstep_core::protocol::RefusalCode;
use doorstep_core::workflow::VisitEvent;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The queue's kind for a customer notice whose delivery failed for good
/// (a dead outbox message; sent again with `POST /api/outbox/{id}/retry`).
pub const NOTICE_UNDELIVERED: &str = "notice_undelivered";

/// The queue's kind for a fact the server refused that no dispatcher has
/// reviewed yet.
pub const FACT_REFUSED: &str = "fact_refused";

/// The queue's kind for a work order whose acceptance code the center
/// found wrong (the latest code a phone sent unchecked).
pub const ACCEPTANCE_CODE_WRONG: &str = "acceptance_code_wrong";

/// How many open requests the queue shows at most.
const QUEUE_LIMIT: i64 = 500;

/// One thing waiting for the desk.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    /// The event id of a request; the visit id of a conflict.
    pub id: String,
    /// The event kind (`center_verification_requested`, …) or `conflict`.
    pub kind: String,
    pub assignment_id: String,
    pub visit_id: String,
    pub technician_id: String,
    /// The technician's name, as the desk knows them.
    pub technician_name: Option<String>,
    pub customer_name: Option<String>,
    pub at: Option<DateTime<Utc>>,
    /// What the technician sent with it: `fields`, `note`, `reason`,
    /// `description`, `approved_by`, … (the event's own fields), or the
    /// conflict's code.
    #[schema(value_type = BTreeMap<String, serde_json::Value>)]
    pub detail: Map<String, Value>,
}

impl QueueItem {
    /// A technician's synced request as the queue lists it (names filled in later).
    fn of_request(r: desk_requests::RequestRow, kind: String, detail: Map<String, Value>) -> Self {
        QueueItem {
            id: r.event_id,
            kind,
            assignment_id: r.assignment_id,
            visit_id: r.visit_id,
            technician_id: r.technician_id,
            technician_name: None,
            customer_name: None,
            at: Some(r.recorded_at),
            detail,
        }
    }
}

/// The queue and its counts.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub total: usize,
    /// Open items per kind.
    pub counts: BTreeMap<String, usize>,
    pub items: Vec<QueueItem>,
}

/// The event's own fields, without the envelope every event carries.
fn detail_of(body: &str) -> Map<String, Value> {
    const ENVELOPE: [&str; 9] = [
        "id",
        "visit_id",
        "assignment_id",
        "device_id",
        "hlc",
        "recorded_at",
        "location",
        "assignment_version",
        "type",
    ];
    let mut map = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    map.retain(|k, _| !ENVELOPE.contains(&k.as_str()));
    map
}

/// A deferred payment's amount as the console shows it (`amount_shown`,
/// the core's money formatting: the console formats no money).
fn with_amount_shown(mut detail: Map<String, Value>) -> Map<String, Value> {
    if let Some(fen) = detail.get("amount").and_then(Value::as_i64) {
        detail.insert(
            "amount_shown".into(),
            doorstep_core::money::format_yuan(fen).into(),
        );
    }
    detail
}

/// Everything open, oldest first within requests, then the conflicts.
pub async fn queue(tx: &mut dyn Tx) -> Fallible<Queue> {
    let mut items = Vec::new();
    for r in desk_requests::pending(tx, QUEUE_LIMIT).await? {
        let detail = with_amount_shown(detail_of(&r.body));
        let kind = r.kind.clone();
        items.push(QueueItem::of_request(r, kind, detail));
    }
    // The customer's code, sent unchecked after five wrong ones, was wrong
    // at the center too: the desk calls the customer or issues a new code.
    for r in desk_requests::acceptance_codes_found_wrong(tx, QUEUE_LIMIT).await? {
        let mut detail = detail_of(&r.body);
        // The code the customer gave stays out of the desk's screens.
        detail.remove("code");
        items.push(QueueItem::of_request(
            r,
            ACCEPTANCE_CODE_WRONG.into(),
            detail,
        ));
    }
    // A notice to the customer that could not be delivered (its retries
    // spent): the desk calls the customer, or sends it again.
    for m in outbox::list(
        tx,
        Some(OutboxState::Dead),
        Some("notice"),
        None,
        QUEUE_LIMIT,
    )
    .await?
    {
        let Some(assignment_id) = m.assignment_id.clone() else {
            continue;
        };
        let technician_id = assignments::load_assignment(tx, &assignment_id)
            .await?
            .and_then(|a| a.assignment.technician.map(|t| t.to_string()))
            .unwrap_or_default();
        let mut detail = Map::new();
        detail.insert("channel".into(), m.target.clone().into());
        detail.insert("attempts".into(), m.attempts.into());
        if let Some(moment) = m.payload.get("moment") {
            detail.insert("moment".into(), moment.clone());
        }
        items.push(QueueItem {
            id: m.id,
            kind: NOTICE_UNDELIVERED.into(),
            assignment_id,
            visit_id: m.payload["visit_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            technician_id,
            technician_name: None,
            customer_name: None,
            at: Some(crate::time::from_ms(m.updated_at)),
            detail,
        });
    }
    // A fact a phone recorded that the server refused (the technician's
    // record of it did not reach the center): the desk looks, then marks it
    // reviewed (`POST /api/refused-events/{device}/{seq}/review`).
    for (r, body) in events::unreviewed_refusals(tx, QUEUE_LIMIT).await? {
        let Some(assignment_id) = r.assignment_id.clone() else {
            continue;
        };
        let mut detail = Map::new();
        // Which fact it was, as the technician's screen named it (a body
        // that is no fact at all has no name).
        if let Ok(fact) = serde_json::from_str::<VisitEvent>(&body) {
            detail.insert(
                "fact_label".into(),
                serde_json::json!(fact_label(&fact.kind)),
            );
        }
        detail.insert("code".into(), r.code.clone().into());
        let code: RefusalCode = serde_json::from_value(Value::String(r.code.clone()))
            .unwrap_or(RefusalCode::Unrecognised);
        detail.insert(
            "code_label".into(),
            serde_json::to_value(code.label()).unwrap_or(Value::Null),
        );
        if let Some(kind) = &r.kind {
            detail.insert("event_kind".into(), kind.clone().into());
        }
        detail.insert("device_id".into(), r.device_id.clone().into());
        detail.insert("seq".into(), r.seq.into());
        items.push(QueueItem {
            id: format!("{}/{}", r.device_id, r.seq),
            kind: FACT_REFUSED.into(),
            assignment_id,
            visit_id: r.visit_id.clone().unwrap_or_default(),
            technician_id: r.technician_id.clone(),
            technician_name: None,
            customer_name: None,
            at: Some(crate::time::from_ms(r.received_at)),
            detail,
        });
    }
    for v in visits::open_conflicts(tx).await? {
        let mut detail = Map::new();
        detail.insert("conflict".into(), v.conflict.clone().into());
        items.push(QueueItem {
            id: v.visit_id.clone(),
            kind: "conflict".into(),
            assignment_id: v.assignment_id,
            visit_id: v.visit_id,
            technician_id: v.technician_id,
            technician_name: None,
            customer_name: None,
            at: v.started_at,
            detail,
        });
    }
    let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
    for item in &mut items {
        if !names.contains_key(&item.assignment_id) {
            let name = assignments::load_assignment(tx, &item.assignment_id)
                .await?
                .and_then(|a| a.assignment.customer.name);
            names.insert(item.assignment_id.clone(), name);
        }
        item.customer_name = names[&item.assignment_id].clone();
    }
    let mut technicians: BTreeMap<String, Option<String>> = BTreeMap::new();
    for item in &mut items {
        if !technicians.contains_key(&item.technician_id) {
            let name = technicians::name(tx, &item.technician_id).await?;
            technicians.insert(item.technician_id.clone(), name);
        }
        item.technician_name = technicians[&item.technician_id].clone();
    }
    let mut counts = BTreeMap::new();
    for item in &items {
        *counts.entry(item.kind.clone()).or_insert(0) += 1;
    }
    Ok(Queue {
        total: items.len(),
        counts,
        items,
    })
}

/// Marks a request handled by `actor`, with the desk's answer (optional).
pub async fn handle(
    tx: &mut dyn Tx,
    event_id: &str,
    actor: &str,
    now: i64,
    answer: Option<&str>,
) -> Fallible<()> {
    let (kind, _) = desk_requests::request_event(tx, event_id)
        .await?
        .ok_or_else(|| Failure::not_found("request", event_id))?;
    if !(REQUEST_KINDS.contains(&kind.as_str())
        || kind == INCIDENT_KIND
        || kind == ACCEPTANCE_CODE_ENTERED)
    {
        return Err(Failure::not_found("request", event_id));
    }
    if !desk_requests::mark_handled(tx, event_id, actor, now, answer).await? {
        return Err(Failure::conflict(
            "already_recorded",
            format!("request {event_id} is already handled"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_detail_keeps_the_event_fields_only() {
        let d = detail_of(
            r#"{"id":"e1","visit_id":"v","assignment_id":"a","device_id":"d","hlc":{},"recorded_at":"x",
                "assignment_version":2,"type":"center_verification_requested",
                "fields":["customer_phone"],"note":"号码空号"}"#,
        );
        assert_eq!(
            d.keys().map(String::as_str).collect::<Vec<_>>(),
            ["fields", "note"]
        );
    }
}
