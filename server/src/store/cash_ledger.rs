//! The `cash_collections` and `cash_remittances` tables (migrations 0020
//! and 0022): the cash each technician collected at the door, one row per
//! admitted cash payment fact (keyed by its event id, so a fact stored twice
//! counts once), and the cash he handed over to a dispatcher (a remittance
//! voided stays, marked with who voided it, when and why). The rules — what
//! enters the ledger, when a remittance is refused, how a day is totalled —
//! are `domain::cash_ledger`'s.

use super::sql::{Row, Tx};
use crate::failure::Fallible;
use doorstep_core::money::format_yuan_grouped;
use serde::Serialize;

/// A cash payment to put on a technician's ledger.
pub struct NewCollection<'a> {
    pub event_id: &'a str,
    pub technician: &'a str,
    /// `YYYY-MM-DD`, of the business time zone.
    pub business_day: &'a str,
    /// Fen.
    pub amount: i64,
    pub visit_id: &'a str,
    pub assignment_id: &'a str,
    pub receipt: Option<&'a str>,
    pub collected_at: i64,
    pub received_at: i64,
}

/// Stores a collection; false when its event is already on the ledger.
pub async fn insert_collection(tx: &mut dyn Tx, c: &NewCollection<'_>) -> Fallible<bool> {
    let n = tx
        .execute(
            "INSERT INTO cash_collections (event_id, technician_id, business_day, amount, visit_id,
                assignment_id, receipt, collected_at, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT DO NOTHING",
            &[
                c.event_id.into(),
                c.technician.into(),
                c.business_day.into(),
                c.amount.into(),
                c.visit_id.into(),
                c.assignment_id.into(),
                c.receipt.into(),
                c.collected_at.into(),
                c.received_at.into(),
            ],
        )
        .await?;
    Ok(n > 0)
}

/// A remittance to store.
pub struct NewRemittance<'a> {
    pub id: &'a str,
    pub technician: &'a str,
    pub business_day: &'a str,
    pub amount: i64,
    pub remitted_at: i64,
    pub received_by: &'a str,
    pub note: Option<&'a str>,
    pub created_at: i64,
}

pub async fn insert_remittance(tx: &mut dyn Tx, r: &NewRemittance<'_>) -> Fallible<()> {
    tx.execute(
        "INSERT INTO cash_remittances (id, technician_id, business_day, amount, remitted_at,
            received_by, note, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            r.id.into(),
            r.technician.into(),
            r.business_day.into(),
            r.amount.into(),
            r.remitted_at.into(),
            r.received_by.into(),
            r.note.into(),
            r.created_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// A cash payment on the ledger, as the center reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CollectionRow {
    pub event_id: String,
    pub technician_id: String,
    /// `YYYY-MM-DD`, of the business time zone.
    pub business_day: String,
    /// Fen.
    pub amount: i64,
    /// The amount as the desk shows it (`¥1,234.50`, the core's words).
    pub amount_shown: String,
    pub visit_id: String,
    /// The work order.
    pub assignment_id: String,
    /// The receipt or invoice number the technician gave, if any.
    pub receipt: Option<String>,
    /// When the technician recorded it (his phone's clock), Unix ms.
    pub collected_at: i64,
}

/// A remittance: cash a technician handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RemittanceRow {
    pub id: String,
    pub technician_id: String,
    /// `YYYY-MM-DD`, of the business time zone.
    pub business_day: String,
    /// Fen.
    pub amount: i64,
    /// The amount as the desk shows it (`¥1,234.50`, the core's words).
    pub amount_shown: String,
    /// When the cash was handed over, Unix ms.
    pub remitted_at: i64,
    /// The dispatcher who received it (username).
    pub received_by: String,
    pub note: Option<String>,
    /// Set when it was voided: it stays listed and counts no more.
    pub voided: Option<RemittanceVoid>,
}

/// Who voided a remittance, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RemittanceVoid {
    /// Unix ms.
    pub at: i64,
    /// The dispatcher (username).
    pub by: String,
    pub reason: String,
}

/// The filter of a ledger read: business days up to `to` (inclusive),
/// from `from` when given, one technician when given.
pub struct Span<'a> {
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub technician: Option<&'a str>,
}

pub async fn collections(tx: &mut dyn Tx, span: &Span<'_>) -> Fallible<Vec<CollectionRow>> {
    Ok(tx
        .query(
            "SELECT event_id, technician_id, business_day, amount, visit_id, assignment_id, receipt,
                    collected_at
             FROM cash_collections
             WHERE business_day <= $1 AND (CAST($2 AS TEXT) IS NULL OR business_day >= $2)
               AND (CAST($3 AS TEXT) IS NULL OR technician_id = $3)
             ORDER BY technician_id, business_day, collected_at, event_id",
            &[span.to.into(), span.from.into(), span.technician.into()],
        )
        .await?
        .iter()
        .map(|r| CollectionRow {
            event_id: r.text("event_id"),
            technician_id: r.text("technician_id"),
            business_day: r.text("business_day"),
            amount: r.int("amount"),
            amount_shown: format_yuan_grouped(r.int("amount")),
            visit_id: r.text("visit_id"),
            assignment_id: r.text("assignment_id"),
            receipt: r.opt_text("receipt"),
            collected_at: r.int("collected_at"),
        })
        .collect())
}

pub async fn remittances(tx: &mut dyn Tx, span: &Span<'_>) -> Fallible<Vec<RemittanceRow>> {
    Ok(tx
        .query(
            &format!(
                "SELECT {REMITTANCE_COLUMNS} FROM cash_remittances
                 WHERE business_day <= $1 AND (CAST($2 AS TEXT) IS NULL OR business_day >= $2)
                   AND (CAST($3 AS TEXT) IS NULL OR technician_id = $3)
                 ORDER BY technician_id, business_day, remitted_at, id"
            ),
            &[span.to.into(), span.from.into(), span.technician.into()],
        )
        .await?
        .iter()
        .map(remittance_of)
        .collect())
}

const REMITTANCE_COLUMNS: &str =
    "id, technician_id, business_day, amount, remitted_at, received_by, note,
    voided_at, voided_by, void_reason";

fn remittance_of(r: &Row) -> RemittanceRow {
    RemittanceRow {
        id: r.text("id"),
        technician_id: r.text("technician_id"),
        business_day: r.text("business_day"),
        amount: r.int("amount"),
        amount_shown: format_yuan_grouped(r.int("amount")),
        remitted_at: r.int("remitted_at"),
        received_by: r.text("received_by"),
        note: r.opt_text("note"),
        voided: r.opt_int("voided_at").map(|at| RemittanceVoid {
            at,
            by: r.text("voided_by"),
            reason: r.text("void_reason"),
        }),
    }
}

/// One remittance of a technician, voided or not.
pub async fn remittance(
    tx: &mut dyn Tx,
    technician: &str,
    id: &str,
) -> Fallible<Option<RemittanceRow>> {
    Ok(tx
        .query_opt(
            &format!(
                "SELECT {REMITTANCE_COLUMNS} FROM cash_remittances
                 WHERE id = $1 AND technician_id = $2"
            ),
            &[id.into(), technician.into()],
        )
        .await?
        .as_ref()
        .map(remittance_of))
}

/// Marks a remittance voided; false when it was voided already.
pub async fn void_remittance(tx: &mut dyn Tx, id: &str, void: &RemittanceVoid) -> Fallible<bool> {
    let n = tx
        .execute(
            "UPDATE cash_remittances SET voided_at = $2, voided_by = $3, void_reason = $4
             WHERE id = $1 AND voided_at IS NULL",
            &[
                id.into(),
                void.at.into(),
                void.by.as_str().into(),
                void.reason.as_str().into(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Per technician and business day before `before`: (collected, remitted)
/// totals, fen — the balance a ledger read carries in.
pub async fn totals_before(
    tx: &mut dyn Tx,
    before: &str,
    technician: Option<&str>,
) -> Fallible<Vec<(String, i64, i64)>> {
    let rows = tx
        .query(
            "SELECT technician_id, CAST(SUM(collected) AS BIGINT) AS collected,
                    CAST(SUM(remitted) AS BIGINT) AS remitted FROM (
                SELECT technician_id, amount AS collected, 0 AS remitted FROM cash_collections
                WHERE business_day < $1 AND (CAST($2 AS TEXT) IS NULL OR technician_id = $2)
                UNION ALL
                SELECT technician_id, 0 AS collected, amount AS remitted FROM cash_remittances
                WHERE business_day < $1 AND (CAST($2 AS TEXT) IS NULL OR technician_id = $2)
                  AND voided_at IS NULL
             ) t GROUP BY technician_id ORDER BY technician_id",
            &[before.into(), technician.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text("technician_id"),
                r.int("collected"),
                r.int("remitted"),
            )
        })
        .collect())
}
