//! The `visits` table: each visit's projection (rebuilt from its events),
//! its conflict and the dispatcher's resolution.

use super::sql::{Filters, Row, Tx, Value};
use crate::failure::{Failure, Fallible};
use crate::model::{SignOffStatus, VisitRow};
use crate::time::from_ms;
use doorstep_core::signoff::SignOffProblem;

const COLUMNS: &str = "visit_id, assignment_id, technician_id, device_id, trade, stage, outcome, trip,
    started_at, arrived_at, late, closed_at, signoff, signoff_problem, chain_ok, satisfied, conflict,
    conflict_version, resolution, resolved_version, resolved_by, resolved_at, event_count";

fn visit_from_row(r: &Row) -> Fallible<VisitRow> {
    let conflict_version = r.opt_int("conflict_version");
    let resolved_version = r.opt_int("resolved_version");
    let conflict = r.opt_text("conflict");
    let problem = r
        .opt_text("signoff_problem")
        .map(|p| SignOffProblem::text_of_stored(&p));
    Ok(VisitRow {
        visit_id: r.text("visit_id"),
        assignment_id: r.text("assignment_id"),
        technician_id: r.text("technician_id"),
        device_id: r.text("device_id"),
        trade: r.text("trade"),
        stage: r.text("stage"),
        outcome: r.opt_text("outcome"),
        trip: r.int("trip"),
        started_at: r.opt_int("started_at").map(from_ms),
        arrived_at: r.opt_int("arrived_at").map(from_ms),
        late: r.opt_flag("late"),
        closed_at: r.opt_int("closed_at").map(from_ms),
        signoff: r
            .text("signoff")
            .parse()
            .map_err(|e| Failure::corrupt("reading a visit", e))?,
        signoff_problem: problem.as_ref().map(|t| t.en.clone()),
        signoff_problem_text: problem,
        chain_ok: r.flag("chain_ok"),
        satisfied: r.opt_flag("satisfied"),
        conflict_open: conflict.is_some()
            && resolved_version.is_none_or(|r| Some(r) < conflict_version),
        conflict,
        conflict_version,
        resolution: r.opt_text("resolution"),
        resolved_by: r.opt_text("resolved_by"),
        resolved_at: r.opt_int("resolved_at").map(from_ms),
        event_count: r.int("event_count"),
    })
}

/// Visits most recently updated first, optionally of one technician or assignment.
pub async fn list_visits(
    tx: &mut dyn Tx,
    technician: Option<String>,
    assignment: Option<String>,
    limit: i64,
) -> Fallible<Vec<VisitRow>> {
    let (sql, params) = list_query(technician, assignment, limit);
    tx.query(&sql, &params)
        .await?
        .iter()
        .map(visit_from_row)
        .collect()
}

/// [`list_visits`]'s query: an order's visits are searched through
/// `visits_assignment` (an order's history reads them for each earlier
/// order of its customer).
pub fn list_query(
    technician: Option<String>,
    assignment: Option<String>,
    limit: i64,
) -> (String, Vec<Value>) {
    Filters::default()
        .equal("technician_id", technician)
        .equal("assignment_id", assignment)
        .query(
            &format!("SELECT {COLUMNS} FROM visits"),
            "ORDER BY updated_at DESC",
            limit,
        )
}

/// How many orders one query of [`of_assignments`] names.
const ASSIGNMENTS_PER_QUERY: usize = 500;

/// The visits of these orders (a day's board), through `visits_assignment`.
pub async fn of_assignments(tx: &mut dyn Tx, ids: &[String]) -> Fallible<Vec<VisitRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(ASSIGNMENTS_PER_QUERY) {
        let (sql, params) = of_assignments_query(chunk);
        for r in tx.query(&sql, &params).await? {
            out.push(visit_from_row(&r)?);
        }
    }
    Ok(out)
}

/// [`of_assignments`]'s query for one chunk of ids.
pub fn of_assignments_query(ids: &[String]) -> (String, Vec<Value>) {
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    (
        format!(
            "SELECT {COLUMNS} FROM visits WHERE assignment_id IN ({})",
            marks.join(", ")
        ),
        ids.iter().map(Value::from).collect(),
    )
}

/// One visit.
pub async fn load_visit(tx: &mut dyn Tx, visit: &str) -> Fallible<Option<VisitRow>> {
    let sql = format!("SELECT {COLUMNS} FROM visits WHERE visit_id = $1");
    tx.query_opt(&sql, &[visit.into()])
        .await?
        .map(|r| visit_from_row(&r))
        .transpose()
}

/// One visit and its stored state document (JSON text).
pub async fn load_visit_with_state(
    tx: &mut dyn Tx,
    visit: &str,
) -> Fallible<Option<(VisitRow, String)>> {
    let sql = format!("SELECT {COLUMNS}, state FROM visits WHERE visit_id = $1");
    match tx.query_opt(&sql, &[visit.into()]).await? {
        Some(r) => Ok(Some((visit_from_row(&r)?, r.text("state")))),
        None => Ok(None),
    }
}

/// Visits whose conflict waits for a dispatcher, oldest update first.
pub async fn open_conflicts(tx: &mut dyn Tx) -> Fallible<Vec<VisitRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM visits WHERE conflict IS NOT NULL
           AND (resolved_version IS NULL OR resolved_version < conflict_version)
         ORDER BY updated_at"
    );
    tx.query(&sql, &[])
        .await?
        .iter()
        .map(visit_from_row)
        .collect()
}

/// Records a dispatcher's resolution of the conflict at `version`.
pub async fn record_resolution(
    tx: &mut dyn Tx,
    visit: &str,
    resolution: &str,
    version: Option<i64>,
    actor: &str,
    now: i64,
) -> Fallible<()> {
    tx.execute(
        "UPDATE visits SET resolution = $1, resolved_version = $2, resolved_by = $3, resolved_at = $4 WHERE visit_id = $5",
        &[resolution.into(), version.into(), actor.into(), now.into(), visit.into()],
    )
    .await?;
    Ok(())
}

/// The ids of an assignment's visits.
pub async fn visit_ids_of_assignment(tx: &mut dyn Tx, assignment: &str) -> Fallible<Vec<String>> {
    Ok(tx
        .query(
            "SELECT visit_id FROM visits WHERE assignment_id = $1",
            &[assignment.into()],
        )
        .await?
        .iter()
        .map(|r| r.text("visit_id"))
        .collect())
}

/// A visit's projection as written.
pub struct Projection<'a> {
    pub visit_id: &'a str,
    pub assignment_id: &'a str,
    pub technician: &'a str,
    pub device: &'a str,
    pub trade: &'a str,
    pub stage: String,
    pub outcome: Option<String>,
    pub trip: u32,
    pub started_at: Option<i64>,
    pub arrived_at: Option<i64>,
    pub late: Option<bool>,
    pub closed_at: Option<i64>,
    pub signoff: SignOffStatus,
    /// As stored: [`SignOffProblem::to_stored`].
    pub signoff_problem: Option<String>,
    /// This push's sign-off chain check; `None` keeps the stored one.
    pub chain_ok: Option<bool>,
    pub satisfied: Option<bool>,
    pub conflict: Option<String>,
    pub conflict_version: Option<u64>,
    pub state_json: String,
    pub event_count: u64,
    pub updated_at: i64,
}

/// Inserts or replaces a visit's projection (the resolution stays).
pub async fn upsert_projection(tx: &mut dyn Tx, p: Projection<'_>) -> Fallible<()> {
    let params: Vec<Value> = vec![
        p.visit_id.into(),
        p.assignment_id.into(),
        p.technician.into(),
        p.device.into(),
        p.trade.into(),
        p.stage.into(),
        p.outcome.into(),
        p.trip.into(),
        p.started_at.into(),
        p.arrived_at.into(),
        p.late.into(),
        p.closed_at.into(),
        p.signoff.as_str().into(),
        p.signoff_problem.into(),
        p.chain_ok.unwrap_or(true).into(),
        p.satisfied.into(),
        p.conflict.into(),
        p.conflict_version.into(),
        p.state_json.into(),
        p.event_count.into(),
        p.updated_at.into(),
        p.chain_ok.is_some().into(),
    ];
    tx.execute(
        "INSERT INTO visits (visit_id, assignment_id, technician_id, device_id, trade, stage, outcome, trip,
            started_at, arrived_at, late, closed_at, signoff, signoff_problem, chain_ok, satisfied,
            conflict, conflict_version, state, event_count, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (visit_id) DO UPDATE SET stage = excluded.stage, outcome = excluded.outcome,
            trip = excluded.trip, started_at = excluded.started_at, arrived_at = excluded.arrived_at,
            late = excluded.late, closed_at = excluded.closed_at, signoff = excluded.signoff,
            signoff_problem = excluded.signoff_problem,
            chain_ok = CASE WHEN $22 = 1 THEN excluded.chain_ok ELSE visits.chain_ok END,
            satisfied = excluded.satisfied, conflict = excluded.conflict,
            conflict_version = excluded.conflict_version, state = excluded.state,
            event_count = excluded.event_count, updated_at = excluded.updated_at",
        &params,
    )
    .await?;
    if p.closed_at.is_some() {
        // Only a closed visit moves when its order finished.
        super::personal_data::refresh_finished_at(tx, p.assignment_id).await?;
    }
    Ok(())
}

/// A visit closed in a day, for reconciliation.
pub struct ClosedVisit {
    pub visit_id: String,
    pub assignment_id: String,
    pub technician_id: String,
    pub trade: String,
    pub outcome: Option<String>,
    pub signoff: SignOffStatus,
    /// Why a broken sign-off does not verify, in English.
    pub signoff_problem: Option<String>,
    pub chain_ok: bool,
    pub state_json: String,
}

/// Visits closed in `[from, to)`, in closing order.
pub async fn closed_between(tx: &mut dyn Tx, from: i64, to: i64) -> Fallible<Vec<ClosedVisit>> {
    let rows = tx
        .query(
            "SELECT visit_id, assignment_id, technician_id, trade, outcome, signoff, signoff_problem, chain_ok, state
             FROM visits WHERE closed_at >= $1 AND closed_at < $2 ORDER BY closed_at, visit_id",
            &[from.into(), to.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ClosedVisit {
                visit_id: r.text("visit_id"),
                assignment_id: r.text("assignment_id"),
                technician_id: r.text("technician_id"),
                trade: r.text("trade"),
                outcome: r.opt_text("outcome"),
                signoff: r
                    .text("signoff")
                    .parse()
                    .map_err(|e| Failure::corrupt("reading a visit", e))?,
                signoff_problem: r
                    .opt_text("signoff_problem")
                    .map(|p| SignOffProblem::text_of_stored(&p).en),
                chain_ok: r.flag("chain_ok"),
                state_json: r.text("state"),
            })
        })
        .collect()
}

/// One closed visit's measurements for the KPIs.
pub struct KpiRow {
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

/// Visits closed in `[from, to)` with their assignment's receive time and
/// their callbacks due (and done) by `now`.
pub async fn kpi_rows(tx: &mut dyn Tx, from: i64, to: i64, now: i64) -> Fallible<Vec<KpiRow>> {
    let rows = tx
        .query(
            "SELECT v.technician_id AS technician_id, v.trade AS trade, v.outcome AS outcome, v.trip AS trip,
                v.arrived_at AS arrived_at, v.late AS late, v.closed_at AS closed_at,
                v.signoff AS signoff, v.satisfied AS satisfied, a.received_at AS received_at,
                (SELECT COUNT(*) FROM callbacks c WHERE c.visit_id = v.visit_id AND c.due_at <= $3) AS callbacks_due,
                (SELECT COUNT(*) FROM callbacks c WHERE c.visit_id = v.visit_id AND c.due_at <= $3 AND c.done_at IS NOT NULL) AS callbacks_done
             FROM visits v JOIN assignments a ON a.id = v.assignment_id
             WHERE v.closed_at >= $1 AND v.closed_at < $2",
            &[from.into(), to.into(), now.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(KpiRow {
                technician: r.text("technician_id"),
                trade: r.text("trade"),
                outcome: r.opt_text("outcome"),
                trip: r.int("trip"),
                arrived_at: r.opt_int("arrived_at"),
                late: r.opt_flag("late"),
                closed_at: r.int("closed_at"),
                signoff: r
                    .text("signoff")
                    .parse()
                    .map_err(|e| Failure::corrupt("reading a visit", e))?,
                satisfied: r.opt_flag("satisfied"),
                received_at: r.int("received_at"),
                callbacks_due: r.int("callbacks_due") as u64,
                callbacks_done: r.int("callbacks_done") as u64,
            })
        })
        .collect()
}
