//! The `outbox` table: every outbound message (customer notice, webhook)
//! with its idempotency key, state (pending → sending → delivered, or
//! dead after the last attempt), attempts, next attempt time, the lease of
//! a delivery in flight and the last error. Claims are crash-safe: a row is
//! `sending` only until its lease ends, after which any worker claims it
//! again and delivers it with the same idempotency key.

use super::sql::{Filters, Row, Tx, Value};
use crate::failure::{Failure, Fallible};
use serde::{Deserialize, Serialize};

/// Where an outbox message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Claimed by a worker until `lease_until`.
    Sending,
    /// The provider accepted it.
    Delivered,
    /// Every attempt failed, or the provider refused it for good: a
    /// dispatcher may retry it.
    Dead,
}

impl OutboxState {
    pub const ALL: [OutboxState; 4] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Delivered,
        OutboxState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Delivered => "delivered",
            OutboxState::Dead => "dead",
        }
    }

    /// The state a stored text names.
    pub fn parse(text: &str) -> Option<OutboxState> {
        OutboxState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A message to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewOutboxMessage {
    pub id: String,
    /// `notice` or `webhook`.
    pub kind: String,
    pub idempotency_key: String,
    pub assignment_id: Option<String>,
    /// The channel (`sms`, `wechat`) or the webhook endpoint id.
    pub target: String,
    /// The message as JSON (what the adapter sends).
    pub payload: String,
    /// The first attempt (a notice in quiet hours waits for the morning).
    pub first_attempt_at: i64,
    pub created_at: i64,
}

/// A stored outbox message.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: String,
    pub idempotency_key: String,
    pub assignment_id: Option<String>,
    pub target: String,
    pub payload: serde_json::Value,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    /// The provider's reference for a delivered message (SMS serial number).
    pub provider_ref: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

const COLUMNS: &str =
    "id, kind, idempotency_key, assignment_id, target, payload, state, attempts, \
     next_attempt_at, lease_until, last_error, provider_ref, created_at, updated_at, delivered_at";

fn message_from_row(r: &Row) -> Fallible<OutboxMessage> {
    Ok(OutboxMessage {
        id: r.text("id"),
        kind: r.text("kind"),
        idempotency_key: r.text("idempotency_key"),
        assignment_id: r.opt_text("assignment_id"),
        target: r.text("target"),
        payload: serde_json::from_str(&r.text("payload"))
            .map_err(|e| Failure::corrupt("reading an outbox message", e))?,
        state: OutboxState::parse(&r.text("state"))
            .ok_or_else(|| Failure::corrupt("reading an outbox message", "unknown outbox state"))?,
        attempts: r.int("attempts"),
        next_attempt_at: r.int("next_attempt_at"),
        lease_until: r.opt_int("lease_until"),
        last_error: r.opt_text("last_error"),
        provider_ref: r.opt_text("provider_ref"),
        created_at: r.int("created_at"),
        updated_at: r.int("updated_at"),
        delivered_at: r.opt_int("delivered_at"),
    })
}

/// Puts a message in the outbox unless one with its idempotency key is
/// already there; returns whether it was added.
pub async fn enqueue(tx: &mut dyn Tx, m: &NewOutboxMessage) -> Fallible<bool> {
    let added = tx
        .execute(
            "INSERT INTO outbox (id, kind, idempotency_key, assignment_id, target, payload, state,
                attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $8, $8)
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[
                m.id.as_str().into(),
                m.kind.as_str().into(),
                m.idempotency_key.as_str().into(),
                m.assignment_id.clone().into(),
                m.target.as_str().into(),
                m.payload.as_str().into(),
                m.first_attempt_at.into(),
                m.created_at.into(),
            ],
        )
        .await?;
    Ok(added == 1)
}

/// Claims up to `limit` messages due at `now` — pending ones whose time has
/// come and sending ones whose lease ran out (their worker died) — marking
/// them sending until `now + lease_ms` and counting the attempt. On
/// PostgreSQL, rows another replica is claiming are skipped.
pub async fn claim_due(
    tx: &mut dyn Tx,
    now: i64,
    lease_ms: i64,
    limit: i64,
) -> Fallible<Vec<OutboxMessage>> {
    let lock = if tx.backend() == "postgres" {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let due = tx
        .query(
            &format!(
                "SELECT id FROM outbox
                 WHERE (state = 'pending' AND next_attempt_at <= $1)
                    OR (state = 'sending' AND lease_until <= $1)
                 ORDER BY next_attempt_at, id LIMIT $2{lock}"
            ),
            &[now.into(), limit.into()],
        )
        .await?;
    let mut claimed = Vec::with_capacity(due.len());
    for r in due {
        let id = r.text("id");
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = $2,
                        updated_at = $3
                     WHERE id = $1 RETURNING {COLUMNS}"
                ),
                &[id.into(), (now + lease_ms).into(), now.into()],
            )
            .await?;
        if let Some(row) = row {
            claimed.push(message_from_row(&row)?);
        }
    }
    Ok(claimed)
}

/// Records a delivery the provider accepted. Only a message still claimed
/// (sending) changes; returns whether it did.
pub async fn mark_delivered(
    tx: &mut dyn Tx,
    id: &str,
    now: i64,
    provider_ref: Option<&str>,
) -> Fallible<bool> {
    let changed = tx
        .execute(
            "UPDATE outbox SET state = 'delivered', lease_until = NULL, delivered_at = $2,
                updated_at = $2, provider_ref = $3, last_error = NULL
             WHERE id = $1 AND state = 'sending'",
            &[id.into(), now.into(), provider_ref.into()],
        )
        .await?;
    Ok(changed == 1)
}

/// Records a failed attempt: pending again at `next_attempt_at`, or dead
/// when there is none.
pub async fn mark_failed(
    tx: &mut dyn Tx,
    id: &str,
    now: i64,
    error: &str,
    next_attempt_at: Option<i64>,
) -> Fallible<()> {
    let (state, next) = match next_attempt_at {
        Some(t) => (OutboxState::Pending, t),
        None => (OutboxState::Dead, now),
    };
    tx.execute(
        "UPDATE outbox SET state = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4,
            updated_at = $5
         WHERE id = $1 AND state = 'sending'",
        &[
            id.into(),
            state.as_str().into(),
            next.into(),
            error.into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Puts a dead message back in line for an attempt now, its attempts
/// counted afresh. `None` when there is no such message; `Some(false)` when
/// it is not dead.
pub async fn retry_dead(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<Option<bool>> {
    let changed = tx
        .execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, updated_at = $2
             WHERE id = $1 AND state = 'dead'",
            &[id.into(), now.into()],
        )
        .await?;
    if changed == 1 {
        return Ok(Some(true));
    }
    Ok(load(tx, id).await?.map(|_| false))
}

/// One message by id.
pub async fn load(tx: &mut dyn Tx, id: &str) -> Fallible<Option<OutboxMessage>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| message_from_row(&r))
    .transpose()
}

/// Messages, newest first (at most `limit`), optionally in one state, of
/// one kind or of one work order.
pub async fn list(
    tx: &mut dyn Tx,
    state: Option<OutboxState>,
    kind: Option<&str>,
    assignment_id: Option<&str>,
    limit: i64,
) -> Fallible<Vec<OutboxMessage>> {
    let (sql, params) = list_query(state, kind, assignment_id, limit);
    let rows = tx.query(&sql, &params).await?;
    rows.iter().map(message_from_row).collect()
}

/// [`list`]'s query: an order's messages are searched through
/// `outbox_assignment`, a state's through `outbox_due`, and the newest
/// page of all is read backwards through `outbox_newest` (schema 29).
pub fn list_query(
    state: Option<OutboxState>,
    kind: Option<&str>,
    assignment_id: Option<&str>,
    limit: i64,
) -> (String, Vec<Value>) {
    Filters::default()
        .equal("state", state.map(OutboxState::as_str))
        .equal("kind", kind)
        .equal("assignment_id", assignment_id)
        .query(
            &format!("SELECT {COLUMNS} FROM outbox"),
            "ORDER BY created_at DESC, id DESC",
            limit,
        )
}

/// How many messages are in each state (the outbox depth: pending and
/// sending are waiting, dead needs a dispatcher).
pub async fn depth(tx: &mut dyn Tx) -> Fallible<Vec<(OutboxState, i64)>> {
    let rows = tx
        .query(
            "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state",
            &[],
        )
        .await?;
    Ok(OutboxState::ALL
        .into_iter()
        .map(|s| {
            let n = rows
                .iter()
                .find(|r| r.text("state") == s.as_str())
                .map_or(0, |r| r.int("n"));
            (s, n)
        })
        .collect())
}
