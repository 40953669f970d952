//! The `intakes` table: every request the desk took (受理), with its
//! caller's phone digits kept beside it for a customer's requests about
//! their data (migration 0040).

use super::order_lookup::phone_digits;
use super::sql::{Filters, Tx, Value};
use crate::failure::{Failure, Fallible};
use crate::model::{Classification, IntakeRecord};
use crate::time::from_ms;

/// An intake to record.
pub struct NewIntake<'a> {
    pub id: &'a str,
    pub classification: Classification,
    pub received_at: i64,
    pub caller_json: String,
    pub content: &'a str,
    pub answer: Option<&'a str>,
    pub assignment_id: Option<&'a str>,
    pub escalated: bool,
    pub recorded_by: &'a str,
}

pub async fn insert_intake(tx: &mut dyn Tx, i: NewIntake<'_>) -> Fallible<()> {
    tx.execute(
        "INSERT INTO intakes (id, classification, received_at, caller, content, answer, assignment_id, escalated,
            recorded_by, caller_phone_digits)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            i.id.into(),
            i.classification.as_str().into(),
            i.received_at.into(),
            i.caller_json.as_str().into(),
            i.content.into(),
            i.answer.into(),
            i.assignment_id.into(),
            i.escalated.into(),
            i.recorded_by.into(),
            caller_phone_digits(&i.caller_json).into(),
        ],
    )
    .await?;
    Ok(())
}

/// The digits of a caller's phone (`{"phone": …}` in the caller's JSON) as
/// the orders' look-up rows keep them; none for a caller without a phone
/// or a caller the JSON does not describe.
pub fn caller_phone_digits(caller_json: &str) -> Option<String> {
    let caller: serde_json::Value = serde_json::from_str(caller_json).ok()?;
    Some(phone_digits(caller["phone"].as_str()?)).filter(|d| !d.is_empty())
}

/// Writes the caller's phone digits of up to 500 intakes after `after`
/// (by id) recorded before migration 0040; the last id written, or `None`
/// when none were left.
pub async fn fill_caller_phone_batch(tx: &mut dyn Tx, after: &str) -> Fallible<Option<String>> {
    let rows = tx
        .query(
            "SELECT id, caller FROM intakes WHERE id > $1 ORDER BY id LIMIT 500",
            &[after.into()],
        )
        .await?;
    for r in &rows {
        tx.execute(
            "UPDATE intakes SET caller_phone_digits = $2 WHERE id = $1",
            &[
                r.text("id").into(),
                caller_phone_digits(&r.text("caller")).into(),
            ],
        )
        .await?;
    }
    Ok(rows.last().map(|r| r.text("id")))
}

/// The latest 500 intakes, newest first, optionally only (not) escalated ones.
pub async fn list_intakes(tx: &mut dyn Tx, escalated: Option<bool>) -> Fallible<Vec<IntakeRecord>> {
    let (sql, params) = list_query(escalated);
    let rows = tx.query(&sql, &params).await?;
    rows.iter()
        .map(|r| {
            Ok(IntakeRecord {
                id: r.text("id"),
                classification: r
                    .text("classification")
                    .parse()
                    .map_err(|e| Failure::corrupt("reading an intake", e))?,
                received_at: from_ms(r.int("received_at")),
                content: r.text("content"),
                answer: r.opt_text("answer"),
                assignment_id: r.opt_text("assignment_id"),
                escalated: r.flag("escalated"),
            })
        })
        .collect()
}

/// [`list_intakes`]'s query: the newest read backwards through
/// `intakes_newest` (schema 29) until the page is full.
pub fn list_query(escalated: Option<bool>) -> (String, Vec<Value>) {
    Filters::default().equal("escalated", escalated).query(
        "SELECT id, classification, received_at, content, answer, assignment_id, escalated
         FROM intakes",
        "ORDER BY received_at DESC",
        500,
    )
}
