//! The `intakes` table: every request the desk took (受理).

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
        "INSERT INTO intakes (id, classification, received_at, caller, content, answer, assignment_id, escalated, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            i.id.into(),
            i.classification.as_str().into(),
            i.received_at.into(),
            i.caller_json.into(),
            i.content.into(),
            i.answer.into(),
            i.assignment_id.into(),
            i.escalated.into(),
            i.recorded_by.into(),
        ],
    )
    .await?;
    Ok(())
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
