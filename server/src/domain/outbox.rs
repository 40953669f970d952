//! What leaves the server, decided inside the transaction of the fact that
//! causes it: the integration events a visit's facts produce (milestones:
//! appointment confirmed, on the way with the ETA, arrived, signed off,
//! left, callback scheduled) and an order's status change, recorded for the
//! outbox worker to fan out to webhooks, notices and the feed; and the
//! outbox's retry policy (exponential backoff with full jitter, dead after
//! the last attempt).

use crate::failure::Fallible;
use crate::store::integrations::{record_event, NewIntegrationEvent};
pub use crate::store::integrations::{
    ACCEPTANCE_CODE_REISSUED, DISCOUNT_CODE_ISSUED, ORDER_STATUS_CHANGED, VISIT_MILESTONE,
};
use crate::store::Tx;
use doorstep_core::workflow::event::{EventKind, Outcome};
use doorstep_core::VisitEvent;
use serde_json::{json, Value};

/// Every event type a webhook endpoint may subscribe to.
pub const EVENT_TYPES: [&str; 4] = [
    ORDER_STATUS_CHANGED,
    VISIT_MILESTONE,
    ACCEPTANCE_CODE_REISSUED,
    DISCOUNT_CODE_ISSUED,
];

/// The milestone a visit fact is, with what it carries; `None` for facts
/// that are no milestone.
pub fn milestone_of(kind: &EventKind) -> Option<(&'static str, Value)> {
    Some(match kind {
        EventKind::AppointmentConfirmed { window, .. } => {
            ("appointment_confirmed", json!({ "window": window }))
        }
        EventKind::NewWindowAgreed { window, .. } => (
            "appointment_confirmed",
            json!({ "window": window, "rescheduled": true }),
        ),
        EventKind::Departed {
            projected_arrival,
            travel_minutes,
            ..
        } => (
            "on_the_way",
            json!({ "eta": projected_arrival, "travel_minutes": travel_minutes }),
        ),
        EventKind::Arrived { .. } => ("arrived", json!({})),
        EventKind::CustomerSignedOff { report_version, .. } => {
            ("signed_off", json!({ "report_version": report_version }))
        }
        EventKind::Left { outcome, .. } => ("left", json!({ "outcome": outcome })),
        EventKind::UntestedCallbackScheduled { .. } => ("callback_scheduled", json!({})),
        _ => return None,
    })
}

/// Whether a visit that left with `outcome` is done for the customer (the
/// "done, here is your report" notice).
pub fn done_for_customer(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Fixed | Outcome::Completed | Outcome::ResolvedRemotely
    )
}

/// Records the milestone a stored visit fact is, if it is one.
pub async fn record_milestone(tx: &mut dyn Tx, technician: &str, e: &VisitEvent) -> Fallible<()> {
    let Some((milestone, mut data)) = milestone_of(&e.kind) else {
        return Ok(());
    };
    let (visit, assignment) = (e.visit_id.to_string(), e.assignment_id.to_string());
    if let Value::Object(map) = &mut data {
        map.insert("milestone".into(), json!(milestone));
        map.insert("visit_id".into(), json!(visit));
        map.insert("assignment_id".into(), json!(assignment));
        map.insert("technician_id".into(), json!(technician));
        map.insert("event_id".into(), json!(e.id.to_string()));
        map.insert("at".into(), json!(e.recorded_at));
    }
    record_event(
        tx,
        NewIntegrationEvent {
            event_type: VISIT_MILESTONE,
            assignment_id: Some(&assignment),
            visit_id: Some(&visit),
            occurred_at: e.recorded_at.timestamp_millis(),
            data,
        },
    )
    .await
}

/// What one delivery attempt came to (the providers' answer, which the
/// worker and the domains that follow a delivery read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The provider accepted the message (with its reference, if any).
    Delivered { reference: Option<String> },
    /// It failed in a way another attempt may cure (outage, timeout, limit).
    Retry(String),
    /// The provider refused it for good (credentials, template, number):
    /// dead at once, for a dispatcher to look at and retry.
    Refused(String),
}

/// The retry policy of outbox deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure, in milliseconds.
    pub base_ms: i64,
    /// The longest wait between attempts.
    pub cap_ms: i64,
    /// Attempts before a message is dead.
    pub max_attempts: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 5_000,
            cap_ms: 3_600_000,
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// When to try again after failed attempt number `attempts` (1 for the
    /// first), given a uniform random `unit` in [0, 1): full jitter over
    /// [base·2ⁿ⁻¹ / 2, base·2ⁿ⁻¹] capped at `cap_ms` (never sooner than half the
    /// backoff, so an outage is not hammered). `None` once the attempts are
    /// used up: the message is dead.
    pub fn next_attempt(&self, now: i64, attempts: i64, unit: f64) -> Option<i64> {
        if attempts >= self.max_attempts {
            return None;
        }
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
        let backoff = self
            .base_ms
            .saturating_mul(1_i64.checked_shl(exponent).unwrap_or(i64::MAX))
            .min(self.cap_ms);
        let half = backoff / 2;
        let jitter = (half as f64 * unit.clamp(0.0, 1.0)) as i64;
        Some(now + half + jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        let p = RetryPolicy {
            base_ms: 1_000,
            cap_ms: 8_000,
            max_attempts: 10,
        };
        for (attempt, full) in [(1, 1_000), (2, 2_000), (3, 4_000), (4, 8_000), (7, 8_000)] {
            let low = p.next_attempt(0, attempt, 0.0).unwrap();
            let high = p.next_attempt(0, attempt, 0.999_999).unwrap();
            assert_eq!(low, full / 2, "attempt {attempt}");
            assert!(high <= full && high > full / 2, "attempt {attempt}: {high}");
        }
    }

    #[test]
    fn a_message_is_dead_after_its_last_attempt() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(p.next_attempt(0, 2, 0.5).is_some());
        assert_eq!(p.next_attempt(0, 3, 0.5), None);
    }

    #[test]
    fn only_visit_facts_a_customer_or_integrator_follows_are_milestones() {
        assert!(milestone_of(&EventKind::CleanedUp).is_none());
        assert_eq!(
            milestone_of(&EventKind::UntestedCallbackScheduled { reason: "x".into() }).map(|m| m.0),
            Some("callback_scheduled")
        );
    }
}
