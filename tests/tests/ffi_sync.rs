//! The shells' sync surface (`doorstep-ffi`: `enrol_device`, `Syncer`,
//! `SyncService`, `DeviceStore::sync_status`) against a real server on
//! loopback: what a phone's sync loop, "sync now" button, progress bar,
//! connectivity and background wake-ups do. The FFI calls are
//! blocking, as the shells make them, so they run on blocking threads.

use chrono::{Duration, Utc};
use doorstep_core::device_key::{DeviceKey, SoftwareDeviceKey};
use doorstep_core::sync::{HttpRequest as CoreRequest, ReqwestTransport, Transport};
use doorstep_e2e::{appliance_visit, photo_bytes, Center, TempDir, PASSWORD};
use doorstep_ffi::device_key::{DeviceKeyFailure, DeviceKeyHolder};
use doorstep_ffi::photos::ShellPhoto;
use doorstep_ffi::sync::{
    enrol_device, enrol_device_with_code, read_enrolment_link, HttpHeader, HttpRequest,
    HttpResponse, HttpTransport, SyncListener, SyncProgress, SyncSettings, SyncStage,
    TransportError,
};
use doorstep_ffi::sync_service::{SyncPhase, SyncServiceState, SyncStateListener};
use doorstep_ffi::{DeviceStore, DoorstepError, SyncService, Syncer};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Progress(Mutex<Vec<SyncProgress>>);

impl SyncListener for Progress {
    fn on_progress(&self, progress: SyncProgress) {
        self.0.lock().unwrap().push(progress);
    }
}

/// The shell's HTTP stack, played by reqwest on a thread of its own (as a
/// platform stack would run its own I/O). Counts the cancels it is told of.
#[derive(Default)]
struct ShellHttp {
    cancels: std::sync::atomic::AtomicUsize,
}

impl HttpTransport for ShellHttp {
    fn send(&self, r: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match r.method.as_str() {
            "GET" => "GET",
            "HEAD" => "HEAD",
            "PUT" => "PUT",
            _ => "POST",
        };
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let request = CoreRequest {
                    method,
                    url: r.url,
                    headers: r.headers.into_iter().map(|h| (h.name, h.value)).collect(),
                    body: r.body,
                    timeout: std::time::Duration::from_millis(r.timeout_ms),
                };
                ReqwestTransport::new()?.send(request).await
            })
        })
        .join()
        .expect("the transport thread")
        .map(|a| HttpResponse {
            status: a.status,
            headers: a
                .headers
                .into_iter()
                .map(|(name, value)| HttpHeader { name, value })
                .collect(),
            body: a.body,
        })
        .map_err(|reason| TransportError::Network { reason })
    }

    fn cancel(&self) {
        self.cancels
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn http() -> Arc<dyn HttpTransport> {
    Arc::new(ShellHttp::default())
}

/// A shell transport that always answers the same.
struct Canned(Result<HttpResponse, TransportError>);

impl HttpTransport for Canned {
    fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.clone()
    }

    fn cancel(&self) {}
}

fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("the FFI call panicked")
}

fn open_store(dir: &TempDir, device: &str, technician: &str, name: &str) -> Arc<DeviceStore> {
    Arc::new(
        DeviceStore::open(
            dir.0.join("phone.db").display().to_string(),
            device.into(),
            technician.into(),
            name.into(),
        )
        .expect("open the phone's store"),
    )
}

fn settings(server: &str, token: &str) -> SyncSettings {
    SyncSettings {
        server_url: server.into(),
        device_token: token.into(),
        timeout_seconds: 10,
    }
}

async fn center_with_technician(id: &str) -> Center {
    let center = Center::start().await;
    center
        .post(
            "/api/technicians",
            json!({"id": id, "name": "王伟", "trades": ["appliance_repair"]}),
        )
        .await;
    center
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrolled_at_handover_gets_its_day_and_sends_its_work() {
    let center = center_with_technician("T-21").await;
    let start = Utc::now() + Duration::days(2);
    let assignment = center.assignment("T-21", start).await;
    let base = center.base.clone();

    let enrolment = blocking(move || {
        enrol_device(
            http(),
            base,
            "desk".into(),
            PASSWORD.into(),
            "T-21".into(),
            "phone-21".into(),
            None,
        )
    })
    .expect("enrol");
    assert_eq!(enrolment.technician_name, "王伟");
    assert_eq!(enrolment.device_id, "phone-21");
    assert!(!enrolment.device_token.is_empty());

    let dir = TempDir::new("ffi-phone");
    let store = open_store(&dir, "phone-21", "T-21", &enrolment.technician_name);
    let syncer = Arc::new(
        Syncer::new(
            store.clone(),
            settings(&enrolment.server_url, &enrolment.device_token),
            http(),
        )
        .unwrap(),
    );
    let progress = Arc::new(Progress::default());
    let (s, p) = (syncer.clone(), progress.clone());
    let before = Utc::now().timestamp_millis();
    let first = blocking(move || s.sync_now(Some(p))).expect("first sync");
    let after = Utc::now().timestamp_millis();
    assert_eq!(first.changes, 1, "{first:?}");
    assert_eq!(first.pending, 0);
    let seen = progress.0.lock().unwrap().clone();
    assert_eq!(seen.first().map(|p| p.stage), Some(SyncStage::Uploading));
    assert!(seen
        .iter()
        .any(|p| p.stage == SyncStage::Downloading && p.downloaded == 1));
    // A download uploads no receipt event: the server derived the
    // assignment's receipt, with the phone's time, from the acknowledgement.
    assert_eq!(first.pushed, 0, "{first:?}");
    assert_eq!(seen.last().map(|p| p.pending), Some(0));
    let receipts = center.receipts(&assignment).await;
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0].device_id, "phone-21");
    assert!((before..=after).contains(&receipts[0].received_at));

    let screen = store
        .visit_screen(assignment.to_string(), Utc::now())
        .unwrap();
    assert_eq!(screen.assignment_id, Some(assignment.to_string()));
    store
        .apply_command(
            assignment.to_string(),
            r#"{"type": "log_call", "outcome": "reached"}"#.into(),
            Utc::now(),
            None,
        )
        .unwrap();
    assert_eq!(store.pending_upload_count().unwrap(), 1);

    let s = syncer.clone();
    let second = blocking(move || s.sync_now(None)).expect("second sync");
    assert_eq!((second.pushed, second.pending), (1, 0));
    let status = store.sync_status().unwrap();
    assert!(status.last_success_at.is_some());
    assert_eq!(status.last_error_code, None);
    assert_eq!(status.pending, 0);
    assert_eq!(center.stored_event_ids("phone-21").await.len(), 2);
    assert!(!syncer.is_syncing());
    assert!(!syncer.cancel(), "nothing to cancel after the sync");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_refusals_say_what_was_wrong() {
    let center = center_with_technician("T-22").await;
    let base = center.base.clone();
    let refused = |e: DoorstepError| match e {
        DoorstepError::Sync {
            code,
            transient,
            detail,
            zh,
            ..
        } => (code, transient, detail, zh),
        other => panic!("expected a sync error, got {other:?}"),
    };

    let b = base.clone();
    let e = blocking(move || {
        enrol_device(
            http(),
            b,
            "desk".into(),
            "wrong".into(),
            "T-22".into(),
            "p-1".into(),
            None,
        )
    })
    .unwrap_err();
    let (code, transient, detail, zh) = refused(e);
    assert_eq!((code.as_str(), transient), ("enrol_refused", false));
    assert!(detail.contains("/api/login"), "{detail}");
    assert!(zh.contains("调度员账号"));

    let b = base.clone();
    let e = blocking(move || {
        enrol_device(
            http(),
            b,
            "desk".into(),
            PASSWORD.into(),
            "T-404".into(),
            "p-1".into(),
            None,
        )
    })
    .unwrap_err();
    let (code, _, detail, _) = refused(e);
    assert_eq!(code, "enrol_refused");
    assert!(detail.contains("no technician T-404"), "{detail}");

    // Whatever the shell's HTTP stack throws is a network failure, with its reason.
    let thrown: Arc<dyn HttpTransport> = Arc::new(Canned(Err(TransportError::Network {
        reason: "java.net.UnknownHostException: doorstep.example.com".into(),
    })));
    let e = blocking(move || {
        enrol_device(
            thrown,
            "https://doorstep.example.com".into(),
            "desk".into(),
            PASSWORD.into(),
            "T-22".into(),
            "p-1".into(),
            None,
        )
    })
    .unwrap_err();
    let (code, transient, detail, _) = refused(e);
    assert_eq!((code.as_str(), transient), ("sync_network", true));
    assert!(detail.contains("UnknownHostException"), "{detail}");

    let e = blocking(|| {
        enrol_device(
            http(),
            "ftp://x".into(),
            "desk".into(),
            PASSWORD.into(),
            "T-22".into(),
            "p-1".into(),
            None,
        )
    })
    .unwrap_err();
    assert!(refused(e).2.contains("expected https://"));

    let e = blocking(|| {
        enrol_device(
            http(),
            "http://127.0.0.1:9".into(),
            "d".into(),
            "p".into(),
            "T-22".into(),
            "p-1".into(),
            None,
        )
    })
    .unwrap_err();
    let (code, transient, _, _) = refused(e);
    assert_eq!((code.as_str(), transient), ("sync_network", true));

    let e = blocking(move || {
        enrol_device(
            http(),
            base,
            "desk".into(),
            PASSWORD.into(),
            "T-22".into(),
            "bad id".into(),
            None,
        )
    })
    .unwrap_err();
    assert_eq!(e.code(), "invalid_id");
}

/// The console's "new phone" QR code, scanned by the app: the phone enrols
/// with no staff password, learns its device id and technician from the
/// server, and syncs; the code works once, and a QR code that is not the
/// center's is refused saying what to scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrols_by_scanning_the_centers_one_time_code() {
    let center = center_with_technician("T-23").await;
    let made = center
        .post(
            "/api/technicians/T-23/enrolment-codes",
            json!({"device_id": "phone-23", "server": center.base}),
        )
        .await;
    let link = read_enrolment_link(made["enrol_uri"].as_str().unwrap().into()).unwrap();
    assert_eq!(link.server_url, center.base);
    let (server, code) = (link.server_url.clone(), link.code.clone());
    let enrolment =
        blocking(move || enrol_device_with_code(http(), server, code, None)).expect("enrol");
    assert_eq!(
        (
            enrolment.device_id.as_str(),
            enrolment.technician_id.as_str()
        ),
        ("phone-23", "T-23")
    );
    assert_eq!(enrolment.technician_name, "王伟");
    let dir = TempDir::new("ffi-code");
    let store = open_store(&dir, "phone-23", "T-23", &enrolment.technician_name);
    let syncer = Arc::new(
        Syncer::new(
            store,
            settings(&enrolment.server_url, &enrolment.device_token),
            http(),
        )
        .unwrap(),
    );
    blocking(move || syncer.sync_now(None)).expect("the code's token syncs");

    let (server, code) = (link.server_url, link.code);
    let again = blocking(move || enrol_device_with_code(http(), server, code, None)).unwrap_err();
    match again {
        DoorstepError::Sync {
            code,
            transient,
            detail,
            zh,
            ..
        } => {
            assert_eq!((code.as_str(), transient), ("enrol_refused", false));
            assert!(detail.contains("already used"), "{detail}");
            assert_eq!(
                zh,
                "注册码无效、已用过或已过期：请向服务中心索取新的注册码。"
            );
        }
        other => panic!("expected a sync error, got {other:?}"),
    }
    let wrong = read_enrolment_link("https://example.com/enrol?code=X".into()).unwrap_err();
    assert_eq!(wrong.code(), "invalid_input");
    assert!(wrong
        .text(doorstep_core::messages::Lang::ZhCn)
        .contains("二维码"));
}

/// The platform keystore's key as a shell holds it (here a software key).
struct Keystore(SoftwareDeviceKey);

impl DeviceKeyHolder for Keystore {
    fn public_key(&self) -> Result<Vec<u8>, DeviceKeyFailure> {
        DeviceKey::public_key(&self.0).map_err(|e| DeviceKeyFailure::Keystore { reason: e.0 })
    }
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, DeviceKeyFailure> {
        DeviceKey::sign(&self.0, &message).map_err(|e| DeviceKeyFailure::Keystore { reason: e.0 })
    }
}

/// Enrolment version 2 through the shells: the phone enrolling with the
/// center's code registers its keystore key, and the customer's sign-off it
/// records is signed with that key, so the center's reconciliation verifies
/// it; a keystore that cannot give its key stops the enrolment, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_enrolled_by_code_registers_its_keystore_key_and_the_center_verifies_its_sign_off()
{
    let center = center_with_technician("T-24").await;
    // 10:00 in Beijing the day after tomorrow: the visit (08:00-11:00) closes on that day.
    let start = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let assignment = center.assignment("T-24", start).await;
    let made = center
        .post(
            "/api/technicians/T-24/enrolment-codes",
            json!({"device_id": "phone-24", "server": center.base}),
        )
        .await;
    let link = read_enrolment_link(made["enrol_uri"].as_str().unwrap().into()).unwrap();
    let key: Arc<dyn DeviceKeyHolder> = Arc::new(Keystore(SoftwareDeviceKey::generate()));

    struct LockedKeystore;
    impl DeviceKeyHolder for LockedKeystore {
        fn public_key(&self) -> Result<Vec<u8>, DeviceKeyFailure> {
            Err(DeviceKeyFailure::Keystore {
                reason: "user not authenticated".into(),
            })
        }
        fn sign(&self, _: Vec<u8>) -> Result<Vec<u8>, DeviceKeyFailure> {
            unreachable!("nothing is signed before enrolment")
        }
    }
    let (server, code) = (link.server_url.clone(), link.code.clone());
    let locked = blocking(move || {
        enrol_device_with_code(http(), server, code, Some(Arc::new(LockedKeystore)))
    })
    .unwrap_err();
    assert_eq!(locked.code(), "device_key_unavailable");
    assert!(locked
        .text(doorstep_core::messages::Lang::ZhCn)
        .contains("设备密钥"));

    // The locked keystore spent nothing: the same code still enrols.
    let (server, code, holder) = (link.server_url, link.code, key.clone());
    let enrolment = blocking(move || enrol_device_with_code(http(), server, code, Some(holder)))
        .expect("enrol");
    let devices = center.get("/api/devices").await;
    let phone = devices
        .as_array()
        .and_then(|d| d.iter().find(|d| d["device_id"] == "phone-24"))
        .unwrap_or_else(|| panic!("{devices}"));
    assert_eq!(phone["enrolment_version"], 2, "{phone}");

    let dir = TempDir::new("ffi-key");
    let store = open_store(&dir, "phone-24", "T-24", &enrolment.technician_name);
    store.use_device_key(key).unwrap();
    let syncer = Arc::new(
        Syncer::new(
            store.clone(),
            settings(&enrolment.server_url, &enrolment.device_token),
            http(),
        )
        .unwrap(),
    );
    let s = syncer.clone();
    blocking(move || s.sync_now(None)).expect("first sync");
    for (at, cmd) in appliance_visit(start) {
        store
            .apply_command(assignment.to_string(), cmd.to_string(), at, None)
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
    blocking(move || syncer.sync_now(None)).expect("the visit syncs");

    let report = center
        .get(&format!("/api/reconciliation?date={}", start.date_naive()))
        .await;
    let visit = report["visits"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["assignment_id"] == assignment.as_str()))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(visit["device_signature"], "verified", "{visit}");
}

/// A server that accepts connections and never answers: a sync against it
/// hangs until cancelled (or its timeout).
fn silent_server() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = vec![];
        for conn in listener.incoming().flatten() {
            held.push(conn);
            let _ = tx.send(());
        }
    });
    (url, rx)
}

#[test]
fn cancel_stops_a_sync_stuck_on_a_silent_server_and_a_second_sync_is_refused_meanwhile() {
    let (url, connected) = silent_server();
    let dir = TempDir::new("ffi-cancel");
    let store = open_store(&dir, "phone-30", "T-30", "Zhao Lei");
    let shell = Arc::new(ShellHttp::default());
    let syncer = Arc::new(
        Syncer::new(
            store.clone(),
            SyncSettings {
                timeout_seconds: 600,
                ..settings(&url, "token")
            },
            shell.clone(),
        )
        .unwrap(),
    );
    assert!(!syncer.cancel(), "nothing runs yet");
    let s = syncer.clone();
    let running = std::thread::spawn(move || s.sync_now(None));
    connected.recv().expect("the sync connects");
    assert!(syncer.is_syncing());
    let e = syncer.sync_now(None).unwrap_err();
    assert_eq!(e.code(), "sync_in_progress");

    assert!(syncer.cancel());
    let e = running.join().unwrap().unwrap_err();
    assert_eq!(e.code(), "sync_cancelled");
    assert_eq!(
        shell.cancels.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the shell's HTTP was told to abort the request in flight"
    );
    assert!(!syncer.is_syncing());
    let status = store.sync_status().unwrap();
    assert_eq!(status.last_error_code.as_deref(), Some("sync_cancelled"));
    assert_eq!(status.consecutive_failures, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_phone_is_told_to_enrol_again_and_a_retry_will_not_help() {
    let center = center_with_technician("T-23").await;
    let enrolled = center
        .post(
            "/api/technicians/T-23/devices",
            json!({"device_id": "phone-23"}),
        )
        .await;
    let token = enrolled["token"].as_str().unwrap().to_string();
    center.post("/api/devices/phone-23/revoke", json!({})).await;
    let dir = TempDir::new("ffi-revoked");
    let store = open_store(&dir, "phone-23", "T-23", "王伟");
    let syncer = Syncer::new(store, settings(&center.base, &token), http()).unwrap();
    let e = blocking(move || syncer.sync_now(None)).unwrap_err();
    match e {
        DoorstepError::Sync {
            code,
            transient,
            zh,
            ..
        } => {
            assert_eq!(code, "sync_unauthorized");
            assert!(!transient);
            assert!(zh.contains("重新登记"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_settings_and_a_closed_store_fail_cleanly() {
    let dir = TempDir::new("ffi-closed");
    let store = open_store(&dir, "phone-31", "T-31", "Zhao Lei");
    let e = Syncer::new(store.clone(), settings("doorstep.example.com", "t"), http())
        .err()
        .unwrap();
    assert_eq!(e.code(), "invalid_server_url");
    let syncer = Syncer::new(store.clone(), settings("http://127.0.0.1:9", "t"), http()).unwrap();
    let e = syncer.sync_now(None).unwrap_err();
    assert_eq!(e.code(), "sync_network");
    assert_eq!(store.sync_status().unwrap().consecutive_failures, 1);
    store.close_store();
    assert_eq!(syncer.sync_now(None).unwrap_err().code(), "store_closed");
}

#[test]
fn a_garbled_answer_is_a_decode_failure_that_may_be_retried_and_loses_nothing() {
    let dir = TempDir::new("ffi-garbled");
    let store = open_store(&dir, "phone-32", "T-32", "Zhao Lei");
    store
        .receive_assignment(
            r#"{"id": "A-3201", "version": 1, "trade": "appliance_repair", "technician": "T-32",
                "customer": {"name": "Li Hua", "phone": "138-0013-8000", "address": "88 Century Avenue",
                    "location": {"lat": 31.2304, "lon": 121.4737}},
                "requested_window": {"start": "2026-11-26T02:00:00Z", "end": "2026-11-26T04:00:00Z"},
                "received_at": "2026-11-25T07:30:00Z"}"#
                .into(),
            Utc::now(),
        )
        .unwrap();
    let before = store.pending_upload_count().unwrap();
    let garbled = HttpResponse {
        status: 200,
        headers: vec![HttpHeader {
            name: "Content-Encoding".into(),
            value: "gzip".into(),
        }],
        body: vec![0x1f, 0x8b, 0, 1, 2, 3],
    };
    let syncer = Syncer::new(
        store.clone(),
        settings("https://doorstep.example.com", "t"),
        Arc::new(Canned(Ok(garbled))),
    )
    .unwrap();
    match syncer.sync_now(None).unwrap_err() {
        DoorstepError::Sync {
            code,
            transient,
            detail,
            ..
        } => {
            assert_eq!((code.as_str(), transient), ("sync_decode", true));
            assert!(detail.contains("gzip"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.pending_upload_count().unwrap(), before);
}

/// The states a `SyncService` publishes, kept in order; the test waits on them.
#[derive(Default)]
struct States {
    seen: Mutex<Vec<SyncServiceState>>,
    changed: std::sync::Condvar,
}

impl SyncStateListener for States {
    fn on_state(&self, state: SyncServiceState) {
        self.seen.lock().unwrap().push(state);
        self.changed.notify_all();
    }
}

impl States {
    /// The `n`-th published state (from 1) whose phase matches, waiting up to 20 s.
    fn nth(&self, n: usize, what: &str, matches: impl Fn(&SyncPhase) -> bool) -> SyncServiceState {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = self.seen.lock().unwrap();
        loop {
            if let Some(s) = seen.iter().filter(|s| matches(&s.phase)).nth(n - 1) {
                return s.clone();
            }
            let left = deadline
                .checked_duration_since(std::time::Instant::now())
                .unwrap_or_else(|| panic!("no {what} state #{n}; seen {:?}", *seen));
            seen = self.changed.wait_timeout(seen, left).unwrap().0;
        }
    }
}

fn synced(p: &SyncPhase) -> bool {
    matches!(p, SyncPhase::Synced { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_service_keeps_an_enrolled_phone_in_sync_on_its_own() {
    let center = center_with_technician("T-24").await;
    let start = Utc::now() + Duration::days(2);
    let assignment = center.assignment("T-24", start).await;
    let base = center.base.clone();
    let enrolment = blocking(move || {
        enrol_device(
            http(),
            base,
            "desk".into(),
            PASSWORD.into(),
            "T-24".into(),
            "phone-24".into(),
            None,
        )
    })
    .expect("enrol");
    let dir = TempDir::new("ffi-service");
    let store = open_store(&dir, "phone-24", "T-24", &enrolment.technician_name);
    let service = Arc::new(
        SyncService::new(
            store.clone(),
            settings(&enrolment.server_url, &enrolment.device_token),
            http(),
        )
        .unwrap(),
    );
    assert_eq!(service.state().phase, SyncPhase::Idle);
    let states = Arc::new(States::default());
    let handle = service.start(states.clone()).unwrap();

    // It syncs at start on its own: the day comes in (its receipt derived by the server).
    let st = states.clone();
    let first = blocking(move || st.nth(1, "synced", synced));
    let SyncPhase::Synced {
        summary,
        next_sync_at,
    } = first.phase
    else {
        unreachable!()
    };
    assert_eq!((summary.changes, summary.pending), (1, 0), "{summary:?}");
    let wait = next_sync_at - Utc::now();
    assert!(wait > Duration::minutes(14), "{wait:?}");
    assert!(first.last_success_at.is_some());
    assert_eq!(first.pending, 0);
    assert!(states.seen.lock().unwrap().iter().any(
        |s| matches!(&s.phase, SyncPhase::Syncing { progress: Some(p) } if p.downloaded == 1)
    ));

    // A recorded command and "sync now": it goes at once, not in 15 minutes.
    store
        .apply_command(
            assignment.to_string(),
            r#"{"type": "log_call", "outcome": "reached"}"#.into(),
            Utc::now(),
            None,
        )
        .unwrap();
    service.sync_now();
    let st = states.clone();
    let second = blocking(move || st.nth(2, "synced", synced));
    let SyncPhase::Synced { summary, .. } = second.phase else {
        unreachable!()
    };
    assert_eq!((summary.pushed, summary.pending), (1, 0));
    assert_eq!(center.stored_event_ids("phone-24").await.len(), 2);

    // A WorkManager/BGTask wake-up while the loop runs: the loop runs it.
    let s = service.clone();
    let woken = blocking(move || s.background_wake()).expect("wake-up sync");
    assert_eq!(woken.pending, 0);
    assert_eq!(
        states
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| synced(&s.phase))
            .count(),
        3
    );

    assert!(service.is_running());
    handle.cancel();
    let st = states.clone();
    blocking(move || st.nth(1, "stopped", |p| matches!(p, SyncPhase::Stopped)));
    // The task ends right after telling its listener.
    for _ in 0..100 {
        if handle.is_finished() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(handle.is_finished());
    assert!(!service.is_running());
}

#[test]
fn going_offline_cancels_the_loops_sync_stuck_on_a_silent_server() {
    let (url, connected) = silent_server();
    let dir = TempDir::new("ffi-service-offline");
    let store = open_store(&dir, "phone-33", "T-33", "Zhao Lei");
    let shell = Arc::new(ShellHttp::default());
    let service = SyncService::new(
        store.clone(),
        SyncSettings {
            timeout_seconds: 600,
            ..settings(&url, "token")
        },
        shell.clone(),
    )
    .unwrap();
    let states = Arc::new(States::default());
    let handle = service.start(states.clone()).unwrap();
    connected.recv().expect("the loop's first sync connects");
    service.set_online(false);
    let offline = states.nth(1, "offline", |p| matches!(p, SyncPhase::Offline));
    assert_eq!(offline.pending, 0);
    assert_eq!(
        shell.cancels.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the shell's HTTP was told to abort the request in flight"
    );
    assert_eq!(
        store.sync_status().unwrap().last_error_code.as_deref(),
        Some("sync_cancelled")
    );
    // Offline, a wake-up tries nothing and says why.
    match service.background_wake().unwrap_err() {
        DoorstepError::Sync {
            code,
            transient,
            zh,
            ..
        } => {
            assert_eq!((code.as_str(), transient), ("sync_offline", true));
            assert!(zh.contains("离线"), "{zh}");
        }
        other => panic!("{other:?}"),
    }
    // Dropping the handle stops the loop.
    drop(handle);
    states.nth(1, "stopped", |p| matches!(p, SyncPhase::Stopped));
    assert!(!service.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_service_tells_a_revoked_phone_to_enrol_again_and_a_wake_up_says_why() {
    let center = center_with_technician("T-25").await;
    let enrolled = center
        .post(
            "/api/technicians/T-25/devices",
            json!({"device_id": "phone-25"}),
        )
        .await;
    let token = enrolled["token"].as_str().unwrap().to_string();
    center.post("/api/devices/phone-25/revoke", json!({})).await;
    let dir = TempDir::new("ffi-service-revoked");
    let store = open_store(&dir, "phone-25", "T-25", "王伟");
    let service =
        Arc::new(SyncService::new(store, settings(&center.base, &token), http()).unwrap());

    // Without a loop (the process was woken for it), the wake-up syncs here.
    let s = service.clone();
    match blocking(move || s.background_wake()).unwrap_err() {
        DoorstepError::Sync {
            code, transient, ..
        } => assert_eq!((code.as_str(), transient), ("sync_unauthorized", false)),
        other => panic!("{other:?}"),
    }

    let states = Arc::new(States::default());
    let _handle = service.start(states.clone()).unwrap();
    let st = states.clone();
    let need = blocking(move || {
        st.nth(1, "needs attention", |p| {
            matches!(p, SyncPhase::NeedsAttention { .. })
        })
    });
    let SyncPhase::NeedsAttention { failure, retry_at } = need.phase else {
        unreachable!()
    };
    assert_eq!(failure.code, "sync_unauthorized");
    assert!(!failure.transient);
    assert!(failure.zh.contains("重新登记"), "{}", failure.zh);
    assert!(retry_at > Utc::now() + Duration::minutes(14));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_the_shell_captures_is_watermarked_stored_and_uploaded_after_its_event() {
    let center = Center::start().await;
    let (device, token) = center.technician("T-31").await;
    let start = (Utc::now() + Duration::days(2))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .unwrap()
        .and_utc();
    let assignment = center.assignment("T-31", start).await;
    let dir = TempDir::new("ffi-photo");
    let store = open_store(&dir, &device, "T-31", "王伟");
    let syncer =
        Arc::new(Syncer::new(store.clone(), settings(&center.base, &token), http()).unwrap());
    let s = syncer.clone();
    blocking(move || s.sync_now(None)).expect("first sync");
    // The visit up to the diagnosis, then the nameplate photo.
    let steps = appliance_visit(start);
    let upto = steps
        .iter()
        .position(|(_, c)| c["type"] == "take_photo")
        .unwrap();
    for (at, cmd) in &steps[..upto] {
        store
            .apply_command(assignment.to_string(), cmd.to_string(), *at, None)
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
    let (at, _) = steps[upto];
    let mark = store
        .photo_watermark(assignment.to_string(), at, None, 1440, 1080, 480)
        .unwrap();
    // Without a fix, the address only up to its district (never the street).
    assert!(!mark.lines[1].contains("世纪大道"), "{:?}", mark.lines);
    assert!(mark.lines[1].ends_with('区'), "{:?}", mark.lines);
    assert!(mark.lines[2].contains("王伟"), "{:?}", mark.lines);
    assert!(
        mark.lines[3].contains(assignment.as_str()),
        "{:?}",
        mark.lines
    );
    assert_eq!(mark.font_px, 30);
    let bytes = photo_bytes(start, "nameplate", 40);
    let stored = store
        .store_photo(
            assignment.to_string(),
            ShellPhoto {
                moment: "nameplate".into(),
                bytes: bytes.clone(),
                width: 1440,
                height: 1080,
            },
            at,
            None,
        )
        .unwrap();
    assert_eq!(stored.digest, doorstep_core::canonical::sha256_hex(&bytes));
    assert_eq!(stored.result.events, vec!["photo_taken".to_string()]);
    assert_eq!(store.pending_photo_count().unwrap(), 1);
    // A photo that does not fit the bound is refused, nothing written.
    store.set_photo_storage_limit(50 * 1024).unwrap();
    let e = store
        .store_photo(
            assignment.to_string(),
            ShellPhoto {
                moment: "fault_before".into(),
                bytes: photo_bytes(start, "fault_before", 40),
                width: 1440,
                height: 1080,
            },
            at,
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), "store_blob_area_full");
    let s = syncer.clone();
    blocking(move || s.sync_now(None)).expect("the sync with the photo");
    assert_eq!(
        store.pending_photo_count().unwrap(),
        0,
        "uploaded, then purged"
    );
    let v = center
        .get(&format!("/api/visits?assignment_id={assignment}"))
        .await;
    let visit = v[0]["visit_id"].as_str().unwrap().to_string();
    let listed = center.get(&format!("/api/visits/{visit}/photos")).await;
    assert_eq!(
        listed["photos"][0]["digest"],
        stored.digest.as_str(),
        "{listed}"
    );
    assert_eq!(listed["photos"][0]["uploaded"], true, "{listed}");
}
