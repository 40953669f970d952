//! Doorstep server: the center's side of Doorstep.
//!
//! It takes customer requests (intake), pushes assignments to technicians,
//! receives every visit event from their devices (sync), and gives the
//! center conflicts, callbacks, daily reconciliation and KPIs, through a JSON
//! API and a dispatcher web console served by the same binary.
//!
//! - [`store`]: the repository over SQLite (default) and PostgreSQL.
//! - [`auth`]: passwords, tokens, roles.
//! - [`center`]: intake, assignments, the 1-hour rule, roster.
//! - [`sync`]: the device protocol (push events, pull assignment changes).
//! - [`projection`]: visit state rebuilt with `doorstep-core`, conflicts,
//!   sign-off verification, callbacks.
//! - [`after`]: callbacks due, reconciliation, KPIs.
//! - [`console`]: the embedded web console.
//! - [`demo`]: the demo data set.

pub mod after;
pub mod auth;
pub mod center;
pub mod console;
pub mod demo;
pub mod error;
pub mod projection;
pub mod store;
pub mod sync;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use doorstep_core::Playbook;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use store::Database;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::trace::TraceLayer;

/// Server settings (flags and environment, see `main.rs`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest accepted request body, after decompression (413 beyond).
    pub max_body_bytes: usize,
    /// Most events in one push (413 beyond).
    pub max_batch_events: usize,
    /// Largest pull page.
    pub max_page: u32,
    /// Session lifetime.
    pub session_hours: i64,
    /// A sign-off farther than this from the customer's location is flagged.
    pub signoff_far_m: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch_events: 2000,
            max_page: 2000,
            session_hours: 12,
            signoff_far_m: 500.0,
        }
    }
}

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub config: Arc<Config>,
    pub playbooks: Arc<BTreeMap<String, Playbook>>,
}

impl AppState {
    pub fn new(db: Database, config: Config) -> Self {
        let playbooks = Playbook::shipped()
            .iter()
            .map(|p| (p.id.as_str().to_string(), p.clone()))
            .collect();
        Self {
            db,
            config: Arc::new(config),
            playbooks: Arc::new(playbooks),
        }
    }

    pub fn playbook(&self, trade: &str) -> Option<&Playbook> {
        self.playbooks.get(trade)
    }
}

/// Now, in Unix milliseconds (the storage format of every time).
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The JSON name of a unit enum variant (`ConflictKind::CancelledAfterStart`
/// → `cancelled_after_start`), as stored in text columns: the core's one helper.
pub use doorstep_core::wire::wire_name;

/// Unix milliseconds to a UTC time.
pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The HTTP application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/", get(console::index))
        .route("/console.js", get(console::script))
        .route("/console.css", get(console::style))
        .route("/favicon.ico", get(console::favicon))
        .route("/healthz", get(center::health))
        .route("/api/login", post(center::login))
        .route("/api/logout", post(center::logout))
        .route("/api/me", get(center::me))
        .route("/api/users", post(center::create_user))
        .route(
            "/api/technicians",
            get(center::roster).post(center::create_technician),
        )
        .route("/api/technicians/{id}/devices", post(center::enrol_device))
        .route("/api/devices/{id}/revoke", post(center::revoke_device))
        .route(
            "/api/intakes",
            get(center::list_intakes).post(center::intake),
        )
        .route(
            "/api/assignments",
            get(center::list_assignments).post(center::create_assignment),
        )
        .route(
            "/api/assignments/{id}",
            get(center::get_assignment).patch(center::update_assignment),
        )
        .route("/api/assignments/{id}/assign", post(center::assign))
        .route("/api/assignments/{id}/reassign", post(center::reassign))
        .route("/api/assignments/{id}/cancel", post(center::cancel))
        .route("/api/reminders", get(center::reminders))
        .route("/api/conflicts", get(after::conflicts))
        .route("/api/visits", get(after::list_visits))
        .route("/api/visits/{id}", get(after::get_visit))
        .route("/api/visits/{id}/resolve", post(after::resolve_conflict))
        .route("/api/callbacks", get(after::callbacks_due))
        .route("/api/callbacks/result", post(after::record_callback))
        .route("/api/callbacks/monthly-sample", post(after::monthly_sample))
        .route("/api/reconciliation", get(after::reconciliation))
        .route("/api/kpis", get(after::kpis))
        .route("/api/sync/push", post(sync::push))
        .route("/api/sync/pull", post(sync::pull))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A server running in this process (tests, benchmarks).
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub handle: tokio::task::JoinHandle<()>,
}

/// Binds `listen` (port 0 for an ephemeral port) and serves in the background.
pub async fn spawn(listen: SocketAddr, state: AppState) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(RunningServer {
        addr,
        state,
        handle,
    })
}
