//! Sync and enrolment for the shells.
//!
//! [`Syncer`] owns a small tokio runtime and the HTTP client; `sync_now` is
//! a blocking call (the shell runs it on a background thread/dispatcher)
//! that pushes the outbox and pulls the center's changes exactly as
//! `doorstep device sync` does, reporting progress to a foreign
//! [`SyncListener`] on the calling thread. `cancel` (from any thread) stops
//! the sync in flight: what was acknowledged or applied stays, the rest is
//! sent next time, nothing is lost. Only one sync runs at a time per
//! `Syncer`; a second call is refused with `sync_in_progress`.
//!
//! [`enrol_device`] enrols the phone through the server at handover (a
//! dispatcher signs in on it) and returns the sync token for the shell to
//! keep in the platform's secure storage, and the discount secret for it to
//! import into the platform's key store (`crate::discount_key`).
//!
//! HTTP is the shell's: it implements [`HttpTransport`] over the platform's
//! stack (OkHttp / `HttpURLConnection`, `URLSession`), so proxies, user
//! certificates and network policy are the phone's, and this library
//! carries no HTTP or TLS code. The transport only moves bytes; what to
//! send and what an answer means stays in the core.

use crate::device_key::DeviceKeyHolder;
use crate::device_store::DeviceStore;
use crate::error::{guard, DoorstepError};
use crate::types::Timestamp;
use doorstep_core::clock::{Clock, SystemClock};
use doorstep_core::store::SyncStatus as CoreSyncStatus;
use doorstep_core::sync::{
    self as core_sync, EnrolmentCode, HttpRequest as CoreRequest, HttpResponse as CoreResponse,
    SyncClient, SyncConfig, SyncError, SyncProgress as CoreProgress, SyncReport,
    SyncStage as CoreStage, Transport, TransportFuture,
};
use doorstep_core::{DeviceId, TechnicianId};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// Where the phone syncs and as whom.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSettings {
    /// The server's base URL, e.g. `https://doorstep.example.com`.
    pub server_url: String,
    /// The token enrolment issued for this device.
    pub device_token: String,
    /// Per-request timeout; 0 means the default (30 s).
    pub timeout_seconds: u32,
}

/// What enrolment gives the phone: keep `device_token` in secure storage,
/// open the store with the ids and name, import `discount_secret` into the
/// platform key store.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    pub server_url: String,
    pub device_id: String,
    pub technician_id: String,
    pub technician_name: String,
    pub device_token: String,
    /// The per-device secret (64 hex digits) the center's offline discount
    /// codes are checked under (STANDARDS §2.12; `crate::discount_key`).
    /// Import it into the platform key store (Android Keystore, the iOS
    /// Keychain) at once, give the store a `DiscountKeyHolder` over it, and
    /// forget it: never keep it beside the enrolment, never log or show it.
    /// `None` from a server that issues none (online approvals only).
    #[uniffi(default = None)]
    pub discount_secret: Option<String>,
    /// The public half of the server's playbook key: give it to the store
    /// (`DeviceStore::trust_playbook_key`) when the store is created, so it
    /// keeps only the company playbooks the server signed. Not a secret.
    /// `None` from a server that has none.
    #[uniffi(default = None)]
    pub playbook_key: Option<String>,
}

/// Never prints the token or the discount secret.
impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("server_url", &self.server_url)
            .field("device_id", &self.device_id)
            .field("technician_id", &self.technician_id)
            .field("technician_name", &self.technician_name)
            .field("device_token", &"<secret>")
            .field(
                "discount_secret",
                &self.discount_secret.as_ref().map(|_| "<secret>"),
            )
            .field("playbook_key", &self.playbook_key)
            .finish()
    }
}

/// What the center's "new phone" QR code holds: the server and the
/// one-time code (`doorstep://enrol?server=…&code=…`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrolmentLink {
    pub server_url: String,
    pub code: String,
}

impl From<core_sync::Enrolled> for Enrolment {
    fn from(enrolled: core_sync::Enrolled) -> Self {
        Enrolment {
            server_url: enrolled.server_url,
            device_id: enrolled.device_id.to_string(),
            technician_id: enrolled.technician_id.to_string(),
            technician_name: enrolled.technician_name,
            device_token: enrolled.device_token,
            discount_secret: enrolled.discount_secret,
            playbook_key: enrolled.playbook_key,
        }
    }
}

/// Which half of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncStage {
    Uploading,
    Downloading,
}

/// Progress of a running sync.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    pub stage: SyncStage,
    /// Records the server acknowledged so far in this sync.
    pub uploaded: u64,
    /// Records still waiting for the server.
    pub pending: u64,
    /// Assignment changes from the center applied so far.
    pub downloaded: u64,
}

/// What one finished sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    /// Records the server newly stored.
    pub pushed: u64,
    /// Records it already had (a retried upload).
    pub duplicates: u64,
    /// Records it refused for good (kept on the phone with the reason).
    pub refused: u64,
    /// Assignment changes applied (new, updated, reassigned, cancelled).
    pub changes: u64,
    /// Records still waiting (0 after a complete sync).
    pub pending: u64,
    /// Server clock minus phone clock, milliseconds.
    pub clock_offset_ms: i64,
    /// Request bytes as sent (gzip) and response bytes as read (decoded).
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

impl From<SyncReport> for SyncSummary {
    fn from(r: SyncReport) -> Self {
        Self {
            pushed: r.pushed,
            duplicates: r.duplicates,
            refused: r.refused.len() as u64,
            changes: r.changes,
            pending: r.pending,
            clock_offset_ms: r.clock_offset_ms,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
        }
    }
}

/// The sync badge: what waits, and how the last attempts went.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncStatus {
    pub pending: u64,
    /// Records the server refused for good (the center has been told).
    pub refused: u64,
    pub last_attempt_at: Option<Timestamp>,
    pub last_success_at: Option<Timestamp>,
    pub last_error_code: Option<String>,
    pub consecutive_failures: u32,
    pub clock_offset_ms: Option<i64>,
}

impl From<CoreSyncStatus> for SyncStatus {
    fn from(s: CoreSyncStatus) -> Self {
        Self {
            pending: s.pending,
            refused: s.refused,
            last_attempt_at: s.last_attempt_at,
            last_success_at: s.last_success_at,
            last_error_code: s.last_error_code,
            consecutive_failures: s.consecutive_failures,
            clock_offset_ms: s.clock_offset_ms,
        }
    }
}

/// Hears a running sync's progress (implemented in Kotlin/Swift). Called on
/// the thread that called `sync_now`; keep it quick and do not throw.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    fn on_progress(&self, progress: SyncProgress);
}

impl From<&CoreProgress> for SyncProgress {
    fn from(p: &CoreProgress) -> Self {
        Self {
            stage: match p.stage {
                CoreStage::Uploading => SyncStage::Uploading,
                CoreStage::Downloading => SyncStage::Downloading,
            },
            uploaded: p.uploaded,
            pending: p.pending,
            downloaded: p.downloaded,
        }
    }
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

/// A request for the shell's HTTP stack to send.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpRequest {
    /// `GET` or `POST`; `HEAD` and `PUT` for photo uploads (a body goes with `POST` and `PUT`).
    pub method: String,
    pub url: String,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
    /// The whole exchange must finish within this many milliseconds.
    pub timeout_ms: u64,
}

/// The answer, as it came off the wire: any status (4xx and 5xx included)
/// is an answer, not an error. Do not decode the body: if the stack decoded
/// gzip itself (URLSession does), that is detected and handled.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<HttpHeader>,
    pub body: Vec<u8>,
}

/// Why no answer came: no connection, a timeout, TLS refused, a dropped
/// connection. Anything the transport throws becomes one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TransportError {
    #[error("network: {reason}")]
    Network { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TransportError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Network { reason: e.reason }
    }
}

/// The shell's HTTP stack (implemented in Kotlin/Swift). `send` blocks; it
/// runs on a worker thread of the syncer, never the UI thread.
#[uniffi::export(with_foreign)]
pub trait HttpTransport: Send + Sync {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;

    /// The sync was cancelled: abort the requests in flight (their `send`
    /// may then fail; nobody waits for it). Called from any thread.
    fn cancel(&self);
}

/// The core's [`Transport`] over the shell's [`HttpTransport`]: each
/// request runs on the runtime's blocking pool, so a cancelled sync stops
/// waiting at once (the platform call finishes or times out on its own).
struct ForeignTransport(Arc<dyn HttpTransport>);

impl Transport for ForeignTransport {
    fn send(&self, request: CoreRequest) -> TransportFuture<'_> {
        let http = self.0.clone();
        Box::pin(async move {
            let request = HttpRequest {
                method: request.method.to_string(),
                url: request.url,
                headers: request
                    .headers
                    .into_iter()
                    .map(|(name, value)| HttpHeader { name, value })
                    .collect(),
                body: request.body,
                timeout_ms: u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
            };
            let answer = tokio::task::spawn_blocking(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| http.send(request)))
            })
            .await
            .map_err(|e| format!("the transport thread failed: {e}"))?
            .map_err(|_| "the transport panicked".to_string())?;
            match answer {
                Ok(r) => Ok(CoreResponse {
                    status: r.status,
                    headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                    body: r.body,
                }),
                Err(TransportError::Network { reason }) => Err(reason),
            }
        })
    }

    fn cancel(&self) {
        let http = self.0.clone();
        // A throwing `cancel` must not unwind into the sync loop.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| http.cancel()));
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, DoorstepError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("doorstep-sync")
        .build()
        .map_err(|e| DoorstepError::internal_detail("runtime", &e.to_string()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The core's sync client for `settings` over the shell's `transport`, or
/// `invalid_server_url`.
pub(crate) fn sync_client(
    settings: &SyncSettings,
    transport: Arc<dyn HttpTransport>,
) -> Result<SyncClient, DoorstepError> {
    let url = core_sync::server_base(&settings.server_url).map_err(|en| {
        DoorstepError::invalid_input(
            "invalid_server_url",
            format!("{en}."),
            format!(
                "“{}”不是有效的服务器地址，应为 https://host[:port] 形式。",
                settings.server_url.trim()
            ),
        )
    })?;
    let mut config = SyncConfig::new(url, settings.device_token.clone());
    if settings.timeout_seconds > 0 {
        config.timeout = Duration::from_secs(u64::from(settings.timeout_seconds));
    }
    Ok(SyncClient::with_transport(
        config,
        Arc::new(ForeignTransport(transport)),
    ))
}

/// Syncs one device store with the server, once per call: the loop that
/// decides when is [`SyncService`](crate::sync_service::SyncService).
#[derive(uniffi::Object)]
pub struct Syncer {
    pub(crate) store: Arc<DeviceStore>,
    pub(crate) client: SyncClient,
    /// The shell's HTTP, told to abort when a sync is cancelled.
    transport: Arc<dyn HttpTransport>,
    /// Always `Some` until drop.
    pub(crate) runtime: Option<tokio::runtime::Runtime>,
    /// The cancel signal of the sync in flight, if any.
    running: Mutex<Option<Arc<Notify>>>,
}

impl Drop for Syncer {
    /// Shuts the runtime down without blocking, so dropping the last
    /// reference is safe from any thread (even an async one).
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Clears the in-flight marker however `sync_now` ends.
struct Running<'a>(&'a Mutex<Option<Arc<Notify>>>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *lock(self.0) = None;
    }
}

#[uniffi::export]
impl Syncer {
    /// A syncer for `store` with `settings`, over the shell's `transport`.
    /// Nothing is sent until `sync_now`.
    #[uniffi::constructor]
    pub fn new(
        store: Arc<DeviceStore>,
        settings: SyncSettings,
        transport: Arc<dyn HttpTransport>,
    ) -> Result<Self, DoorstepError> {
        guard(|| {
            let client = sync_client(&settings, transport.clone())?;
            Ok(Self {
                store,
                client,
                transport,
                runtime: Some(runtime()?),
                running: Mutex::new(None),
            })
        })
    }

    /// Pushes every waiting record, then pulls and applies the center's
    /// changes; blocks until done, failed or cancelled. The outcome (success
    /// or failure) is recorded in the store's sync status either way.
    pub fn sync_now(
        &self,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncSummary, DoorstepError> {
        guard(|| {
            let store = self.store.store()?;
            let cancel = Arc::new(Notify::new());
            {
                let mut running = lock(&self.running);
                if running.is_some() {
                    return Err(DoorstepError::Sync {
                        code: "sync_in_progress".into(),
                        transient: true,
                        detail: "sync_now was called while a sync was running".into(),
                        en: "A sync is already running.".into(),
                        zh: "正在同步中。".into(),
                    });
                }
                *running = Some(cancel.clone());
            }
            let _running = Running(&self.running);
            let clock = SystemClock;
            let progress = |p: &CoreProgress| {
                if let Some(l) = &listener {
                    l.on_progress(p.into());
                }
            };
            let runtime = self.runtime.as_ref().ok_or_else(|| {
                DoorstepError::internal_detail("runtime", "the sync runtime is gone")
            })?;
            let result = runtime.block_on(async {
                tokio::select! {
                    r = self.client.sync_with_progress(&store, &clock, &progress) => r,
                    _ = cancel.notified() => Err(SyncError::Cancelled),
                }
            });
            if let Err(SyncError::Cancelled) = &result {
                // Stop the platform's request too, not just the waiting.
                self.transport.cancel();
                // The sync future was dropped before it could record this.
                let _ = store.record_sync_failure(clock.now(), "sync_cancelled", "cancelled");
                log::info!(target: "doorstep::sync", "sync cancelled");
            }
            Ok(result?.into())
        })
    }

    /// Stops the sync in flight (from any thread); it returns
    /// `sync_cancelled`. Returns whether a sync was running.
    pub fn cancel(&self) -> bool {
        match lock(&self.running).as_ref() {
            Some(signal) => {
                // A stored permit: works even before the sync awaits it.
                signal.notify_one();
                true
            }
            None => false,
        }
    }

    /// Whether a sync is running now.
    pub fn is_syncing(&self) -> bool {
        lock(&self.running).is_some()
    }
}

/// Reads the center's QR code (`doorstep://enrol?server=…&code=…`) for
/// [`enrol_device_with_code`]; anything else is refused (`invalid_input`)
/// saying what the center's code looks like.
#[uniffi::export]
pub fn read_enrolment_link(link: String) -> Result<EnrolmentLink, DoorstepError> {
    guard(|| {
        EnrolmentCode::from_link(&link)
            .map(|c| EnrolmentLink {
                server_url: c.server_url,
                code: c.code,
            })
            .map_err(|en| {
                DoorstepError::invalid_input(
                    "invalid_input",
                    en,
                    "这不是服务中心的登记二维码：应为 doorstep://enrol?server=…&code=…，请扫描派单台上显示的二维码，或手动输入服务器地址和注册码。".into(),
                )
            })
    })
}

/// Enrols this phone with the center's one-time code (scanned with
/// [`read_enrolment_link`], or typed): no staff password on the phone; the
/// code names the technician and the device id the center chose. Blocking;
/// run it off the UI thread. A code that is unknown, used or expired is
/// refused (`unauthorized`): ask the center for a new one.
#[uniffi::export]
pub fn enrol_device_with_code(
    transport: Arc<dyn HttpTransport>,
    server_url: String,
    code: String,
    device_key: Option<Arc<dyn DeviceKeyHolder>>,
) -> Result<Enrolment, DoorstepError> {
    guard(|| {
        let public_key = device_key.map(|k| public_key_of(&*k)).transpose()?;
        let transport = ForeignTransport(transport);
        let enrolled = runtime()?.block_on(core_sync::enrol_with_code(
            &transport,
            &EnrolmentCode { server_url, code },
            public_key.as_deref(),
            Duration::from_secs(30),
        ))?;
        Ok(enrolled.into())
    })
}

/// The device key's public half, to register at enrolment (version 2).
fn public_key_of(key: &dyn DeviceKeyHolder) -> Result<Vec<u8>, DoorstepError> {
    key.public_key().map_err(|e| DoorstepError::InvalidInput {
        code: "device_key_unavailable".into(),
        en: format!("The phone's device key could not be read ({e}); enrolment needs it to sign the customers' sign-offs."),
        zh: format!("无法读取本机的设备密钥（{e}）：登记需要它为客户签字加签。"),
    })
}

/// Enrols this phone through the server: `dispatcher` signs in with
/// `password` (at handover, on the phone), the server issues the device's
/// token and names the technician. Blocking; run it off the UI thread.
#[uniffi::export]
pub fn enrol_device(
    transport: Arc<dyn HttpTransport>,
    server_url: String,
    dispatcher: String,
    password: String,
    technician_id: String,
    device_id: String,
    device_key: Option<Arc<dyn DeviceKeyHolder>>,
) -> Result<Enrolment, DoorstepError> {
    guard(|| {
        let technician = TechnicianId::new(technician_id)?;
        let device = DeviceId::new(device_id)?;
        let public_key = device_key.map(|k| public_key_of(&*k)).transpose()?;
        let transport = ForeignTransport(transport);
        let enrolled = runtime()?.block_on(core_sync::enrol_device_with_key(
            &transport,
            &server_url,
            &dispatcher,
            &password,
            &technician,
            &device,
            public_key.as_deref(),
            Duration::from_secs(30),
        ))?;
        Ok(enrolled.into())
    })
}
