//! The device's sync client: upload the outbox until acknowledged, then
//! download the center's assignment changes since the cursor.
//!
//! Stages, in the shape of Mozilla's sync engines: **push** (`upload`:
//! outbox batches sized by bytes, two on their way at once →
//! `POST /api/sync/push`, each acknowledgement applied in order with
//! its refusals in one local transaction; an entry leaves the queue only
//! when acknowledged; the last batch goes as an exchange,
//! `/api/sync/exchange`, that brings the first pull page back in the same
//! round trip),
//! **pull** (`POST /api/sync/pull` pages, each page and its cursor applied in
//! one local transaction through the workflow, so a cancel or reassign after
//! the technician started becomes a conflict and no fact is dropped; each
//! request acknowledges the pages applied before it, from which the server
//! derives the receipts the phone recorded, `crate::receipt`),
//! **finish** (status and clock offset recorded). Bodies are JSON, gzip up
//! and zstd down (`encoding`).
//! When to sync is the [`SyncService`]'s (`service`): the device's one sync
//! loop, with its own retry timer, driven by the platform's signals.
//!
//! Store calls are short SQLite transactions made inline on the async task;
//! the client is meant for a device, not a server.

mod backoff;
mod blobs;
mod encoding;
mod enrol;
mod error;
mod qr_payments;
mod service;
mod token;
mod transport;
mod upload;

pub use backoff::Backoff;
pub use blobs::BLOB_PART_BYTES;
pub use enrol::{enrol_device, enrol_device_with_key, enrol_with_code, Enrolled, EnrolmentCode};
pub use error::{SyncError, ENROLMENT_CODE_REFUSED};
pub use service::{
    SyncFailure, SyncLoopConfig, SyncLoopHandle, SyncOutcome, SyncPhase, SyncService, SyncState,
    SyncStateListener,
};
pub use token::NEW_TOKEN_HEADER;
#[cfg(feature = "http")]
pub use transport::ReqwestTransport;
pub use transport::{HttpRequest, HttpResponse, Transport, TransportFuture};

use crate::clock::Clock;
use crate::protocol::{
    AssignmentChange, ExchangeResponse, PullRequest, PullResponse, PushResponse, ACCEPTED_VERSIONS,
    PROTOCOL_VERSION,
};
use crate::receipt::ReceiptIds;
use crate::store::Store;
use crate::VisitEvent;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Where and how to sync.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The server's base URL, e.g. `https://doorstep.example.com`.
    pub server_url: String,
    /// The device token the center issued at enrolment.
    pub device_token: String,
    /// Outbox entries per push request, at most (the server's
    /// `--max-batch-events`, 2000 by default).
    pub push_batch: usize,
    /// A push request stops taking entries once their JSON reaches this
    /// many bytes: batches are sized by their cost on the wire (about an
    /// eighth of it after gzip), not by a count.
    pub push_batch_bytes: usize,
    /// Changes per pull page.
    pub pull_page: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl SyncConfig {
    pub fn new(server_url: impl Into<String>, device_token: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into().trim_end_matches('/').to_string(),
            device_token: device_token.into(),
            push_batch: 2000,
            push_batch_bytes: 256 * 1024,
            pull_page: 2000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The server's base URL (`http(s)://host[:port][/prefix]`, no trailing
/// slash), or why `url` is not one. Shared by sync and enrolment.
pub fn server_base(url: &str) -> Result<String, String> {
    let base = url.trim().trim_end_matches('/');
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(base.to_string())
    } else {
        Err(format!(
            "{url:?} is not a server address: expected https://host[:port]"
        ))
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Outbox entries the server newly stored.
    pub pushed: u64,
    /// Entries the server already had (a retried upload).
    pub duplicates: u64,
    /// Entries the server refused for good (kept locally with the reason).
    pub refused: Vec<(i64, String)>,
    /// Push requests made.
    pub push_requests: u32,
    /// Assignment changes applied.
    pub changes: u64,
    /// Events the changes produced locally (conflicts, cancellations...).
    pub change_events: u64,
    pub cursor: u64,
    /// Entries still waiting (0 after a complete sync).
    pub pending: u64,
    /// Server clock minus device clock, milliseconds.
    pub clock_offset_ms: i64,
    /// Request bytes on the wire (compressed), and response bytes.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Entries put back in the queue because the server had lost them.
    pub requeued: u64,
    /// Photos the server now holds whole (deleted from the device).
    pub blobs_uploaded: u64,
    /// Photo bytes sent (resumed uploads send only the missing part).
    pub blob_bytes_sent: u64,
    /// Photos whose events the server does not know yet (sent next time).
    pub blobs_waiting: u64,
    /// Published playbook versions verified and kept.
    pub playbooks_kept: u64,
    /// Published playbooks refused (a signature that does not check under
    /// the pinned key, or a body that does not validate), each named.
    pub playbooks_refused: Vec<String>,
}

/// Which half of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStage {
    /// Sending the outbox.
    Uploading,
    /// Fetching and applying the center's changes.
    Downloading,
}

/// Where a running sync is, for a progress bar. Reported when a stage
/// starts and after every acknowledged batch or applied page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncProgress {
    pub stage: SyncStage,
    /// Outbox entries acknowledged by the server so far in this sync.
    pub uploaded: u64,
    /// Outbox entries still waiting.
    pub pending: u64,
    /// Assignment changes applied so far in this sync.
    pub downloaded: u64,
}

/// A progress listener; called on the syncing task, so keep it quick.
pub type ProgressFn<'a> = &'a (dyn Fn(&SyncProgress) + Send + Sync);

/// The HTTP side of sync.
#[derive(Clone)]
pub struct SyncClient {
    transport: Arc<dyn Transport>,
    config: SyncConfig,
    /// The server answered an exchange with 404/405 (it predates it).
    exchange_unsupported: Arc<AtomicBool>,
    /// The token sent: `config.device_token`, or the one the server rotated it to.
    token: Arc<token::TokenCell>,
}

impl std::fmt::Debug for SyncClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncClient")
            .field("server_url", &self.config.server_url)
            .finish_non_exhaustive()
    }
}

/// A server error body: `{"error": {"code", "message", ...details}}`.
#[derive(Debug, Default, serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) message_zh: Option<String>,
    #[serde(default)]
    expected_seq: Option<u64>,
    #[serde(default)]
    acked_seq: Option<u64>,
}

/// An HTTP failure before it is classified.
enum Failure {
    Sync(SyncError),
    /// 409 sequence gap: the server's acknowledged and expected sequences.
    Gap {
        acked: u64,
        expected: u64,
    },
    /// 413: the batch was too large.
    TooLarge,
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        Failure::Sync(e)
    }
}

/// A pull's answer and the last acknowledgement row its request carried.
struct PulledPage {
    x: Exchange<PullResponse>,
    acked_pages: Option<i64>,
}

struct Exchange<T> {
    body: T,
    sent_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    bytes_sent: u64,
    bytes_received: u64,
}

impl SyncClient {
    /// A client over reqwest (the CLI, tests, desktops).
    #[cfg(feature = "http")]
    pub fn new(config: SyncConfig) -> Result<Self, SyncError> {
        let transport = ReqwestTransport::new().map_err(SyncError::Network)?;
        Ok(Self::with_transport(config, Arc::new(transport)))
    }

    /// A client over any transport (the phone's own HTTP stack).
    pub fn with_transport(config: SyncConfig, transport: Arc<dyn Transport>) -> Self {
        let token = Arc::new(token::TokenCell::new(config.device_token.clone()));
        Self {
            transport,
            config,
            exchange_unsupported: Arc::new(AtomicBool::new(false)),
            token,
        }
    }

    /// The device token requests carry: the enrolment's, or the newer one
    /// the server rotated it to (kept in the store).
    pub fn device_token(&self) -> String {
        self.token.current()
    }

    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Tells the transport to abort the requests in flight: the sync that
    /// made them was cancelled (dropped) and nobody waits for their answers.
    pub fn cancel_requests(&self) {
        self.transport.cancel();
    }

    /// One complete sync: push everything, then pull every page. Records the
    /// outcome in the store's sync status either way.
    pub async fn sync(&self, store: &Store, clock: &dyn Clock) -> Result<SyncReport, SyncError> {
        self.sync_inner(store, clock, None).await
    }

    /// [`sync`](Self::sync), telling `progress` where it is.
    pub async fn sync_with_progress(
        &self,
        store: &Store,
        clock: &dyn Clock,
        progress: ProgressFn<'_>,
    ) -> Result<SyncReport, SyncError> {
        self.sync_inner(store, clock, Some(progress)).await
    }

    /// A sync; `progress`, when given, hears where it is (its pending
    /// count is a query, so it is only made for a listener).
    async fn sync_inner(
        &self,
        store: &Store,
        clock: &dyn Clock,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        log::info!(target: "doorstep::sync", "sync started with {}", self.config.server_url);
        self.token.adopt_stored(store)?;
        let result = self.run(store, clock, &mut report, progress).await;
        let now = clock.now();
        // A token lost here is no loss: the server keeps the replaced one
        // valid for its grace period and sends another.
        match self.token.save(store, now) {
            Ok(true) => {
                log::info!(target: "doorstep::sync", "the server rotated the device token; stored")
            }
            Ok(false) => {}
            Err(e) => {
                log::warn!(target: "doorstep::sync", "a rotated device token was not stored: {e}")
            }
        }
        match &result {
            Ok(server_time) => {
                store.record_sync_success(now, report.clock_offset_ms, *server_time)?;
                report.pending = store.pending_count()?;
                log::info!(
                    target: "doorstep::sync",
                    "sync finished: {} pushed, {} duplicates, {} refused, {} changes, {} pending",
                    report.pushed,
                    report.duplicates,
                    report.refused.len(),
                    report.changes,
                    report.pending
                );
                Ok(report)
            }
            Err(e) => {
                log::warn!(target: "doorstep::sync", "sync failed: [{}] {e}", e.code());
                // Recording the failure must not hide it.
                let _ = store.record_sync_failure(now, e.code(), &e.to_string());
                Err(result.err().unwrap_or(SyncError::Cancelled))
            }
        }
    }

    async fn run(
        &self,
        store: &Store,
        clock: &dyn Clock,
        report: &mut SyncReport,
        progress: Option<ProgressFn<'_>>,
    ) -> Result<DateTime<Utc>, SyncError> {
        // The outbox's last batch carries the pull: one round trip for both.
        let (pushed, first_page) = self.push_all(store, clock, report, progress, true).await?;
        // Photos after the events that name them.
        self.upload_blobs(store, report).await?;
        let requeued_before_pull = report.requeued;
        let pulled = self
            .pull_all(store, clock, report, progress, first_page)
            .await?;
        // Applying the center's changes records facts too (a cancel, a
        // conflict; receipts are acknowledged instead), and a server that
        // lost events says so in its pages: send them now rather than
        // next time.
        let lost_found = report.requeued > requeued_before_pull;
        let pushed_again = if report.change_events > 0 || lost_found {
            self.push_all(store, clock, report, progress, false)
                .await?
                .0
        } else {
            None
        };
        Ok(pushed_again
            .or(pulled)
            .or(pushed)
            .unwrap_or_else(|| clock.now()))
    }

    /// Downloads assignment changes page by page (the first may have come
    /// with the last push, `first_page`); each page and its cursor
    /// are applied in one local transaction. The next page is requested
    /// before the current one is applied, so the server prepares it while
    /// the phone writes (pages are still applied one after the other, in
    /// order; a failure stops at the last page applied, whose cursor is
    /// stored with it).
    async fn pull_all(
        &self,
        store: &Store,
        clock: &dyn Clock,
        report: &mut SyncReport,
        progress: Option<ProgressFn<'_>>,
        first_page: Option<PulledPage>,
    ) -> Result<Option<DateTime<Utc>>, SyncError> {
        let device_id = store.device_id().clone();
        let tell =
            |report: &SyncReport| tell_progress(progress, SyncStage::Downloading, store, report);
        tell(report)?;
        let mut cursor = stored_cursor(store)?;
        let mut fetched = match first_page {
            // The exchange brought it with the last push.
            Some(page) => Ok(page),
            None => self.fetch_page(store, &device_id, cursor, clock).await,
        };
        let mut overlapped = false;
        loop {
            let PulledPage { x, acked_pages } = fetched?;
            report.bytes_sent += x.bytes_sent;
            report.bytes_received += x.bytes_received;
            if !overlapped {
                // A prefetched page's round trip includes the local work
                // done meanwhile: only the others measure the clock offset.
                report.clock_offset_ms = offset_ms(&x, x.body.server_time);
            }
            let server_time = x.body.server_time;
            let page = x.body;
            if let Some(zone) = &page.business_zone {
                keep_business_zone(store, zone, clock.now())?;
            }
            keep_published_playbooks(store, &page, clock.now(), report)?;
            if let Some(held) = page.acked_seq {
                requeue_what_the_server_lost(store, held, report)?;
            }
            if page.next_cursor < cursor {
                return Err(SyncError::Decode(format!(
                    "the server moved the cursor back from {cursor} to {}",
                    page.next_cursor
                )));
            }
            let next_cursor = page.next_cursor.to_string();
            // The acknowledgements this answer took: delivered.
            if let Some(page_row) = acked_pages {
                store.clear_download_acks(page_row)?;
            }
            let last = !page.more || page.changes.is_empty();
            let changes = page.changes.len() as u64;
            // The page is applied on a thread of its own, so the next
            // page's answer is received and read meanwhile (on a phone's
            // one-thread runtime as well). A sync dropped meanwhile leaves
            // the page's transaction to finish or roll back on that thread.
            let apply = apply_page(
                store.clone(),
                page.changes,
                next_cursor,
                clock.now(),
                page.receipt_ids,
            );
            let (events, next) = if last {
                (apply.await?, None)
            } else {
                let (next, applied) = tokio::join!(
                    self.fetch_page(store, &device_id, page.next_cursor, clock),
                    apply
                );
                (applied?, Some(next))
            };
            report.changes += changes;
            report.change_events += events.len() as u64;
            report.cursor = page.next_cursor;
            log::debug!(
                target: "doorstep::sync",
                "pulled {changes} changes, cursor {}",
                page.next_cursor
            );
            tell(report)?;
            let next = match next {
                Some(next) => next,
                // The last page's acknowledgement (its receipts) goes now,
                // so the center sees them received at once; its answer may
                // bring newer changes.
                None if !store.pending_download_acks()?.is_empty() => {
                    self.fetch_page(store, &device_id, page.next_cursor, clock)
                        .await
                }
                None => return Ok(Some(server_time)),
            };
            fetched = next;
            overlapped = true;
            cursor = page.next_cursor;
        }
    }

    /// One pull request: the page after `cursor`, acknowledging the pages
    /// applied and not yet acknowledged (the exchange's `acked_pages` is
    /// the last of their rows, to clear once the answer is applied).
    async fn fetch_page(
        &self,
        store: &Store,
        device_id: &crate::ids::DeviceId,
        cursor: u64,
        clock: &dyn Clock,
    ) -> Result<PulledPage, SyncError> {
        let pending = store.pending_download_acks()?;
        let acked_pages = pending.last().map(|(row, _)| *row);
        let request = PullRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: device_id.clone(),
            cursor,
            limit: Some(self.config.pull_page),
            sent_at: Some(clock.now()),
            received: pending.into_iter().map(|(_, ack)| ack).collect(),
            playbooks: store.published_playbook_versions()?,
        };
        match self
            .post::<_, PullResponse>("/api/sync/pull", &request, clock)
            .await
        {
            Ok(x) => Ok(PulledPage { x, acked_pages }),
            Err(Failure::Sync(e)) => Err(e),
            Err(Failure::Gap { .. } | Failure::TooLarge) => {
                Err(SyncError::Decode("unexpected answer to a pull".into()))
            }
        }
    }

    async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        clock: &dyn Clock,
    ) -> Result<Exchange<Resp>, Failure> {
        self.call("POST", path, Some(request), clock).await
    }

    /// One JSON request to the server with the device token: a gzipped
    /// body when there is one, the answer decoded or its refusal sorted.
    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: &'static str,
        path: &str,
        request: Option<&Req>,
        clock: &dyn Clock,
    ) -> Result<Exchange<Resp>, Failure> {
        let auth = format!("Bearer {}", self.token.current());
        let mut headers = vec![
            ("authorization".into(), auth),
            ("accept-encoding".into(), encoding::ACCEPTED.into()),
        ];
        let body = match request {
            Some(request) => {
                let json =
                    serde_json::to_vec(request).map_err(|e| SyncError::Decode(e.to_string()))?;
                headers.push(("content-type".into(), "application/json".into()));
                headers.push(("content-encoding".into(), "gzip".into()));
                encoding::gzip(&json).map_err(|e| SyncError::Decode(e.to_string()))?
            }
            None => Vec::new(),
        };
        let bytes_sent = body.len() as u64;
        let sent_at = clock.now();
        let mut response = self
            .transport
            .send(HttpRequest {
                method,
                url: format!("{}{path}", self.config.server_url),
                headers,
                body,
                timeout: self.config.timeout,
            })
            .await
            .map_err(SyncError::Network)?;
        let received_at = clock.now();
        let bytes_received = response.body.len() as u64;
        let retry_after = response.retry_after();
        if (200..300).contains(&response.status) {
            if let Some(new_token) = response.header(NEW_TOKEN_HEADER) {
                self.token.received(new_token);
            }
        }
        let body = std::mem::take(&mut response.body);
        let bytes = encoding::decode_answer(response.header("content-encoding"), body)
            .map_err(|e| SyncError::Decode(format!("{path}: {e}")))?;
        let status = response.status;
        let success = (200..300).contains(&status);
        if success {
            let body = serde_json::from_slice::<Resp>(&bytes)
                .map_err(|e| SyncError::Decode(format!("{path}: {e}")))?;
            return Ok(Exchange {
                body,
                sent_at,
                received_at,
                bytes_sent,
                bytes_received,
            });
        }
        let detail = error_detail(&bytes);
        let message = detail.message;
        let code = status;
        Err(match code {
            401 | 403 => Failure::Sync(SyncError::Unauthorized {
                status: code,
                message,
            }),
            409 if detail.code == "sequence_gap" => Failure::Gap {
                acked: detail.acked_seq.unwrap_or(0),
                expected: detail.expected_seq.unwrap_or(0),
            },
            413 => Failure::TooLarge,
            429 | 500..=599 => Failure::Sync(SyncError::ServerBusy {
                status: code,
                message,
                retry_after,
            }),
            _ if detail.code.contains("version") || detail.code.contains("protocol") => {
                Failure::Sync(SyncError::Protocol {
                    message: format!(
                        "{message} (this device speaks versions {ACCEPTED_VERSIONS:?})"
                    ),
                })
            }
            _ => Failure::Sync(SyncError::Refused {
                status: code,
                code: detail.code,
                message,
                message_zh: detail.message_zh,
            }),
        })
    }
}

/// A pull page says which of this device's events the server holds
/// (`held`): entries after it that this device marked acknowledged were
/// lost on the server (restored from an older backup) and go back in the
/// queue, to be pushed again in this sync.
fn requeue_what_the_server_lost(
    store: &Store,
    held: u64,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let held = i64::try_from(held).unwrap_or(i64::MAX);
    if !store.acked_after(held)? {
        return Ok(());
    }
    let requeued = store.requeue_after(held)?;
    log::warn!(
        target: "doorstep::sync",
        "the server holds this device's events up to seq {held} only: {requeued} acknowledged entries queued again"
    );
    report.requeued += requeued as u64;
    Ok(())
}

/// The server's `{"error": {"code", "message", ...}}`; a body that is not
/// one gives its first 300 characters as the message.
pub(crate) fn error_detail(bytes: &[u8]) -> ErrorDetail {
    let mut detail = serde_json::from_slice::<ErrorBody>(bytes)
        .unwrap_or_default()
        .error;
    if detail.message.is_empty() {
        detail.message = String::from_utf8_lossy(bytes).chars().take(300).collect();
    }
    detail
}

/// Tells `progress` where the sync is after `report`'s work.
fn tell_progress(
    progress: Option<ProgressFn<'_>>,
    stage: SyncStage,
    store: &Store,
    report: &SyncReport,
) -> Result<(), SyncError> {
    let Some(progress) = progress else {
        return Ok(());
    };
    progress(&SyncProgress {
        stage,
        uploaded: report.pushed + report.duplicates + report.refused.len() as u64,
        pending: store.pending_count()?,
        downloaded: report.changes,
    });
    Ok(())
}

/// Keeps the zone the server sent, once it changes; a zone that does not
/// check out fails the sync, naming the field.
fn keep_business_zone(
    store: &Store,
    zone: &crate::business_time::BusinessZone,
    now: DateTime<Utc>,
) -> Result<(), SyncError> {
    if let Err(e) = zone.validate() {
        return Err(SyncError::Decode(format!("business_zone: {e}")));
    }
    if store.business_zone()? != *zone {
        store.set_business_zone(zone, now)?;
    }
    Ok(())
}

/// Keeps the company's published playbooks the page brought, before its
/// changes start visits with them. One that does not verify under the
/// pinned key is not kept (the visits go on with what the phone holds) and
/// is named in the report and the log.
fn keep_published_playbooks(
    store: &Store,
    page: &PullResponse,
    now: DateTime<Utc>,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let refused =
        store.keep_published_playbooks(&page.playbooks, page.playbook_key.as_deref(), now)?;
    report.playbooks_kept += (page.playbooks.len() - refused.len()) as u64;
    for r in refused {
        log::error!(
            target: "doorstep::sync",
            "playbook {} version {} refused: {}",
            r.trade,
            r.version,
            r.problem
        );
        report
            .playbooks_refused
            .push(format!("{} v{}: {}", r.trade, r.version, r.problem));
    }
    Ok(())
}

/// The download cursor the store holds (0 before the first page).
fn stored_cursor(store: &Store) -> Result<u64, SyncError> {
    Ok(store
        .sync_cursor("assignments")?
        .and_then(|c| c.parse::<u64>().ok())
        .unwrap_or(0))
}

/// An exchange's answer as its two halves; the bytes on the wire count
/// once, with the push.
fn split_exchange(
    x: Exchange<ExchangeResponse>,
) -> (Exchange<PushResponse>, Exchange<PullResponse>) {
    let ExchangeResponse { push, pull } = x.body;
    let pulled = Exchange {
        body: pull,
        sent_at: x.sent_at,
        received_at: x.received_at,
        bytes_sent: 0,
        bytes_received: 0,
    };
    let pushed = Exchange {
        body: push,
        sent_at: x.sent_at,
        received_at: x.received_at,
        bytes_sent: x.bytes_sent,
        bytes_received: x.bytes_received,
    };
    (pushed, pulled)
}

/// Server clock minus the device clock at the middle of the round trip.
fn offset_ms<T>(x: &Exchange<T>, server_time: DateTime<Utc>) -> i64 {
    let half = (x.received_at - x.sent_at) / 2;
    (server_time - (x.sent_at + half)).num_milliseconds()
}

/// Applies one downloaded page and its cursor (`Store::apply_download_page`)
/// on the runtime's blocking pool, off the task that receives the next one.
async fn apply_page(
    store: Store,
    changes: Vec<AssignmentChange>,
    cursor: String,
    now: DateTime<Utc>,
    ids: ReceiptIds,
) -> Result<Vec<VisitEvent>, SyncError> {
    match tokio::task::spawn_blocking(move || {
        store.apply_download_page(&changes, &cursor, now, ids)
    })
    .await
    {
        Ok(applied) => Ok(applied?),
        // A panic there is one here, as if the page were applied in line.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down.
        Err(_) => Err(SyncError::Cancelled),
    }
}
