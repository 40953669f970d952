//! The KPIs of 001: on-time arrival, first-visit fix, satisfaction,
//! callback completion and response within 24 h, over the visits closed in a
//! range of days, grouped by day, technician or trade.

use crate::failure::Fallible;
use crate::model::{KpiGrouping, SignOffStatus};
use crate::store::{visits, Tx};
use crate::time::from_ms;
use chrono::NaiveDate;
use doorstep_core::business_time::BusinessZone;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A ratio with its parts (rate is `null` when nothing was measured).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
    pub rate: Option<f64>,
}

impl Ratio {
    fn add(&mut self, hit: bool) {
        self.denominator += 1;
        self.numerator += u64::from(hit);
    }
    fn finish(&mut self) {
        self.rate = (self.denominator > 0).then(|| self.numerator as f64 / self.denominator as f64);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub group: String,
    pub visits: u64,
    /// Arrived early or on time / arrived.
    pub on_time_arrival: Ratio,
    /// Fixed or completed on the first trip / visits that reached the customer.
    pub first_visit_fix: Ratio,
    /// Satisfied (both ratings ≥ 4) / verified sign-offs.
    pub satisfaction: Ratio,
    /// Callbacks done / callbacks due by now.
    pub callback_completion: Ratio,
    /// First response (arrival or remote resolution) within 24 h of the request / visits.
    pub response_within_24h: Ratio,
}

/// One closed visit's measurements.
#[derive(Debug, Clone)]
pub struct KpiInput {
    pub day: NaiveDate,
    pub technician: String,
    pub trade: String,
    pub outcome: Option<String>,
    pub trip: i64,
    pub arrived_at: Option<i64>,
    pub late: Option<bool>,
    pub closed_at: i64,
    pub signoff: SignOffStatus,
    pub satisfied: Option<bool>,
    pub received_at: i64,
    pub callbacks_due: u64,
    pub callbacks_done: u64,
}

/// Aggregates KPIs by day, technician or trade.
pub fn aggregate(inputs: &[KpiInput], by: KpiGrouping) -> Vec<Kpis> {
    let mut groups: BTreeMap<String, Kpis> = BTreeMap::new();
    for i in inputs {
        let key = match by {
            KpiGrouping::Technician => i.technician.clone(),
            KpiGrouping::Trade => i.trade.clone(),
            KpiGrouping::Day => i.day.to_string(),
        };
        let k = groups.entry(key.clone()).or_insert_with(|| Kpis {
            group: key,
            ..Kpis::default()
        });
        k.visits += 1;
        if i.arrived_at.is_some() {
            k.on_time_arrival.add(i.late == Some(false));
            let fixed = matches!(i.outcome.as_deref(), Some("fixed" | "completed"));
            k.first_visit_fix.add(fixed && i.trip <= 1);
        }
        if i.signoff == SignOffStatus::Verified {
            k.satisfaction.add(i.satisfied == Some(true));
        }
        k.callback_completion.denominator += i.callbacks_due;
        k.callback_completion.numerator += i.callbacks_done;
        let responded = i
            .arrived_at
            .or_else(|| (i.outcome.as_deref() == Some("resolved_remotely")).then_some(i.closed_at));
        k.response_within_24h
            .add(responded.is_some_and(|t| t - i.received_at <= 24 * 3_600_000));
    }
    groups
        .into_values()
        .map(|mut k| {
            for r in [
                &mut k.on_time_arrival,
                &mut k.first_visit_fix,
                &mut k.satisfaction,
                &mut k.callback_completion,
                &mut k.response_within_24h,
            ] {
                r.finish();
            }
            k
        })
        .collect()
}

/// The KPIs of the visits closed from `from` to `to` (days of the business
/// time zone, inclusive), each visit on its local closing day.
pub async fn kpis_between(
    tx: &mut dyn Tx,
    from: NaiveDate,
    to: NaiveDate,
    by: KpiGrouping,
    now: i64,
    zone: &BusinessZone,
) -> Fallible<Vec<Kpis>> {
    let (start, end) = (
        zone.start_of_day(from).timestamp_millis(),
        zone.day_bounds(to).1.timestamp_millis(),
    );
    let inputs: Vec<KpiInput> = visits::kpi_rows(tx, start, end, now)
        .await?
        .into_iter()
        .map(|r| KpiInput {
            day: zone.date_of(from_ms(r.closed_at)),
            technician: r.technician,
            trade: r.trade,
            outcome: r.outcome,
            trip: r.trip,
            arrived_at: r.arrived_at,
            late: r.late,
            closed_at: r.closed_at,
            signoff: r.signoff,
            satisfied: r.satisfied,
            received_at: r.received_at,
            callbacks_due: r.callbacks_due,
            callbacks_done: r.callbacks_done,
        })
        .collect();
    Ok(aggregate(&inputs, by))
}
