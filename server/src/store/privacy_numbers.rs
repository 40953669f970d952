//! The `privacy_bindings` table: the virtual number binding a work order's
//! customer to the technician it is dispatched to (`domain::privacy_numbers`):
//! binding → bound (virtual number, the provider's subscription id, when
//! it ends there: extended before then) → unbinding → unbound, or failed.

use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where a binding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BindingState {
    /// The bind request is in the outbox.
    Binding,
    /// The provider bound a virtual number (`virtual_number`).
    Bound,
    /// The unbind request is in the outbox (the order was reassigned,
    /// cancelled or is done).
    Unbinding,
    /// The provider released the binding.
    Unbound,
    /// The provider refused the bind, or every attempt failed.
    Failed,
}

impl BindingState {
    pub const ALL: [BindingState; 5] = [
        BindingState::Binding,
        BindingState::Bound,
        BindingState::Unbinding,
        BindingState::Unbound,
        BindingState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BindingState::Binding => "binding",
            BindingState::Bound => "bound",
            BindingState::Unbinding => "unbinding",
            BindingState::Unbound => "unbound",
            BindingState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<BindingState> {
        BindingState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A stored binding.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Binding {
    pub id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub state: BindingState,
    /// The virtual number (X) the technician dials, once bound.
    pub virtual_number: Option<String>,
    /// The provider's id of the binding (SubsId), once bound.
    pub subs_id: Option<String>,
    /// Why the bind failed.
    pub failure_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub bound_at: Option<i64>,
    pub unbound_at: Option<i64>,
    /// When it ends at the provider unless extended, Unix ms.
    pub expires_at: Option<i64>,
}

const COLUMNS: &str = "id, assignment_id, technician_id, state, virtual_number, subs_id, \
     failure_reason, created_at, updated_at, bound_at, unbound_at, expires_at";

/// The columns of a binding read through the table alias `alias`.
fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn binding_from_row(r: &Row) -> Fallible<Binding> {
    Ok(Binding {
        id: r.text("id"),
        assignment_id: r.text("assignment_id"),
        technician_id: r.text("technician_id"),
        state: BindingState::parse(&r.text("state"))
            .ok_or_else(|| Failure::corrupt("reading a privacy binding", "unknown state"))?,
        virtual_number: r.opt_text("virtual_number"),
        subs_id: r.opt_text("subs_id"),
        failure_reason: r.opt_text("failure_reason"),
        created_at: r.int("created_at"),
        updated_at: r.int("updated_at"),
        bound_at: r.opt_int("bound_at"),
        unbound_at: r.opt_int("unbound_at"),
        expires_at: r.opt_int("expires_at"),
    })
}

/// Stores a new binding in `state` (`binding`, or `failed` with a reason).
pub async fn insert(
    tx: &mut dyn Tx,
    id: &str,
    assignment_id: &str,
    technician_id: &str,
    state: BindingState,
    failure_reason: Option<&str>,
    now: i64,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO privacy_bindings (id, assignment_id, technician_id, state, failure_reason,
            created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            id.into(),
            assignment_id.into(),
            technician_id.into(),
            state.as_str().into(),
            failure_reason.map(str::to_string).into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// One binding.
pub async fn load(tx: &mut dyn Tx, id: &str) -> Fallible<Option<Binding>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM privacy_bindings WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| binding_from_row(&r))
    .transpose()
}

/// A work order's bindings, newest first.
pub async fn of_assignment(tx: &mut dyn Tx, assignment_id: &str) -> Fallible<Vec<Binding>> {
    tx.query(
        &format!(
            "SELECT {COLUMNS} FROM privacy_bindings WHERE assignment_id = $1
             ORDER BY created_at DESC, id DESC"
        ),
        &[assignment_id.into()],
    )
    .await?
    .iter()
    .map(binding_from_row)
    .collect()
}

/// The virtual numbers bound for a technician, by work order.
pub async fn bound_for_technician(
    tx: &mut dyn Tx,
    technician_id: &str,
) -> Fallible<HashMap<String, String>> {
    Ok(tx
        .query(
            "SELECT assignment_id, virtual_number FROM privacy_bindings
             WHERE technician_id = $1 AND state = 'bound' AND virtual_number IS NOT NULL",
            &[technician_id.into()],
        )
        .await?
        .iter()
        .map(|r| (r.text("assignment_id"), r.text("virtual_number")))
        .collect())
}

/// A dispatched work order without a binding to its technician.
#[derive(Debug, Clone)]
pub struct Unbound {
    pub assignment_id: String,
    pub technician_id: String,
    /// The stored assignment (its customer's phone).
    pub body: String,
    /// The technician's work phone.
    pub technician_phone: Option<String>,
    /// A bind was tried before and found no number to bind.
    pub tried: bool,
}

/// Work orders dispatched to a technician (status `assigned`) that have no
/// binding to that technician yet (none binding or bound, none failed at
/// the provider; a bind that failed only for `missing` — no number to bind
/// — is tried again, once a number is there), those never tried first, at
/// most `limit`.
pub async fn to_bind(tx: &mut dyn Tx, missing: &str, limit: i64) -> Fallible<Vec<Unbound>> {
    Ok(tx
        .query(
            "SELECT a.id AS id, a.technician_id AS technician_id, a.body AS body, t.phone AS phone,
                    CASE WHEN EXISTS (
                        SELECT 1 FROM privacy_bindings f
                        WHERE f.assignment_id = a.id AND f.technician_id = a.technician_id
                          AND f.state = 'failed') THEN 1 ELSE 0 END AS tried
             FROM assignments a JOIN technicians t ON t.id = a.technician_id
             WHERE a.status = 'assigned' AND NOT EXISTS (
                 SELECT 1 FROM privacy_bindings b
                 WHERE b.assignment_id = a.id AND b.technician_id = a.technician_id
                   AND (b.state IN ('binding', 'bound')
                        OR (b.state = 'failed' AND COALESCE(b.failure_reason, '') <> $2)))
             ORDER BY tried, a.id LIMIT $1",
            &[limit.into(), missing.into()],
        )
        .await?
        .iter()
        .map(|r| Unbound {
            assignment_id: r.text("id"),
            technician_id: r.text("technician_id"),
            body: r.text("body"),
            technician_phone: r.opt_text("phone"),
            tried: r.int("tried") == 1,
        })
        .collect())
}

/// Bound bindings that end before `before` while their work order is still
/// dispatched to their technician: to be extended, at most `limit`.
pub async fn to_renew(tx: &mut dyn Tx, before: i64, limit: i64) -> Fallible<Vec<Binding>> {
    let columns = columns_of("b");
    tx.query(
        &format!(
            "SELECT {columns} FROM privacy_bindings b JOIN assignments a ON a.id = b.assignment_id
             WHERE b.state = 'bound' AND b.expires_at < $1
               AND a.status = 'assigned' AND a.technician_id = b.technician_id
             ORDER BY b.expires_at, b.id LIMIT $2"
        ),
        &[before.into(), limit.into()],
    )
    .await?
    .iter()
    .map(binding_from_row)
    .collect()
}

/// A binding's new end at the provider (extended), clearing a failure note.
pub async fn set_expiry(tx: &mut dyn Tx, id: &str, expires_at: i64, now: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE privacy_bindings SET expires_at = $2, failure_reason = NULL, updated_at = $3
         WHERE id = $1",
        &[id.into(), expires_at.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// Bound bindings whose work order is no longer dispatched to their
/// technician (reassigned, cancelled, done, handed back), at most `limit`.
pub async fn to_release(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<Binding>> {
    let columns = columns_of("b");
    tx.query(
        &format!(
            "SELECT {columns} FROM privacy_bindings b JOIN assignments a ON a.id = b.assignment_id
             WHERE b.state = 'bound'
               AND (a.status <> 'assigned' OR a.technician_id IS NULL
                    OR a.technician_id <> b.technician_id)
             ORDER BY b.id LIMIT $1"
        ),
        &[limit.into()],
    )
    .await?
    .iter()
    .map(binding_from_row)
    .collect()
}

/// The bind was delivered: bound to `virtual_number` (`subs_id`).
pub async fn mark_bound(
    tx: &mut dyn Tx,
    id: &str,
    virtual_number: &str,
    subs_id: &str,
    expires_at: Option<i64>,
    now: i64,
) -> Fallible<()> {
    tx.execute(
        "UPDATE privacy_bindings SET state = 'bound', virtual_number = $2, subs_id = $3,
            failure_reason = NULL, bound_at = $4, updated_at = $4, expires_at = $5
         WHERE id = $1 AND state IN ('binding', 'failed')",
        &[
            id.into(),
            virtual_number.into(),
            subs_id.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Moves a binding to `state`, with the failure's reason (kept otherwise).
pub async fn mark(
    tx: &mut dyn Tx,
    id: &str,
    state: BindingState,
    reason: Option<&str>,
    now: i64,
) -> Fallible<()> {
    let unbound_at = (state == BindingState::Unbound).then_some(now);
    tx.execute(
        "UPDATE privacy_bindings SET state = $2, failure_reason = COALESCE($3, failure_reason),
            unbound_at = COALESCE($4, unbound_at), updated_at = $5
         WHERE id = $1",
        &[
            id.into(),
            state.as_str().into(),
            reason.map(str::to_string).into(),
            unbound_at.into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}
