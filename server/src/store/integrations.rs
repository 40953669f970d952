//! What integrators see: the `integration_events` table (order status
//! changes, new acceptance codes and visit milestones, recorded in the transaction that made
//! them and numbered by the outbox worker for the polling feed),
//! `api_keys` (only SHA-256 hashes) and `webhook_endpoints`.

use super::sql::{Row, Tx};
use crate::failure::{Failure, Fallible};
use serde::{Deserialize, Serialize};

/// The type of an order status change in the feed and in webhooks.
pub const ORDER_STATUS_CHANGED: &str = "order.status_changed";
/// The type of a visit milestone in the feed and in webhooks.
pub const VISIT_MILESTONE: &str = "visit.milestone";
/// The type of a new acceptance code issued for an order at the desk (the
/// code itself is never in an event).
pub const ACCEPTANCE_CODE_REISSUED: &str = "order.acceptance_code_reissued";
/// The type of an offline discount short code issued at the desk: the
/// amount, the phone, the dispatcher (the code itself is never in an event).
pub const DISCOUNT_CODE_ISSUED: &str = "order.discount_code_issued";

/// Records an order's status change (`from` is `None` for a new order).
pub async fn record_status_change(
    tx: &mut dyn Tx,
    assignment_id: &str,
    version: u64,
    from: Option<&str>,
    to: &str,
    technician: Option<&str>,
    at: i64,
) -> Fallible<()> {
    if from == Some(to) {
        return Ok(());
    }
    record_event(
        tx,
        NewIntegrationEvent {
            event_type: ORDER_STATUS_CHANGED,
            assignment_id: Some(assignment_id),
            visit_id: None,
            occurred_at: at,
            data: serde_json::json!({
                "assignment_id": assignment_id,
                "version": version,
                "from": from,
                "to": to,
                "technician_id": technician,
                "at": at,
            }),
        },
    )
    .await
}

/// An integration event to record.
#[derive(Debug, Clone)]
pub struct NewIntegrationEvent<'a> {
    /// `order.status_changed` or `visit.milestone`.
    pub event_type: &'a str,
    pub assignment_id: Option<&'a str>,
    pub visit_id: Option<&'a str>,
    pub occurred_at: i64,
    /// The event's data as JSON.
    pub data: serde_json::Value,
}

/// A recorded integration event; `feed_seq` once the worker numbered it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IntegrationEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub assignment_id: Option<String>,
    pub visit_id: Option<String>,
    pub occurred_at: i64,
    pub data: serde_json::Value,
    pub feed_seq: Option<i64>,
}

fn event_from_row(r: &Row) -> Fallible<IntegrationEvent> {
    Ok(IntegrationEvent {
        id: r.text("id"),
        event_type: r.text("event_type"),
        assignment_id: r.opt_text("assignment_id"),
        visit_id: r.opt_text("visit_id"),
        occurred_at: r.int("occurred_at"),
        data: serde_json::from_str(&r.text("data"))
            .map_err(|e| Failure::corrupt("reading an integration event", e))?,
        feed_seq: r.opt_int("feed_seq"),
    })
}

const EVENT_COLUMNS: &str = "id, event_type, assignment_id, visit_id, occurred_at, data, feed_seq";

/// Records an event (unnumbered: the outbox worker numbers it).
pub async fn record_event(tx: &mut dyn Tx, e: NewIntegrationEvent<'_>) -> Fallible<()> {
    let data = serde_json::to_string(&e.data).map_err(|_| Failure::internal("encoding"))?;
    tx.execute(
        "INSERT INTO integration_events (id, event_type, assignment_id, visit_id, occurred_at, data)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            uuid::Uuid::now_v7().to_string().into(),
            e.event_type.into(),
            e.assignment_id.into(),
            e.visit_id.into(),
            e.occurred_at.into(),
            data.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Events not numbered yet, oldest first (at most `limit`).
pub async fn unnumbered(tx: &mut dyn Tx, limit: i64) -> Fallible<Vec<IntegrationEvent>> {
    let rows = tx
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM integration_events WHERE feed_seq IS NULL
                 ORDER BY id LIMIT $1"
            ),
            &[limit.into()],
        )
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// The highest feed number given so far (0 before the first).
pub async fn last_feed_seq(tx: &mut dyn Tx) -> Fallible<i64> {
    Ok(tx
        .query_opt(
            "SELECT COALESCE(MAX(feed_seq), 0) AS last FROM integration_events",
            &[],
        )
        .await?
        .map_or(0, |r| r.int("last")))
}

/// Gives an event its feed number.
pub async fn number_event(tx: &mut dyn Tx, id: &str, feed_seq: i64) -> Fallible<()> {
    tx.execute(
        "UPDATE integration_events SET feed_seq = $2 WHERE id = $1",
        &[id.into(), feed_seq.into()],
    )
    .await?;
    Ok(())
}

/// One page of the feed: events numbered after `after`, in order.
pub async fn feed_page(tx: &mut dyn Tx, after: i64, limit: i64) -> Fallible<Vec<IntegrationEvent>> {
    let rows = tx
        .query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM integration_events WHERE feed_seq > $1
                 ORDER BY feed_seq LIMIT $2"
            ),
            &[after.into(), limit.into()],
        )
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// A work order's events, oldest first.
pub async fn events_of_assignment(
    tx: &mut dyn Tx,
    assignment_id: &str,
) -> Fallible<Vec<IntegrationEvent>> {
    let rows = tx
        .query(&events_of_assignment_sql(), &[assignment_id.into()])
        .await?;
    rows.iter().map(event_from_row).collect()
}

/// [`events_of_assignment`]'s query, read through the index
/// `integration_events_assignment` (schema 29; before, every order's view
/// read the whole feed).
pub fn events_of_assignment_sql() -> String {
    format!(
        "SELECT {EVENT_COLUMNS} FROM integration_events WHERE assignment_id = $1
         ORDER BY id LIMIT 1000"
    )
}

/// An integrator's API key as stored (the key itself is never kept).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApiKeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

fn key_from_row(r: &Row) -> Fallible<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: r.text("id"),
        name: r.text("name"),
        scopes: serde_json::from_str(&r.text("scopes"))
            .map_err(|e| Failure::corrupt("reading an API key", e))?,
        created_by: r.text("created_by"),
        created_at: r.int("created_at"),
        revoked_at: r.opt_int("revoked_at"),
        last_used_at: r.opt_int("last_used_at"),
    })
}

const KEY_COLUMNS: &str = "id, name, scopes, created_by, created_at, revoked_at, last_used_at";

pub async fn insert_api_key(tx: &mut dyn Tx, key: &ApiKeyRecord, key_hash: &str) -> Fallible<()> {
    let scopes = serde_json::to_string(&key.scopes).map_err(|_| Failure::internal("encoding"))?;
    tx.execute(
        "INSERT INTO api_keys (id, name, key_hash, scopes, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            key.id.as_str().into(),
            key.name.as_str().into(),
            key_hash.into(),
            scopes.into(),
            key.created_by.as_str().into(),
            key.created_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn list_api_keys(tx: &mut dyn Tx) -> Fallible<Vec<ApiKeyRecord>> {
    let rows = tx
        .query(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at DESC, id"),
            &[],
        )
        .await?;
    rows.iter().map(key_from_row).collect()
}

/// Revokes a key; `false` when there is no such key.
pub async fn revoke_api_key(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<bool> {
    let found = tx
        .execute(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1",
            &[id.into(), now.into()],
        )
        .await?;
    Ok(found == 1)
}

/// The live (unrevoked) key with this hash, its use recorded.
pub async fn live_api_key(
    tx: &mut dyn Tx,
    key_hash: &str,
    now: i64,
) -> Fallible<Option<ApiKeyRecord>> {
    let row = tx
        .query_opt(
            &format!(
                "UPDATE api_keys SET last_used_at = $2 WHERE key_hash = $1 AND revoked_at IS NULL
                 RETURNING {KEY_COLUMNS}"
            ),
            &[key_hash.into(), now.into()],
        )
        .await?;
    row.map(|r| key_from_row(&r)).transpose()
}

/// A webhook endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

fn endpoint_from_row(r: &Row) -> Fallible<WebhookEndpoint> {
    Ok(WebhookEndpoint {
        id: r.text("id"),
        url: r.text("url"),
        event_types: serde_json::from_str(&r.text("event_types"))
            .map_err(|e| Failure::corrupt("reading a webhook endpoint", e))?,
        created_by: r.text("created_by"),
        created_at: r.int("created_at"),
        disabled_at: r.opt_int("disabled_at"),
    })
}

const ENDPOINT_COLUMNS: &str = "id, url, event_types, created_by, created_at, disabled_at";

pub async fn insert_endpoint(tx: &mut dyn Tx, e: &WebhookEndpoint) -> Fallible<()> {
    let types = serde_json::to_string(&e.event_types).map_err(|_| Failure::internal("encoding"))?;
    tx.execute(
        "INSERT INTO webhook_endpoints (id, url, event_types, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            e.id.as_str().into(),
            e.url.as_str().into(),
            types.into(),
            e.created_by.as_str().into(),
            e.created_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn list_endpoints(tx: &mut dyn Tx) -> Fallible<Vec<WebhookEndpoint>> {
    let rows = tx
        .query(
            &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"),
            &[],
        )
        .await?;
    rows.iter().map(endpoint_from_row).collect()
}

pub async fn load_endpoint(tx: &mut dyn Tx, id: &str) -> Fallible<Option<WebhookEndpoint>> {
    tx.query_opt(
        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"),
        &[id.into()],
    )
    .await?
    .map(|r| endpoint_from_row(&r))
    .transpose()
}

/// Stops an endpoint receiving new events; `false` when there is none.
pub async fn disable_endpoint(tx: &mut dyn Tx, id: &str, now: i64) -> Fallible<bool> {
    let found = tx
        .execute(
            "UPDATE webhook_endpoints SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
            &[id.into(), now.into()],
        )
        .await?;
    Ok(found == 1)
}
