//! What an operator sees of every request: its request id (`X-Request-Id`,
//! the caller's when it sends a sane one, else a new UUIDv7; echoed in the
//! response), one log line in the request's span (request id, method, route
//! template, status, latency, caller — `device:…` or `user:…`, recorded by
//! the `Auth` extractor through [`record_caller`]), and the request counted
//! in `/metrics`. Also the probes: `/readyz` (the database answers and has
//! every migration applied) and `/metrics` (Prometheus text).
//!
//! Nothing a customer typed is logged: the route template stands for the
//! path (ids and report-link tokens stay out) and the query is never read.

use crate::app::AppState;
use crate::auth::Principal;
use crate::http::error::ApiError;
use crate::ops::metrics::{CONTENT_TYPE, UNMATCHED_ROUTE};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{
    HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE as CONTENT_TYPE_HEADER, WWW_AUTHENTICATE,
};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::time::Instant;
use tracing::Instrument;

/// The request id header, read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Seconds a load balancer is asked to wait before probing `/readyz` again.
const NOT_READY_RETRY_AFTER_S: u64 = 5;

/// The longest request id taken from a caller.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The middleware: see the module doc.
pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(req.headers().get(&REQUEST_ID));
    let id_value = HeaderValue::from_str(&id).expect("a checked request id is a header value");
    req.headers_mut().insert(REQUEST_ID, id_value.clone());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, |p| p.as_str())
        .to_string();
    let method = req.method().as_str().to_string();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        caller = tracing::field::Empty,
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    res.headers_mut().insert(REQUEST_ID, id_value);
    state.metrics.request(&route, &method, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if res.status().is_server_error() {
            tracing::warn!(status, latency_ms, "request answered");
        } else {
            tracing::info!(status, latency_ms, "request answered");
        }
    });
    res
}

/// The caller's request id when it is 1 to 128 visible ASCII characters of
/// `[A-Za-z0-9._:-]`, else a new UUIDv7.
fn request_id(given: Option<&HeaderValue>) -> String {
    given
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= MAX_REQUEST_ID_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string)
}

/// Records who is calling in the current request's span (`device:<id>` or
/// `user:<name>`; staff names and device ids, never a customer's data).
pub fn record_caller(who: &Principal) {
    let caller = match who {
        Principal::Device { device_id, .. } => format!("device:{device_id}"),
        Principal::User { username, .. } => format!("user:{username}"),
    };
    tracing::Span::current().record("caller", caller.as_str());
}

/// `GET /readyz`: 200 when the database answers and every migration this
/// binary knows is applied; 503 `not_ready` otherwise, saying which.
#[utoipa::path(
    get, path = "/readyz", tag = "ops", security(()),
    responses((status = 200, description = "The database answers and its schema is current", body = crate::api_schema::Ready),
              (status = 503, description = "Not ready (`not_ready`, with Retry-After): the database does not answer or misses migrations", body = crate::api_schema::ErrorBody))
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |en: String, zh: String| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", en)
            .zh(zh)
            .retry_after(NOT_READY_RETRY_AFTER_S)
            .into_response()
    };
    match state.db.readiness().await {
        Ok(schema) if schema.is_current() => Json(json!({
            "ready": true,
            "backend": state.db.backend(),
            "schema_version": schema.applied,
        }))
        .into_response(),
        Ok(schema) => not_ready(
            format!(
                "not ready: the database has schema version {}, this server needs {}",
                schema.applied, schema.known
            ),
            format!(
                "未就绪：数据库结构版本为 {}，本服务器需要 {}。",
                schema.applied, schema.known
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            not_ready(
                "not ready: the database does not answer".into(),
                "未就绪：数据库没有响应。".into(),
            )
        }
    }
}

/// `GET /metrics`: the Prometheus text of `ops::metrics`; with
/// `--metrics-token` set, only for a request bearing that token.
#[utoipa::path(
    get, path = "/metrics", tag = "ops", security(()),
    responses(
        (status = 200, description = "Prometheus metrics in the OpenMetrics 1.0 text format", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "`--metrics-token` is set and the request does not bear it", body = crate::api_schema::ErrorBody),
    )
)]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token {
        if !bears(&headers, token) {
            let mut refused = ApiError::unauthorized(
                "/metrics needs the monitoring token: send Authorization: Bearer <the --metrics-token value>",
            )
            .into_response();
            refused
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return refused;
        }
    }
    // The outbox's depth is read at scrape time; a database that cannot
    // answer leaves the last values (and says so in the log), the rest of
    // the metrics are still served.
    match crate::outbox::depth(&state).await {
        Ok(depth) => state.metrics.outbox_depth(&depth),
        Err(e) => tracing::warn!(error = %e, "/metrics: the outbox depth could not be read"),
    }
    if let Some(work) = state.db.statement_work() {
        state.metrics.sqlite_long_statement_runs(work.long_runs());
    }
    let text = state.metrics.render(state.db.pool_use());
    ([(CONTENT_TYPE_HEADER, CONTENT_TYPE)], text).into_response()
}

/// Whether the request bears `token` as its bearer token (compared by
/// digest, so the comparison takes the same time wherever they differ).
fn bears(headers: &HeaderMap, token: &str) -> bool {
    use sha2::{Digest, Sha256};
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_request_id_is_kept_and_anything_else_replaced() {
        let keep = HeaderValue::from_static("phone-7:abc_1.2");
        assert_eq!(request_id(Some(&keep)), "phone-7:abc_1.2");
        for bad in ["", "has space", "quote\"", &"x".repeat(129)] {
            let v = HeaderValue::from_str(bad).unwrap();
            let id = request_id(Some(&v));
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        assert!(uuid::Uuid::parse_str(&request_id(None)).is_ok());
    }
}
