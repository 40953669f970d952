//! The `assignments`, `assignment_holders` and `assignment_changes` tables:
//! the center's assignments, every technician each was ever given to, and
//! the change log whose sequence is the devices' download cursor (each
//! assignment's look-up row is written beside it, [`super::order_lookup`],
//! and the search, a phone's orders and a day's orders read through it).

use super::order_lookup::{self, SearchPart};
use super::order_search_pieces;
use super::sql::{Filters, Row, Tx, Value};
use crate::failure::{Failure, Fallible};
use crate::model::{AssignmentStatus, AssignmentView, ChangeLogKind};
use crate::time::{from_ms, now_ms};
use doorstep_core::protocol::{sent_change, ChangeKind, SentChange};
use doorstep_core::Assignment;

const COLUMNS: &str =
    "body, status, priority, classification, window_confirmed, cancel_reason, updated_at";

/// [`COLUMNS`] of the table `alias` names in a join, under their own names
/// (read back by [`assignment_from_row`]).
pub fn columns_of(alias: &str) -> String {
    COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An assignment as the center holds it, from a row of [`COLUMNS`].
pub fn assignment_from_row(r: &Row) -> Fallible<AssignmentView> {
    let assignment: Assignment = serde_json::from_str(&r.text("body"))
        .map_err(|e| Failure::corrupt("reading an assignment", e))?;
    let parse_err = |e| Failure::corrupt("reading an assignment", e);
    Ok(AssignmentView {
        assignment,
        status: r.text("status").parse().map_err(parse_err)?,
        priority: r.text("priority").parse().map_err(parse_err)?,
        classification: r.text("classification").parse().map_err(parse_err)?,
        window_confirmed: r.flag("window_confirmed"),
        cancel_reason: r.opt_text("cancel_reason"),
        updated_at: from_ms(r.int("updated_at")),
    })
}

/// One assignment.
pub async fn load_assignment(tx: &mut dyn Tx, id: &str) -> Fallible<Option<AssignmentView>> {
    let sql = format!("SELECT {COLUMNS} FROM assignments WHERE id = $1");
    match tx.query_opt(&sql, &[id.into()]).await? {
        Some(r) => Ok(Some(assignment_from_row(&r)?)),
        None => Ok(None),
    }
}

/// Assignments newest first, optionally of one technician and in one status.
pub async fn list_assignments(
    tx: &mut dyn Tx,
    technician: Option<String>,
    status: Option<String>,
    limit: i64,
) -> Fallible<Vec<AssignmentView>> {
    let (sql, params) = list_query(technician, status, limit);
    read_views(tx, &sql, &params).await
}

/// [`list_assignments`]'s query: a status's orders are searched through
/// `assignments_status`.
pub fn list_query(
    technician: Option<String>,
    status: Option<String>,
    limit: i64,
) -> (String, Vec<Value>) {
    Filters::default()
        .equal("technician_id", technician)
        .equal("status", status)
        .query(
            &format!("SELECT {COLUMNS} FROM assignments"),
            "ORDER BY received_at DESC, id DESC",
            limit,
        )
}

/// The orders a search part matches among those holding `piece`, newest
/// first, at most `limit` (`order_search_pieces`: from the piece's rows,
/// never every order's).
pub fn search_by_piece_query(part: &SearchPart, piece: &str, limit: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT {}, l.received_at AS found_at, l.assignment_id AS found_id
             FROM assignment_search_grams g CROSS JOIN assignment_lookup l CROSS JOIN assignments a
             WHERE g.gram = $1 AND l.assignment_id = g.assignment_id AND a.id = g.assignment_id
               AND {}
             ORDER BY g.received_at DESC, g.assignment_id DESC LIMIT $3",
            columns_of("a"),
            part.condition(2)
        ),
        vec![piece.into(), part.pattern.as_str().into(), limit.into()],
    )
}

/// The orders a search part without pieces (one character) matches: the
/// narrow look-up rows newest first, read until the page is full.
pub fn search_walk_query(part: &SearchPart, limit: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT {}, l.received_at AS found_at, l.assignment_id AS found_id
             FROM assignment_lookup l JOIN assignments a ON a.id = l.assignment_id
             WHERE {} ORDER BY l.received_at DESC, l.assignment_id DESC LIMIT $2",
            columns_of("a"),
            part.condition(1)
        ),
        vec![part.pattern.as_str().into(), limit.into()],
    )
}

/// Assignments matching a search, newest first, over every order: each
/// way the search matches ([`order_lookup::search_parts`]) starts from the
/// orders holding its rarest piece, and one that no order holds reads
/// nothing.
pub async fn search(tx: &mut dyn Tx, query: &str, limit: i64) -> Fallible<Vec<AssignmentView>> {
    let mut found: Vec<Row> = Vec::new();
    for part in order_lookup::search_parts(query) {
        let (sql, params) = if part.pieces.is_empty() {
            search_walk_query(&part, limit)
        } else {
            match order_search_pieces::rarest(tx, &part.pieces).await? {
                Some(piece) => search_by_piece_query(&part, &piece, limit),
                None => continue,
            }
        };
        found.extend(tx.query(&sql, &params).await?);
    }
    // Newest first, each order once (found by its text and its phone).
    let key = |r: &Row| (r.int("found_at"), r.text("found_id"));
    found.sort_by_key(|r| std::cmp::Reverse(key(r)));
    found.dedup_by_key(|r| key(r));
    found
        .iter()
        .take(usize::try_from(limit).unwrap_or(0))
        .map(assignment_from_row)
        .collect()
}

/// The query of the orders of one phone (as
/// [`order_lookup::phone_digits`]), newest first.
pub fn phone_query(digits: &str, limit: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT {} FROM assignment_lookup l JOIN assignments a ON a.id = l.assignment_id
             WHERE l.customer_phone_digits = $1
             ORDER BY l.received_at DESC, l.assignment_id DESC LIMIT $2",
            columns_of("a")
        ),
        vec![digits.into(), limit.into()],
    )
}

/// The orders of the customer with this phone, newest first, at most `limit`.
pub async fn of_phone(tx: &mut dyn Tx, phone: &str, limit: i64) -> Fallible<Vec<AssignmentView>> {
    let digits = order_lookup::phone_digits(phone);
    if digits.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, params) = phone_query(&digits, limit);
    read_views(tx, &sql, &params).await
}

/// The query of the orders whose requested window overlaps `[start, end)`
/// (Unix ms), in any status, earliest first: the windows ending after
/// `start` are read first. (`CROSS JOIN` keeps SQLite from starting at the
/// assignments' side; PostgreSQL reads it as the inner join it is.)
pub fn on_day_query(start: i64, end: i64) -> (String, Vec<Value>) {
    (
        format!(
            "SELECT {} FROM assignment_lookup l CROSS JOIN assignments a
             WHERE a.id = l.assignment_id AND l.window_end > $1 AND l.window_start < $2
             ORDER BY l.window_start, l.assignment_id",
            columns_of("a")
        ),
        vec![start.into(), end.into()],
    )
}

/// The orders whose requested window overlaps `[start, end)` (a business
/// day's board, a technician's bookings that day).
pub async fn on_day(tx: &mut dyn Tx, start: i64, end: i64) -> Fallible<Vec<AssignmentView>> {
    let (sql, params) = on_day_query(start, end);
    read_views(tx, &sql, &params).await
}

async fn read_views(tx: &mut dyn Tx, sql: &str, params: &[Value]) -> Fallible<Vec<AssignmentView>> {
    tx.query(sql, params)
        .await?
        .iter()
        .map(assignment_from_row)
        .collect()
}

/// Whether an assignment exists.
pub async fn exists(tx: &mut dyn Tx, id: &str) -> Fallible<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 AS found FROM assignments WHERE id = $1",
            &[id.into()],
        )
        .await?
        .is_some())
}

/// Whether the assignment was ever given to the technician.
pub async fn was_held_by(tx: &mut dyn Tx, assignment: &str, technician: &str) -> Fallible<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 AS found FROM assignment_holders WHERE assignment_id = $1 AND technician_id = $2",
            &[assignment.into(), technician.into()],
        )
        .await?
        .is_some())
}

/// A change for the log: the technician whose device must hear of it, and
/// what changed.
pub type Change = (Option<String>, ChangeKind);

/// Writes the assignment row (a new one when `insert`), records its holder
/// and appends its changes to the change log. Call with the assignments
/// lock held.
pub async fn store_assignment(
    tx: &mut dyn Tx,
    v: &AssignmentView,
    changes: &[Change],
    actor: &str,
    insert: bool,
) -> Fallible<()> {
    let a = &v.assignment;
    let body = serde_json::to_string(a).map_err(|_| Failure::internal("encoding"))?;
    let now = now_ms();
    let received = a.received_at.map_or(now, |t| t.timestamp_millis());
    let params: Vec<Value> = vec![
        a.id.as_str().into(),
        a.version.into(),
        a.trade.as_str().into(),
        a.technician.as_ref().map(|t| t.to_string()).into(),
        v.status.as_str().into(),
        v.priority.as_str().into(),
        v.classification.as_str().into(),
        received.into(),
        v.window_confirmed.into(),
        v.cancel_reason.clone().into(),
        body.into(),
        now.into(),
    ];
    let previous_status = if insert {
        None
    } else {
        tx.query_opt(
            "SELECT status FROM assignments WHERE id = $1",
            &[a.id.as_str().into()],
        )
        .await?
        .map(|r| r.text("status"))
    };
    if insert {
        tx.execute(
            "INSERT INTO assignments (id, version, trade, technician_id, status, priority, classification,
                received_at, window_confirmed, cancel_reason, body, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &params,
        )
        .await?;
    } else {
        tx.execute(
            "UPDATE assignments SET version = $2, trade = $3, technician_id = $4, status = $5, priority = $6,
                classification = $7, received_at = $8, window_confirmed = $9, cancel_reason = $10,
                body = $11, updated_at = $12
             WHERE id = $1",
            &params,
        )
        .await?;
    }
    super::personal_data::refresh_finished_at(tx, a.id.as_str()).await?;
    order_lookup::write_keys(tx, a, received).await?;
    if let Some(t) = &a.technician {
        tx.execute(
            "INSERT INTO assignment_holders (assignment_id, technician_id, since_version) VALUES ($1, $2, $3)
             ON CONFLICT (assignment_id, technician_id) DO NOTHING",
            &[a.id.as_str().into(), t.as_str().into(), a.version.into()],
        )
        .await?;
    }
    super::integrations::record_status_change(
        tx,
        a.id.as_str(),
        a.version,
        previous_status.as_deref(),
        v.status.as_str(),
        a.technician.as_ref().map(|t| t.as_str()),
        now,
    )
    .await?;
    for (technician, change) in changes {
        let payload = serde_json::to_string(change).map_err(|_| Failure::internal("encoding"))?;
        tx.execute(
            "INSERT INTO assignment_changes (assignment_id, version, technician_id, kind, payload, at, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                a.id.as_str().into(),
                a.version.into(),
                technician.clone().into(),
                ChangeLogKind::of(change).as_str().into(),
                payload.into(),
                now.into(),
                actor.into(),
            ],
        )
        .await?;
    }
    Ok(())
}

/// Marks the visit time confirmed (the technician's call confirmed it).
pub async fn confirm_window(tx: &mut dyn Tx, id: &str) -> Fallible<()> {
    tx.execute(
        "UPDATE assignments SET window_confirmed = 1 WHERE id = $1",
        &[id.into()],
    )
    .await?;
    Ok(())
}

/// Sets the status alone (the device's facts finished or handed it back).
pub async fn set_status(tx: &mut dyn Tx, id: &str, status: AssignmentStatus) -> Fallible<()> {
    if let Some(r) = tx
        .query_opt(
            "SELECT status, version, technician_id FROM assignments WHERE id = $1",
            &[id.into()],
        )
        .await?
    {
        super::integrations::record_status_change(
            tx,
            id,
            r.int("version").max(0) as u64,
            Some(&r.text("status")),
            status.as_str(),
            r.opt_text("technician_id").as_deref(),
            now_ms(),
        )
        .await?;
    }
    tx.execute(
        "UPDATE assignments SET status = $1 WHERE id = $2",
        &[status.as_str().into(), id.into()],
    )
    .await?;
    super::personal_data::refresh_finished_at(tx, id).await?;
    Ok(())
}

/// An assignment still waiting for the center, received before a cutoff and
/// lacking a technician, a confirmed time or the technician's phone.
pub struct Unsettled {
    pub view: AssignmentView,
    pub technician: Option<String>,
    pub technician_has_phone: bool,
    pub received_at: i64,
}

/// The 1-hour rule's candidates, oldest first.
pub async fn unsettled_since(tx: &mut dyn Tx, cutoff: i64) -> Fallible<Vec<Unsettled>> {
    let [open, assigned, handed_back] = AssignmentStatus::WAITING.map(|s| s.as_str());
    let rows = tx
        .query(
            "SELECT a.body AS body, a.status AS status, a.priority AS priority,
                a.classification AS classification, a.window_confirmed AS window_confirmed,
                a.cancel_reason AS cancel_reason, a.updated_at AS updated_at,
                a.technician_id AS technician_id, a.received_at AS received_at, t.phone AS phone
             FROM assignments a LEFT JOIN technicians t ON t.id = a.technician_id
             WHERE a.status IN ($2, $3, $4) AND a.received_at <= $1
               AND (a.technician_id IS NULL OR a.window_confirmed = 0 OR t.phone IS NULL)
             ORDER BY a.received_at",
            &[
                cutoff.into(),
                open.into(),
                assigned.into(),
                handed_back.into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Unsettled {
                view: assignment_from_row(r)?,
                technician: r.opt_text("technician_id"),
                technician_has_phone: r.opt_text("phone").is_some(),
                received_at: r.int("received_at"),
            })
        })
        .collect()
}

/// A technician's changes after `cursor`, in log order, at most `limit`,
/// leaving out the assignment
/// versions of finished work (done or cancelled, or whose visit has closed):
/// a phone, new or not, receives only open work; history is never a visit
/// to start. Each as sent: its stored text with its `seq`, not parsed.
pub async fn changes_since(
    tx: &mut dyn Tx,
    technician: &str,
    cursor: u64,
    limit: i64,
) -> Fallible<Vec<(u64, SentChange)>> {
    let rows = tx
        .query(
            "SELECT c.seq AS seq, c.payload AS payload FROM assignment_changes c
             JOIN assignments a ON a.id = c.assignment_id
             WHERE c.technician_id = $1 AND c.seq > $2
               AND (c.kind <> $4 OR (
                   a.status NOT IN ($5, $6)
                   AND NOT EXISTS (SELECT 1 FROM visits v
                                   WHERE v.assignment_id = c.assignment_id AND v.closed_at IS NOT NULL)))
             ORDER BY c.seq LIMIT $3",
            &[
                technician.into(),
                cursor.into(),
                limit.into(),
                ChangeLogKind::Assignment.as_str().into(),
                AssignmentStatus::Done.as_str().into(),
                AssignmentStatus::Cancelled.as_str().into(),
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let seq = r.int("seq") as u64;
            let change = sent_change(seq, &r.text("payload"))
                .map_err(|e| Failure::corrupt("reading the change log", e))?;
            Ok((seq, change))
        })
        .collect()
}

/// A change to one of the center's own fields of a work order (priority,
/// window confirmed): not in the assignment the phones receive.
pub struct CenterFieldChange {
    pub version: u64,
    pub at: i64,
    pub actor: String,
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    /// Saved together with a change of the assignment itself (the change
    /// log's row of the same version).
    pub in_edit: bool,
}

/// Records a change of the center's own `field` of assignment `v`, saved
/// together with a change of the assignment itself (`in_edit`) or alone.
pub async fn log_center_field_change(
    tx: &mut dyn Tx,
    v: &AssignmentView,
    actor: &str,
    (field, before, after): (&str, serde_json::Value, serde_json::Value),
    in_edit: bool,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO center_field_changes (assignment_id, version, at, actor, field, before_value, after_value, in_edit)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            v.assignment.id.as_str().into(),
            v.assignment.version.into(),
            now_ms().into(),
            actor.into(),
            field.into(),
            before.to_string().into(),
            after.to_string().into(),
            i64::from(in_edit).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Every change of the center's own fields of one assignment, oldest first.
pub async fn center_field_changes(
    tx: &mut dyn Tx,
    assignment: &str,
) -> Fallible<Vec<CenterFieldChange>> {
    tx.query(
        "SELECT version, at, actor, field, before_value, after_value, in_edit FROM center_field_changes
         WHERE assignment_id = $1 ORDER BY seq",
        &[assignment.into()],
    )
    .await?
    .iter()
    .map(|r| {
        let json = |column: &str| {
            serde_json::from_str(&r.text(column))
                .map_err(|e| Failure::corrupt("reading a work order's center changes", e))
        };
        Ok(CenterFieldChange {
            version: r.int("version") as u64,
            at: r.int("at"),
            actor: r.text("actor"),
            field: r.text("field"),
            before: json("before_value")?,
            after: json("after_value")?,
            in_edit: r.int("in_edit") != 0,
        })
    })
    .collect()
}

/// One row of an assignment's change log.
pub struct LoggedChange {
    pub version: u64,
    pub change: ChangeKind,
    pub at: i64,
    pub actor: String,
}

/// Every change the center made to one assignment, in log order.
pub async fn change_log(tx: &mut dyn Tx, assignment: &str) -> Fallible<Vec<LoggedChange>> {
    tx.query(
        "SELECT version, payload, at, actor FROM assignment_changes
         WHERE assignment_id = $1 ORDER BY seq",
        &[assignment.into()],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(LoggedChange {
            version: r.int("version") as u64,
            change: serde_json::from_str(&r.text("payload"))
                .map_err(|e| Failure::corrupt("reading an assignment's change log", e))?,
            at: r.int("at"),
            actor: r.text("actor"),
        })
    })
    .collect()
}
