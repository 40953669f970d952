//! The accept loop: each connection is served by hyper (HTTP/1.1) with a
//! header read timeout (`--header-timeout-secs`: a client that has not sent
//! a whole request head in time is disconnected, idle keep-alive included),
//! and at most `--max-connections` are open. Beyond the cap, up to
//! [`OVERFLOW_CONNECTIONS`] more are answered by a small router — `/healthz`
//! for real, anything else 503 `overloaded` + `Retry-After` — and closed;
//! beyond those, new connections are closed at once. The body read timeout
//! is the edge's ([`crate::http::error::BodyDeadline`]). A live stream
//! (`GET /api/live`) gives its connection's place back and is counted per
//! user instead (`crate::http::streams`).
//!
//! Graceful shutdown ([`Shutdown`], SIGTERM in `main.rs`): the listener is
//! closed at once (new connections are refused), idle keep-alive
//! connections are closed, and each request in flight is let finish and
//! answered with `Connection: close` — for at most the grace period, after
//! which the connections still open are cut. A push cut that way either
//! committed or did not, as one transaction; the phone's retry is then
//! applied or acknowledged as a duplicate, so it lands exactly once. A live
//! stream is told to end when the shutdown begins (its response completes
//! and the console reconnects), so it never holds the shutdown up.

use crate::app::AppState;
use crate::http::edge::{self, overloaded};
use crate::http::health;
use crate::http::streams::{ConnectionSlot, LiveStreams};
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Connections past the cap that still get an answer (503, or `/healthz`).
pub const OVERFLOW_CONNECTIONS: usize = 64;

/// Header read timeout of an overflow connection.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// What over-cap connections are served with.
fn overflow_router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .fallback(|| async { overloaded() })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::edge,
        ))
        .with_state(state)
}

/// Tells [`serve`] to stop: see the module doc. Dropping it never stops
/// the server (tests drop it and keep serving).
#[derive(Clone)]
pub struct Shutdown {
    stop: watch::Sender<Option<Duration>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown {
            stop: watch::channel(None).0,
        }
    }

    /// Starts the shutdown: requests in flight get `grace` to finish.
    pub fn begin(&self, grace: Duration) {
        self.stop.send_replace(Some(grace));
    }

    fn subscribe(&self) -> watch::Receiver<Option<Duration>> {
        self.stop.subscribe()
    }
}

/// Waits until a shutdown begins and returns its grace period; never
/// returns once the [`Shutdown`] is gone without one.
async fn stop_requested(stop: &mut watch::Receiver<Option<Duration>>) -> Duration {
    let grace = stop
        .wait_for(Option::is_some)
        .await
        .map(|grace| grace.unwrap_or_default());
    match grace {
        Ok(grace) => grace,
        Err(_) => std::future::pending().await,
    }
}

/// Serves `app` on `listener` until `shutdown` begins, then finishes as the
/// module doc says and returns the number of connections it had to cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    state: AppState,
    shutdown: Shutdown,
) -> usize {
    let header_timeout = Duration::from_secs(state.config.header_timeout_secs);
    let open = Arc::new(Semaphore::new(state.config.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let busy = overflow_router(state.clone());
    let live = LiveStreams::default();
    let mut stop = shutdown.subscribe();
    let mut connections = JoinSet::new();
    let grace = loop {
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            grace = stop_requested(&mut stop) => break grace,
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (service, permit, timeout, keep_alive) = match open.clone().try_acquire_owned() {
            Ok(p) => (app.clone(), p, header_timeout, true),
            Err(_) => match overflow.clone().try_acquire_owned() {
                Ok(p) => (busy.clone(), p, OVERFLOW_HEADER_TIMEOUT, false),
                Err(_) => {
                    drop(stream);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let mut stop = shutdown.subscribe();
        let slot = ConnectionSlot::new(permit);
        let live = live.clone();
        connections.spawn(async move {
            let held = slot.clone();
            let service = service.map_request(move |mut req: axum::extract::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req.extensions_mut().insert(held.clone());
                req.extensions_mut().insert(live.clone());
                req
            });
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .keep_alive(keep_alive);
            let conn =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = stop_requested(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    conn.as_mut().await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, peer = %peer, "connection ended");
            }
            drop(slot);
        });
    };
    drop(listener);
    // Live streams never finish on their own: they end now, each answer
    // completing cleanly (its browser reconnects elsewhere).
    live.close_all();
    tracing::info!(
        connections = connections.len(),
        grace_secs = grace.as_secs_f64(),
        "shutting down: no new connections, requests in flight may finish"
    );
    let finished = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    let cut = connections.len();
    if finished.is_err() {
        tracing::warn!(
            connections = cut,
            "grace period over: connections still open are cut"
        );
    }
    connections.shutdown().await;
    cut
}
