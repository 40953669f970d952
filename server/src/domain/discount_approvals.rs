//! The center's discount approvals, STANDARDS §2.12 (报价): "discounts only
//! with a center approval" (core `discount_approval`). The desk approves a
//! discount on a work order in one of two ways:
//!
//! - online ([`approve_tx`]): the approval (its reference, the most it
//!   allows off, the dispatcher) rides on the order's next version to the
//!   technician's phone at its next sync;
//! - offline ([`short_codes_tx`]): for a phone that cannot sync, the desk
//!   reads out the short code of the order and the exact amount under each
//!   of the technician's phones' discount secrets. Each code issued is kept
//!   in the order's feed (`order.discount_code_issued`: amount, device,
//!   dispatcher; never the code).
//!
//! The server re-checks every quote that arrives against both
//! (`crate::domain::admission`).

use crate::domain::assignments::{editable, upsert_change};
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentStatus, AssignmentView};
use crate::store::assignments::store_assignment;
use crate::store::integrations::{record_event, NewIntegrationEvent, DISCOUNT_CODE_ISSUED};
use crate::store::{assignments, devices, Tx};
use chrono::{DateTime, Utc};
use doorstep_core::discount_approval::{short_code, DiscountApproval};
use doorstep_core::workflow::bounds::AMOUNT_MAX;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The desk approves a discount online.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountApprovalRequest {
    /// The most the discount may take off, in fen (1 to 100 000 000).
    pub max_amount: i64,
    /// Refuse the change (409) unless the assignment is at this version.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// The desk asks for the short codes of a discount to read out.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscountCodeRequest {
    /// The exact discount, in fen (1 to 100 000 000): the code approves this
    /// amount and no other.
    pub amount: i64,
}

/// The short codes of one discount, one per phone of the technician.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiscountCodes {
    pub assignment_id: String,
    pub amount: i64,
    pub technician_id: String,
    pub codes: Vec<DeviceCode>,
    pub issued_at: DateTime<Utc>,
}

/// The code a phone accepts.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceCode {
    pub device_id: String,
    /// Eight digits, read out to the technician.
    pub code: String,
}

/// An amount of a discount: positive and within the command bounds.
fn discount_amount(field: &str, amount: i64) -> Fallible<()> {
    if (1..=AMOUNT_MAX).contains(&amount) {
        Ok(())
    } else {
        Err(Failure::field(
            field,
            format!("is {amount}; a discount is 1 to {AMOUNT_MAX} fen (¥0.01 to ¥1 000 000)"),
        ))
    }
}

/// The order must still be open to a discount: not done (its quote is long
/// settled) and not cancelled (`editable`).
fn open_to_discount(v: &AssignmentView, id: &str) -> Fallible<()> {
    if v.status == AssignmentStatus::Done {
        return Err(Failure::conflict(
            "order_done",
            format!("work order {id} is done: a discount can no longer be approved"),
        ));
    }
    Ok(())
}

/// Approves a discount of at most `max_amount` on work order `id`, carried
/// by the order's next version (reference `{id}-d{version}`).
pub async fn approve_tx(
    tx: &mut dyn Tx,
    id: &str,
    req: DiscountApprovalRequest,
    username: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Fallible<AssignmentView> {
    discount_amount("max_amount", req.max_amount)?;
    let mut v = editable(tx, id, req.expected_version).await?;
    open_to_discount(&v, id)?;
    let a = &mut v.assignment;
    a.version += 1;
    a.discount_approvals.push(DiscountApproval {
        reference: DiscountApproval::reference_of(a.id.as_str(), a.version),
        max_amount: req.max_amount,
        approver: username.to_string(),
        at: now,
    });
    store_assignment(tx, &v, &[upsert_change(&v.assignment)], actor, false).await?;
    Ok(v)
}

/// The short codes approving exactly `amount` off work order `id`, for each
/// phone of its technician that holds a discount secret.
pub async fn short_codes_tx(
    tx: &mut dyn Tx,
    id: &str,
    req: DiscountCodeRequest,
    username: &str,
    now: DateTime<Utc>,
) -> Fallible<DiscountCodes> {
    discount_amount("amount", req.amount)?;
    let v = assignments::load_assignment(tx, id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment", id))?;
    if v.status == AssignmentStatus::Cancelled {
        return Err(Failure::conflict(
            "cancelled",
            format!("assignment {id} is cancelled"),
        ));
    }
    open_to_discount(&v, id)?;
    let Some(technician) = v.assignment.technician.as_ref().map(|t| t.to_string()) else {
        return Err(Failure::conflict(
            "not_assigned",
            format!("work order {id} has no technician: assign it first"),
        ));
    };
    let mut codes = vec![];
    for (device, key) in devices::discount_keys_of(tx, &technician).await? {
        let code = short_code(&key, id, req.amount)
            .map_err(|_| Failure::internal("computing a discount code"))?;
        codes.push(DeviceCode {
            device_id: device,
            code,
        });
    }
    if codes.is_empty() {
        return Err(Failure::conflict(
            "no_discount_secret",
            format!("technician {technician} has no phone enrolled with a discount secret (enrolled before discount codes): approve the discount online instead, or enrol the phone again"),
        ));
    }
    for c in &codes {
        record_event(
            tx,
            NewIntegrationEvent {
                event_type: DISCOUNT_CODE_ISSUED,
                assignment_id: Some(id),
                visit_id: None,
                occurred_at: now.timestamp_millis(),
                data: json!({
                    "assignment_id": id,
                    "amount": req.amount,
                    "device_id": c.device_id,
                    "issued_by": username,
                    "at": now,
                }),
            },
        )
        .await?;
    }
    Ok(DiscountCodes {
        assignment_id: id.to_string(),
        amount: req.amount,
        technician_id: technician,
        codes,
        issued_at: now,
    })
}
