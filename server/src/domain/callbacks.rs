//! Callbacks (回访) beyond the ones a visit's facts schedule: recording a
//! call's result (a dissatisfied customer's follow-up comes back until they
//! are satisfied or the center closes it), and the monthly random 10-20 %
//! sample of served customers (004), reproducible from the month (of the
//! business time zone) and the server's secret.

use crate::app::AppState;
use crate::auth;
use crate::failure::{Failure, Fallible};
use crate::store::callbacks::{self as store, CallbackOutcome, CallbackState};
use crate::store::visits;
use crate::store::{settings, Tx};
use crate::time::{from_ms, now_ms};
use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::callbacks::{
    monthly_sample as core_monthly_sample, next_follow_up, CallbackReason, FollowUpCall,
    SampleRateError, SAMPLE_PERCENT_RANGE,
};
use doorstep_core::Playbook;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CallbackResult {
    pub visit_id: String,
    pub reason: String,
    /// The customer was reached.
    pub reached: bool,
    #[serde(default)]
    pub satisfied: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
    /// The center closes the follow-up (no further call), e.g. after a
    /// manager's visit settled it.
    #[serde(default)]
    pub close: bool,
}

/// Only a reached customer can say whether they are satisfied.
pub fn check_result(req: &CallbackResult) -> Fallible<()> {
    if !req.reached && req.satisfied.is_some() {
        return Err(Failure::field(
            "satisfied",
            "only a customer who was reached can say whether they are satisfied",
        ));
    }
    Ok(())
}

/// Records a callback's result once. A follow-up of a dissatisfied customer
/// or a declined signature that did not end it (not reached, still not
/// satisfied, not closed by the center) is due again (the core's
/// `next_follow_up`): the call is kept among the attempts and the callback
/// reopens. Returns when the next follow-up is due, if any.
pub async fn record_result(
    tx: &mut dyn Tx,
    req: CallbackResult,
    actor: &str,
) -> Fallible<Option<DateTime<Utc>>> {
    let (visit, reason) = (req.visit_id.as_str(), req.reason.as_str());
    match store::state(tx, visit, reason).await? {
        CallbackState::Missing => {
            return Err(Failure::not_found("callback", &format!("{visit}/{reason}")))
        }
        CallbackState::Done => {
            return Err(Failure::conflict(
                "already_recorded",
                format!("the {reason} callback of visit {visit} is already recorded"),
            ))
        }
        CallbackState::Open => {}
    }
    let done_at = now_ms();
    store::record_result(
        tx,
        CallbackOutcome {
            visit,
            reason,
            done_at,
            done_by: actor,
            reached: req.reached,
            satisfied: req.satisfied,
            note: req.note.clone(),
            closed_by_center: req.close,
        },
    )
    .await?;
    let Ok(reason_code) = serde_json::from_value::<CallbackReason>(serde_json::Value::from(reason))
    else {
        return Ok(None);
    };
    let trade = visits::load_visit(tx, visit).await?.map(|v| v.trade);
    let Some(pb) = trade.as_deref().and_then(Playbook::shipped_ref) else {
        return Ok(None);
    };
    let call = FollowUpCall {
        at: from_ms(done_at),
        reached: req.reached,
        satisfied: req.satisfied,
        closed_by_center: req.close,
    };
    let Some(next) = next_follow_up(reason_code, &call, pb) else {
        return Ok(None);
    };
    store::reopen_for_follow_up(tx, visit, reason, next.due_at.timestamp_millis()).await?;
    Ok(Some(next.due_at))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SampleRequest {
    /// `YYYY-MM`.
    pub month: String,
    /// Percent of served customers, 10 to 20 (STANDARDS §2.18; refused
    /// outside); default: the server's `--monthly-sample-percent`.
    #[serde(default)]
    pub percent: Option<u8>,
}

/// STANDARDS §2.18: a sample rate outside 10-20 % is refused naming the
/// field, in both languages, never clamped.
pub fn check_sample_percent(percent: u8) -> Fallible<()> {
    if SAMPLE_PERCENT_RANGE.contains(&percent) {
        return Ok(());
    }
    let e = SampleRateError {
        percent,
        min: *SAMPLE_PERCENT_RANGE.start(),
        max: *SAMPLE_PERCENT_RANGE.end(),
    };
    let t = e.text();
    Err(Failure::field(
        SampleRateError::FIELD,
        format!("{} / {}", t.en, t.zh),
    ))
}

/// What the monthly sample did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SampleSummary {
    pub month: String,
    pub served_customers: usize,
    pub sampled: usize,
    pub callbacks_created: u64,
}

/// The first instant of `YYYY-MM` and of the next month in the business
/// time zone, in Unix milliseconds.
pub fn month_range(month: &str, zone: &BusinessZone) -> Fallible<(i64, i64)> {
    let start = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| {
        Failure::field(
            "month",
            "expected YYYY-MM, e.g. 2026-11 / 应为 YYYY-MM 格式的月份，例如 2026-11",
        )
    })?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| Failure::field("month", "out of range / 月份超出范围"))?;
    Ok((
        zone.start_of_day(start).timestamp_millis(),
        zone.start_of_day(end).timestamp_millis(),
    ))
}

/// A customer's key for the sample: their phone's digits (or the assignment
/// when there is no phone), hashed so that the sample never handles the number.
fn customer_key(a: &doorstep_core::Assignment) -> String {
    let digits: String = a
        .customer
        .phone
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let basis = if digits.is_empty() {
        format!("assignment:{}", a.id)
    } else {
        format!("phone:{digits}")
    };
    doorstep_core::canonical::sha256_hex(basis.as_bytes())
}

const SAMPLE_SECRET: &str = "sample_secret";

/// The server's secret seed of the sample, made on first use.
async fn sample_secret(tx: &mut dyn Tx) -> Fallible<String> {
    if let Some(secret) = settings::get(tx, SAMPLE_SECRET).await? {
        return Ok(secret);
    }
    let secret = auth::new_token("k");
    settings::insert_if_absent(tx, SAMPLE_SECRET, &secret).await?;
    Ok(secret)
}

/// 004: each month a random 10-20 % of served customers get a callback.
/// Reproducible from the month and the server's secret; idempotent.
pub async fn monthly_sample(
    tx: &mut dyn Tx,
    app: &AppState,
    req: &SampleRequest,
) -> Fallible<SampleSummary> {
    let percent = req.percent.unwrap_or(app.config.monthly_sample_percent);
    check_sample_percent(percent)?;
    let (from, to) = month_range(&req.month, &app.zone)?;
    let secret = sample_secret(tx).await?;
    let seed = format!("{}:{secret}", req.month);
    // trade → customer key → latest visit
    let mut served: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for v in store::served_between(tx, from, to).await? {
        if let Ok(a) = serde_json::from_str::<doorstep_core::Assignment>(&v.assignment_json) {
            served
                .entry(v.trade)
                .or_default()
                .insert(customer_key(&a), v.visit_id);
        }
    }
    let (mut customers, mut sampled, mut created) = (0usize, 0usize, 0u64);
    let now = now_ms();
    for (trade, by_customer) in &served {
        let Some(pb) = app.playbooks.current(tx, trade).await? else {
            continue;
        };
        let keys: Vec<String> = by_customer.keys().cloned().collect();
        customers += keys.len();
        let chosen = core_monthly_sample(&keys, &seed, percent, &pb).map_err(|e| {
            let t = e.text();
            Failure::field(SampleRateError::FIELD, format!("{} / {}", t.en, t.zh))
        })?;
        for key in chosen {
            sampled += 1;
            let added =
                store::schedule(tx, &by_customer[&key], CallbackReason::MonthlySample, now).await?;
            created += u64::from(added);
        }
    }
    Ok(SampleSummary {
        month: req.month.clone(),
        served_customers: customers,
        sampled,
        callbacks_created: created,
    })
}
