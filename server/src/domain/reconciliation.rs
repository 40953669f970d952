//! Daily reconciliation (003): "satisfied" not signed by the customer is
//! fraud, so every visit closed in a day is checked — sign-off verified or
//! declined, evidence chain intact, money collected equal to the accepted
//! quote, signed near the customer and after the repair ended.

use crate::failure::{Failure, Fallible};
use crate::model::SignOffStatus;
use crate::store::{visits, Tx};
use chrono::NaiveDate;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::messages::Text;
use doorstep_core::workflow::state::VisitState;
use doorstep_core::Outcome;
use serde::{Deserialize, Serialize};

/// One problem found when reconciling a closed visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub message: String,
}

fn finding(code: &str, message: String) -> Finding {
    Finding {
        code: code.into(),
        message,
    }
}

/// Outcomes where the customer was served and so must have signed or declined.
fn served(outcome: Option<Outcome>) -> bool {
    matches!(
        outcome,
        Some(Outcome::Fixed | Outcome::Completed | Outcome::TakenBack | Outcome::QuoteRefused)
    )
}

/// 003: "satisfied" not signed by the customer is fraud; the center
/// reconciles daily. Checks one closed visit.
pub fn reconcile(
    state: &VisitState,
    signoff: SignOffStatus,
    signoff_problem: Option<&str>,
    chain_ok: bool,
    far_m: f64,
) -> Vec<Finding> {
    let mut out = vec![];
    if served(state.outcome) {
        match signoff {
            SignOffStatus::Verified | SignOffStatus::Declined => {}
            SignOffStatus::Broken => out.push(finding(
                "signoff_broken",
                format!(
                    "the signed report does not verify: {}",
                    signoff_problem.unwrap_or("unknown problem")
                ),
            )),
            SignOffStatus::None => out.push(finding(
                "no_signoff",
                "closed as served without a customer sign-off or a recorded decline".into(),
            )),
        }
    }
    if !chain_ok {
        out.push(finding(
            "evidence_chain_broken",
            "the sign-off evidence does not link to the device's previous record".into(),
        ));
    }
    let accepted = state.accepted_quote();
    match (&state.payment, accepted) {
        (Some(p), Some(q)) if p.amount != q.customer_total => out.push(finding(
            "amount_mismatch",
            format!(
                "collected {} but the accepted quote's total is {} (minor units)",
                p.amount, q.customer_total
            ),
        )),
        (Some(p), None) if p.amount != 0 => out.push(finding(
            "payment_without_accepted_quote",
            format!("collected {} without an accepted quote", p.amount),
        )),
        (None, Some(q)) if q.chargeable() && served(state.outcome) && !state.payment_refused => out
            .push(finding(
                "unpaid",
                format!(
                    "the accepted quote's total {} was not collected",
                    q.customer_total
                ),
            )),
        _ => {}
    }
    if let Some(so) = &state.sign_off {
        let target = state.assignment.as_ref().and_then(|a| a.customer.location);
        if let (Some(fix), Some(target)) = (so.evidence.location, target) {
            let d = fix.point.distance_m(&target);
            if d > far_m {
                out.push(finding(
                    "signoff_far_from_customer",
                    format!("signed {d:.0} m from the customer's location (limit {far_m:.0} m)"),
                ));
            }
        }
        let repair_end = state
            .work
            .iter()
            .map(|w| w.at)
            .chain(state.test_run.as_ref().map(|t| t.at))
            .max();
        if let Some(end) = repair_end.filter(|end| so.evidence.signed_at < *end) {
            out.push(finding(
                "signoff_before_repair_end",
                format!(
                    "signed at {} but the repair ended at {end}",
                    so.evidence.signed_at
                ),
            ));
        }
    }
    out
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReconciledVisit {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub trade: String,
    pub outcome: Option<String>,
    /// The outcome's label in both languages, from the core.
    #[serde(default)]
    pub outcome_label: Option<Text>,
    pub signoff: SignOffStatus,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Reconciliation {
    pub date: NaiveDate,
    pub closed: usize,
    pub clean: usize,
    pub with_findings: usize,
    pub visits: Vec<ReconciledVisit>,
}

/// Reconciles every visit closed on `date` (a day of the business time
/// zone), flagging a sign-off farther than `far_m` metres from the customer.
pub async fn reconcile_day(
    tx: &mut dyn Tx,
    date: NaiveDate,
    far_m: f64,
    zone: &BusinessZone,
) -> Fallible<Reconciliation> {
    let (from, to) = zone.day_bounds(date);
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    let mut out = vec![];
    for v in visits::closed_between(tx, from, to).await? {
        let vs: VisitState = serde_json::from_str(&v.state_json)
            .map_err(|_| Failure::internal("reading a visit"))?;
        out.push(ReconciledVisit {
            outcome_label: vs.outcome.map(Outcome::label),
            findings: reconcile(
                &vs,
                v.signoff,
                v.signoff_problem.as_deref(),
                v.chain_ok,
                far_m,
            ),
            visit_id: v.visit_id,
            assignment_id: v.assignment_id,
            technician_id: v.technician_id,
            trade: v.trade,
            outcome: v.outcome,
            signoff: v.signoff,
        });
    }
    let with_findings = out.iter().filter(|v| !v.findings.is_empty()).count();
    Ok(Reconciliation {
        date,
        closed: out.len(),
        clean: out.len() - with_findings,
        with_findings,
        visits: out,
    })
}
