//! The visit projection: one row per visit with its current state (always
//! equal to a replay of its events) and the listing columns derived from it.
//!
//! The order is not copied into the row. The state is stored without its
//! assignment; a load takes the order from the visit's last "assignment
//! received" fact in the event log, then sets the version and technician
//! the center's later facts (a cancel, a reassign) moved it to, kept in the
//! row's `order_version` and `order_technician`. So the phone holds an order
//! once: in the fact that brought it (the `assignments` table keeps only
//! the orders sent to it without a visit, another technician's: id,
//! version, trade).
//!
//! A row written before schema v7 carries the whole state, order included,
//! with `order_version` NULL: it is read as it is, written lean at its next
//! write, and [`all_visits`] reports it as not lean so `Store::rebuild`
//! rewrites it.

use super::error::{Result, StoreError};
use super::{from_json, millis, parse_id, to_json, VisitRef};
use crate::assignment::Assignment;
use crate::ids::{TechnicianId, VisitId};
use crate::workflow::{Stage, VisitState};
use rusqlite::{params, Row, Statement, Transaction};
use serde::Deserialize;

/// A visit's projection row.
pub(crate) struct VisitRow {
    pub visit_id: VisitId,
    pub trade: String,
    pub state: VisitState,
}

/// The columns every read selects: the row, its listing columns, and for a
/// lean row the JSON of the visit's last receipt (the row names it,
/// `order_seq`: one row id lookup). A macro, so each query is one literal
/// (`concat!`).
macro_rules! select {
    () => {
        "SELECT v.visit_id, v.trade, v.state_json, v.order_version, v.order_technician,
            CASE WHEN v.order_version IS NULL THEN NULL ELSE
              (SELECT e.json FROM visit_events e WHERE e.seq = v.order_seq)
            END,
            v.stage, v.window_start, v.closed, v.closed_at, v.event_count
         FROM visits v"
    };
}

/// The order inside an "assignment received" fact (the rest of the fact is
/// not needed to rebuild the state).
#[derive(Deserialize)]
struct ReceivedOrder {
    assignment: Assignment,
}

/// One selected row: its id, trade, state (order in place) and whether it
/// was stored lean.
fn decode(r: &Row<'_>) -> Result<(VisitId, String, VisitState, bool)> {
    let id: String = r.get(0)?;
    let trade: String = r.get(1)?;
    let json: String = r.get(2)?;
    let order_version: Option<i64> = r.get(3)?;
    let order_technician: Option<String> = r.get(4)?;
    let receipt: Option<String> = r.get(5)?;
    let mut state: VisitState = from_json("visit state", &json)?;
    let lean = order_version.is_some();
    if let Some(version) = order_version {
        let invalid = |category| StoreError::StoredDataInvalid {
            what: "visit projection",
            category,
            line: 0,
            column: 0,
        };
        let receipt = receipt.ok_or(invalid("no assignment received in the visit's log"))?;
        let mut order = from_json::<ReceivedOrder>("visit event", &receipt)?.assignment;
        order.version = u64::try_from(version).map_err(|_| invalid("a negative order version"))?;
        order.technician = order_technician
            .map(|t| parse_id::<TechnicianId>("technician id", &t))
            .transpose()?;
        state.assignment = Some(order);
    }
    Ok((parse_id("visit id", &id)?, trade, state, lean))
}

pub(crate) fn load_visit(tx: &Transaction<'_>, target: &VisitRef) -> Result<Option<VisitRow>> {
    let (sql, key) = match target {
        VisitRef::Visit(id) => (concat!(select!(), " WHERE v.visit_id = ?1"), id.to_string()),
        VisitRef::Assignment(id) => (
            concat!(select!(), " WHERE v.assignment_id = ?1"),
            id.to_string(),
        ),
    };
    let mut stmt = tx.prepare_cached(sql)?;
    let mut rows = stmt.query([key])?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    let (visit_id, trade, state, _) = decode(r)?;
    Ok(Some(VisitRow {
        visit_id,
        trade,
        state,
    }))
}

/// The visits whose window starts in `[start, end)` (milliseconds), by
/// window start, with their orders.
pub(crate) fn visits_in_window(
    tx: &Transaction<'_>,
    start: i64,
    end: i64,
) -> Result<Vec<(VisitId, VisitState)>> {
    let mut stmt = tx.prepare_cached(concat!(
        select!(),
        " WHERE v.window_start >= ?1 AND v.window_start < ?2 ORDER BY v.window_start, v.visit_id"
    ))?;
    let mut rows = stmt.query([start, end])?;
    let mut out = vec![];
    while let Some(r) = rows.next()? {
        let (id, _, state, _) = decode(r)?;
        out.push((id, state));
    }
    Ok(out)
}

/// A projection row as stored, for the checks of `Store::verify_projections`
/// and `Store::rebuild`.
pub(crate) struct StoredVisit {
    pub visit_id: VisitId,
    pub state: VisitState,
    /// The listing columns agree with the state.
    pub consistent: bool,
    /// Written without a copy of the order (schema v7 on).
    pub lean: bool,
}

/// Every projection row, by visit id.
pub(crate) fn all_visits(tx: &Transaction<'_>) -> Result<Vec<StoredVisit>> {
    let mut stmt = tx.prepare(concat!(select!(), " ORDER BY v.visit_id"))?;
    let mut rows = stmt.query([])?;
    let mut out = vec![];
    while let Some(r) = rows.next()? {
        let stored_columns = Columns {
            stage: r.get(6)?,
            window_start: r.get(7)?,
            closed: r.get(8)?,
            closed_at: r.get(9)?,
            event_count: r.get(10)?,
        };
        let (visit_id, _, state, lean) = decode(r)?;
        out.push(StoredVisit {
            visit_id,
            consistent: columns(&state) == stored_columns,
            state,
            lean,
        });
    }
    Ok(out)
}

/// The listing columns of a projection row, derived from its state.
#[derive(Debug, PartialEq, Eq)]
struct Columns {
    stage: String,
    window_start: Option<i64>,
    closed: bool,
    closed_at: Option<i64>,
    event_count: i64,
}

fn columns(state: &VisitState) -> Columns {
    Columns {
        stage: crate::wire::wire_name(&state.stage),
        window_start: state.window.map(|w| millis(w.start)),
        closed: state.stage == Stage::Closed,
        closed_at: state.closed_at.map(millis),
        event_count: state.event_count as i64,
    }
}

/// A projection row ready to store: the state's JSON without its order,
/// and the columns beside it. Made apart from the transaction
/// (`super::visit_writes` makes a page's rows on a second thread).
pub(crate) struct VisitRowText {
    visit_id: String,
    assignment_id: String,
    trade: String,
    order_version: i64,
    order_technician: Option<String>,
    columns: Columns,
    state_json: String,
}

/// The row of a visit whose state `lean` had its order `order` taken out.
pub(crate) fn lean_row(
    visit_id: VisitId,
    lean: &VisitState,
    order: &Assignment,
) -> Result<VisitRowText> {
    debug_assert!(lean.assignment.is_none(), "a lean state has no order");
    Ok(VisitRowText {
        visit_id: visit_id.to_string(),
        assignment_id: order.id.as_str().to_string(),
        trade: order.trade.as_str().to_string(),
        order_version: order.version as i64,
        order_technician: order.technician.as_ref().map(|t| t.as_str().to_string()),
        columns: columns(lean),
        state_json: to_json("visit state", lean)?,
    })
}

/// The statement [`store_row_with`] runs.
pub(crate) const STORE_ROW: &str =
    "INSERT INTO visits (visit_id, assignment_id, trade, stage, window_start, closed, closed_at,
                         event_count, state_json, order_version, order_technician, order_seq)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
     ON CONFLICT(visit_id) DO UPDATE SET
       assignment_id = excluded.assignment_id, trade = excluded.trade, stage = excluded.stage,
       window_start = excluded.window_start, closed = excluded.closed, closed_at = excluded.closed_at,
       event_count = excluded.event_count, state_json = excluded.state_json,
       order_version = excluded.order_version, order_technician = excluded.order_technician,
       order_seq = coalesce(excluded.order_seq, visits.order_seq)";

/// Stores a projection row (insert or replace) with `statement`, a
/// prepared [`STORE_ROW`]. `order_seq`: the seq of the visit's last
/// "assignment received" fact, when this write recorded one; `None` keeps
/// the row's.
pub(crate) fn store_row_with(
    statement: &mut Statement<'_>,
    row: &VisitRowText,
    order_seq: Option<i64>,
) -> Result<()> {
    let c = &row.columns;
    statement.execute(params![
        row.visit_id,
        row.assignment_id,
        row.trade,
        c.stage,
        c.window_start,
        c.closed,
        c.closed_at,
        c.event_count,
        row.state_json,
        row.order_version,
        row.order_technician,
        order_seq,
    ])?;
    Ok(())
}

/// Writes a visit's projection (insert or replace), without its order
/// (`state` is given back as it came).
pub(crate) fn save_visit(
    tx: &Transaction<'_>,
    visit_id: VisitId,
    state: &mut VisitState,
) -> Result<()> {
    let order = state
        .assignment
        .take()
        .ok_or(StoreError::Workflow(crate::WorkflowError::VisitNotStarted))?;
    let row = lean_row(visit_id, state, &order);
    state.assignment = Some(order);
    // Written from the log (a rebuild, a purge): its last receipt, read
    // through the visit's facts.
    let order_seq: Option<i64> = tx
        .prepare_cached(
            "SELECT max(seq) FROM visit_events WHERE visit_id = ?1 AND kind = 'assignment_received'",
        )?
        .query_row([visit_id.to_string()], |r| r.get(0))?;
    store_row_with(&mut *tx.prepare_cached(STORE_ROW)?, &row?, order_seq)
}
