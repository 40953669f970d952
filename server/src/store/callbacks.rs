//! The `callbacks` table: the follow-up calls each visit calls for (回访)
//! and their results.

use super::sql::Tx;
use crate::failure::Fallible;
use crate::model::CallbackView;
use crate::time::from_ms;
use doorstep_core::callbacks::CallbackReason;
use doorstep_core::wire::wire_name;

/// Drops a visit's open callbacks except the monthly sample's (the facts
/// decide again which are due).
pub async fn clear_scheduled(tx: &mut dyn Tx, visit: &str) -> Fallible<()> {
    tx.execute(
        "DELETE FROM callbacks WHERE visit_id = $1 AND done_at IS NULL AND reason <> $2",
        &[
            visit.into(),
            wire_name(&CallbackReason::MonthlySample).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Schedules a callback unless the visit already has one for that reason;
/// returns whether one was added.
pub async fn schedule(
    tx: &mut dyn Tx,
    visit: &str,
    reason: CallbackReason,
    due_at: i64,
) -> Fallible<bool> {
    let added = tx
        .execute(
            "INSERT INTO callbacks (visit_id, reason, due_at) VALUES ($1, $2, $3)
             ON CONFLICT (visit_id, reason) DO NOTHING",
            &[visit.into(), wire_name(&reason).into(), due_at.into()],
        )
        .await?;
    Ok(added > 0)
}

/// Open callbacks due by `until`, with whom to call.
pub async fn due_by(tx: &mut dyn Tx, until: i64) -> Fallible<Vec<CallbackView>> {
    let rows = tx
        .query(
            "SELECT c.visit_id AS visit_id, c.reason AS reason, c.due_at AS due_at,
                v.assignment_id AS assignment_id, v.technician_id AS technician_id, v.trade AS trade,
                a.body AS body
             FROM callbacks c JOIN visits v ON v.visit_id = c.visit_id
             JOIN assignments a ON a.id = v.assignment_id
             WHERE c.done_at IS NULL AND c.due_at <= $1 ORDER BY c.due_at, c.visit_id",
            &[until.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let a: Option<doorstep_core::Assignment> = serde_json::from_str(&r.text("body")).ok();
            CallbackView {
                visit_id: r.text("visit_id"),
                reason: r.text("reason"),
                due_at: from_ms(r.int("due_at")),
                assignment_id: r.text("assignment_id"),
                technician_id: r.text("technician_id"),
                trade: r.text("trade"),
                customer_name: a.as_ref().and_then(|a| a.customer.name.clone()),
                customer_phone: a.and_then(|a| a.customer.phone),
            }
        })
        .collect())
}

/// Whether a callback exists and, if so, whether its result is recorded.
pub enum CallbackState {
    Missing,
    Open,
    Done,
}

pub async fn state(tx: &mut dyn Tx, visit: &str, reason: &str) -> Fallible<CallbackState> {
    Ok(
        match tx
            .query_opt(
                "SELECT done_at FROM callbacks WHERE visit_id = $1 AND reason = $2",
                &[visit.into(), reason.into()],
            )
            .await?
        {
            None => CallbackState::Missing,
            Some(r) if r.opt_int("done_at").is_some() => CallbackState::Done,
            Some(_) => CallbackState::Open,
        },
    )
}

/// A callback's result.
pub struct CallbackOutcome<'a> {
    pub visit: &'a str,
    pub reason: &'a str,
    pub done_at: i64,
    pub done_by: &'a str,
    pub reached: bool,
    pub satisfied: Option<bool>,
    pub note: Option<String>,
    /// The center ended the follow-up.
    pub closed_by_center: bool,
}

pub async fn record_result(tx: &mut dyn Tx, o: CallbackOutcome<'_>) -> Fallible<()> {
    tx.execute(
        "UPDATE callbacks SET done_at = $1, done_by = $2, reached = $3, satisfied = $4, note = $5,
             closed_by_center = $8
         WHERE visit_id = $6 AND reason = $7",
        &[
            o.done_at.into(),
            o.done_by.into(),
            o.reached.into(),
            o.satisfied.into(),
            o.note.into(),
            o.visit.into(),
            o.reason.into(),
            o.closed_by_center.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Keeps the recorded call among the follow-up's attempts and reopens the
/// callback, due at `next_due`.
pub async fn reopen_for_follow_up(
    tx: &mut dyn Tx,
    visit: &str,
    reason: &str,
    next_due: i64,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO callback_attempts
             (visit_id, reason, attempt, due_at, done_at, done_by, reached, satisfied, note)
         SELECT c.visit_id, c.reason,
             (SELECT COUNT(*) FROM callback_attempts p WHERE p.visit_id = c.visit_id AND p.reason = c.reason) + 1,
             c.due_at, c.done_at, c.done_by, c.reached, c.satisfied, c.note
         FROM callbacks c WHERE c.visit_id = $1 AND c.reason = $2 AND c.done_at IS NOT NULL",
        &[visit.into(), reason.into()],
    )
    .await?;
    tx.execute(
        "UPDATE callbacks SET due_at = $3, done_at = NULL, done_by = NULL, reached = NULL,
             satisfied = NULL, note = NULL
         WHERE visit_id = $1 AND reason = $2",
        &[visit.into(), reason.into(), next_due.into()],
    )
    .await?;
    Ok(())
}

/// How many earlier calls a follow-up has had.
pub async fn attempts(tx: &mut dyn Tx, visit: &str, reason: &str) -> Fallible<i64> {
    let row = tx
        .query_opt(
            "SELECT COUNT(*) AS n FROM callback_attempts WHERE visit_id = $1 AND reason = $2",
            &[visit.into(), reason.into()],
        )
        .await?;
    Ok(row.map_or(0, |r| r.int("n")))
}

/// A served visit of a month: its id, trade and assignment document.
pub struct ServedVisit {
    pub visit_id: String,
    pub trade: String,
    pub assignment_json: String,
}

/// Visits closed in `[from, to)` after the technician arrived, in closing order.
pub async fn served_between(tx: &mut dyn Tx, from: i64, to: i64) -> Fallible<Vec<ServedVisit>> {
    Ok(tx
        .query(
            "SELECT v.visit_id AS visit_id, v.trade AS trade, a.body AS body
             FROM visits v JOIN assignments a ON a.id = v.assignment_id
             WHERE v.closed_at >= $1 AND v.closed_at < $2 AND v.arrived_at IS NOT NULL
             ORDER BY v.closed_at",
            &[from.into(), to.into()],
        )
        .await?
        .iter()
        .map(|r| ServedVisit {
            visit_id: r.text("visit_id"),
            trade: r.text("trade"),
            assignment_json: r.text("body"),
        })
        .collect())
}
