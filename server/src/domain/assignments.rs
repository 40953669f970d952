//! An assignment's life at the center: created (numbered per day), edited,
//! assigned, reassigned and cancelled, and a new acceptance code issued. Every change to the center-owned
//! fields increments the version and appends one change-log row per affected
//! technician; writers take the assignments lock so that the log's sequence
//! is commit order (a device reading up to a cursor never misses a change
//! that commits later with a smaller number).

use crate::app::AppState;
use crate::domain::roster::known_trade;
use crate::domain::{acceptance_codes, desk_requests, projection};
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentStatus, AssignmentView, Classification, Priority};
use crate::store::assignments::{self, store_assignment, Change};
use crate::store::integrations::{record_event, NewIntegrationEvent, ACCEPTANCE_CODE_REISSUED};
use crate::store::{order_numbers, technicians, LockKey, Tx};
use chrono::{DateTime, Utc};
use doorstep_core::assignment::{AssignmentField, CenterWaiver, Customer, OrderLine, Product};
use doorstep_core::protocol::ChangeKind;
use doorstep_core::{Assignment, AssignmentId, TechnicianId, TimeWindow, TradeId};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The change that sends an assignment's current fields to its technician.
pub fn upsert_change(a: &Assignment) -> Change {
    (
        a.technician.as_ref().map(|t| t.to_string()),
        ChangeKind::Assignment {
            assignment: Box::new(a.clone()),
        },
    )
}

/// The fields of a new assignment.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewAssignment {
    #[schema(value_type = String)]
    pub trade: TradeId,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub fault_description: Option<String>,
    #[serde(default)]
    pub requested_window: Option<TimeWindow>,
    /// When the center received the request (default: now).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub order: Vec<OrderLine>,
    #[serde(default)]
    pub service_items: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub classification: Option<Classification>,
}

/// A requested window must start before it ends.
pub fn check_window(w: Option<&TimeWindow>) -> Fallible<()> {
    match w {
        Some(w) if !w.is_valid() => Err(Failure::field(
            "requested_window",
            "the window ends before it starts; send start < end",
        )),
        _ => Ok(()),
    }
}

/// The next id of `day` (`YYYYMMDD`): `A-YYYYMMDD-NNNN`, numbered on from
/// the day's last (none recorded: from the start), past any id already
/// taken (an import's, or the ids of a day numbered before schema 28, each
/// one primary-key lookup); the number given is recorded. Called under the
/// assignments lock.
async fn next_order_id(tx: &mut dyn Tx, day: &str) -> Fallible<AssignmentId> {
    let id_of = |number: i64| format!("A-{day}-{number:04}");
    let mut number = order_numbers::last(tx, day).await?.unwrap_or(0) + 1;
    while assignments::exists(tx, &id_of(number)).await? {
        number += 1;
    }
    order_numbers::record(tx, day, number).await?;
    AssignmentId::new(id_of(number)).map_err(|_| Failure::internal("numbering"))
}

/// Creates an assignment with the next id of its day (`A-YYYYMMDD-NNNN`).
pub async fn insert_assignment(
    tx: &mut dyn Tx,
    state: &AppState,
    new: NewAssignment,
    actor: &str,
) -> Fallible<AssignmentView> {
    known_trade(state, &new.trade).map_err(|e| Failure::field("trade", e))?;
    check_window(new.requested_window.as_ref())?;
    tx.lock(LockKey::Assignments).await?;
    let received = new.received_at.unwrap_or_else(Utc::now);
    let id = next_order_id(tx, &received.format("%Y%m%d").to_string()).await?;
    let classification = new.classification.unwrap_or(Classification::General);
    let acceptance = acceptance_codes::issue(&new.trade, &id);
    if let Some(issued) = &acceptance {
        acceptance_codes::record(tx, &id, &issued.code, Utc::now().timestamp_millis()).await?;
    }
    let view = AssignmentView {
        assignment: Assignment {
            id,
            version: 1,
            trade: new.trade,
            technician: None,
            customer: new.customer,
            product: new.product,
            fault_description: new.fault_description,
            requested_window: new.requested_window,
            received_at: Some(received),
            order: new.order,
            service_items: new.service_items,
            notes: new.notes,
            acceptance: acceptance.map(|issued| Box::new(issued.check)),
            center_waivers: vec![],
            discount_approvals: vec![],
        },
        status: AssignmentStatus::Open,
        priority: classification.priority(),
        classification,
        window_confirmed: false,
        cancel_reason: None,
        updated_at: Utc::now(),
    };
    let change = upsert_change(&view.assignment);
    store_assignment(tx, &view, &[change], actor, true).await?;
    Ok(view)
}

/// Center-owned fields to change; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AssignmentPatch {
    /// Refuse the change (409) unless the assignment is at this version.
    pub expected_version: Option<u64>,
    pub customer: Option<Customer>,
    pub product: Option<Product>,
    pub fault_description: Option<String>,
    pub requested_window: Option<TimeWindow>,
    pub order: Option<Vec<OrderLine>>,
    pub service_items: Option<Vec<String>>,
    pub notes: Option<String>,
    /// The visit time is confirmed with the customer (1-hour rule).
    pub window_confirmed: Option<bool>,
    /// The dispatch priority, when the desk changes what the intake class gave
    /// (a customer calls again, a complaint).
    pub priority: Option<Priority>,
}

/// Loads an assignment to change it, under the assignments lock: it must
/// exist, be at the expected version (when one is given) and not be cancelled.
pub(crate) async fn editable(
    tx: &mut dyn Tx,
    id: &str,
    expected: Option<u64>,
) -> Fallible<AssignmentView> {
    tx.lock(LockKey::Assignments).await?;
    let v = assignments::load_assignment(tx, id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment", id))?;
    if let Some(e) = expected {
        if e != v.assignment.version {
            return Err(Failure::conflict(
                "version_mismatch",
                format!(
                    "assignment {id} is at version {}, not {e}: reload it and apply the change again",
                    v.assignment.version
                ),
            )
            .with("current_version", v.assignment.version));
        }
    }
    if v.status == AssignmentStatus::Cancelled {
        return Err(Failure::conflict(
            "cancelled",
            format!("assignment {id} is cancelled; create a new assignment instead"),
        ));
    }
    Ok(v)
}

/// Applies a patch of center-owned fields; the version moves only when the
/// assignment itself changed.
pub async fn update_tx(
    tx: &mut dyn Tx,
    id: &str,
    patch: AssignmentPatch,
    actor: &str,
) -> Fallible<AssignmentView> {
    check_window(patch.requested_window.as_ref())?;
    let mut v = editable(tx, id, patch.expected_version).await?;
    let a = &mut v.assignment;
    let before = a.clone();
    if let Some(c) = patch.customer {
        a.customer = c;
    }
    if let Some(p) = patch.product {
        a.product = p;
    }
    if let Some(f) = patch.fault_description {
        a.fault_description = Some(f);
    }
    if let Some(w) = patch.requested_window {
        a.requested_window = Some(w);
    }
    if let Some(o) = patch.order {
        a.order = o;
    }
    if let Some(s) = patch.service_items {
        a.service_items = s;
    }
    if let Some(n) = patch.notes {
        a.notes = Some(n);
    }
    let changed = *a != before;
    if changed {
        a.version += 1;
    }
    let confirm_changed = patch
        .window_confirmed
        .is_some_and(|c| c != v.window_confirmed);
    if let Some(c) = patch.window_confirmed {
        v.window_confirmed = c;
    }
    let before_priority = v.priority;
    let priority_changed = patch.priority.is_some_and(|p| p != v.priority);
    if let Some(p) = patch.priority {
        v.priority = p;
    }
    if changed || confirm_changed || priority_changed {
        let changes = if changed {
            vec![upsert_change(&v.assignment)]
        } else {
            vec![]
        };
        store_assignment(tx, &v, &changes, actor, false).await?;
    }
    // The center's own fields are not in the assignment's change log: the
    // order's history reads their changes from their own log.
    if priority_changed {
        let (from, to) = (json!(before_priority.as_str()), json!(v.priority.as_str()));
        assignments::log_center_field_change(tx, &v, actor, ("priority", from, to), changed)
            .await?;
    }
    if confirm_changed {
        let (from, to) = (json!(!v.window_confirmed), json!(v.window_confirmed));
        assignments::log_center_field_change(
            tx,
            &v,
            actor,
            ("window_confirmed", from, to),
            changed,
        )
        .await?;
    }
    Ok(v)
}

/// A new acceptance code issued at the desk (the code itself is never in
/// an answer: it goes to the customer only).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReissuedCode {
    /// The order's version carrying the new check to the phone.
    pub version: u64,
    /// When the code was issued, Unix ms.
    pub issued_at: i64,
}

/// Issues a new acceptance code for an open work order, in place of the
/// one the customer lost or never received: the order's next version
/// carries the new check to the technician's phone (the old code no longer
/// matches there, nor at the center), and the fan-out sends the new code to
/// the customer with their consent (`order.acceptance_code_reissued`).
/// Refused for a cancelled or finished order, for a trade whose standard
/// asks for no code, and once the code was accepted.
pub async fn reissue_acceptance_code_tx(
    tx: &mut dyn Tx,
    id: &str,
    expected_version: Option<u64>,
    actor: &str,
    now: i64,
) -> Fallible<ReissuedCode> {
    let mut v = editable(tx, id, expected_version).await?;
    if v.status == AssignmentStatus::Done {
        return Err(Failure::conflict(
            "order_done",
            format!("work order {id} is done: its acceptance code can no longer change"),
        ));
    }
    let a = &mut v.assignment;
    let Some(issued) = acceptance_codes::issue(&a.trade, &a.id) else {
        return Err(Failure::conflict(
            "acceptance_code_not_used",
            format!(
                "the {} service standard asks for no acceptance code: there is none to issue",
                a.trade
            ),
        ));
    };
    if acceptance_codes::accepted(tx, &a.id).await? {
        return Err(Failure::conflict(
            "acceptance_code_accepted",
            format!("the customer's acceptance code for {id} was accepted already: a new one would change nothing"),
        ));
    }
    a.acceptance = Some(Box::new(issued.check));
    a.version += 1;
    let version = a.version;
    acceptance_codes::replace(tx, &a.id, &issued.code, now).await?;
    store_assignment(tx, &v, &[upsert_change(&v.assignment)], actor, false).await?;
    record_event(
        tx,
        NewIntegrationEvent {
            event_type: ACCEPTANCE_CODE_REISSUED,
            assignment_id: Some(id),
            visit_id: None,
            occurred_at: now,
            data: json!({ "assignment_id": id, "version": version, "at": now }),
        },
    )
    .await?;
    Ok(ReissuedCode {
        version,
        issued_at: now,
    })
}

/// The desk waives required fields of an order (STANDARDS §2.1: the
/// appointment may be confirmed once missing fields are "explicitly waived
/// by the center").
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WaiveFieldsRequest {
    /// The fields waived (at least one).
    pub fields: Vec<AssignmentField>,
    /// The technician's verification request this answers: marked handled
    /// with the waiver.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Refuse the change (409) unless the assignment is at this version.
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// The waiver rides on the order's next version, which reaches the
/// technician's phone at its next sync; a request it answers is marked
/// handled. Refused for a done order, with no field named, or when every
/// field named is waived already.
pub async fn waive_fields_tx(
    tx: &mut dyn Tx,
    id: &str,
    req: WaiveFieldsRequest,
    username: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Fallible<AssignmentView> {
    if req.fields.is_empty() {
        return Err(Failure::field(
            "fields",
            "name at least one field to waive (customer_name, customer_phone, purchase_date, …)",
        ));
    }
    let mut v = editable(tx, id, req.expected_version).await?;
    if v.status == AssignmentStatus::Done {
        return Err(Failure::conflict(
            "order_done",
            format!("work order {id} is done: there is nothing left to waive"),
        ));
    }
    let a = &mut v.assignment;
    let mut fields: Vec<AssignmentField> = vec![];
    for f in req.fields {
        if !fields.contains(&f) && !a.center_waived_fields().any(|w| w == f) {
            fields.push(f);
        }
    }
    if fields.is_empty() {
        return Err(Failure::conflict(
            "already_waived",
            format!("the center has waived every field named for {id} already"),
        ));
    }
    if let Some(request) = &req.request_id {
        answered_request(tx, request, id).await?;
    }
    a.version += 1;
    let named: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
    let answer = format!("waived: {}", named.join(", "));
    a.center_waivers.push(CenterWaiver {
        approval_code: CenterWaiver::approval_code_of(&a.id, a.version),
        fields,
        approved_by: username.to_string(),
        at: now,
    });
    store_assignment(tx, &v, &[upsert_change(&v.assignment)], actor, false).await?;
    if let Some(request) = &req.request_id {
        desk_requests::handle(tx, request, actor, now.timestamp_millis(), Some(&answer)).await?;
    }
    Ok(v)
}

/// A technician's verification request of work order `id`, the only kind a
/// waiver answers.
async fn answered_request(tx: &mut dyn Tx, request: &str, id: &str) -> Fallible<()> {
    use crate::store::desk_requests::{request_event, VERIFICATION_REQUESTED};
    match request_event(tx, request).await? {
        Some((kind, of)) if kind == VERIFICATION_REQUESTED && of == id => Ok(()),
        _ => Err(Failure::field(
            "request_id",
            format!("{request} is not a verification request of work order {id}"),
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignRequest {
    #[schema(value_type = String)]
    pub technician: TechnicianId,
    #[serde(default)]
    pub window_confirmed: Option<bool>,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// The technician exists, is active and works in the trade.
async fn qualified(tx: &mut dyn Tx, technician: &str, trade: &str) -> Fallible<()> {
    let q = technicians::qualification(tx, technician)
        .await?
        .ok_or_else(|| Failure::not_found("technician", technician))?;
    if !q.active {
        return Err(Failure::conflict(
            "inactive",
            format!("technician {technician} is not active"),
        ));
    }
    if !q.trades.iter().any(|t| t == trade) {
        return Err(Failure::conflict(
            "not_qualified",
            format!(
                "technician {technician} does not work in trade {trade} (their trades: {})",
                q.trades.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Assigns an open assignment (push to a technician).
pub async fn assign_tx(
    tx: &mut dyn Tx,
    id: &str,
    req: &AssignRequest,
    actor: &str,
) -> Fallible<AssignmentView> {
    let mut v = editable(tx, id, req.expected_version).await?;
    if let Some(current) = &v.assignment.technician {
        if current != &req.technician {
            return Err(Failure::conflict(
                "already_assigned",
                format!(
                    "assignment {id} is assigned to {current}; use /reassign to change technician"
                ),
            ));
        }
    }
    qualified(tx, req.technician.as_str(), v.assignment.trade.as_str()).await?;
    if v.assignment.technician.is_none() {
        v.assignment.technician = Some(req.technician.clone());
        v.assignment.version += 1;
        v.status = AssignmentStatus::Assigned;
    }
    if let Some(c) = req.window_confirmed {
        v.window_confirmed = c;
    }
    let change = upsert_change(&v.assignment);
    store_assignment(tx, &v, &[change], actor, false).await?;
    Ok(v)
}

/// Gives an assigned assignment to another technician. The old technician's
/// device is told (`reassigned`), the new one receives the assignment; a visit
/// the old technician already started is kept and marked `conflict`.
pub async fn reassign_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    id: &str,
    req: &AssignRequest,
    actor: &str,
) -> Fallible<AssignmentView> {
    let mut v = editable(tx, id, req.expected_version).await?;
    let Some(old) = v.assignment.technician.clone() else {
        return Err(Failure::conflict(
            "not_assigned",
            format!("assignment {id} has no technician yet; use /assign"),
        ));
    };
    if old == req.technician {
        return Err(Failure::conflict(
            "same_technician",
            format!("assignment {id} is already assigned to {old}"),
        ));
    }
    qualified(tx, req.technician.as_str(), v.assignment.trade.as_str()).await?;
    v.assignment.version += 1;
    v.assignment.technician = Some(req.technician.clone());
    v.status = AssignmentStatus::Assigned;
    v.window_confirmed = req.window_confirmed.unwrap_or(false);
    let changes = vec![
        (
            Some(old.to_string()),
            ChangeKind::Reassigned {
                assignment_id: v.assignment.id.clone(),
                version: v.assignment.version,
                to: req.technician.clone(),
            },
        ),
        upsert_change(&v.assignment),
    ];
    store_assignment(tx, &v, &changes, actor, false).await?;
    projection::reproject_assignment(tx, state, id).await?;
    Ok(v)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    pub reason: String,
    #[serde(default)]
    pub expected_version: Option<u64>,
}

/// Cancels an assignment; a visit already started is kept and marked `conflict`.
pub async fn cancel_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    id: &str,
    req: &CancelRequest,
    actor: &str,
) -> Fallible<AssignmentView> {
    if req.reason.trim().is_empty() {
        return Err(Failure::field(
            "reason",
            "say why the assignment is cancelled",
        ));
    }
    let mut v = editable(tx, id, req.expected_version).await?;
    v.assignment.version += 1;
    v.status = AssignmentStatus::Cancelled;
    v.cancel_reason = Some(req.reason.clone());
    let change = (
        v.assignment.technician.as_ref().map(|t| t.to_string()),
        ChangeKind::Cancelled {
            assignment_id: v.assignment.id.clone(),
            version: v.assignment.version,
            reason: req.reason.clone(),
        },
    );
    store_assignment(tx, &v, &[change], actor, false).await?;
    projection::reproject_assignment(tx, state, id).await?;
    Ok(v)
}

/// A conflict resolved in the technician's favour: the assignment goes back
/// (un-cancelled or returned) to the technician who started the visit.
pub async fn reinstate_tx(
    tx: &mut dyn Tx,
    assignment_id: &str,
    technician: &str,
    actor: &str,
) -> Fallible<AssignmentView> {
    let mut v = assignments::load_assignment(tx, assignment_id)
        .await?
        .ok_or_else(|| Failure::not_found("assignment", assignment_id))?;
    let tech = TechnicianId::new(technician.to_string())
        .map_err(|_| Failure::internal("reading the visit's technician"))?;
    let previous = v.assignment.technician.clone();
    v.assignment.version += 1;
    v.assignment.technician = Some(tech.clone());
    v.status = AssignmentStatus::Assigned;
    v.cancel_reason = None;
    let mut changes = vec![];
    if let Some(p) = previous.filter(|p| *p != tech) {
        changes.push((
            Some(p.to_string()),
            ChangeKind::Reassigned {
                assignment_id: v.assignment.id.clone(),
                version: v.assignment.version,
                to: tech,
            },
        ));
    }
    changes.push(upsert_change(&v.assignment));
    store_assignment(tx, &v, &changes, actor, false).await?;
    Ok(v)
}
