//! `GET /api/live`: server-sent events telling the console what changed, so
//! the board, the visits and the queue counts refresh in place. Every
//! [`POLL_INTERVAL`] the stream reads a change mark (newest assignment and
//! visit updates, open and conflicted counts) and, when it moved, sends a
//! `change` event whose id is the mark; a reconnecting client sends its last
//! id (`Last-Event-ID`) and hears at once if it missed something. Reading the
//! database rather than an in-process channel means changes made through any
//! server process sharing the database are seen.
//!
//! A stream lasts as long as the client keeps it open, so it is exempt from
//! the server's connection cap (it hands back the connection's slot, see
//! [`ConnectionSlot`]) and is counted instead against
//! [`STREAMS_PER_USER`] per signed-in user ([`LiveStreams`]). Read timeouts do
//! not apply: the header timeout ends with the request head, and a GET has no
//! body to time out. A graceful shutdown ends every stream at once; a
//! stream ends too when the session it was opened with does (logout,
//! expiry, an admin ending the user's sessions).

use crate::app::AppState;
use crate::auth::token_hash;
use crate::http::auth::bearer_token;
use crate::http::auth::Auth;
use crate::http::error::{ApiError, ApiResult};
use crate::http::streams::{ConnectionSlot, LiveStreams, StreamTicket, STREAMS_PER_USER};
use crate::model::AssignmentStatus;
use crate::store::{sessions, Tx};
use crate::time::now_ms;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Serialize;
use std::convert::Infallible;
use std::time::Duration;

/// How often a stream looks for changes.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How often an idle stream sends a comment: it keeps proxies from closing
/// it, and writing is how a stream whose client left is noticed (and its
/// place under the per-user limit freed).
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// What a `change` event carries: the mark's parts, so the console refetches
/// only what moved.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ChangeMark {
    /// Newest `updated_at` of any assignment (ms).
    pub assignments: i64,
    /// Newest `updated_at` of any visit (ms): a device's facts move it.
    pub visits: i64,
    /// Assignments waiting for a technician.
    pub unassigned: i64,
    /// Visits with a conflict waiting for a decision.
    pub open_conflicts: i64,
}

impl ChangeMark {
    /// The event id: every part, so any change gives a new id.
    pub fn id(&self) -> String {
        format!(
            "a{}-v{}-u{}-c{}",
            self.assignments, self.visits, self.unassigned, self.open_conflicts
        )
    }
}

/// The change mark's query, `$1` the open status. Every open console runs
/// it every second: each part is answered from an index (migration 0014),
/// never by reading a whole table (`tests/server/board.rs` checks the plan).
pub const CHANGE_MARK_SQL: &str =
    "SELECT (SELECT COALESCE(MAX(updated_at), 0) FROM assignments) AS assignments,
            (SELECT COALESCE(MAX(updated_at), 0) FROM visits) AS visits,
            (SELECT COUNT(*) FROM assignments WHERE status = $1) AS unassigned,
            (SELECT COUNT(*) FROM visits WHERE conflict IS NOT NULL
               AND (resolved_version IS NULL OR resolved_version < conflict_version)) AS open_conflicts";

async fn read_mark(tx: &mut dyn Tx) -> crate::failure::Fallible<ChangeMark> {
    let r = tx
        .query_opt(CHANGE_MARK_SQL, &[AssignmentStatus::Open.as_str().into()])
        .await?;
    Ok(r.map(|r| ChangeMark {
        assignments: r.int("assignments"),
        visits: r.int("visits"),
        unassigned: r.int("unassigned"),
        open_conflicts: r.int("open_conflicts"),
    })
    .unwrap_or(ChangeMark {
        assignments: 0,
        visits: 0,
        unassigned: 0,
        open_conflicts: 0,
    }))
}

struct Streaming {
    state: AppState,
    /// The hash of the session the stream was opened with: when that
    /// session ends (logout, expiry, an admin ending it, the account
    /// disabled), so does the stream.
    session: String,
    last: Option<String>,
    first: bool,
    /// Counted under the per-user limit until dropped; tells the stream
    /// when the server shuts down. `None` only outside `serve` (no limits).
    ticket: Option<StreamTicket>,
}

#[utoipa::path(
    get, path = "/api/live", tag = "center", security(("session" = [])),
    params(("Last-Event-ID" = Option<String>, Header, description = "The last event id the client saw (a reconnecting browser sends it)")),
    responses((status = 200, description = "Server-sent events: `hello` at once, then `change` when the board moved; each event's data is a ChangeMark", content_type = "text/event-stream", body = String),
              (status = 429, description = "The user already has the most live streams open (`too_many_streams`)", body = crate::api_schema::ErrorBody))
)]
pub async fn live(
    State(state): State<AppState>,
    Auth(who): Auth,
    headers: HeaderMap,
    slot: Option<Extension<ConnectionSlot>>,
    streams: Option<Extension<LiveStreams>>,
) -> ApiResult<Response> {
    let user = who.dispatcher()?.to_string();
    let ticket = match streams {
        Some(Extension(streams)) => Some(streams.open(&user).ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "{user} already has {STREAMS_PER_USER} live streams open: close a console tab"
                ),
            )
            .zh(format!(
                "{user} 已打开 {STREAMS_PER_USER} 个实时更新连接：请关闭一个派单台标签页。"
            ))
            .retry_after(5)
        })?),
        None => None,
    };
    // Out of the connection cap: the stream is counted per user instead.
    if let Some(Extension(slot)) = slot {
        slot.release();
    }
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let session = token_hash(bearer_token(&headers).unwrap_or_default());
    let start = Streaming {
        state,
        session,
        last,
        first: true,
        ticket,
    };
    let stream = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if !s.first {
                let closing = async {
                    match s.ticket.as_mut() {
                        Some(ticket) => ticket.closing().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    // The server shuts down: the stream ends, cleanly.
                    _ = closing => return None,
                }
            }
            let first = std::mem::replace(&mut s.first, false);
            let session = s.session.clone();
            let read = s.state.db.read(move |tx| {
                Box::pin(async move {
                    if sessions::session_user(tx, &session, now_ms())
                        .await?
                        .is_none()
                    {
                        return Ok(None);
                    }
                    read_mark(tx).await.map(Some)
                })
            });
            let mark: crate::failure::Fallible<Option<ChangeMark>> = read.await;
            let mark = match mark {
                Ok(Some(m)) => m,
                // The session ended: the stream ends with it.
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "live: change mark unreadable");
                    continue;
                }
            };
            let id = mark.id();
            // The first event always goes out (it tells the client the
            // stream is up, and the current mark); later ones on change.
            if first || s.last.as_deref() != Some(&id) {
                let missed = s.last.is_some() && s.last.as_deref() != Some(&id);
                s.last = Some(id.clone());
                let kind = if first && !missed { "hello" } else { "change" };
                let event = Event::default()
                    .id(id)
                    .event(kind)
                    .retry(Duration::from_secs(3))
                    .json_data(&mark)
                    .unwrap_or_default();
                return Some((Ok::<_, Infallible>(event), s));
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_in_the_mark_gives_a_new_event_id() {
        let base = ChangeMark {
            assignments: 1,
            visits: 2,
            unassigned: 3,
            open_conflicts: 4,
        };
        let ids = [
            base.id(),
            ChangeMark {
                assignments: 9,
                ..base.clone()
            }
            .id(),
            ChangeMark {
                visits: 9,
                ..base.clone()
            }
            .id(),
            ChangeMark {
                unassigned: 9,
                ..base.clone()
            }
            .id(),
            ChangeMark {
                open_conflicts: 9,
                ..base.clone()
            }
            .id(),
        ];
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
