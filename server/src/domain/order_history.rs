//! A work order's history and the desk's look-ups: who changed which field
//! of an assignment and when (read from the change log every center change
//! already writes, one entry per version), search by phone, name, address or
//! id across every assignment ever taken, with its visits (through
//! [`crate::store::order_lookup`]), a customer's history, and the
//! intake's repeat warning (来电弹屏: the same caller, or the same product
//! repaired again, within 30 days).

use crate::failure::Fallible;
use crate::model::{AssignmentView, VisitRow};
use crate::store::{assignments, visits, Tx};
use crate::time::from_ms;
use chrono::{DateTime, Duration, Utc};
use doorstep_core::protocol::ChangeKind;
use doorstep_core::Assignment;
use serde::Serialize;
use serde_json::{json, Value};

/// How far back the intake's repeat warning looks.
pub const REPEAT_WINDOW_DAYS: i64 = 30;

/// How many of a customer's orders their history shows (newest first).
pub const CUSTOMER_HISTORY_LIMIT: i64 = 500;

/// One field's change.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct FieldChange {
    /// The field's code (`customer_phone`, `requested_window`, …).
    #[schema(value_type = String)]
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

/// One version of an assignment: what the center did and changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrderHistoryEntry {
    pub version: u64,
    pub at: DateTime<Utc>,
    /// `user:li.na`, as the change log keeps it.
    pub actor: String,
    /// `created`, `edited`, `assigned`, `reassigned`, `cancelled`, `erased`
    /// `acceptance_code_reissued` (a new code issued at the desk) or
    /// `fields_waived` (required fields waived at the desk) or
    /// `discount_approved` (a discount approved at the desk: the maxima of
    /// the order's approvals, before and after);
    /// a change of the center's own `priority` or `window_confirmed` is `edited`.
    #[schema(value_type = String)]
    pub action: &'static str,
    pub changes: Vec<FieldChange>,
}

/// The fields a dispatcher edits, read from an assignment by code.
fn fields(a: &Assignment) -> Vec<(&'static str, Value)> {
    let c = &a.customer;
    vec![
        ("customer_name", json!(c.name)),
        ("customer_phone", json!(c.phone)),
        ("customer_address", json!(c.address)),
        ("customer_location", json!(c.location)),
        ("product_model", json!(a.product.model)),
        ("fault_description", json!(a.fault_description)),
        ("requested_window", json!(a.requested_window)),
        ("notes", json!(a.notes)),
        ("technician", json!(a.technician)),
        ("order", json!(a.order)),
        ("service_items", json!(a.service_items)),
        (
            "center_waived",
            json!(a.center_waived_fields().collect::<Vec<_>>()),
        ),
        (
            "discount_approved",
            json!(a
                .discount_approvals
                .iter()
                .map(|d| d.max_amount)
                .collect::<Vec<_>>()),
        ),
    ]
}

/// The fields that differ between two versions.
pub fn diff(before: &Assignment, after: &Assignment) -> Vec<FieldChange> {
    fields(before)
        .into_iter()
        .zip(fields(after))
        .filter(|((_, b), (_, a))| b != a)
        .map(|((field, before), (_, after))| FieldChange {
            field,
            before,
            after,
        })
        .collect()
}

/// An assignment's history, oldest first: one entry per version.
pub async fn history(tx: &mut dyn Tx, id: &str) -> Fallible<Vec<OrderHistoryEntry>> {
    let log = assignments::change_log(tx, id).await?;
    let mut out: Vec<OrderHistoryEntry> = Vec::new();
    let mut last: Option<Assignment> = None;
    for row in log {
        // A reassignment logs two rows of one version (the old holder's
        // notice and the new holder's assignment): the entry is the version.
        let same_version = out.last().is_some_and(|e| e.version == row.version);
        match row.change {
            ChangeKind::Assignment { assignment } => {
                let changes = match &last {
                    Some(prev) => diff(prev, &assignment),
                    None => vec![],
                };
                let action = if last.is_none() {
                    "created"
                } else if changes.iter().any(|c| c.field == "technician") {
                    if last.as_ref().is_some_and(|p| p.technician.is_some()) {
                        "reassigned"
                    } else {
                        "assigned"
                    }
                } else if !changes.is_empty() && changes.iter().all(|c| c.field == "center_waived")
                {
                    "fields_waived"
                } else if !changes.is_empty()
                    && changes.iter().all(|c| c.field == "discount_approved")
                {
                    "discount_approved"
                } else if changes.is_empty()
                    && last
                        .as_ref()
                        .is_some_and(|p| p.acceptance != assignment.acceptance)
                {
                    // A new check and no field changed: a code issued at the desk.
                    "acceptance_code_reissued"
                } else {
                    "edited"
                };
                last = Some(*assignment);
                if same_version {
                    if let Some(e) = out.last_mut() {
                        e.action = action;
                        e.changes = changes;
                    }
                    continue;
                }
                out.push(OrderHistoryEntry {
                    version: row.version,
                    at: from_ms(row.at),
                    actor: row.actor,
                    action,
                    changes,
                });
            }
            ChangeKind::Cancelled { reason, .. } => out.push(OrderHistoryEntry {
                version: row.version,
                at: from_ms(row.at),
                actor: row.actor,
                action: "cancelled",
                changes: vec![FieldChange {
                    field: "cancel_reason",
                    before: Value::Null,
                    after: json!(reason),
                }],
            }),
            ChangeKind::Reassigned { .. } if !same_version => out.push(OrderHistoryEntry {
                version: row.version,
                at: from_ms(row.at),
                actor: row.actor,
                action: "reassigned",
                changes: vec![],
            }),
            ChangeKind::Reassigned { .. } => {}
            // The customer's contact erased on request (PIPL): said, never
            // shown (the values are gone).
            ChangeKind::Erased { .. } if !same_version => out.push(OrderHistoryEntry {
                version: row.version,
                at: from_ms(row.at),
                actor: row.actor,
                action: "erased",
                changes: vec![],
            }),
            ChangeKind::Erased { .. } => {}
        }
    }
    // The center's own fields (priority, window confirmed), from their log:
    // part of the edit they were saved with (the change log's entry of the
    // same version), else an edit of their own at their time.
    for c in assignments::center_field_changes(tx, id).await? {
        let Some(field) = CENTER_FIELDS.iter().copied().find(|f| *f == c.field) else {
            continue;
        };
        let at = from_ms(c.at);
        let change = FieldChange {
            field,
            before: c.before,
            after: c.after,
        };
        let same_save = out
            .iter_mut()
            .find(|e| c.in_edit && e.version == c.version && e.action != "cancelled");
        match same_save {
            Some(e) => e.changes.push(change),
            None => out.push(OrderHistoryEntry {
                version: c.version,
                at,
                actor: c.actor,
                action: "edited",
                changes: vec![change],
            }),
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// The center's own fields of a work order whose changes the history shows.
const CENTER_FIELDS: [&str; 2] = ["priority", "window_confirmed"];

/// An assignment found, with its visits.
#[derive(Serialize)]
pub struct Found {
    #[serde(flatten)]
    pub assignment: AssignmentView,
    pub visits: Vec<VisitRow>,
}

async fn with_visits(tx: &mut dyn Tx, found: Vec<AssignmentView>) -> Fallible<Vec<Found>> {
    let mut out = Vec::with_capacity(found.len());
    for a in found {
        let visits = visits::list_visits(tx, None, Some(a.assignment.id.to_string()), 100).await?;
        out.push(Found {
            assignment: a,
            visits,
        });
    }
    Ok(out)
}

/// Assignments (newest first, at most `limit`) whose id, customer name or
/// address contains `query` (case-blind), or whose customer phone contains
/// its digits (at least four), each with its visits: every order ever
/// taken is searched ([`assignments::search`]).
pub async fn search(tx: &mut dyn Tx, query: &str, limit: usize) -> Fallible<Vec<Found>> {
    let found = assignments::search(tx, query, limit as i64).await?;
    with_visits(tx, found).await
}

/// The assignments of the customer with this phone, newest first, at most
/// [`CUSTOMER_HISTORY_LIMIT`], each with its visits.
pub async fn customer_history(tx: &mut dyn Tx, phone: &str) -> Fallible<Vec<Found>> {
    let found = assignments::of_phone(tx, phone, CUSTOMER_HISTORY_LIMIT).await?;
    with_visits(tx, found).await
}

/// What the intake should warn about for a caller.
#[derive(Serialize, Default, utoipa::ToSchema)]
pub struct RepeatWarning {
    /// The caller's assignments received in the last 30 days.
    pub repeat_caller: Vec<AssignmentView>,
    /// Of those, the ones about the same product model (a repeat repair).
    pub repeat_repair: Vec<AssignmentView>,
}

/// The caller's recent assignments by phone, and those for the same model.
pub async fn repeat_warning(
    tx: &mut dyn Tx,
    phone: &str,
    model: Option<&str>,
    now: DateTime<Utc>,
) -> Fallible<RepeatWarning> {
    let since = now - Duration::days(REPEAT_WINDOW_DAYS);
    let recent: Vec<AssignmentView> = assignments::of_phone(tx, phone, CUSTOMER_HISTORY_LIMIT)
        .await?
        .into_iter()
        .filter(|v| v.assignment.received_at.is_none_or(|t| t >= since))
        .collect();
    let model = model
        .map(|m| m.trim().to_lowercase())
        .filter(|m| !m.is_empty());
    let repeat_repair = recent
        .iter()
        .filter(|v| {
            model.as_ref().is_some_and(|m| {
                v.assignment
                    .product
                    .model
                    .as_ref()
                    .is_some_and(|x| x.trim().to_lowercase() == *m)
            })
        })
        .cloned()
        .collect();
    Ok(RepeatWarning {
        repeat_caller: recent,
        repeat_repair,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::order_lookup::tests::assignment;

    #[test]
    fn diff_names_each_changed_field_by_code() {
        let before = assignment("黄梅", "138 0013 8001", "静安区武定路 12 号");
        let mut after = before.clone();
        after.customer.phone = Some("139 0000 0000".into());
        after.fault_description = Some("冰箱不制冷".into());
        let d = diff(&before, &after);
        let names: Vec<_> = d.iter().map(|c| c.field).collect();
        assert_eq!(names, ["customer_phone", "fault_description"]);
        assert_eq!(d[0].before, json!("138 0013 8001"));
        assert_eq!(d[0].after, json!("139 0000 0000"));
    }
}
