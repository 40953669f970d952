//! The SQL of personal data (migration 0009): every stored copy of an
//! order's customer contact (the assignment, its change log, the device's
//! events, refused events, the visit projections, the intakes) read and
//! rewritten as JSON text, the orders due for retention, the erasure audit
//! (`personal_data_erasures`) and the contact access log
//! (`contact_access_log`).

use super::sql::{Filters, Tx, Value};
use crate::failure::{Failure, Fallible};
use crate::model::AssignmentStatus;

/// Which table holds a stored JSON document that may carry contact data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Assignment,
    Change,
    Event,
    /// A receipt derived from a phone's download acknowledgement (an event body).
    Receipt,
    RefusedEvent,
    Visit,
    Intake,
    /// What the desk wrote of an intake call (`content`, `answer`), as the
    /// document `{"content", "answer"}`: free text a number may be typed in.
    IntakeNote,
    /// A message the outbox delivered or gave up on (a notice's address, an
    /// e-fapiao request's buyer, a privacy-number bind's customer).
    Outbox,
}

/// One stored document: where it is and its JSON text.
#[derive(Debug, Clone)]
pub struct StoredDoc {
    pub holder: Holder,
    /// The row's key (assignment id, change seq, event id, `device|seq`,
    /// visit id, intake id).
    pub key: String,
    pub json: String,
}

/// Every stored document of one order that may carry its customer's contact.
pub async fn documents_of(tx: &mut dyn Tx, assignment: &str) -> Fallible<Vec<StoredDoc>> {
    let id = || -> Vec<super::sql::Value> { vec![assignment.into()] };
    let mut docs = Vec::new();
    let queries: [(Holder, &str); 6] = [
        (
            Holder::Assignment,
            "SELECT id AS k, body AS j FROM assignments WHERE id = $1",
        ),
        (
            Holder::Change,
            "SELECT CAST(seq AS TEXT) AS k, payload AS j FROM assignment_changes WHERE assignment_id = $1",
        ),
        (
            Holder::Event,
            // Through the order's visits: no index holds the facts by order
            // (each would cost every push), and every stored fact's visit
            // has its row, written in the same transaction.
            "SELECT e.event_id AS k, e.body AS j FROM visits v CROSS JOIN events e
             WHERE v.assignment_id = $1 AND e.visit_id = v.visit_id AND e.assignment_id = $1",
        ),
        (
            Holder::Receipt,
            "SELECT event_id AS k, body AS j FROM receipts WHERE assignment_id = $1",
        ),
        (
            Holder::Visit,
            "SELECT visit_id AS k, state AS j FROM visits WHERE assignment_id = $1",
        ),
        (
            Holder::Intake,
            "SELECT id AS k, caller AS j FROM intakes WHERE assignment_id = $1",
        ),
    ];
    for (holder, sql) in queries {
        for r in tx.query(sql, &id()).await? {
            docs.push(StoredDoc {
                holder,
                key: r.text("k"),
                json: r.text("j"),
            });
        }
    }
    for r in tx
        .query(
            "SELECT id AS k, content AS c, answer AS a FROM intakes WHERE assignment_id = $1",
            &id(),
        )
        .await?
    {
        let note = serde_json::json!({"content": r.opt_text("c"), "answer": r.opt_text("a")});
        docs.push(StoredDoc {
            holder: Holder::IntakeNote,
            key: r.text("k"),
            json: note.to_string(),
        });
    }
    // What was sent about the order, once sent (a message still to be sent
    // keeps what it needs to reach the customer).
    for r in tx
        .query(
            "SELECT id AS k, payload AS j FROM outbox
             WHERE assignment_id = $1 AND state IN ('delivered', 'dead')",
            &id(),
        )
        .await?
    {
        docs.push(StoredDoc {
            holder: Holder::Outbox,
            key: r.text("k"),
            json: r.text("j"),
        });
    }
    // Refused events have no assignment column: their body names it.
    let pattern = format!("%\"assignment_id\":\"{assignment}\"%");
    for r in tx
        .query(
            "SELECT device_id AS d, CAST(seq AS TEXT) AS s, body AS j FROM refused_events WHERE body LIKE $1",
            &[pattern.into()],
        )
        .await?
    {
        docs.push(StoredDoc {
            holder: Holder::RefusedEvent,
            key: format!("{}|{}", r.text("d"), r.text("s")),
            json: r.text("j"),
        });
    }
    Ok(docs)
}

/// Writes a rewritten document back where it came from.
pub async fn write_document(tx: &mut dyn Tx, doc: &StoredDoc) -> Fallible<()> {
    let json = doc.json.clone();
    match doc.holder {
        Holder::Assignment => {
            let written = tx
                .execute(
                    "UPDATE assignments SET body = $2 WHERE id = $1",
                    &[doc.key.as_str().into(), json.as_str().into()],
                )
                .await?;
            super::order_lookup::rewrite_keys_from_body(tx, &doc.key, &json).await?;
            written
        }
        Holder::Change => {
            let seq: i64 = doc.key.parse().unwrap_or(-1);
            tx.execute(
                "UPDATE assignment_changes SET payload = $2 WHERE seq = $1",
                &[seq.into(), json.into()],
            )
            .await?
        }
        Holder::Event => {
            tx.execute(
                "UPDATE events SET body = $2 WHERE event_id = $1",
                &[doc.key.as_str().into(), json.into()],
            )
            .await?
        }
        Holder::Receipt => {
            tx.execute(
                "UPDATE receipts SET body = $2 WHERE event_id = $1",
                &[doc.key.as_str().into(), json.into()],
            )
            .await?
        }
        Holder::RefusedEvent => {
            let (device, seq) = doc.key.split_once('|').unwrap_or((&doc.key, "-1"));
            let seq: i64 = seq.parse().unwrap_or(-1);
            tx.execute(
                "UPDATE refused_events SET body = $3 WHERE device_id = $1 AND seq = $2",
                &[device.into(), seq.into(), json.into()],
            )
            .await?
        }
        Holder::Visit => {
            tx.execute(
                "UPDATE visits SET state = $2 WHERE visit_id = $1",
                &[doc.key.as_str().into(), json.into()],
            )
            .await?
        }
        Holder::Intake => {
            tx.execute(
                "UPDATE intakes SET caller = $2, caller_phone_digits = $3 WHERE id = $1",
                &[
                    doc.key.as_str().into(),
                    json.as_str().into(),
                    super::intakes::caller_phone_digits(&json).into(),
                ],
            )
            .await?
        }
        Holder::IntakeNote => {
            let note: serde_json::Value =
                serde_json::from_str(&json).map_err(|e| Failure::corrupt("an intake's note", e))?;
            let text = |field: &str| note[field].as_str().map(str::to_string);
            tx.execute(
                "UPDATE intakes SET content = $2, answer = $3 WHERE id = $1",
                &[
                    doc.key.as_str().into(),
                    text("content").into(),
                    text("answer").into(),
                ],
            )
            .await?
        }
        Holder::Outbox => {
            tx.execute(
                "UPDATE outbox SET payload = $2 WHERE id = $1",
                &[doc.key.as_str().into(), json.into()],
            )
            .await?
        }
    };
    Ok(())
}

/// Where an order's contact stands: masked by retention, erased on
/// request, both, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactState {
    pub masked_at: Option<i64>,
    pub erased_at: Option<i64>,
}

/// The contact state of an order (`None`: no such order).
pub async fn contact_state(tx: &mut dyn Tx, assignment: &str) -> Fallible<Option<ContactState>> {
    Ok(tx
        .query_opt(
            "SELECT contact_masked_at, contact_erased_at FROM assignments WHERE id = $1",
            &[assignment.into()],
        )
        .await?
        .map(|r| ContactState {
            masked_at: r.opt_int("contact_masked_at"),
            erased_at: r.opt_int("contact_erased_at"),
        }))
}

/// Marks an order's contact masked by retention.
pub async fn mark_masked(tx: &mut dyn Tx, assignment: &str, at: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE assignments SET contact_masked_at = $2 WHERE id = $1",
        &[assignment.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// Marks an order's contact erased on request.
pub async fn mark_erased(tx: &mut dyn Tx, assignment: &str, at: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE assignments SET contact_erased_at = $2 WHERE id = $1",
        &[assignment.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// [`due_for_retention`]'s query, answered from the partial index of
/// migration 0039 (`assignments_due_for_retention`).
pub const DUE_FOR_RETENTION_SQL: &str = "SELECT id FROM assignments
     WHERE finished_at <= $1 AND contact_masked_at IS NULL AND contact_erased_at IS NULL
     ORDER BY finished_at, id LIMIT $2";

/// Orders finished (done or cancelled) before `cutoff` whose contact is
/// neither masked nor erased, the longest finished first: when the last
/// visit closed, or, for an order without a closed visit, when the order
/// last changed (`finished_at`, kept by [`refresh_finished_at`]).
pub async fn due_for_retention(tx: &mut dyn Tx, cutoff: i64, limit: i64) -> Fallible<Vec<String>> {
    let rows = tx
        .query(DUE_FOR_RETENTION_SQL, &[cutoff.into(), limit.into()])
        .await?;
    Ok(rows.iter().map(|r| r.text("id")).collect())
}

/// Stores when the order finished, for the retention run: while it is done
/// or cancelled, when its last visit closed or, without a closed visit,
/// when the order last changed; NULL while it is open. Called whenever an
/// order is written, its status set or one of its visits closes.
pub async fn refresh_finished_at(tx: &mut dyn Tx, assignment: &str) -> Fallible<()> {
    tx.execute(
        "UPDATE assignments SET finished_at = CASE WHEN status IN ($2, $3)
             THEN COALESCE((SELECT MAX(v.closed_at) FROM visits v WHERE v.assignment_id = $1), updated_at)
             END
         WHERE id = $1",
        &[
            assignment.into(),
            AssignmentStatus::Done.as_str().into(),
            AssignmentStatus::Cancelled.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

/// The orders whose look-up row holds one of `digits` as the customer's
/// phone (through `assignment_lookup_phone`): id, status, contact state and
/// stored body, oldest first. The caller checks each body's phone itself.
pub async fn orders_of_phone_digits(
    tx: &mut dyn Tx,
    digits: [&str; 2],
) -> Fallible<Vec<(String, String, ContactState, String)>> {
    let rows = tx
        .query(
            "SELECT a.id AS id, a.status AS status, a.contact_masked_at AS contact_masked_at,
                a.contact_erased_at AS contact_erased_at, a.body AS body
             FROM assignment_lookup l CROSS JOIN assignments a
             WHERE l.customer_phone_digits IN ($1, $2) AND a.id = l.assignment_id
             ORDER BY a.received_at, a.id",
            &[digits[0].into(), digits[1].into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text("id"),
                r.text("status"),
                ContactState {
                    masked_at: r.opt_int("contact_masked_at"),
                    erased_at: r.opt_int("contact_erased_at"),
                },
                r.text("body"),
            )
        })
        .collect())
}

/// Whether any visit of the order has closed.
pub async fn has_closed_visit(tx: &mut dyn Tx, assignment: &str) -> Fallible<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 AS found FROM visits WHERE assignment_id = $1 AND closed_at IS NOT NULL",
            &[assignment.into()],
        )
        .await?
        .is_some())
}

/// Every technician the order was ever given to (their phones may hold it).
pub async fn holders_of(tx: &mut dyn Tx, assignment: &str) -> Fallible<Vec<String>> {
    let rows = tx
        .query(
            "SELECT technician_id FROM assignment_holders WHERE assignment_id = $1 ORDER BY technician_id",
            &[assignment.into()],
        )
        .await?;
    Ok(rows.iter().map(|r| r.text("technician_id")).collect())
}

/// One erasure on request, as audited.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ErasureRecord {
    pub id: i64,
    pub requested_by: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub reason: String,
    pub assignments: Vec<String>,
}

/// Records an erasure; returns its id.
pub async fn insert_erasure(
    tx: &mut dyn Tx,
    by: &str,
    at: i64,
    reason: &str,
    assignments: &[String],
) -> Fallible<i64> {
    let list = serde_json::to_string(assignments).unwrap_or_else(|_| "[]".into());
    Ok(tx
        .query_opt(
            "INSERT INTO personal_data_erasures (requested_by, requested_at, reason, assignments)
             VALUES ($1, $2, $3, $4) RETURNING id",
            &[by.into(), at.into(), reason.into(), list.into()],
        )
        .await?
        .map_or(0, |r| r.int("id")))
}

/// The erasures, newest first.
pub async fn list_erasures(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<ErasureRecord>> {
    let rows = tx
        .query(
            "SELECT id, requested_by, requested_at, reason, assignments FROM personal_data_erasures
             ORDER BY id DESC LIMIT $1",
            &[limit.into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| ErasureRecord {
            id: r.int("id"),
            requested_by: r.text("requested_by"),
            requested_at: crate::time::from_ms(r.int("requested_at")),
            reason: r.text("reason"),
            assignments: serde_json::from_str(&r.text("assignments")).unwrap_or_default(),
        })
        .collect())
}

/// One view of a customer's full contact details.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AccessRecord {
    pub username: String,
    pub accessed_at: chrono::DateTime<chrono::Utc>,
    pub assignment_id: String,
    pub purpose: String,
}

/// Records that `username` was shown the order's full contact details.
pub async fn record_access(
    tx: &mut dyn Tx,
    username: &str,
    at: i64,
    assignment: &str,
    purpose: &str,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO contact_access_log (username, accessed_at, assignment_id, purpose) VALUES ($1, $2, $3, $4)",
        &[username.into(), at.into(), assignment.into(), purpose.into()],
    )
    .await?;
    Ok(())
}

/// The access log, newest first, optionally of one order and/or one user.
pub async fn access_log(
    tx: &mut dyn Tx,
    assignment: Option<String>,
    username: Option<String>,
    limit: i64,
) -> Fallible<Vec<AccessRecord>> {
    let (sql, params) = access_log_query(assignment, username, limit);
    let rows = tx.query(&sql, &params).await?;
    Ok(rows
        .iter()
        .map(|r| AccessRecord {
            username: r.text("username"),
            accessed_at: crate::time::from_ms(r.int("accessed_at")),
            assignment_id: r.text("assignment_id"),
            purpose: r.text("purpose"),
        })
        .collect())
}

/// [`access_log`]'s query: an order's accesses are searched through
/// `contact_access_log_assignment`.
pub fn access_log_query(
    assignment: Option<String>,
    username: Option<String>,
    limit: i64,
) -> (String, Vec<Value>) {
    Filters::default()
        .equal("assignment_id", assignment)
        .equal("username", username)
        .query(
            "SELECT username, accessed_at, assignment_id, purpose FROM contact_access_log",
            "ORDER BY accessed_at DESC, id DESC",
            limit,
        )
}

/// Appends an erasure to the change log for one technician's phones. Call
/// with the assignments lock held (the change sequence is the cursor).
pub async fn append_erased_change(
    tx: &mut dyn Tx,
    assignment: &str,
    version: i64,
    technician: &str,
    payload: &str,
    at: i64,
    actor: &str,
) -> Fallible<()> {
    tx.execute(
        "INSERT INTO assignment_changes (assignment_id, version, technician_id, kind, payload, at, actor)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            assignment.into(),
            version.into(),
            technician.into(),
            crate::model::ChangeLogKind::Erased.as_str().into(),
            payload.into(),
            at.into(),
            actor.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The order's current version.
pub async fn version_of(tx: &mut dyn Tx, assignment: &str) -> Fallible<i64> {
    Ok(tx
        .query_opt(
            "SELECT version FROM assignments WHERE id = $1",
            &[assignment.into()],
        )
        .await?
        .map_or(0, |r| r.int("version")))
}

/// [`unlinked_intakes_of_phone_digits`]'s query.
pub const UNLINKED_INTAKES_OF_PHONE_DIGITS_SQL: &str = "SELECT id, caller FROM intakes
     WHERE assignment_id IS NULL AND caller_phone_digits IN ($1, $2)
     ORDER BY received_at, id";

/// Intakes not linked to an order (a consultation answered at the desk)
/// whose caller's phone digits are one of `digits` (through
/// `intakes_by_order_and_caller_phone`): id and caller JSON, oldest first.
/// The caller checks each caller's phone itself.
pub async fn unlinked_intakes_of_phone_digits(
    tx: &mut dyn Tx,
    digits: [&str; 2],
) -> Fallible<Vec<(String, String)>> {
    let rows = tx
        .query(
            UNLINKED_INTAKES_OF_PHONE_DIGITS_SQL,
            &[digits[0].into(), digits[1].into()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.text("id"), r.text("caller")))
        .collect())
}

/// The intakes of the given ids or linked to the given orders, as stored.
pub async fn intakes_for_export(
    tx: &mut dyn Tx,
    assignment: &str,
) -> Fallible<Vec<serde_json::Value>> {
    let rows = tx
        .query(
            "SELECT id, classification, received_at, caller, content, answer FROM intakes
             WHERE assignment_id = $1 ORDER BY received_at, id",
            &[assignment.into()],
        )
        .await?;
    Ok(rows.iter().map(intake_json).collect())
}

/// One intake by id, as stored.
pub async fn intake_for_export(tx: &mut dyn Tx, id: &str) -> Fallible<Option<serde_json::Value>> {
    Ok(tx
        .query_opt(
            "SELECT id, classification, received_at, caller, content, answer FROM intakes WHERE id = $1",
            &[id.into()],
        )
        .await?
        .map(|r| intake_json(&r)))
}

fn intake_json(r: &super::sql::Row) -> serde_json::Value {
    serde_json::json!({
        "id": r.text("id"),
        "classification": r.text("classification"),
        "received_at": crate::time::from_ms(r.int("received_at")),
        "caller": serde_json::from_str::<serde_json::Value>(&r.text("caller")).unwrap_or_default(),
        "content": r.text("content"),
        "answer": r.opt_text("answer"),
    })
}

/// One intake's caller and note (`content`, `answer`), as documents to
/// rewrite.
pub async fn intake_documents(tx: &mut dyn Tx, id: &str) -> Fallible<Vec<StoredDoc>> {
    Ok(tx
        .query_opt(
            "SELECT caller, content, answer FROM intakes WHERE id = $1",
            &[id.into()],
        )
        .await?
        .map(|r| {
            let note = serde_json::json!({"content": r.opt_text("content"), "answer": r.opt_text("answer")});
            vec![
                StoredDoc {
                    holder: Holder::Intake,
                    key: id.to_string(),
                    json: r.text("caller"),
                },
                StoredDoc {
                    holder: Holder::IntakeNote,
                    key: id.to_string(),
                    json: note.to_string(),
                },
            ]
        })
        .unwrap_or_default())
}
