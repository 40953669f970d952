//! The server's metrics, served at `/metrics` in the Prometheus text format
//! (OpenMetrics 1.0, `prometheus-client`): requests by route template,
//! method and status; push and pull latency histograms; events ingested and
//! duplicates seen; login failures; database connections in use; the
//! outbox's messages by state (what waits to leave, what died). Labels are
//! route templates and status codes only — never a path, an id or anything
//! a customer typed.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use crate::store::database::PoolUse;
use crate::store::outbox::OutboxState;
use std::time::Duration;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request no route matched (404s of unknown paths).
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginFailureLabels {
    /// `wrong_credentials` (401) or `throttled` (429).
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConnectionLabels {
    /// `in_use` or `max`.
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PaymentNotificationLabels {
    /// `wechat_pay` or `alipay`.
    provider: &'static str,
    /// `paid`, `repeated` or `refused`.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    /// `pending`, `sending`, `delivered` or `dead`.
    state: &'static str,
}

/// Every metric of one server (one per [`crate::app::AppState`]).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    push_seconds: Histogram,
    pull_seconds: Histogram,
    exchange_seconds: Histogram,
    events_ingested: Counter,
    events_duplicate: Counter,
    login_failures: Family<LoginFailureLabels, Counter>,
    db_connections: Family<ConnectionLabels, Gauge>,
    outbox_messages: Family<OutboxLabels, Gauge>,
    payment_notifications: Family<PaymentNotificationLabels, Counter>,
    sqlite_long_statement_runs: Counter,
}

/// Latency buckets, in seconds: 5 ms to 30 s.
const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("doorstep");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let push_seconds = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "sync_push_duration_seconds",
            "Time to answer a sync push, body read included",
            push_seconds.clone(),
        );
        let pull_seconds = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "sync_pull_duration_seconds",
            "Time to answer a sync pull",
            pull_seconds.clone(),
        );
        let exchange_seconds = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            "sync_exchange_duration_seconds",
            "Time to answer a sync exchange (a push and the first pull page in one round trip)",
            exchange_seconds.clone(),
        );
        let events_ingested = Counter::default();
        registry.register(
            "events_ingested",
            "Visit events newly stored from device pushes",
            events_ingested.clone(),
        );
        let events_duplicate = Counter::default();
        registry.register(
            "events_duplicate",
            "Visit events pushed again that were already stored (retries)",
            events_duplicate.clone(),
        );
        let login_failures = Family::<LoginFailureLabels, Counter>::default();
        registry.register(
            "login_failures",
            "Refused logins: wrong_credentials (401) or throttled (429)",
            login_failures.clone(),
        );
        let db_connections = Family::<ConnectionLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections in use (running or queued transactions) and the most there are",
            db_connections.clone(),
        );
        let outbox_messages = Family::<OutboxLabels, Gauge>::default();
        registry.register(
            "outbox_messages",
            "Messages in the outbox (customer notices, webhooks) by state: pending and sending wait to leave, dead ones need a dispatcher",
            outbox_messages.clone(),
        );
        let payment_notifications = Family::<PaymentNotificationLabels, Counter>::default();
        registry.register(
            "payment_notifications",
            "Payment providers' notifications received, by provider and outcome: paid, repeated (already paid, nothing changed) or refused (signature, amount, unknown order)",
            payment_notifications.clone(),
        );
        let sqlite_long_statement_runs = Counter::default();
        registry.register(
            "sqlite_long_statement_runs",
            "SQLite statement runs of more than a million virtual-machine steps (each statement is logged the first time): a read walking rows no index narrows",
            sqlite_long_statement_runs.clone(),
        );
        Metrics {
            payment_notifications,
            sqlite_long_statement_runs,
            registry,
            requests,
            push_seconds,
            pull_seconds,
            exchange_seconds,
            events_ingested,
            events_duplicate,
            login_failures,
            db_connections,
            outbox_messages,
        }
    }

    /// Counts one answered request; `route` is the route template
    /// (`/api/visits/{id}`) or [`UNMATCHED_ROUTE`].
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        match route {
            "/api/sync/push" => self.push_seconds.observe(elapsed.as_secs_f64()),
            "/api/sync/pull" => self.pull_seconds.observe(elapsed.as_secs_f64()),
            "/api/sync/exchange" => self.exchange_seconds.observe(elapsed.as_secs_f64()),
            "/api/login" if status == 401 || status == 429 => {
                let reason = if status == 401 {
                    "wrong_credentials"
                } else {
                    "throttled"
                };
                self.login_failures
                    .get_or_create(&LoginFailureLabels { reason })
                    .inc();
            }
            _ => {}
        }
    }

    /// Counts the events of one push: newly stored and already stored.
    pub fn ingested(&self, applied: u64, duplicates: u64) {
        self.events_ingested.inc_by(applied);
        self.events_duplicate.inc_by(duplicates);
    }

    /// Counts one payment notification.
    pub fn payment_notification(&self, provider: &'static str, outcome: &'static str) {
        self.payment_notifications
            .get_or_create(&PaymentNotificationLabels { provider, outcome })
            .inc();
    }

    /// Sets the outbox gauges to the depth just read from the database.
    pub fn outbox_depth(&self, depth: &[(OutboxState, i64)]) {
        for (state, n) in depth {
            self.outbox_messages
                .get_or_create(&OutboxLabels {
                    state: state.as_str(),
                })
                .set(*n);
        }
    }

    /// Sets the count of SQLite's long statement runs to `total`, the
    /// database's own count since it opened (a count never goes down).
    pub fn sqlite_long_statement_runs(&self, total: u64) {
        let counted = self.sqlite_long_statement_runs.get();
        self.sqlite_long_statement_runs
            .inc_by(total.saturating_sub(counted));
    }

    /// The metrics as Prometheus text, with the database's connections as
    /// they are now.
    pub fn render(&self, pool: PoolUse) -> String {
        let gauge = |state| {
            self.db_connections
                .get_or_create(&ConnectionLabels { state })
                .clone()
        };
        gauge("in_use").set(i64::try_from(pool.in_use).unwrap_or(i64::MAX));
        gauge("max").set(i64::try_from(pool.max).unwrap_or(i64::MAX));
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_counted_under_its_route_template_and_status() {
        let m = Metrics::new();
        m.request("/api/visits/{id}", "GET", 200, Duration::from_millis(3));
        m.request("/api/visits/{id}", "GET", 200, Duration::from_millis(3));
        let text = m.render(PoolUse { in_use: 0, max: 1 });
        assert!(
            text.contains(
                r#"doorstep_http_requests_total{route="/api/visits/{id}",method="GET",status="200"} 2"#
            ),
            "{text}"
        );
    }

    #[test]
    fn a_push_lands_in_the_push_latency_histogram() {
        let m = Metrics::new();
        m.request("/api/sync/push", "POST", 200, Duration::from_millis(40));
        let text = m.render(PoolUse { in_use: 0, max: 1 });
        assert!(
            text.contains("doorstep_sync_push_duration_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains(r#"doorstep_sync_push_duration_seconds_bucket{le="0.05"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"doorstep_sync_push_duration_seconds_bucket{le="0.025"} 0"#),
            "{text}"
        );
    }

    #[test]
    fn a_refused_login_counts_as_a_login_failure_with_its_reason() {
        let m = Metrics::new();
        m.request("/api/login", "POST", 401, Duration::ZERO);
        m.request("/api/login", "POST", 429, Duration::ZERO);
        m.request("/api/login", "POST", 200, Duration::ZERO);
        let text = m.render(PoolUse { in_use: 0, max: 1 });
        assert!(
            text.contains(r#"doorstep_login_failures_total{reason="wrong_credentials"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"doorstep_login_failures_total{reason="throttled"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn the_outbox_depth_is_a_gauge_per_state() {
        let m = Metrics::new();
        m.outbox_depth(&[(OutboxState::Pending, 4), (OutboxState::Dead, 1)]);
        m.outbox_depth(&[(OutboxState::Pending, 3), (OutboxState::Dead, 1)]);
        let text = m.render(PoolUse { in_use: 0, max: 1 });
        assert!(
            text.contains(r#"doorstep_outbox_messages{state="pending"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"doorstep_outbox_messages{state="dead"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn the_long_statement_runs_follow_the_databases_count() {
        let m = Metrics::new();
        m.sqlite_long_statement_runs(2);
        m.sqlite_long_statement_runs(5);
        m.sqlite_long_statement_runs(5);
        let text = m.render(PoolUse { in_use: 0, max: 1 });
        assert!(
            text.contains("doorstep_sqlite_long_statement_runs_total 5"),
            "{text}"
        );
    }

    #[test]
    fn the_pool_use_is_read_at_render_time() {
        let m = Metrics::new();
        let text = m.render(PoolUse { in_use: 3, max: 16 });
        assert!(
            text.contains(r#"doorstep_db_connections{state="in_use"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"doorstep_db_connections{state="max"} 16"#),
            "{text}"
        );
    }
}
