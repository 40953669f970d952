//! The 1-hour rule (001): the branch must set the visit time, the
//! technician and the technician's phone within one hour of receiving the
//! order; overdue orders get reminders (催办) and escalate after two hours.

use crate::failure::Fallible;
use crate::model::{AssignmentStatus, AssignmentView, Missing, Priority, ReminderLevel};
use crate::store::{assignments, Tx};
use crate::time::from_ms;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// An overdue assignment (催办).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reminder {
    pub assignment_id: String,
    pub trade: String,
    pub priority: Priority,
    pub status: AssignmentStatus,
    pub technician: Option<String>,
    pub received_at: DateTime<Utc>,
    pub overdue_minutes: i64,
    /// `reminder` after 1 h; `escalate` after 2 h.
    pub level: ReminderLevel,
    /// What is still missing: `technician`, `confirmed_window`,
    /// `technician_phone` (the technician has no work phone on record).
    pub missing: Vec<Missing>,
}

/// 001: the branch must set the visit time, technician id and phone within
/// one hour of receiving the order; overdue orders get reminder notices and
/// escalate. (The phone is the technician's work phone on the roster.)
pub fn reminder_for(
    v: &AssignmentView,
    technician: Option<String>,
    technician_has_phone: bool,
    received_ms: i64,
    now: DateTime<Utc>,
) -> Option<Reminder> {
    let deadline = from_ms(received_ms) + Duration::hours(1);
    let mut missing = vec![];
    if technician.is_none() {
        missing.push(Missing::Technician);
    } else if !technician_has_phone {
        missing.push(Missing::TechnicianPhone);
    }
    if !v.window_confirmed {
        missing.push(Missing::ConfirmedWindow);
    }
    if missing.is_empty() || now < deadline {
        return None;
    }
    let overdue = (now - deadline).num_minutes();
    Some(Reminder {
        assignment_id: v.assignment.id.to_string(),
        trade: v.assignment.trade.to_string(),
        priority: v.priority,
        status: v.status,
        technician,
        received_at: from_ms(received_ms),
        overdue_minutes: overdue,
        level: if overdue >= 60 {
            ReminderLevel::Escalate
        } else {
            ReminderLevel::Reminder
        },
        missing,
    })
}

/// Every assignment overdue under the rule at `now`, oldest first.
pub async fn overdue(tx: &mut dyn Tx, now: DateTime<Utc>) -> Fallible<Vec<Reminder>> {
    let cutoff = now.timestamp_millis() - 3_600_000;
    Ok(assignments::unsettled_since(tx, cutoff)
        .await?
        .iter()
        .filter_map(|u| {
            reminder_for(
                &u.view,
                u.technician.clone(),
                u.technician_has_phone,
                u.received_at,
                now,
            )
        })
        .collect())
}
