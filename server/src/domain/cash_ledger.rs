//! The engineers' cash ledger (issue 19, item 4): cash a technician
//! collected at the door is on his ledger until he remits it.
//!
//! **Collected.** Every admitted `payment_collected` fact paid in cash puts
//! its amount (fen) on the collecting technician's ledger, on the business
//! day (`state.zone`) of the fact's `recorded_at` — once per event id, so a
//! fact pushed twice counts once ([`record_fact`], called by
//! `domain::ingest` for each admitted fact). Card, mobile, bank transfer and
//! IOU payments never enter it: no cash changed hands.
//!
//! **Remitted.** A dispatcher records the cash a technician handed over
//! ([`record_remittance`]), dated by when it was handed over (now, unless
//! given). A remittance never takes more than the technician holds: it is
//! refused when, on its day or any later day, the cash he would still hold
//! would fall below zero — the refusal names the amount he holds
//! ([`Refused::Exceeds`]).
//!
//! **Voided.** A remittance entered wrongly is voided with a reason
//! ([`void_remittance`]), never deleted or edited: it stays listed with who
//! voided it, when and why, and counts no more, so the cash is back in the
//! technician's hands; a correction is a void and a new remittance. Voiding
//! only ever raises what he holds, so it needs no balance check; a
//! remittance is voided once.
//!
//! **Reconciliation** ([`ledger`]): per technician per business day, what
//! he collected, what he remitted, and what is still outstanding in his
//! hands at the end of that day (the running balance, carried in from the
//! days before the period), with the payments (visit, work order, receipt)
//! and the remittances behind the figures; per technician and in total.

use crate::failure::{Failure, Fallible};
use crate::store::cash_ledger::{
    self as store, CollectionRow, NewCollection, NewRemittance, RemittanceRow, RemittanceVoid, Span,
};
use crate::store::{technicians, LockKey, Tx};
use crate::time::from_ms;
use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::money::format_yuan_grouped;
use doorstep_core::workflow::bounds::AMOUNT_MAX;
use doorstep_core::workflow::command::{PaymentMethod, ReceiptRecord};
use doorstep_core::{EventKind, VisitEvent};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest remittance note, in characters.
pub const NOTE_CHARS: usize = crate::domain::bounds::REASON_CHARS;
/// The longest period one reconciliation covers, in days.
pub const MAX_DAYS: i64 = 366;
/// How far in the future a remittance's time may be (clock skew), ms.
const FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;

/// The amount as the console shows it: `¥1,234.50` (the core's words).
pub fn yuan(fen: i64) -> String {
    format_yuan_grouped(fen)
}

/// Puts an admitted fact on its technician's ledger when it is a cash
/// payment; anything else is left alone. Idempotent per event id.
pub async fn record_fact(
    tx: &mut dyn Tx,
    zone: &BusinessZone,
    technician: &str,
    e: &VisitEvent,
    now: i64,
) -> Fallible<()> {
    let EventKind::PaymentCollected {
        amount,
        method: PaymentMethod::Cash,
        receipt,
        ..
    } = &e.kind
    else {
        return Ok(());
    };
    if *amount <= 0 {
        return Ok(());
    }
    let receipt = match receipt {
        ReceiptRecord::Receipt { number } | ReceiptRecord::Invoice { number } => {
            Some(number.as_str())
        }
        ReceiptRecord::InvoiceToBeDelivered { .. } => None,
    };
    let day = zone.date_of(e.recorded_at).to_string();
    let (event_id, visit_id) = (e.id.to_string(), e.visit_id.to_string());
    store::insert_collection(
        tx,
        &NewCollection {
            event_id: &event_id,
            technician,
            business_day: &day,
            amount: *amount,
            visit_id: &visit_id,
            assignment_id: e.assignment_id.as_str(),
            receipt,
            collected_at: e.recorded_at.timestamp_millis(),
            received_at: now,
        },
    )
    .await?;
    Ok(())
}

/// A remittance as the dispatcher enters it; who received it is the
/// dispatcher's session.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemittanceRequest {
    /// Fen handed over, above 0.
    pub amount: i64,
    /// When the cash was handed over (default: now); never in the future.
    #[serde(default)]
    pub remitted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Why a remittance was not recorded.
#[derive(Debug)]
pub enum Refused {
    /// A field is wrong: its name and the reason in English and Chinese.
    Field {
        field: &'static str,
        en: String,
        zh: String,
    },
    /// It would take more than the technician holds: what he holds on
    /// that day (fen) that no later remittance needs.
    Exceeds {
        outstanding: i64,
        day: NaiveDate,
    },
    /// The remittance was voided already: by whom and when.
    AlreadyVoided(RemittanceVoid),
    Other(Failure),
}

impl From<Failure> for Refused {
    fn from(f: Failure) -> Self {
        Refused::Other(f)
    }
}

fn field(field: &'static str, en: impl Into<String>, zh: impl Into<String>) -> Refused {
    Refused::Field {
        field,
        en: en.into(),
        zh: zh.into(),
    }
}

/// Checks the request's fields.
fn check(req: &RemittanceRequest, now: i64) -> Result<(), Refused> {
    if req.amount <= 0 || req.amount > AMOUNT_MAX {
        return Err(field(
            "amount",
            format!(
                "give the cash handed over in fen, a whole number from 1 to {AMOUNT_MAX} (12345 is ¥123.45); {} was sent",
                req.amount
            ),
            format!(
                "金额：请填写交回的现金，以分为单位，1 至 {AMOUNT_MAX} 之间的整数（12345 即 ¥123.45）；收到的是 {}。",
                req.amount
            ),
        ));
    }
    if let Some(at) = req.remitted_at {
        if at.timestamp_millis() > now + FUTURE_SKEW_MS {
            return Err(field(
                "remitted_at",
                "the cash cannot be handed over in the future: give the time it was handed over, or none for now",
                "交款时间：不能晚于现在，请填写实际交款的时间，或留空表示现在。",
            ));
        }
    }
    if let Some(note) = &req.note {
        let n = note.chars().count();
        if n > NOTE_CHARS {
            return Err(field(
                "note",
                format!("at most {NOTE_CHARS} characters; {n} were sent"),
                format!("备注：最多 {NOTE_CHARS} 个字，收到 {n} 个字。"),
            ));
        }
    }
    Ok(())
}

/// Records a remittance from `technician`, received by `received_by`.
pub async fn record_remittance(
    tx: &mut dyn Tx,
    zone: &BusinessZone,
    technician: &str,
    req: &RemittanceRequest,
    received_by: &str,
    now: i64,
) -> Result<RemittanceRow, Refused> {
    if !technicians::exists(tx, technician).await? {
        return Err(Failure::not_found("technician", technician).into());
    }
    check(req, now)?;
    // One technician's remittances are checked against his balance one at a time.
    tx.lock(LockKey::cash_ledger(technician))
        .await
        .map_err(Failure::from)?;
    let remitted_at = req.remitted_at.map_or(now, |t| t.timestamp_millis());
    let day = zone.date_of(from_ms(remitted_at));
    let available = available_on(tx, technician, day).await?;
    if req.amount > available {
        return Err(Refused::Exceeds {
            outstanding: available,
            day,
        });
    }
    let id = uuid::Uuid::now_v7().to_string();
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let day_text = day.to_string();
    store::insert_remittance(
        tx,
        &NewRemittance {
            id: &id,
            technician,
            business_day: &day_text,
            amount: req.amount,
            remitted_at,
            received_by,
            note,
            created_at: now,
        },
    )
    .await?;
    Ok(RemittanceRow {
        id,
        technician_id: technician.to_string(),
        business_day: day_text,
        amount: req.amount,
        amount_shown: yuan(req.amount),
        remitted_at,
        received_by: received_by.to_string(),
        note: note.map(str::to_string),
        voided: None,
    })
}

/// Why a remittance is voided, as the dispatcher gives it.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    /// Why (entered twice, wrong amount, wrong technician …): required, at
    /// most 1000 characters.
    pub reason: String,
}

/// Voids remittance `id` of `technician`, by the dispatcher `by`: it stays
/// listed with the reason and counts no more.
pub async fn void_remittance(
    tx: &mut dyn Tx,
    technician: &str,
    id: &str,
    req: &VoidRequest,
    by: &str,
    now: i64,
) -> Result<RemittanceRow, Refused> {
    let reason = req.reason.trim();
    if reason.is_empty() {
        return Err(field(
            "reason",
            "say why the remittance is voided (entered twice, wrong amount, wrong technician …)",
            "作废原因：请填写作废的原因（重复登记、金额有误、技师有误等）。",
        ));
    }
    let n = reason.chars().count();
    if n > NOTE_CHARS {
        return Err(field(
            "reason",
            format!("at most {NOTE_CHARS} characters; {n} were sent"),
            format!("作废原因：最多 {NOTE_CHARS} 个字，收到 {n} 个字。"),
        ));
    }
    tx.lock(LockKey::cash_ledger(technician))
        .await
        .map_err(Failure::from)?;
    let Some(mut row) = store::remittance(tx, technician, id).await? else {
        return Err(Failure::not_found("remittance", id).into());
    };
    if let Some(done) = row.voided {
        return Err(Refused::AlreadyVoided(done));
    }
    let void = RemittanceVoid {
        at: now,
        by: by.to_string(),
        reason: reason.to_string(),
    };
    if !store::void_remittance(tx, id, &void).await? {
        return Err(Failure::not_found("remittance", id).into());
    }
    row.voided = Some(void);
    Ok(row)
}

/// The most a remittance on `day` may take: the least the technician holds
/// at the end of `day` or of any later day with a remittance (a remittance
/// dated back must leave the later ones covered).
async fn available_on(tx: &mut dyn Tx, technician: &str, day: NaiveDate) -> Fallible<i64> {
    let all = Span {
        from: None,
        to: "9999-12-31",
        technician: Some(technician),
    };
    let mut moves: BTreeMap<String, i64> = BTreeMap::new();
    for c in store::collections(tx, &all).await? {
        *moves.entry(c.business_day).or_default() += c.amount;
    }
    for r in store::remittances(tx, &all).await? {
        if r.voided.is_none() {
            *moves.entry(r.business_day).or_default() -= r.amount;
        }
    }
    let day = day.to_string();
    let mut held = 0i64;
    let mut least: Option<i64> = None;
    for (d, delta) in &moves {
        held += delta;
        if *d >= day {
            least = Some(least.map_or(held, |l| l.min(held)));
        }
    }
    // Held at the end of `day` when nothing moved on or after it.
    let at_day: i64 = moves
        .iter()
        .filter(|(d, _)| **d <= day)
        .map(|(_, v)| v)
        .sum();
    Ok(least.map_or(at_day, |l| l.min(at_day)).max(0))
}

/// One technician's business day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CashDay {
    pub technician_id: String,
    pub technician_name: Option<String>,
    /// `YYYY-MM-DD`, of the business time zone.
    pub business_day: String,
    /// Cash collected that day, fen.
    pub collected: i64,
    /// Cash remitted that day, fen.
    pub remitted: i64,
    /// Cash still in the technician's hands at the end of the day (every
    /// day up to this one), fen.
    pub outstanding: i64,
    /// The amounts as the desk shows them.
    pub shown: AmountsShown,
    /// The cash payments behind `collected`.
    pub payments: Vec<CollectionRow>,
    /// The remittances behind `remitted`, and those voided (listed, not counted).
    pub remittances: Vec<RemittanceRow>,
}

/// One technician over the period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TechnicianCash {
    pub technician_id: String,
    pub technician_name: Option<String>,
    /// In his hands when the period began, fen.
    pub opening: i64,
    pub collected: i64,
    pub remitted: i64,
    /// In his hands at the end of the period, fen.
    pub outstanding: i64,
    /// The amounts as the desk shows them.
    pub shown: AmountsShown,
}

/// The period's totals, fen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CashTotals {
    pub opening: i64,
    pub collected: i64,
    pub remitted: i64,
    pub outstanding: i64,
    /// The amounts as the desk shows them.
    pub shown: AmountsShown,
}

/// A row's amounts as the desk shows them (`¥1,234.50`, the core's words:
/// the console formats no money itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AmountsShown {
    pub opening: String,
    pub collected: String,
    pub remitted: String,
    pub outstanding: String,
}

impl AmountsShown {
    fn of(opening: i64, collected: i64, remitted: i64, outstanding: i64) -> Self {
        AmountsShown {
            opening: yuan(opening),
            collected: yuan(collected),
            remitted: yuan(remitted),
            outstanding: yuan(outstanding),
        }
    }
}

/// The cash reconciliation of a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CashLedger {
    /// First business day, `YYYY-MM-DD`.
    pub from: String,
    /// Last business day, `YYYY-MM-DD`.
    pub to: String,
    /// Per technician per day with cash collected or remitted, by
    /// technician then day.
    pub days: Vec<CashDay>,
    /// Per technician with cash in the period or in hand at its start.
    pub technicians: Vec<TechnicianCash>,
    pub totals: CashTotals,
}

/// Checks a period: `from` not after `to`, at most [`MAX_DAYS`] days.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> Fallible<()> {
    if from > to {
        return Err(Failure::field(
            "from",
            format!("the first day ({from}) is after the last ({to})"),
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(Failure::field(
            "to",
            format!("at most {MAX_DAYS} days at once"),
        ));
    }
    Ok(())
}

/// The cash reconciliation from `from` to `to` (business days, inclusive),
/// of one technician when given.
pub async fn ledger(
    tx: &mut dyn Tx,
    from: NaiveDate,
    to: NaiveDate,
    technician: Option<&str>,
) -> Fallible<CashLedger> {
    check_period(from, to)?;
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let span = Span {
        from: Some(&from_s),
        to: &to_s,
        technician,
    };
    let names = technicians::names(tx).await?;
    let opening: BTreeMap<String, i64> = store::totals_before(tx, &from_s, technician)
        .await?
        .into_iter()
        .map(|(t, c, r)| (t, c - r))
        .collect();
    let mut days: BTreeMap<(String, String), CashDay> = BTreeMap::new();
    let name = |t: &str| names.get(t).cloned();
    let mut day_of = |t: &str, d: &str| -> (String, String) {
        let key = (t.to_string(), d.to_string());
        days.entry(key.clone()).or_insert_with(|| CashDay {
            technician_id: t.to_string(),
            technician_name: name(t),
            business_day: d.to_string(),
            collected: 0,
            remitted: 0,
            outstanding: 0,
            shown: AmountsShown::default(),
            payments: vec![],
            remittances: vec![],
        });
        key
    };
    let mut keyed = vec![];
    for c in store::collections(tx, &span).await? {
        keyed.push((day_of(&c.technician_id, &c.business_day), Some(c), None));
    }
    for r in store::remittances(tx, &span).await? {
        keyed.push((day_of(&r.technician_id, &r.business_day), None, Some(r)));
    }
    for (key, c, r) in keyed {
        let d = days.get_mut(&key).expect("the day was made above");
        if let Some(c) = c {
            d.collected += c.amount;
            d.payments.push(c);
        }
        if let Some(r) = r {
            if r.voided.is_none() {
                d.remitted += r.amount;
            }
            d.remittances.push(r);
        }
    }
    let mut per_tech: BTreeMap<String, TechnicianCash> = opening
        .iter()
        .map(|(t, o)| {
            (
                t.clone(),
                TechnicianCash {
                    technician_id: t.clone(),
                    technician_name: names.get(t).cloned(),
                    opening: *o,
                    collected: 0,
                    remitted: 0,
                    outstanding: *o,
                    shown: AmountsShown::default(),
                },
            )
        })
        .collect();
    // Days are ordered by technician then day: the running balance.
    for d in days.values_mut() {
        let t = per_tech
            .entry(d.technician_id.clone())
            .or_insert_with(|| TechnicianCash {
                technician_id: d.technician_id.clone(),
                technician_name: d.technician_name.clone(),
                opening: 0,
                collected: 0,
                remitted: 0,
                outstanding: 0,
                shown: AmountsShown::default(),
            });
        t.collected += d.collected;
        t.remitted += d.remitted;
        t.outstanding += d.collected - d.remitted;
        d.outstanding = t.outstanding;
        d.shown = AmountsShown::of(0, d.collected, d.remitted, d.outstanding);
    }
    let technicians: Vec<TechnicianCash> = per_tech
        .into_values()
        .filter(|t| t.opening != 0 || t.collected != 0 || t.remitted != 0)
        .map(|mut t| {
            t.shown = AmountsShown::of(t.opening, t.collected, t.remitted, t.outstanding);
            t
        })
        .collect();
    let mut totals = technicians.iter().fold(CashTotals::default(), |mut s, t| {
        s.opening += t.opening;
        s.collected += t.collected;
        s.remitted += t.remitted;
        s.outstanding += t.outstanding;
        s
    });
    totals.shown = AmountsShown::of(
        totals.opening,
        totals.collected,
        totals.remitted,
        totals.outstanding,
    );
    Ok(CashLedger {
        from: from_s,
        to: to_s,
        days: days.into_values().collect(),
        technicians,
        totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(amount: i64) -> RemittanceRequest {
        RemittanceRequest {
            amount,
            remitted_at: None,
            note: None,
        }
    }

    #[test]
    fn an_amount_must_be_whole_fen_above_zero_and_within_the_bound() {
        for bad in [0, -1, AMOUNT_MAX + 1] {
            match check(&req(bad), 0) {
                Err(Refused::Field { field, zh, .. }) => {
                    assert_eq!(field, "amount");
                    assert!(zh.starts_with("金额："), "{zh}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert!(check(&req(1), 0).is_ok());
        assert!(check(&req(AMOUNT_MAX), 0).is_ok());
    }

    #[test]
    fn a_remittance_is_not_in_the_future_and_its_note_is_bounded() {
        let mut r = req(100);
        r.remitted_at = Some(from_ms(FUTURE_SKEW_MS + 1));
        assert!(matches!(
            check(&r, 0),
            Err(Refused::Field {
                field: "remitted_at",
                ..
            })
        ));
        r.remitted_at = Some(from_ms(FUTURE_SKEW_MS));
        assert!(check(&r, 0).is_ok());
        r.note = Some("备".repeat(NOTE_CHARS + 1));
        assert!(matches!(
            check(&r, 0),
            Err(Refused::Field { field: "note", .. })
        ));
    }

    #[test]
    fn a_period_runs_forwards_and_is_bounded() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(check_period(d("2026-01-02"), d("2026-01-01")).is_err());
        assert!(check_period(d("2026-01-01"), d("2026-01-01")).is_ok());
        assert!(check_period(d("2026-01-01"), d("2026-12-31")).is_ok());
        assert!(check_period(d("2026-01-01"), d("2027-01-01")).is_ok());
        assert!(check_period(d("2026-01-01"), d("2027-01-02")).is_err());
    }

    #[test]
    fn amounts_show_in_yuan() {
        assert_eq!(yuan(123450), "¥1,234.50");
        assert_eq!(yuan(123456789), "¥1,234,567.89");
        assert_eq!(yuan(5), "¥0.05");
        assert_eq!(yuan(-100000), "-¥1,000.00");
    }
}
