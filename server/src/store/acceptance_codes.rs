//! The `acceptance_codes` table: each work order's acceptance code (验收码),
//! kept to send it to the customer, and what the center found for a code a
//! phone sent after it stopped checking offline.

use super::sql::Tx;
use crate::failure::Fallible;

/// A work order's code and the center's check of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptanceCodeRow {
    pub assignment_id: String,
    pub code: String,
    pub issued_at: i64,
    /// `accepted` or `wrong`, once the center checked a code; `None` before.
    pub center_result: Option<String>,
    pub checked_at: Option<i64>,
}

/// Stores a newly issued code.
pub async fn insert(tx: &mut dyn Tx, assignment_id: &str, code: &str, at: i64) -> Fallible<()> {
    tx.execute(
        "INSERT INTO acceptance_codes (assignment_id, code, issued_at) VALUES ($1, $2, $3)",
        &[assignment_id.into(), code.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// Replaces a work order's code with a new one issued at the desk: the
/// center's check of the old one is forgotten with it.
pub async fn replace(tx: &mut dyn Tx, assignment_id: &str, code: &str, at: i64) -> Fallible<()> {
    tx.execute(
        "INSERT INTO acceptance_codes (assignment_id, code, issued_at) VALUES ($1, $2, $3)
         ON CONFLICT (assignment_id) DO UPDATE
         SET code = excluded.code, issued_at = excluded.issued_at,
             center_result = NULL, checked_at = NULL",
        &[assignment_id.into(), code.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// The code issued for a work order, if any.
pub async fn of_assignment(
    tx: &mut dyn Tx,
    assignment_id: &str,
) -> Fallible<Option<AcceptanceCodeRow>> {
    Ok(tx
        .query_opt(
            "SELECT assignment_id, code, issued_at, center_result, checked_at
             FROM acceptance_codes WHERE assignment_id = $1",
            &[assignment_id.into()],
        )
        .await?
        .map(|r| AcceptanceCodeRow {
            assignment_id: r.text("assignment_id"),
            code: r.text("code"),
            issued_at: r.int("issued_at"),
            center_result: r.opt_text("center_result"),
            checked_at: r.opt_int("checked_at"),
        }))
}

/// Records the center's check of a code: `accepted` stays once found.
pub async fn record_center_result(
    tx: &mut dyn Tx,
    assignment_id: &str,
    result: &str,
    at: i64,
) -> Fallible<()> {
    tx.execute(
        "UPDATE acceptance_codes SET center_result = $2, checked_at = $3
         WHERE assignment_id = $1 AND (center_result IS NULL OR center_result <> 'accepted')",
        &[assignment_id.into(), result.into(), at.into()],
    )
    .await?;
    Ok(())
}
