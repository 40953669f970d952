//! Daily reconciliation (003): "satisfied" not signed by the customer is
//! fraud, so every visit closed in a day (of the business time zone) is
//! checked — sign-off verified or declined, evidence chain intact, money
//! collected (the paid total) equal to the accepted quote, signed near the
//! customer and after the repair ended — and whether the visit is
//! plausible: an arrival with a location near the customer, travel no
//! faster than declared allows, nothing recorded before the request came in
//! — and whether the sign-off is signed by the key its phone registered
//! (a missing or wrong device signature is a finding; a phone enrolled
//! without a key is marked `unsigned`) — and whether a payment collected by
//! QR names an order the provider confirmed paid, for that amount
//! (`qr_payment_unconfirmed`).
//! Each finding has a code, a label in both languages and a message.

use crate::domain::projection::replay;
use crate::failure::{Failure, Fallible};
use crate::model::SignOffStatus;
use crate::store::{devices, qr_payments, technicians, visits, Tx};
use chrono::NaiveDate;
use doorstep_core::business_time::BusinessZone;
use doorstep_core::messages::Text;
use doorstep_core::qr_payment::QrPaymentState;
use doorstep_core::signoff::SignOffEvidence;
use doorstep_core::wire::wire_name;
use doorstep_core::workflow::state::VisitState;
use doorstep_core::{EventKind, Outcome, VisitEvent};
use serde::{Deserialize, Serialize};

/// One problem found when reconciling a closed visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub code: String,
    /// The finding's name in both languages (the console shows it).
    pub label: Text,
    pub message: String,
}

fn finding(code: &str, message: String) -> Finding {
    Finding {
        code: code.into(),
        label: finding_label(code),
        message,
    }
}

/// Every finding code with its label (en, zh-CN).
pub const FINDING_LABELS: &[(&str, &str, &str)] = &[
    (
        "signoff_broken",
        "Signed report does not verify",
        "签字报告校验失败",
    ),
    ("no_signoff", "No customer sign-off", "无客户签字"),
    (
        "evidence_chain_broken",
        "Evidence chain broken",
        "签字证据链断裂",
    ),
    (
        "amount_mismatch",
        "Amount differs from the quote",
        "收款与报价不符",
    ),
    (
        "payment_without_accepted_quote",
        "Payment without an accepted quote",
        "无已确认报价却收款",
    ),
    ("unpaid", "Not paid", "未收款"),
    (
        "signoff_far_from_customer",
        "Signed far from the customer",
        "签字地点远离客户",
    ),
    (
        "signoff_before_repair_end",
        "Signed before the repair ended",
        "维修结束前签字",
    ),
    (
        "arrival_without_location",
        "Arrival without location",
        "到达时无定位",
    ),
    (
        "arrival_far_from_customer",
        "Arrival far from the customer",
        "到达地点远离客户",
    ),
    (
        "impossible_travel",
        "Impossible travel time",
        "行程时间不合常理",
    ),
    (
        "event_before_request",
        "Recorded before the request",
        "记录早于报修时间",
    ),
    (
        "device_signature_missing",
        "Sign-off not signed by the device key",
        "签字未经设备密钥签名",
    ),
    (
        "device_signature_invalid",
        "Device signature does not verify",
        "设备签名校验失败",
    ),
    (
        "qr_payment_unconfirmed",
        "QR payment not confirmed by the provider",
        "扫码收款未经支付机构确认",
    ),
];

/// Whether a sign-off's evidence carries a valid signature by the key its
/// device registered at enrolment (`doorstep_core::device_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceSignatureStatus {
    /// Signed by the device's registered key.
    Verified,
    /// The phone was enrolled without a key (enrolment version 1): its
    /// facts are accepted, its sign-offs carry no device signature.
    Unsigned,
    /// The device registered a key but the evidence is not signed.
    Missing,
    /// The signature does not verify against the registered key.
    Invalid,
}

/// Checks a sign-off's device signature against the key its device
/// registered (`None` for a version-1 enrolment): the status, and a finding
/// for a missing or wrong signature.
pub fn device_signature_check(
    evidence: &SignOffEvidence,
    registered_key: Option<&str>,
) -> (DeviceSignatureStatus, Option<Finding>) {
    use doorstep_core::device_key::{parse_public_key, verify_evidence, DeviceSignatureProblem};
    let Some(key) = registered_key else {
        return (DeviceSignatureStatus::Unsigned, None);
    };
    let result = parse_public_key(key)
        .map_err(|_| DeviceSignatureProblem::Wrong)
        .and_then(|k| verify_evidence(&k, evidence));
    match result {
        Ok(()) => (DeviceSignatureStatus::Verified, None),
        Err(DeviceSignatureProblem::Missing) => (
            DeviceSignatureStatus::Missing,
            Some(finding(
                "device_signature_missing",
                format!(
                    "device {} registered a key but its sign-off carries no signature",
                    evidence.device_id
                ),
            )),
        ),
        Err(problem) => (
            DeviceSignatureStatus::Invalid,
            Some(finding(
                "device_signature_invalid",
                format!("device {}: {problem}", evidence.device_id),
            )),
        ),
    }
}

/// A finding's label; an unknown code is shown as itself.
pub fn finding_label(code: &str) -> Text {
    FINDING_LABELS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(|| Text::new(code, code), |(_, en, zh)| Text::new(*en, *zh))
}

/// An arrival sooner than this share of the declared travel time after the
/// departure is not plausible.
const PLAUSIBLE_TRAVEL_SHARE: f64 = 0.5;

/// Device clocks drift: an event up to this long before the request was
/// received is not flagged.
const CLOCK_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// Outcomes where the customer was served and so must have signed or declined.
fn served(outcome: Option<Outcome>) -> bool {
    matches!(
        outcome,
        Some(Outcome::Fixed | Outcome::Completed | Outcome::TakenBack | Outcome::QuoteRefused)
    )
}

/// 003: the money collected is the accepted quote's total — counted over
/// every payment of the visit (a reopened report collects only the
/// difference), not the latest one.
fn money_findings(state: &VisitState) -> Vec<Finding> {
    let paid = state.paid_total;
    let owed_and_unpaid =
        |total: i64| paid == 0 && total > 0 && served(state.outcome) && !state.payment_refused;
    match state.accepted_quote() {
        Some(q) if owed_and_unpaid(q.customer_total) => vec![finding(
            "unpaid",
            format!(
                "the accepted quote's total {} was not collected",
                q.customer_total
            ),
        )],
        Some(q) if paid != 0 && paid != q.customer_total => vec![finding(
            "amount_mismatch",
            format!(
                "collected {paid} in all but the accepted quote's total is {} (minor units)",
                q.customer_total
            ),
        )],
        None if paid != 0 => vec![finding(
            "payment_without_accepted_quote",
            format!("collected {paid} without an accepted quote"),
        )],
        _ => vec![],
    }
}

/// Is the visit plausible from its events: an arrival with a location near
/// the customer (`far_m`), no arrival sooner after the departure than the
/// declared travel allows, nothing recorded before the request was received.
pub fn plausibility_findings(
    state: &VisitState,
    events: &[VisitEvent],
    far_m: f64,
) -> Vec<Finding> {
    let mut out = vec![];
    let target = state.assignment.as_ref().and_then(|a| a.customer.location);
    let mut departure: Option<(chrono::DateTime<chrono::Utc>, u32)> = None;
    for e in events {
        match &e.kind {
            EventKind::Departed { travel_minutes, .. } => {
                departure = Some((e.recorded_at, *travel_minutes))
            }
            EventKind::Arrived {
                location,
                location_unavailable,
                ..
            } => {
                match (location.or(e.location), target) {
                    (None, _) => out.push(finding(
                        "arrival_without_location",
                        match location_unavailable {
                            Some(why) => format!(
                                "arrived at {} without a location ({})",
                                e.recorded_at,
                                wire_name(why)
                            ),
                            None => format!(
                                "arrived at {} without a location and without a reason",
                                e.recorded_at
                            ),
                        },
                    )),
                    (Some(fix), Some(target)) => {
                        let d = fix.point.distance_m(&target);
                        if d > far_m {
                            out.push(finding(
                                "arrival_far_from_customer",
                                format!("arrived {d:.0} m from the customer's location (limit {far_m:.0} m)"),
                            ));
                        }
                    }
                    (Some(_), None) => {}
                }
                if let Some((left, travel)) = departure.take() {
                    let took = (e.recorded_at - left).num_seconds();
                    let declared = i64::from(travel) * 60;
                    if (took as f64) < declared as f64 * PLAUSIBLE_TRAVEL_SHARE {
                        out.push(finding(
                            "impossible_travel",
                            format!(
                                "arrived {took} s after departing, but the declared travel was {travel} min"
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    let received = state.assignment.as_ref().and_then(|a| a.received_at);
    if let Some(received) = received {
        let earliest = events
            .iter()
            .filter(|e| (received - e.recorded_at).num_milliseconds() > CLOCK_TOLERANCE_MS)
            .min_by_key(|e| e.recorded_at);
        if let Some(e) = earliest {
            out.push(finding(
                "event_before_request",
                format!(
                    "{} was recorded at {}, before the request was received at {received}",
                    wire_name(&e.kind),
                    e.recorded_at
                ),
            ));
        }
    }
    out
}

/// 003: "satisfied" not signed by the customer is fraud; the center
/// reconciles daily. Checks one closed visit's state.
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
    out.extend(money_findings(state));
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

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconciledVisit {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    /// The technician's name, as the desk knows them (absent: not on the roster).
    #[serde(default)]
    pub technician_name: Option<String>,
    pub trade: String,
    pub outcome: Option<String>,
    /// The outcome's label in both languages, from the core.
    #[serde(default)]
    pub outcome_label: Option<Text>,
    pub signoff: SignOffStatus,
    /// The sign-off's device signature, when the visit has a sign-off.
    #[serde(default)]
    pub device_signature: Option<DeviceSignatureStatus>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reconciliation {
    pub date: NaiveDate,
    pub closed: usize,
    pub clean: usize,
    pub with_findings: usize,
    pub visits: Vec<ReconciledVisit>,
}

/// Every collected payment that names a QR order the provider did not
/// confirm — no such order, another provider, not paid, or another amount
/// than the payment's — is a `qr_payment_unconfirmed` finding.
pub async fn qr_payment_findings(tx: &mut dyn Tx, events: &[VisitEvent]) -> Fallible<Vec<Finding>> {
    let mut out = vec![];
    for e in events {
        let EventKind::PaymentCollected {
            amount,
            qr: Some(qr),
            ..
        } = &e.kind
        else {
            continue;
        };
        let order = qr_payments::by_out_trade_no(tx, &qr.out_trade_no).await?;
        let problem = match &order {
            None => Some("the server has no such order".to_string()),
            Some(o) if o.provider != qr.provider => {
                Some(format!("the order is a {} order", o.provider.code()))
            }
            Some(o) if o.state != QrPaymentState::Paid => Some(format!(
                "the provider has not confirmed it (the order is {})",
                qr_payments::state_code(o.state)
            )),
            Some(o) if o.amount != *amount => Some(format!(
                "the provider confirmed {} but the payment records {amount} (minor units)",
                o.amount
            )),
            Some(o) if o.visit_id != e.visit_id.to_string() => {
                Some("the order paid another visit".to_string())
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            out.push(finding(
                "qr_payment_unconfirmed",
                format!(
                    "{} order {}: {problem}",
                    qr.provider.code(),
                    qr.out_trade_no
                ),
            ));
        }
    }
    Ok(out)
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
    let names = technicians::names(tx).await?;
    for v in visits::closed_between(tx, from, to).await? {
        let vs: VisitState = serde_json::from_str(&v.state_json)
            .map_err(|_| Failure::internal("reading a visit"))?;
        let (events, _) = replay(tx, &v.visit_id).await?;
        let mut findings = reconcile(
            &vs,
            v.signoff,
            v.signoff_problem.as_deref(),
            v.chain_ok,
            far_m,
        );
        findings.extend(plausibility_findings(&vs, &events, far_m));
        findings.extend(qr_payment_findings(tx, &events).await?);
        let mut device_signature = None;
        if let Some(so) = &vs.sign_off {
            let key = devices::public_key(tx, so.evidence.device_id.as_str()).await?;
            let (status, finding) = device_signature_check(&so.evidence, key.as_deref());
            device_signature = Some(status);
            findings.extend(finding);
        }
        out.push(ReconciledVisit {
            device_signature,
            outcome_label: vs.outcome.map(Outcome::label),
            findings,
            visit_id: v.visit_id,
            assignment_id: v.assignment_id,
            technician_name: names.get(&v.technician_id).cloned(),
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
