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
use tokio::sync::Semaphore;
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

/// Serves `app` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, app: Router, state: AppState) {
    let header_timeout = Duration::from_secs(state.config.header_timeout_secs);
    let open = Arc::new(Semaphore::new(state.config.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let busy = overflow_router(state.clone());
    let live = LiveStreams::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
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
        let slot = ConnectionSlot::new(permit);
        let live = live.clone();
        tokio::spawn(async move {
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
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, peer = %peer, "connection ended");
            }
            drop(slot);
        });
    }
}
