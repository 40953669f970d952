//! The `handled_requests` table and the requests queue read from `events`:
//! a technician's requests to the center (the event kinds in
//! [`REQUEST_KINDS`]) that no dispatcher has marked handled yet.

use super::sql::{Row, Tx, Value};
use crate::failure::Fallible;
use crate::time::from_ms;
use chrono::{DateTime, Utc};

/// A technician's request that the center verify fields of the order.
pub const VERIFICATION_REQUESTED: &str = "center_verification_requested";

/// The event kinds that ask something of the center, in the queue's order.
pub const REQUEST_KINDS: [&str; 9] = [
    VERIFICATION_REQUESTED,
    "fields_waived",
    "quote_refused",
    "escalated_to_center",
    "payment_refused",
    "payment_deferred",
    "manager_visit_requested",
    "center_notified_absent",
    "acceptance_code_withheld",
];

/// An incident the technician recorded (also queued).
pub const INCIDENT_KIND: &str = "incident_recorded";

/// One request as synced by the phone.
pub struct RequestRow {
    pub event_id: String,
    pub kind: String,
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub recorded_at: DateTime<Utc>,
    /// The event as the phone sent it (JSON text).
    pub body: String,
}

fn request_of(r: &Row) -> RequestRow {
    RequestRow {
        event_id: r.text("event_id"),
        kind: r.text("kind"),
        visit_id: r.text("visit_id"),
        assignment_id: r.text("assignment_id"),
        technician_id: r.text("technician_id"),
        recorded_at: from_ms(r.int("recorded_at")),
        body: r.text("body"),
    }
}

/// The condition "a kind the queue lists" on `e.kind`, as literals in
/// [`REQUEST_KINDS`]' order then [`INCIDENT_KIND`]: the chain the partial
/// index `events_desk_requests` holds (migration 0034), which only a query
/// naming the same chain uses (a parameter is no literal the planner can
/// match). A chain of equalities, not `IN`: SQLite evaluates the index's
/// condition at every insert of a fact, and an `IN` list there cost each
/// about 2.5 µs.
fn queued_kinds_condition() -> String {
    let each: Vec<String> = REQUEST_KINDS
        .iter()
        .chain([&INCIDENT_KIND])
        .map(|k| format!("e.kind = '{k}'"))
        .collect();
    format!("({})", each.join(" OR "))
}

/// [`pending`]'s query: the requests through `events_desk_requests`, oldest
/// first, skipping the handled ones.
pub fn pending_query(limit: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT e.event_id AS event_id, e.kind AS kind, e.visit_id AS visit_id,
                e.assignment_id AS assignment_id, e.technician_id AS technician_id,
                e.recorded_at AS recorded_at, e.body AS body
             FROM events e LEFT JOIN handled_requests h ON h.event_id = e.event_id
             WHERE {} AND h.event_id IS NULL
             ORDER BY e.recorded_at, e.event_id LIMIT $1",
            queued_kinds_condition()
        ),
        vec![limit.into()],
    )
}

/// Requests not yet handled, oldest first (at most `limit`).
pub async fn pending(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<RequestRow>> {
    let (sql, params) = pending_query(limit);
    Ok(tx
        .query(&sql, &params)
        .await?
        .iter()
        .map(request_of)
        .collect())
}

/// The event kind of a code a phone sent unchecked (after five wrong ones).
pub const ACCEPTANCE_CODE_ENTERED: &str = "acceptance_code_entered";

/// [`acceptance_codes_found_wrong`]'s query: the orders whose code was
/// wrong (`acceptance_codes_wrong`), each one's latest code sent unchecked
/// (`events_acceptance_codes`), skipping the handled ones. (`CROSS JOIN`
/// keeps SQLite starting from the wrong codes; PostgreSQL reads it as the
/// inner join it is.)
pub fn acceptance_codes_found_wrong_query(limit: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT e.event_id AS event_id, e.kind AS kind, e.visit_id AS visit_id,
                e.assignment_id AS assignment_id, e.technician_id AS technician_id,
                e.recorded_at AS recorded_at, e.body AS body
             FROM acceptance_codes c CROSS JOIN events e
             LEFT JOIN handled_requests h ON h.event_id = e.event_id
             WHERE c.center_result = 'wrong' AND e.kind = '{ACCEPTANCE_CODE_ENTERED}'
               AND e.event_id = (SELECT e2.event_id FROM events e2
                                 WHERE e2.assignment_id = c.assignment_id
                                   AND e2.kind = '{ACCEPTANCE_CODE_ENTERED}'
                                 ORDER BY e2.recorded_at DESC, e2.event_id DESC LIMIT 1)
               AND h.event_id IS NULL
             ORDER BY e.recorded_at, e.event_id LIMIT $1"
        ),
        vec![limit.into()],
    )
}

/// The latest code a phone sent unchecked for each work order whose code
/// the center found wrong (`acceptance_codes.center_result`), not yet
/// handled, oldest first (at most `limit`): the desk follows them up.
pub async fn acceptance_codes_found_wrong(
    tx: &mut dyn Tx,
    limit: i64,
) -> Fallible<Vec<RequestRow>> {
    let (sql, params) = acceptance_codes_found_wrong_query(limit);
    Ok(tx
        .query(&sql, &params)
        .await?
        .iter()
        .map(request_of)
        .collect())
}

/// A synced event's kind and the work order it belongs to, if it exists.
pub async fn request_event(tx: &mut dyn Tx, event_id: &str) -> Fallible<Option<(String, String)>> {
    Ok(tx
        .query_opt(
            "SELECT kind, assignment_id FROM events WHERE event_id = $1",
            &[event_id.into()],
        )
        .await?
        .map(|r| (r.text("kind"), r.text("assignment_id"))))
}

/// Marks a request handled; false when it already was.
pub async fn mark_handled(
    tx: &mut dyn Tx,
    event_id: &str,
    by: &str,
    at: i64,
    answer: Option<&str>,
) -> Fallible<bool> {
    let n = tx
        .execute(
            "INSERT INTO handled_requests (event_id, handled_by, handled_at, answer)
             VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO NOTHING",
            &[
                event_id.into(),
                by.into(),
                at.into(),
                answer.map(str::to_string).into(),
            ],
        )
        .await?;
    Ok(n > 0)
}
