//! After the visit: conflicts for a human decision, callbacks due (回访,
//! from core's schedule plus the monthly 10-20 % sample), daily
//! reconciliation of reports, and the KPIs of 001 (on-time arrival,
//! first-visit fix, satisfaction, callback completion, response within 24 h).

use crate::auth::Auth;
use crate::center::{load_assignment, store_assignment, upsert_change};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::projection::reproject_assignment;
use crate::store::{LockKey, Row, Tx};
use crate::{from_ms, now_ms, AppState};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::callbacks::monthly_sample as core_monthly_sample;
use doorstep_core::protocol::ChangeKind;
use doorstep_core::workflow::state::VisitState;
use doorstep_core::{Outcome, TechnicianId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json_};
use std::collections::BTreeMap;

// ---------------------------------------------------------------- visits, conflicts

/// A visit as the center sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitRow {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub device_id: String,
    pub trade: String,
    pub stage: String,
    pub outcome: Option<String>,
    pub trip: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub late: Option<bool>,
    pub closed_at: Option<DateTime<Utc>>,
    /// `verified`, `broken`, `declined` or `none`.
    pub signoff: String,
    pub signoff_problem: Option<String>,
    /// The sign-off evidence links to the device's previous record.
    pub chain_ok: bool,
    pub satisfied: Option<bool>,
    /// `cancelled_after_start` or `reassigned_after_start`.
    pub conflict: Option<String>,
    pub conflict_version: Option<i64>,
    /// The conflict waits for a dispatcher's decision.
    pub conflict_open: bool,
    pub resolution: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub event_count: i64,
}

const VISIT_COLUMNS: &str = "visit_id, assignment_id, technician_id, device_id, trade, stage, outcome, trip,
    started_at, arrived_at, late, closed_at, signoff, signoff_problem, chain_ok, satisfied, conflict,
    conflict_version, resolution, resolved_version, resolved_by, resolved_at, event_count";

fn visit_from_row(r: &Row) -> VisitRow {
    let conflict_version = r.opt_int(17);
    let resolved_version = r.opt_int(19);
    let conflict = r.opt_text(16);
    VisitRow {
        visit_id: r.text(0),
        assignment_id: r.text(1),
        technician_id: r.text(2),
        device_id: r.text(3),
        trade: r.text(4),
        stage: r.text(5),
        outcome: r.opt_text(6),
        trip: r.int(7),
        started_at: r.opt_int(8).map(from_ms),
        arrived_at: r.opt_int(9).map(from_ms),
        late: r.opt_int(10).map(|v| v != 0),
        closed_at: r.opt_int(11).map(from_ms),
        signoff: r.text(12),
        signoff_problem: r.opt_text(13),
        chain_ok: r.flag(14),
        satisfied: r.opt_int(15).map(|v| v != 0),
        conflict_open: conflict.is_some()
            && resolved_version.is_none_or(|r| Some(r) < conflict_version),
        conflict,
        conflict_version,
        resolution: r.opt_text(18),
        resolved_by: r.opt_text(20),
        resolved_at: r.opt_int(21).map(from_ms),
        event_count: r.int(22),
    }
}

#[derive(Deserialize)]
pub struct VisitQuery {
    pub assignment_id: Option<String>,
    pub limit: Option<i64>,
}

pub async fn list_visits(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<VisitQuery>,
) -> ApiResult<Json<Vec<VisitRow>>> {
    let technician = who.technician().map(str::to_string);
    let limit = q.limit.unwrap_or(500).clamp(1, 2000);
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {VISIT_COLUMNS} FROM visits
                     WHERE (CAST($1 AS TEXT) IS NULL OR technician_id = $1)
                       AND (CAST($2 AS TEXT) IS NULL OR assignment_id = $2)
                     ORDER BY updated_at DESC LIMIT $3"
                );
                tx.query(
                    &sql,
                    &[technician.into(), q.assignment_id.into(), limit.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(rows.iter().map(visit_from_row).collect()))
}

pub async fn get_visit(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Json_>> {
    let key = id.clone();
    let found = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let sql = format!("SELECT {VISIT_COLUMNS}, state FROM visits WHERE visit_id = $1");
                tx.query_opt(&sql, &[key.into()])
                    .await
                    .map_err(ApiError::from)
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("visit", &id))?;
    let row = visit_from_row(&found);
    if let Some(me) = who.technician() {
        if row.technician_id != me {
            return Err(ApiError::forbidden(format!(
                "visit {id} is not one of technician {me}'s visits"
            )));
        }
    }
    let state_json: Json_ = serde_json::from_str(&found.text(23)).unwrap_or(Json_::Null);
    Ok(Json(json!({ "visit": row, "state": state_json })))
}

pub async fn conflicts(
    State(state): State<AppState>,
    Auth(who): Auth,
) -> ApiResult<Json<Vec<VisitRow>>> {
    who.dispatcher()?;
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let sql = format!(
                    "SELECT {VISIT_COLUMNS} FROM visits WHERE conflict IS NOT NULL
                       AND (resolved_version IS NULL OR resolved_version < conflict_version)
                     ORDER BY updated_at"
                );
                tx.query(&sql, &[]).await.map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(rows.iter().map(visit_from_row).collect()))
}

/// A dispatcher's decision on a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The center's cancel or reassign stands; the visit's facts stay on record.
    KeepCenter,
    /// The technician who started keeps the assignment (un-cancel or give it back).
    ReinstateTechnician,
}

#[derive(Debug, Deserialize)]
pub struct ResolveRequest {
    pub decision: Decision,
    #[serde(default)]
    pub note: Option<String>,
}

async fn resolve_tx(
    tx: &mut dyn Tx,
    app: &AppState,
    visit_id: &str,
    req: &ResolveRequest,
    actor: &str,
) -> ApiResult<VisitRow> {
    tx.lock(LockKey::Assignments).await?;
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE visit_id = $1");
    let row = tx
        .query_opt(&sql, &[visit_id.into()])
        .await?
        .map(|r| visit_from_row(&r))
        .ok_or_else(|| ApiError::not_found("visit", visit_id))?;
    if !row.conflict_open {
        return Err(ApiError::conflict(
            "no_conflict",
            format!("visit {visit_id} has no open conflict to resolve"),
        ));
    }
    if req.decision == Decision::ReinstateTechnician {
        let mut v = load_assignment(tx, &row.assignment_id)
            .await?
            .ok_or_else(|| ApiError::not_found("assignment", &row.assignment_id))?;
        let tech = TechnicianId::new(row.technician_id.clone())
            .map_err(|_| ApiError::internal("reading the visit's technician"))?;
        let previous = v.assignment.technician.clone();
        v.assignment.version += 1;
        v.assignment.technician = Some(tech.clone());
        v.status = "assigned".into();
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
    }
    let decision = crate::wire_name(&req.decision);
    let resolution = match &req.note {
        Some(n) if !n.trim().is_empty() => format!("{decision}: {n}"),
        _ => decision,
    };
    tx.execute(
        "UPDATE visits SET resolution = $1, resolved_version = $2, resolved_by = $3, resolved_at = $4 WHERE visit_id = $5",
        &[
            resolution.into(),
            row.conflict_version.into(),
            actor.into(),
            now_ms().into(),
            visit_id.into(),
        ],
    )
    .await?;
    reproject_assignment(tx, app, &row.assignment_id).await?;
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE visit_id = $1");
    let r = tx
        .query_opt(&sql, &[visit_id.into()])
        .await?
        .ok_or_else(|| ApiError::not_found("visit", visit_id))?;
    Ok(visit_from_row(&r))
}

pub async fn resolve_conflict(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> ApiResult<Json<VisitRow>> {
    let actor = who.actor();
    who.dispatcher()?;
    let st = state.clone();
    let v = state
        .db
        .tx(move |tx| Box::pin(async move { resolve_tx(tx, &st, &id, &req, &actor).await }))
        .await?;
    Ok(Json(v))
}

// ---------------------------------------------------------------- callbacks

#[derive(Deserialize)]
pub struct CallbackQuery {
    /// List callbacks due up to this time (default: now).
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CallbackView {
    pub visit_id: String,
    pub reason: String,
    pub due_at: DateTime<Utc>,
    pub assignment_id: String,
    pub technician_id: String,
    pub trade: String,
    /// Who to call (the dispatcher needs it; never logged).
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
}

pub async fn callbacks_due(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Json<Vec<CallbackView>>> {
    who.dispatcher()?;
    let until = q.until.map_or_else(now_ms, |t| t.timestamp_millis());
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT c.visit_id, c.reason, c.due_at, v.assignment_id, v.technician_id, v.trade, a.body
                     FROM callbacks c JOIN visits v ON v.visit_id = c.visit_id
                     JOIN assignments a ON a.id = v.assignment_id
                     WHERE c.done_at IS NULL AND c.due_at <= $1 ORDER BY c.due_at, c.visit_id",
                    &[until.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| {
                let a: Option<doorstep_core::Assignment> = serde_json::from_str(&r.text(6)).ok();
                CallbackView {
                    visit_id: r.text(0),
                    reason: r.text(1),
                    due_at: from_ms(r.int(2)),
                    assignment_id: r.text(3),
                    technician_id: r.text(4),
                    trade: r.text(5),
                    customer_name: a.as_ref().and_then(|a| a.customer.name.clone()),
                    customer_phone: a.and_then(|a| a.customer.phone),
                }
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct CallbackResult {
    pub visit_id: String,
    pub reason: String,
    /// The customer was reached.
    pub reached: bool,
    #[serde(default)]
    pub satisfied: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
}

pub async fn record_callback(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<CallbackResult>,
) -> ApiResult<Json<Json_>> {
    let actor = who.actor();
    who.dispatcher()?;
    if !req.reached && req.satisfied.is_some() {
        return Err(ApiError::field(
            "satisfied",
            "only a customer who was reached can say whether they are satisfied",
        ));
    }
    let (visit, reason) = (req.visit_id.clone(), req.reason.clone());
    state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let existing = tx
                    .query_opt(
                        "SELECT done_at FROM callbacks WHERE visit_id = $1 AND reason = $2",
                        &[visit.clone().into(), reason.clone().into()],
                    )
                    .await?;
                match existing {
                    None => {
                        return Err(ApiError::not_found(
                            "callback",
                            &format!("{visit}/{reason}"),
                        ))
                    }
                    Some(r) if r.opt_int(0).is_some() => {
                        return Err(ApiError::conflict(
                            "already_recorded",
                            format!("the {reason} callback of visit {visit} is already recorded"),
                        ))
                    }
                    Some(_) => {}
                }
                tx.execute(
                    "UPDATE callbacks SET done_at = $1, done_by = $2, reached = $3, satisfied = $4, note = $5
                     WHERE visit_id = $6 AND reason = $7",
                    &[
                        now_ms().into(),
                        actor.into(),
                        req.reached.into(),
                        req.satisfied.into(),
                        req.note.into(),
                        visit.into(),
                        reason.into(),
                    ],
                )
                .await?;
                Ok::<_, ApiError>(())
            })
        })
        .await?;
    Ok(Json(json!({ "recorded": true })))
}

#[derive(Debug, Deserialize)]
pub struct SampleRequest {
    /// `YYYY-MM`.
    pub month: String,
    /// Percent of served customers; clamped to each trade's 10-20 %.
    #[serde(default = "default_percent")]
    pub percent: u8,
}

fn default_percent() -> u8 {
    15
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

async fn sample_secret(tx: &mut dyn Tx) -> ApiResult<String> {
    if let Some(r) = tx
        .query_opt(
            "SELECT value FROM settings WHERE key = 'sample_secret'",
            &[],
        )
        .await?
    {
        return Ok(r.text(0));
    }
    let secret = crate::auth::new_token("k");
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('sample_secret', $1) ON CONFLICT (key) DO NOTHING",
        &[secret.clone().into()],
    )
    .await?;
    Ok(secret)
}

/// 004: each month a random 10-20 % of served customers get a callback.
/// Reproducible from the month and the server's secret; idempotent.
pub async fn monthly_sample(
    State(state): State<AppState>,
    Auth(who): Auth,
    ApiJson(req): ApiJson<SampleRequest>,
) -> ApiResult<Json<Json_>> {
    who.dispatcher()?;
    let start = NaiveDate::parse_from_str(&format!("{}-01", req.month), "%Y-%m-%d")
        .map_err(|_| ApiError::field("month", "expected YYYY-MM, e.g. 2026-11"))?;
    let end = start
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| ApiError::field("month", "out of range"))?;
    let (from, to) = (day_ms(start), day_ms(end));
    let st = state.clone();
    let result = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                let secret = sample_secret(tx).await?;
                let seed = format!("{}:{secret}", req.month);
                let rows = tx
                    .query(
                        "SELECT v.visit_id, v.trade, a.body FROM visits v JOIN assignments a ON a.id = v.assignment_id
                         WHERE v.closed_at >= $1 AND v.closed_at < $2 AND v.arrived_at IS NOT NULL
                         ORDER BY v.closed_at",
                        &[from.into(), to.into()],
                    )
                    .await?;
                // trade → customer key → latest visit
                let mut served: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
                for r in &rows {
                    if let Ok(a) = serde_json::from_str::<doorstep_core::Assignment>(&r.text(2)) {
                        served.entry(r.text(1)).or_default().insert(customer_key(&a), r.text(0));
                    }
                }
                let (mut customers, mut sampled, mut created) = (0usize, 0usize, 0u64);
                let now = now_ms();
                for (trade, by_customer) in &served {
                    let Some(pb) = st.playbook(trade) else { continue };
                    let keys: Vec<String> = by_customer.keys().cloned().collect();
                    customers += keys.len();
                    for key in core_monthly_sample(&keys, &seed, req.percent, pb) {
                        sampled += 1;
                        created += tx
                            .execute(
                                "INSERT INTO callbacks (visit_id, reason, due_at) VALUES ($1, 'monthly_sample', $2)
                                 ON CONFLICT (visit_id, reason) DO NOTHING",
                                &[by_customer[&key].clone().into(), now.into()],
                            )
                            .await?;
                    }
                }
                Ok::<_, ApiError>(json!({
                    "month": req.month, "served_customers": customers,
                    "sampled": sampled, "callbacks_created": created,
                }))
            })
        })
        .await?;
    Ok(Json(result))
}

fn day_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

// ---------------------------------------------------------------- reconciliation

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
    signoff: &str,
    signoff_problem: Option<&str>,
    chain_ok: bool,
    far_m: f64,
) -> Vec<Finding> {
    let mut out = vec![];
    if served(state.outcome) {
        match signoff {
            "verified" | "declined" => {}
            "broken" => out.push(finding(
                "signoff_broken",
                format!(
                    "the signed report does not verify: {}",
                    signoff_problem.unwrap_or("unknown problem")
                ),
            )),
            _ => out.push(finding(
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

#[derive(Deserialize)]
pub struct DayQuery {
    /// `YYYY-MM-DD` (UTC; default today).
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReconciledVisit {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub trade: String,
    pub outcome: Option<String>,
    pub signoff: String,
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

pub async fn reconciliation(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<DayQuery>,
) -> ApiResult<Json<Reconciliation>> {
    who.dispatcher()?;
    let date = q.date.unwrap_or_else(|| Utc::now().date_naive());
    let (from, to) = (day_ms(date), day_ms(date) + 86_400_000);
    let far = state.config.signoff_far_m;
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT visit_id, assignment_id, technician_id, trade, outcome, signoff, signoff_problem, chain_ok, state
                     FROM visits WHERE closed_at >= $1 AND closed_at < $2 ORDER BY closed_at, visit_id",
                    &[from.into(), to.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    let mut visits = vec![];
    for r in &rows {
        let vs: VisitState =
            serde_json::from_str(&r.text(8)).map_err(|_| ApiError::internal("reading a visit"))?;
        visits.push(ReconciledVisit {
            visit_id: r.text(0),
            assignment_id: r.text(1),
            technician_id: r.text(2),
            trade: r.text(3),
            outcome: r.opt_text(4),
            signoff: r.text(5),
            findings: reconcile(&vs, &r.text(5), r.opt_text(6).as_deref(), r.flag(7), far),
        });
    }
    let with_findings = visits.iter().filter(|v| !v.findings.is_empty()).count();
    Ok(Json(Reconciliation {
        date,
        closed: visits.len(),
        clean: visits.len() - with_findings,
        with_findings,
        visits,
    }))
}

// ---------------------------------------------------------------- KPIs

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
    pub signoff: String,
    pub satisfied: Option<bool>,
    pub received_at: i64,
    pub callbacks_due: u64,
    pub callbacks_done: u64,
}

/// Aggregates KPIs by `by` (`day`, `technician` or `trade`).
pub fn aggregate(inputs: &[KpiInput], by: &str) -> Vec<Kpis> {
    let mut groups: BTreeMap<String, Kpis> = BTreeMap::new();
    for i in inputs {
        let key = match by {
            "technician" => i.technician.clone(),
            "trade" => i.trade.clone(),
            _ => i.day.to_string(),
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
        if i.signoff == "verified" {
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

#[derive(Deserialize)]
pub struct KpiQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// `day` (default), `technician` or `trade`.
    pub by: Option<String>,
}

pub async fn kpis(
    State(state): State<AppState>,
    Auth(who): Auth,
    Query(q): Query<KpiQuery>,
) -> ApiResult<Json<Json_>> {
    who.dispatcher()?;
    let by = q.by.unwrap_or_else(|| "day".into());
    if !matches!(by.as_str(), "day" | "technician" | "trade") {
        return Err(ApiError::field("by", "expected day, technician or trade"));
    }
    let to = q.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = q.from.unwrap_or(to - Duration::days(6));
    if from > to {
        return Err(ApiError::field("from", "must not be after `to`"));
    }
    let (start, end, now) = (day_ms(from), day_ms(to) + 86_400_000, now_ms());
    let rows = state
        .db
        .tx(move |tx| {
            Box::pin(async move {
                tx.query(
                    "SELECT v.technician_id, v.trade, v.outcome, v.trip, v.arrived_at, v.late, v.closed_at,
                        v.signoff, v.satisfied, a.received_at,
                        (SELECT COUNT(*) FROM callbacks c WHERE c.visit_id = v.visit_id AND c.due_at <= $3),
                        (SELECT COUNT(*) FROM callbacks c WHERE c.visit_id = v.visit_id AND c.due_at <= $3 AND c.done_at IS NOT NULL)
                     FROM visits v JOIN assignments a ON a.id = v.assignment_id
                     WHERE v.closed_at >= $1 AND v.closed_at < $2",
                    &[start.into(), end.into(), now.into()],
                )
                .await
                .map_err(ApiError::from)
            })
        })
        .await?;
    let inputs: Vec<KpiInput> = rows
        .iter()
        .map(|r| KpiInput {
            day: from_ms(r.int(6)).date_naive(),
            technician: r.text(0),
            trade: r.text(1),
            outcome: r.opt_text(2),
            trip: r.int(3),
            arrived_at: r.opt_int(4),
            late: r.opt_int(5).map(|v| v != 0),
            closed_at: r.int(6),
            signoff: r.text(7),
            satisfied: r.opt_int(8).map(|v| v != 0),
            received_at: r.int(9),
            callbacks_due: r.int(10) as u64,
            callbacks_done: r.int(11) as u64,
        })
        .collect();
    Ok(Json(json!({
        "from": from, "to": to, "by": by,
        "groups": aggregate(&inputs, &by),
    })))
}
