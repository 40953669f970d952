//! Intake (受理, seed 002): a request as the desk takes it, classified; a
//! consultation is answered on the spot, a repair becomes an assignment, a
//! complaint is escalated, a complex request must be dispatched the same day.

use crate::app::AppState;
use crate::domain::assignments::{insert_assignment, NewAssignment};
use crate::domain::notices::{self, lang_tag, NoticeConsentRequest};
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentView, Classification};
use crate::store::intakes::{self, NewIntake};
use crate::store::notices::{upsert_consent, ConsentRecord};
use crate::store::Tx;
use chrono::{DateTime, Utc};
use doorstep_core::assignment::{Customer, Product};
use doorstep_core::{TimeWindow, TradeId};
use serde::{Deserialize, Serialize};

/// A request as the desk takes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntakeRequest {
    pub classification: Classification,
    /// Caller name, phone, address (and location if known).
    pub caller: Customer,
    /// What the caller asked or reported.
    pub content: String,
    /// Required unless the request is a consultation.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub trade: Option<TradeId>,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub requested_window: Option<TimeWindow>,
    /// When the call came in (default: now).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// A consultation's answer, given directly.
    #[serde(default)]
    pub answer: Option<String>,
    /// Whether the customer agreed to notices about the work order, on
    /// which channel (checked with [`notices::check_consent`]); none asked:
    /// no notices.
    #[serde(default)]
    pub notice_consent: Option<NoticeConsentRequest>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeView {
    pub id: String,
    pub classification: Classification,
    pub received_at: DateTime<Utc>,
    pub escalated: bool,
    pub answer: Option<String>,
    pub assignment_id: Option<String>,
    /// Complex requests: dispatch by the end of the day they came in.
    pub dispatch_by: Option<DateTime<Utc>>,
    /// The customer's notice consent recorded with the work order.
    #[serde(default)]
    pub notice_consent: Option<ConsentRecord>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntakeResponse {
    pub intake: IntakeView,
    pub assignment: Option<AssignmentView>,
}

/// What each class requires: something recorded, a consultation's answer,
/// a repair's trade.
pub fn check_intake(req: &IntakeRequest) -> Fallible<()> {
    if req.content.trim().is_empty() {
        return Err(Failure::field(
            "content",
            "record what the caller asked or reported",
        ));
    }
    let c = req.classification;
    if c == Classification::Consultation
        && req.answer.as_deref().is_none_or(|a| a.trim().is_empty())
    {
        return Err(Failure::field(
            "answer",
            "a consultation is answered directly: record the answer given",
        ));
    }
    if matches!(
        c,
        Classification::Urgent | Classification::General | Classification::Complex
    ) && req.trade.is_none()
    {
        return Err(Failure::field(
            "trade",
            "a repair request needs the trade to dispatch to",
        ));
    }
    Ok(())
}

/// Records an intake (checked with [`check_intake`]) and creates its
/// assignment when it asks for a visit.
pub async fn intake_tx(
    tx: &mut dyn Tx,
    state: &AppState,
    req: IntakeRequest,
    actor: &str,
) -> Fallible<IntakeResponse> {
    let received = req.received_at.unwrap_or_else(Utc::now);
    let c = req.classification;
    let assignment = match (&req.trade, c) {
        (Some(trade), c) if c != Classification::Consultation => Some(
            insert_assignment(
                tx,
                state,
                NewAssignment {
                    trade: trade.clone(),
                    customer: req.caller.clone(),
                    product: req.product.clone(),
                    fault_description: Some(req.content.clone()),
                    requested_window: req.requested_window,
                    received_at: Some(received),
                    order: vec![],
                    service_items: vec![],
                    notes: None,
                    classification: Some(c),
                },
                actor,
            )
            .await?,
        ),
        _ => None,
    };
    let id = format!("I-{}", uuid::Uuid::now_v7().simple());
    let escalated = c == Classification::Complaint;
    let caller = serde_json::to_string(&req.caller).map_err(|_| Failure::internal("encoding"))?;
    let assignment_id = assignment.as_ref().map(|a| a.assignment.id.to_string());
    intakes::insert_intake(
        tx,
        NewIntake {
            id: &id,
            classification: c,
            received_at: received.timestamp_millis(),
            caller_json: caller,
            content: &req.content,
            answer: req.answer.as_deref(),
            assignment_id: assignment_id.as_deref(),
            escalated,
            recorded_by: actor,
        },
    )
    .await?;
    let notice_consent = match (&req.notice_consent, &assignment_id) {
        (Some(consent), Some(assignment)) => {
            let phone = req.caller.phone.as_deref().unwrap_or_default();
            let checked = notices::check_consent(consent, phone)
                .map_err(|p| Failure::field(p.field, p.en))?;
            let record = ConsentRecord {
                assignment_id: assignment.clone(),
                consented: checked.consented,
                channel: checked.channel,
                address: checked.address,
                language: lang_tag(checked.language).to_string(),
                recorded_at: received.timestamp_millis(),
                recorded_by: actor.to_string(),
            };
            upsert_consent(tx, &record).await?;
            Some(record)
        }
        _ => None,
    };
    // A complex request is dispatched the same (local) day: by its last second.
    let dispatch_by = (c == Classification::Complex).then(|| {
        let (_, next_day) = state.zone.day_bounds(state.zone.date_of(received));
        next_day - chrono::Duration::seconds(1)
    });
    Ok(IntakeResponse {
        intake: IntakeView {
            id,
            classification: c,
            received_at: received,
            escalated,
            answer: req.answer,
            assignment_id,
            dispatch_by,
            notice_consent,
        },
        assignment,
    })
}
