//! Callbacks (回访): the schedule a visit's outcome produces, and the monthly
//! random sample of served customers (004: 10-20 %).
//!
//! The sample is deterministic given a seed and uniform: every customer is
//! ranked by SHA-256(seed ‖ 0x00 ‖ customer id) and the first `k` are taken,
//! where `k = ceil(n × percent / 100)`. Any party holding the seed (the month,
//! say `2026-11`, plus a secret kept by the center) reproduces the same
//! sample; without it nobody can predict who will be called.

use super::event::Outcome;
use super::state::VisitState;
use crate::canonical::sha256_hex;
use crate::clock;
use crate::messages::Text;
use crate::playbook::Playbook;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a callback is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackReason {
    /// 2 h after phone guidance.
    RemoteGuidance,
    /// 2 h after a repair that could not be test-run.
    UntestedRepair,
    /// 3 h after an uncertain fix.
    UncertainFix,
    /// 48 h second-level callback after a completed visit.
    SecondLevel,
    /// Follow-up of a dissatisfied customer, until satisfied.
    Dissatisfied,
    /// Follow-up of a declined signature.
    DeclinedSignature,
    /// Chosen for the monthly random sample.
    MonthlySample,
}

/// One callback the center owes the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackDue {
    pub reason: CallbackReason,
    pub due_at: DateTime<Utc>,
}

/// The callbacks a visit's facts call for, in due order.
pub fn schedule(s: &VisitState, pb: &Playbook) -> Vec<CallbackDue> {
    let c = &pb.callbacks;
    let mut due = vec![];
    let mut add = |reason, at: DateTime<Utc>, hours: i64| {
        due.push(CallbackDue {
            reason,
            due_at: clock::shift(at, clock::hours(hours)),
        })
    };
    if let Some(at) = s.resolved_remotely_at {
        add(CallbackReason::RemoteGuidance, at, c.remote_guidance_hours);
    }
    if let Some(at) = s.untested_callback {
        add(CallbackReason::UntestedRepair, at, c.untested_repair_hours);
    }
    if let Some(t) = s.test_run.as_ref().filter(|t| t.passed && t.uncertain) {
        add(CallbackReason::UncertainFix, t.at, c.uncertain_fix_hours);
    }
    if let (Some(Outcome::Fixed | Outcome::Completed | Outcome::TakenBack), Some(at)) =
        (s.outcome, s.closed_at)
    {
        add(CallbackReason::SecondLevel, at, c.second_level_hours);
    }
    if let Some(signed) = s.sign_off.as_ref().filter(|so| !so.ratings.satisfied()) {
        add(
            CallbackReason::Dissatisfied,
            signed.evidence.signed_at,
            c.dissatisfied_follow_up_hours,
        );
    }
    if let Some(d) = &s.declined {
        add(
            CallbackReason::DeclinedSignature,
            d.at,
            c.dissatisfied_follow_up_hours,
        );
    }
    due.sort_by_key(|d| (d.due_at, d.reason));
    due
}

/// How many of `n` customers a `percent` sample takes (rounded up; at least
/// one when there is anyone and the percentage is positive).
pub fn sample_size(n: usize, percent: u8) -> usize {
    let percent = usize::from(percent.min(100));
    (n * percent).div_ceil(100)
}

/// What a follow-up call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpCall {
    pub at: DateTime<Utc>,
    /// The customer was reached.
    pub reached: bool,
    /// What the customer said, when reached.
    pub satisfied: Option<bool>,
    /// The center closed the case (e.g. after a manager's visit).
    pub closed_by_center: bool,
}

/// 004 (回访): "a dissatisfied customer is followed up until satisfied" —
/// after a follow-up of a dissatisfied customer or a declined signature
/// that did not end it (not reached, or still not satisfied, and not closed
/// by the center), the next follow-up is due the playbook's
/// `dissatisfied_follow_up_hours` later. Other callbacks are made once.
pub fn next_follow_up(
    reason: CallbackReason,
    call: &FollowUpCall,
    pb: &Playbook,
) -> Option<CallbackDue> {
    let followed_until_satisfied = matches!(
        reason,
        CallbackReason::Dissatisfied | CallbackReason::DeclinedSignature
    );
    let ended = call.closed_by_center || (call.reached && call.satisfied == Some(true));
    (followed_until_satisfied && !ended).then(|| CallbackDue {
        reason,
        due_at: clock::shift(
            call.at,
            clock::hours(pb.callbacks.dissatisfied_follow_up_hours),
        ),
    })
}

/// STANDARDS §2.18: the monthly sample calls back 10 to 20 % of served customers.
pub const SAMPLE_PERCENT_RANGE: std::ops::RangeInclusive<u8> = 10..=20;

/// A sample rate outside the playbook's range (within §2.18's 10-20 %):
/// refused, never silently clamped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("percent {percent} is outside the monthly sample range: give a whole percentage from {min} to {max} (STANDARDS §2.18)")]
pub struct SampleRateError {
    pub percent: u8,
    pub min: u8,
    pub max: u8,
}

impl SampleRateError {
    /// The field the rate was given in.
    pub const FIELD: &'static str = "percent";

    /// The refusal in both languages.
    pub fn text(&self) -> Text {
        let (p, lo, hi) = (self.percent, self.min, self.max);
        Text::new(
            self.to_string(),
            format!("抽样比例（percent）{p}% 超出范围：每月回访抽样应为 {lo}% 到 {hi}% 之间的整数（标准 §2.18）。"),
        )
    }
}

/// The playbook's sample range, kept within §2.18's 10-20 %.
pub fn sample_range(pb: &Playbook) -> std::ops::RangeInclusive<u8> {
    let (lo, hi) = (SAMPLE_PERCENT_RANGE.start(), SAMPLE_PERCENT_RANGE.end());
    let clamp = |p: i64| p.clamp(i64::from(*lo), i64::from(*hi)) as u8;
    clamp(pb.callbacks.monthly_sample_min_percent)..=clamp(pb.callbacks.monthly_sample_max_percent)
}

/// The monthly sample: `percent` of `customers`, chosen uniformly and
/// reproducibly from `seed`. Duplicates in the input count once. The result
/// is in rank order. A `percent` outside the playbook's range (10-20 %) is
/// refused.
pub fn monthly_sample(
    customers: &[String],
    seed: &str,
    percent: u8,
    pb: &Playbook,
) -> Result<Vec<String>, SampleRateError> {
    let range = sample_range(pb);
    if !range.contains(&percent) {
        return Err(SampleRateError {
            percent,
            min: *range.start(),
            max: *range.end(),
        });
    }
    let mut unique: Vec<&String> = customers.iter().collect();
    unique.sort();
    unique.dedup();
    let k = sample_size(unique.len(), percent);
    let mut ranked: Vec<(String, &String)> = unique
        .into_iter()
        .map(|c| {
            let mut input = seed.as_bytes().to_vec();
            input.push(0);
            input.extend_from_slice(c.as_bytes());
            (sha256_hex(&input), c)
        })
        .collect();
    ranked.sort();
    Ok(ranked.into_iter().take(k).map(|(_, c)| c.clone()).collect())
}
