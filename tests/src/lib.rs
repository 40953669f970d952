//! End-to-end harness: a real `doorstep-server` on an ephemeral loopback port
//! (SQLite in a temp dir), a dispatcher client over HTTP, and phones that are
//! real device stores with the real sync client. The scenarios live in
//! `tests/`; `proxy` injects network faults between phone and server; `link`
//! emulates a weak mobile link (latency, shared bandwidth, loss) for the
//! sync benchmark. A center's server logs are scanned for phones and
//! addresses when it ends (`log_scan`, shared with the server's tests).

pub mod link;
#[path = "../../server/tests/server/log_scan.rs"]
pub mod log_scan;
pub mod proxy;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::clock::FixedClock;
use doorstep_core::store::{Enrollment, Store, StoreError};
use doorstep_core::sync::{SyncClient, SyncConfig, SyncError, SyncReport};
use doorstep_core::{AssignmentId, DeviceId, TechnicianId, VisitCommand, VisitEvent};
use doorstep_server::app::{AppState, Config};
use doorstep_server::auth::{hash_password, Role};
use doorstep_server::domain::assignments::{
    assign_tx, insert_assignment, AssignRequest, NewAssignment,
};
use doorstep_server::domain::receipts;
use doorstep_server::http::error::ApiError;
use doorstep_server::http::{spawn, RunningServer};
use doorstep_server::store::receipts::ReceiptRow;
use doorstep_server::store::users::insert_user;
use doorstep_server::store::Database;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The repository's root, read where the tests run (a test binary reused
/// from another checkout reads this one's files).
pub fn repo_root() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub const PASSWORD: &str = "correct horse battery";

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "doorstep-e2e-{label}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The center: server + dispatcher session. When it is dropped, the logs
/// written since the last scan are scanned ([`log_scan::check`]).
pub struct Center {
    pub server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    pub dispatcher: String,
    db_path: String,
    _dir: TempDir,
}

impl Center {
    pub async fn start() -> Center {
        Self::start_with(Config::default()).await
    }

    /// The same, with the server's settings `config`.
    pub async fn start_with(config: Config) -> Center {
        Self::start_on(None, config).await
    }

    /// On the database at `url` (a fresh one: see [`fresh_database`]), or
    /// on SQLite in a temporary directory when `None`.
    pub async fn start_on(url: Option<String>, config: Config) -> Center {
        // The tests' builds only: the benchmarks (`--profile server-bench`)
        // time the server without a test subscriber formatting its lines.
        if cfg!(debug_assertions) {
            log_scan::install();
        }
        let dir = TempDir::new("server");
        let db_path = url.unwrap_or_else(|| dir.0.join("doorstep.db").display().to_string());
        let db = Database::open(&db_path)
            .await
            .expect("open the server database");
        let state = AppState::new(db, config);
        let phc = hash_password(PASSWORD);
        state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    insert_user(tx, "desk", &phc, Role::Dispatcher).await?;
                    insert_user(tx, "admin", &phc, Role::Admin).await?;
                    Ok::<_, ApiError>(())
                })
            })
            .await
            .expect("create the dispatcher");
        let server = spawn("127.0.0.1:0".parse().unwrap(), state)
            .await
            .expect("start the server");
        let mut c = Center {
            base: format!("http://{}", server.addr),
            server,
            http: reqwest::Client::new(),
            dispatcher: String::new(),
            db_path,
            _dir: dir,
        };
        let (st, body) = c
            .call(
                reqwest::Method::POST,
                "/api/login",
                json!({"username": "desk", "password": PASSWORD}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        c.dispatcher = body["token"].as_str().unwrap().to_string();
        c
    }

    /// Stops the server (in-flight requests die with it) and starts it again
    /// on the same database, on a new port.
    pub async fn restart(&mut self) {
        self.server.handle.abort();
        let _ = (&mut self.server.handle).await;
        let db = Database::open(&self.db_path)
            .await
            .expect("reopen the server database");
        let state = AppState::new(db, Config::default());
        // As the binary starts: the receipts a stop left held, derived.
        receipts::settle_left_over(&state)
            .await
            .expect("derive the receipts left held");
        self.server = spawn("127.0.0.1:0".parse().unwrap(), state)
            .await
            .expect("restart the server");
        self.base = format!("http://{}", self.server.addr);
    }

    /// Waits until the work the server left after its answers (the pulls'
    /// receipts, derived after the answer) is done.
    pub async fn settled(&self) {
        self.server.state.after_answer.idle().await;
    }

    /// The center's writes so far folded into its database file (SQLite's
    /// WAL checkpointed): a bench's setup left behind it, as the hours
    /// between a dispatch and a technician's sync would leave it.
    pub async fn checkpoint(&self) {
        self.server
            .state
            .db
            .checkpoint()
            .await
            .expect("the center's checkpoint");
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// A dispatcher's request whatever its answer: (status, body).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        self.call_as(&self.dispatcher, method, path, body).await
    }

    /// The session token of the staff account `username` (`desk`, the
    /// dispatcher, or `admin`).
    pub async fn login(&self, username: &str) -> String {
        let (st, body) = self
            .call_as(
                "",
                reqwest::Method::POST,
                "/api/login",
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// A request under the session `token` whatever its answer: (status, body).
    pub async fn call_as(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        log_scan::note_request(&body);
        // The center as it stands once the work left after the phones'
        // last answers (their pulls' receipts) is done.
        self.settled().await;
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body);
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.expect("request to the server");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (st, v) = self.call(reqwest::Method::POST, path, body).await;
        assert!((200..300).contains(&st), "POST {path}: {st} {v}");
        v
    }

    pub async fn get(&self, path: &str) -> Value {
        let (st, v) = self.call(reqwest::Method::GET, path, Value::Null).await;
        assert!((200..300).contains(&st), "GET {path}: {st} {v}");
        v
    }

    /// A technician with one enrolled device: (device id, token).
    pub async fn technician(&self, id: &str) -> (String, String) {
        let (device, token, _) = self.technician_with_discount_secret(id).await;
        (device, token)
    }

    /// The same, with the device's discount secret (hex) enrolment issued.
    pub async fn technician_with_discount_secret(&self, id: &str) -> (String, String, String) {
        self.post(
            "/api/technicians",
            json!({"id": id, "name": format!("Tech {id}"), "trades": ["appliance_repair", "water_delivery"]}),
        )
        .await;
        let device = format!("phone-{id}");
        let v = self
            .post(
                &format!("/api/technicians/{id}/devices"),
                json!({"device_id": device}),
            )
            .await;
        let text = |k: &str| v[k].as_str().unwrap().to_string();
        (device, text("token"), text("discount_secret"))
    }

    /// An appliance-repair assignment for `technician` with its window at `start`.
    pub async fn assignment(&self, technician: &str, start: DateTime<Utc>) -> AssignmentId {
        self.order(
            json!({
                "trade": "appliance_repair",
                "customer": {"name": "王芳", "phone": "138 0013 8000", "address": "上海市浦东新区世纪大道88号1201室",
                             "location": {"lat": 31.2304, "lon": 121.4737}},
                "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                "fault_description": "冰箱不制冷",
                "requested_window": {"start": start, "end": start + Duration::hours(2)},
                "received_at": start - Duration::days(1),
            }),
            technician,
        )
        .await
    }

    /// The work order `body` (as `POST /api/assignments` takes it), given to `technician`.
    pub async fn order(&self, body: Value, technician: &str) -> AssignmentId {
        let a = self.post("/api/assignments", body).await;
        let id = a["id"].as_str().unwrap().to_string();
        self.post(
            &format!("/api/assignments/{id}/assign"),
            json!({"technician": technician}),
        )
        .await;
        AssignmentId::new(id).unwrap()
    }

    /// Appliance-repair assignments for `technician`, one per window start,
    /// created and assigned in one server transaction through the same
    /// functions as the dispatcher API (for benchmarks that need thousands).
    pub async fn assignments_bulk(
        &self,
        technician: &str,
        starts: &[DateTime<Utc>],
    ) -> Vec<AssignmentId> {
        let mut news = vec![];
        for (i, start) in starts.iter().enumerate() {
            let new: NewAssignment = serde_json::from_value(json!({
                "trade": "appliance_repair",
                "customer": {"name": format!("王芳 {i}"), "phone": format!("138 {:04} 8000", i % 10_000),
                             "address": format!("上海市浦东新区世纪大道{}号1201室", i + 1),
                             "location": {"lat": 31.2304, "lon": 121.4737}},
                "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                "fault_description": "冰箱不制冷",
                "requested_window": {"start": start, "end": *start + Duration::hours(2)},
                "received_at": *start - Duration::days(1),
            }))
            .expect("a new assignment");
            log_scan::note_customer(
                new.customer.phone.as_deref(),
                new.customer.address.as_deref(),
            );
            news.push(new);
        }
        let technician = TechnicianId::new(technician).expect("a technician id");
        let state = self.server.state.clone();
        let ids = self
            .server
            .state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let mut ids = vec![];
                    for new in news {
                        let a = insert_assignment(tx, &state, new, "desk").await?;
                        let id = a.assignment.id.to_string();
                        let req = AssignRequest {
                            technician: technician.clone(),
                            window_confirmed: None,
                            expected_version: None,
                        };
                        assign_tx(tx, &id, &req, "desk").await?;
                        ids.push(id);
                    }
                    Ok::<_, ApiError>(ids)
                })
            })
            .await
            .expect("create the assignments");
        ids.into_iter()
            .map(|id| AssignmentId::new(id).expect("an assignment id"))
            .collect()
    }

    pub async fn cancel(&self, id: &AssignmentId) {
        self.post(
            &format!("/api/assignments/{id}/cancel"),
            json!({"reason": "customer cancelled by phone"}),
        )
        .await;
    }

    pub async fn reassign(&self, id: &AssignmentId, to: &str) {
        self.post(
            &format!("/api/assignments/{id}/reassign"),
            json!({"technician": to}),
        )
        .await;
    }

    /// The ids of the device's facts the server holds — the events it
    /// uploaded and the receipts derived from its download acknowledgements
    /// — in the device's order (HLC; uploads are numbered in that order).
    pub async fn stored_event_ids(&self, device: &str) -> Vec<String> {
        let device = device.to_string();
        // Receipts are derived after the pulls' answers: wait for them.
        self.settled().await;
        self.server
            .state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let rows = tx
                        .query(
                            "SELECT event_id, hlc_millis, hlc_counter, seq FROM events WHERE device_id = $1
                             UNION ALL
                             SELECT event_id, hlc_millis, hlc_counter, 0 AS seq FROM receipts WHERE device_id = $1
                             ORDER BY hlc_millis, hlc_counter, seq",
                            &[device.into()],
                        )
                        .await?;
                    Ok::<_, ApiError>(rows.iter().map(|r| r.text(0)).collect::<Vec<_>>())
                })
            })
            .await
            .expect("read the server's events")
    }
}

impl Drop for Center {
    fn drop(&mut self) {
        log_scan::check(&format!("the center at {}", self.base));
    }
}

impl Center {
    /// The receipts the server derived for an assignment (from the devices'
    /// download acknowledgements), oldest first.
    pub async fn receipts(&self, assignment: &AssignmentId) -> Vec<ReceiptRow> {
        let assignment = assignment.to_string();
        // Derived after the pulls' answers: wait for them.
        self.settled().await;
        self.server
            .state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    doorstep_server::store::receipts::of_assignment(tx, &assignment)
                        .await
                        .map_err(ApiError::from)
                })
            })
            .await
            .expect("read the server's receipts")
    }

    /// How many events the server stored for a device from its uploads.
    pub async fn uploaded_event_count(&self, device: &str) -> usize {
        let device = device.to_string();
        self.server
            .state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let rows = tx
                        .query(
                            "SELECT event_id FROM events WHERE device_id = $1",
                            &[device.into()],
                        )
                        .await?;
                    Ok::<_, ApiError>(rows.len())
                })
            })
            .await
            .expect("read the server's events")
    }
}

/// A technician's phone: a real device store and the sync client.
pub struct Phone {
    pub store: Store,
    pub clock: FixedClock,
    pub device: String,
    pub token: String,
    pub server: String,
    _dir: TempDir,
}

impl Phone {
    pub fn new(
        technician: &str,
        device: &str,
        token: &str,
        server: &str,
        now: DateTime<Utc>,
    ) -> Phone {
        let dir = TempDir::new(device);
        let store = Store::open(
            dir.0.join("phone.db"),
            &Enrollment {
                device_id: DeviceId::new(device).unwrap(),
                technician_id: TechnicianId::new(technician).unwrap(),
                technician_name: format!("Tech {technician}"),
            },
        )
        .expect("open the phone's store");
        Phone {
            store,
            clock: FixedClock::new(now),
            device: device.into(),
            token: token.into(),
            server: server.into(),
            _dir: dir,
        }
    }

    /// Syncs through `server` (a base URL: the server itself or a proxy).
    pub async fn sync_via(&self, server: &str) -> Result<SyncReport, SyncError> {
        self.sync_client(server)?
            .sync(&self.store, &self.clock)
            .await
    }

    /// The phone's sync client for `server` (an app keeps one for its life).
    pub fn sync_client(&self, server: &str) -> Result<SyncClient, SyncError> {
        let mut cfg = SyncConfig::new(server, &self.token);
        cfg.timeout = std::time::Duration::from_secs(5);
        SyncClient::new(cfg)
    }

    /// One sync with `client` (from [`Phone::sync_client`]).
    pub async fn sync_with(&self, client: &SyncClient) -> Result<SyncReport, SyncError> {
        client.sync(&self.store, &self.clock).await
    }

    pub async fn sync(&self) -> Result<SyncReport, SyncError> {
        self.sync_via(&self.server).await
    }

    /// Applies a command (script JSON) at `at`.
    pub fn apply(
        &self,
        assignment: &AssignmentId,
        at: DateTime<Utc>,
        command: Value,
    ) -> Result<Vec<VisitEvent>, StoreError> {
        let cmd: VisitCommand = serde_json::from_value(command.clone())
            .unwrap_or_else(|e| panic!("bad command {command}: {e}"));
        self.clock.set(at);
        self.store.apply_command(assignment.clone(), &cmd, at, None)
    }

    /// Every event id of these visits on the phone, in the device's order
    /// (HLC order, which is also the order the outbox numbered them).
    pub fn event_ids(&self, assignments: &[AssignmentId]) -> Vec<String> {
        let mut all = vec![];
        for a in assignments {
            match self.store.history(a.clone()) {
                Ok(events) => all.extend(events.into_iter().map(|e| (e.hlc, e.id.to_string()))),
                Err(StoreError::UnknownAssignment(_)) => {}
                Err(e) => panic!("history of {a}: {e}"),
            }
        }
        all.sort();
        all.into_iter().map(|(_, id)| id).collect()
    }
}

/// A fresh, empty database for one run: its URL, and for SQLite the
/// temporary directory holding it, removed when this is dropped.
pub struct FreshDatabase {
    pub url: String,
    _dir: Option<TempDir>,
}

/// A fresh, empty database for one benchmark run: a SQLite file in a new
/// temporary directory (removed with the [`FreshDatabase`]), or a new
/// database on the PostgreSQL server of `DOORSTEP_BENCH_PG_URL` (else
/// `DOORSTEP_TEST_PG_URL`, a throwaway cluster); `None` when PostgreSQL is
/// asked for and neither is set (the run says skipped).
pub async fn fresh_database(backend: &str) -> Result<Option<FreshDatabase>, String> {
    if backend == "sqlite" {
        let dir = TempDir::new("bench");
        return Ok(Some(FreshDatabase {
            url: dir.0.join("doorstep.db").display().to_string(),
            _dir: Some(dir),
        }));
    }
    let Some(base) = std::env::var("DOORSTEP_BENCH_PG_URL")
        .ok()
        .or_else(|| std::env::var("DOORSTEP_TEST_PG_URL").ok())
    else {
        return Ok(None);
    };
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let name = format!("bench_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(|e| e.to_string())?;
    let (prefix, _) = base.rsplit_once('/').ok_or("a URL with a database name")?;
    Ok(Some(FreshDatabase {
        url: format!("{prefix}/{name}"),
        _dir: None,
    }))
}

/// Commands with the times they are given.
pub type Steps = Vec<(DateTime<Utc>, Value)>;

/// The bytes of the photo of `moment` on the visit at `start`: a small
/// JPEG-looking file (the magic number, then bytes unique to the visit and
/// moment), `kib` KiB long.
pub fn photo_bytes(start: DateTime<Utc>, moment: &str, kib: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0];
    let seed = format!("{start} {moment}");
    let mut block = doorstep_core::canonical::sha256_hex(seed.as_bytes()).into_bytes();
    while out.len() < kib * 1024 {
        out.extend_from_slice(&block);
        block = doorstep_core::canonical::sha256_hex(&block).into_bytes();
    }
    out.truncate(kib * 1024);
    out
}

/// The `take_photo` command of the photo [`photo_bytes`] gives (8 KiB).
pub fn photo_command(start: DateTime<Utc>, moment: &str) -> Value {
    let bytes = photo_bytes(start, moment, 8);
    json!({"type": "take_photo", "moment": moment,
           "digest": doorstep_core::canonical::sha256_hex(&bytes),
           "size_bytes": bytes.len(), "width": 1280, "height": 960})
}

/// A full appliance-repair visit (out of warranty, fixed on site), as
/// (time, command) pairs relative to the window start; its photos are
/// `take_photo` commands of [`photo_bytes`] (a phone that keeps the bytes
/// stores them with `Store::store_photo` instead).
pub fn appliance_visit(start: DateTime<Utc>) -> Steps {
    let t = |min: i64| start + Duration::minutes(min);
    let strokes =
        json!([{"points": [{"x": 1, "y": 1, "t_ms": 0}, {"x": 30, "y": 20, "t_ms": 150}]}]);
    let mut v = vec![
        (t(-120), json!({"type": "log_call", "outcome": "reached"})),
        (
            t(-119),
            json!({"type": "confirm_appointment", "address_confirmed": true, "product_confirmed": true}),
        ),
    ];
    for item in [
        "tools",
        "parts",
        "drop_cloth",
        "shoe_covers",
        "warranty_sheet",
        "receipts",
        "fee_schedule",
        "work_permit",
    ] {
        v.push((t(-60), json!({"type": "check_kit_item", "item": item})));
    }
    v.extend([
        (t(-30), json!({"type": "depart", "travel_minutes": 20})),
        (t(-8), json!({"type": "arrive"})),
        (t(-7), json!({"type": "check_appearance", "items": ["uniform", "clean", "permit_visible"]})),
        (t(-7), json!({"type": "knock", "method": "bell"})),
        (t(-6), json!({"type": "door_answered"})),
        (t(-6), json!({"type": "enter", "greeted": true, "permit_shown": true})),
        (t(-5), json!({"type": "put_on_shoe_covers"})),
        (t(-5), json!({"type": "lay_drop_cloth"})),
        (t(5), json!({"type": "record_diagnosis", "fault_reproduced": true, "cause": "启动继电器烧坏", "parts": ["part_compressor_relay"], "decision": "fix_on_site"})),
        (t(6), photo_command(start, "nameplate")),
        (t(6), photo_command(start, "fault_before")),
        (t(8), json!({"type": "show_fee_schedule"})),
        (t(9), json!({"type": "present_quote", "quote": {"lines": [{"item": "visit_fee"}, {"item": "labour_basic"}, {"item": "part_compressor_relay"}]}})),
        (t(10), json!({"type": "accept_quote", "revision": 1})),
        (t(30), json!({"type": "record_work", "description": "更换压缩机启动继电器", "parts_used": [{"item": "part_compressor_relay", "old_serial": "R-1", "new_serial": "R-2"}]})),
        (t(31), photo_command(start, "after_repair")),
        (t(40), json!({"type": "record_test_run", "passed": true})),
        (t(42), json!({"type": "brief_customer"})),
        (t(45), json!({"type": "clean_up", "product_restored": true, "wiped": true, "floor_cleaned": true, "no_tool_left": true})),
        (t(50), json!({"type": "collect_payment", "amount": 14500, "method": "mobile", "receipt": {"kind": "receipt", "number": "R-2026-1"}})),
        (t(55), json!({"type": "sign_off", "ratings": {"quality": 5, "attitude": 5}, "strokes": strokes, "consent_text": "本人确认以上服务内容及金额。"})),
        (t(58), json!({"type": "leave", "service_card_given": true, "shoe_covers_off_at_door": true})),
    ]);
    v
}
