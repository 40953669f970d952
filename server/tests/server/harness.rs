//! The test server and an HTTP client for it. Every server it starts has
//! its logs scanned for phones and addresses when it ends ([`log_scan`]).

#[path = "log_scan.rs"]
pub mod log_scan;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use doorstep_core::business_time::BusinessZone;
use doorstep_core::protocol::{OutboxEvent, PushRequest, PROTOCOL_VERSION};
use doorstep_core::walkthrough::Walkthrough;
use doorstep_core::{Assignment, DeviceId, VisitEvent};
use doorstep_server::app::{AppState, Config};
use doorstep_server::auth::{hash_password, Role};
use doorstep_server::http::error::ApiError;
use doorstep_server::http::{spawn, RunningServer};
use doorstep_server::providers::ProviderSettings;
use doorstep_server::store::blobs::BlobFiles;
use doorstep_server::store::object_storage::{BlobStore, BlobStoreSettings};
use doorstep_server::store::users::insert_user;
use doorstep_server::store::Database;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The server crate's directory, read where the tests run (a test binary
/// reused from another checkout reads this one's files).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
}

/// How many SQLite migrations the server has: one per migration file.
pub fn sqlite_migration_count() -> i64 {
    std::fs::read_dir(crate_dir().join("migrations/sqlite"))
        .expect("the SQLite migrations")
        .count() as i64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Asserts the PostgreSQL runs can go ahead. Every PostgreSQL test is
/// `#[ignore]`d (a plain `cargo test` reports it as ignored, never as
/// passed); `scripts/test-all` starts PostgreSQL and runs them with
/// `-- --ignored`. One run without `DOORSTEP_TEST_PG_URL` fails here.
pub fn require_postgres() {
    assert!(
        std::env::var("DOORSTEP_TEST_PG_URL").is_ok_and(|v| !v.is_empty()),
        "DOORSTEP_TEST_PG_URL is not set: the PostgreSQL tests need a database; \
         scripts/test-all starts one with scripts/start-test-postgres"
    );
}

/// A fresh database for one test.
pub async fn database_url(b: Backend) -> (String, Option<PathBuf>) {
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    match b {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("doorstep-test-{name}"));
            std::fs::create_dir_all(&dir).unwrap();
            (dir.join("doorstep.db").display().to_string(), Some(dir))
        }
        Backend::Postgres => {
            let base = std::env::var("DOORSTEP_TEST_PG_URL").unwrap();
            let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            let (prefix, _) = base.rsplit_once('/').expect("a URL with a database name");
            (format!("{prefix}/{name}"), None)
        }
    }
}

pub struct Srv {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub admin: String,
    pub dispatcher: String,
    /// Where the database is (SQLite path or PostgreSQL URL).
    pub url: String,
    dir: Option<PathBuf>,
    /// The serving task, until [`Srv::shut_down`].
    server: Option<RunningServer>,
}

impl Drop for Srv {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        log_scan::check(&format!("the test server at {}", self.base));
    }
}

pub const PASSWORD: &str = "correct horse battery";

impl Srv {
    pub async fn start(b: Backend) -> Srv {
        Self::start_with(b, Config::default()).await
    }

    pub async fn start_with(b: Backend, config: Config) -> Srv {
        Self::start_with_providers(b, config, ProviderSettings::default()).await
    }

    /// With these outbound provider settings (simulators' addresses).
    pub async fn start_with_providers(
        b: Backend,
        config: Config,
        providers: ProviderSettings,
    ) -> Srv {
        Self::start_with_state(b, config, |state| state.with_providers(providers)).await
    }

    /// With the whole photos in the blob store `settings` name (an S3
    /// simulator's bucket), the uploads in progress in a scratch directory.
    pub async fn start_with_blob_store(b: Backend, settings: &BlobStoreSettings) -> Srv {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-test-uploads-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let store = BlobStore::configured(settings, &dir).expect("the blob store settings");
        let blobs = BlobFiles::scratch_with_store(dir, store).unwrap();
        Self::start_with_state(b, Config::default(), move |state| {
            state.with_blob_files(blobs)
        })
        .await
    }

    async fn start_with_state(
        b: Backend,
        config: Config,
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> Srv {
        log_scan::install();
        let (url, dir) = database_url(b).await;
        let db = Database::open(&url).await.expect("open the test database");
        let url_kept = url.clone();
        assert_eq!(
            db.backend(),
            if b == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        let state = adjust(AppState::new(db, config));
        let phc = hash_password(PASSWORD);
        state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    insert_user(tx, "root", &phc, Role::Admin).await?;
                    insert_user(tx, "desk", &phc, Role::Dispatcher).await?;
                    Ok::<_, ApiError>(())
                })
            })
            .await
            .unwrap();
        let server = spawn("127.0.0.1:0".parse().unwrap(), state.clone())
            .await
            .unwrap();
        let mut s = Srv {
            base: format!("http://{}", server.addr),
            http: reqwest::Client::new(),
            state,
            admin: String::new(),
            dispatcher: String::new(),
            url: url_kept,
            dir,
            server: Some(server),
        };
        s.admin = s.login("root").await;
        s.dispatcher = s.login("desk").await;
        s
    }

    /// Shuts the server down gracefully (as SIGTERM does) with `grace` for
    /// requests in flight; returns the connections it had to cut.
    pub async fn shut_down(&mut self, grace: std::time::Duration) -> usize {
        let server = self.server.take().expect("the server is still running");
        server.shut_down(grace).await
    }

    /// Adds `n` done orders received now (later than every order made
    /// before), without a window: the weeks of orders a desk takes and
    /// finishes, in the time a test has.
    /// Their rows are written by one statement, their look-up rows as the
    /// server fills in those of orders taken before migration 0030. Their ids
    /// are `F-1`…, their customers `填充`.
    pub async fn add_newer_orders(&self, n: i64) {
        let now = chrono::Utc::now().timestamp_millis() + 1;
        self.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    tx.execute(
                        &format!(
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})
                             INSERT INTO assignments (id, version, trade, status, priority,
                                classification, received_at, window_confirmed, body, updated_at)
                             SELECT 'F-' || i, 1, 'appliance_repair', 'done', 'normal', 'general', $1, 0,
                                '{{\"id\":\"F-' || i || '\",\"version\":1,\"trade\":\"appliance_repair\",\"customer\":{{\"name\":\"填充\"}}}}', $1
                             FROM n"
                        ),
                        &[now.into()],
                    )
                    .await?;
                    while doorstep_server::store::order_lookup::fill_batch(tx).await? > 0 {}
                    Ok::<_, doorstep_server::failure::Failure>(())
                })
            })
            .await
            .unwrap();
    }

    /// The database's plan of `sql` with `params`, a step a line
    /// (`EXPLAIN QUERY PLAN`: on SQLite, whose plans are deterministic).
    pub async fn sqlite_plan(
        &self,
        sql: &str,
        params: Vec<doorstep_server::store::Value>,
    ) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        self.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let rows = tx.query(&explain, &params).await?;
                    Ok::<_, doorstep_server::store::DbError>(
                        rows.iter().map(|r| r.text("detail")).collect(),
                    )
                })
            })
            .await
            .unwrap()
    }

    pub async fn login(&self, user: &str) -> String {
        let (st, body) = self
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(st, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            log_scan::note_request(&b);
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// The body of a GET as text (a page, `/metrics`), with the token if
    /// one is given.
    pub async fn get_text(&self, path: &str, token: Option<&str>) -> String {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.unwrap().text().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// Sends raw bytes (malformed bodies, gzip).
    pub async fn raw(&self, path: &str, token: &str, body: Vec<u8>, gzip: bool) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", "application/json");
        if gzip {
            req = req.header("content-encoding", "gzip");
        } else if let Ok(v) = serde_json::from_slice::<Value>(&body) {
            log_scan::note_request(&v);
        }
        let res = req.body(body).send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Adds a technician with one enrolled device; returns (device id, token).
    pub async fn technician(&self, id: &str, trades: &[&str]) -> (String, String) {
        let (st, body) = self
            .post(
                "/api/technicians",
                &self.dispatcher,
                json!({"id": id, "name": format!("Tech {id}"), "trades": trades, "phone": "400 820 1234"}),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        let device = format!("phone-{id}");
        let (st, body) = self
            .post(
                &format!("/api/technicians/{id}/devices"),
                &self.dispatcher,
                json!({"device_id": device}),
            )
            .await;
        assert_eq!(st, 201, "{body}");
        (device, body["token"].as_str().unwrap().to_string())
    }

    /// Creates an assignment with a complete customer record, assigned to
    /// `technician` when given.
    pub async fn assignment(&self, trade: &str, technician: Option<&str>) -> Value {
        self.assignment_at(
            trade,
            technician,
            chrono::Utc::now() + chrono::Duration::hours(2),
        )
        .await
    }

    /// The same, with the requested window starting at `start`.
    pub async fn assignment_at(
        &self,
        trade: &str,
        technician: Option<&str>,
        start: chrono::DateTime<chrono::Utc>,
    ) -> Value {
        let mut body = json!({
            "trade": trade,
            "customer": {"name": "Test Customer", "phone": "138 0000 0000", "address": "1 Test Rd",
                         "location": {"lat": 31.23, "lon": 121.47}},
            "product": {"model": "M-1", "purchase_date": "2025-01-02", "warranty": "out_of_warranty"},
            "fault_description": "it is broken",
            "requested_window": {"start": start, "end": start + chrono::Duration::hours(2)},
            "received_at": start.min(chrono::Utc::now()) - chrono::Duration::hours(3),
        });
        // What those trades require before a visit can be confirmed.
        match trade {
            "water_delivery" => body["order"] = json!([{"item": "bottle_18_9l"}]),
            "home_care" => body["service_items"] = json!(["personal_care"]),
            _ => {}
        }
        let (st, a) = self.post("/api/assignments", &self.dispatcher, body).await;
        assert_eq!(st, 201, "{a}");
        match technician {
            None => a,
            Some(t) => self.assign(a["id"].as_str().unwrap(), t).await,
        }
    }

    /// Gives the assignment `id` to `technician`; the assignment as it is then.
    pub async fn assign(&self, id: &str, technician: &str) -> Value {
        let (st, a) = self
            .post(
                &format!("/api/assignments/{id}/assign"),
                &self.dispatcher,
                json!({"technician": technician}),
            )
            .await;
        assert_eq!(st, 200, "{a}");
        a
    }

    pub async fn push(
        &self,
        token: &str,
        device: &str,
        events: &[(u64, VisitEvent)],
    ) -> (u16, Value) {
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: DeviceId::new(device).unwrap(),
            sent_at: Some(chrono::Utc::now()),
            events: events
                .iter()
                .map(|(seq, e)| OutboxEvent {
                    seq: *seq,
                    event: e.clone(),
                })
                .collect(),
        };
        self.post("/api/sync/push", token, serde_json::to_value(req).unwrap())
            .await
    }

    /// Stores `events` as a server from before event admission did: written
    /// straight to the database and projected, never admitted. Stands for
    /// facts already in a database when admission came, which the
    /// reconciliation must still catch.
    pub async fn store_unadmitted(
        &self,
        technician: &str,
        device: &str,
        events: &[(u64, VisitEvent)],
    ) {
        use doorstep_core::EventKind;
        use doorstep_server::domain::projection::project_visit;
        use doorstep_server::store::{devices, events as stored};
        let (app, technician, device) = (
            self.state.clone(),
            technician.to_string(),
            device.to_string(),
        );
        let events = events.to_vec();
        self.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let now = chrono::Utc::now().timestamp_millis();
                    let position = devices::upload_position(tx, &device).await?.unwrap();
                    let mut chain = position.last_evidence_digest;
                    let mut chain_ok = true;
                    let mut last = position.last_seq;
                    for (seq, e) in &events {
                        let body = serde_json::to_string(e).unwrap();
                        let (id, visit) = (e.id.to_string(), e.visit_id.to_string());
                        stored::insert_event(
                            tx,
                            &stored::NewEvent {
                                event_id: &id,
                                device: &device,
                                seq: *seq,
                                visit_id: &visit,
                                assignment_id: e.assignment_id.as_str(),
                                technician: &technician,
                                kind: e.kind.name(),
                                hlc_millis: e.hlc.millis,
                                hlc_counter: e.hlc.counter,
                                recorded_at: e.recorded_at.timestamp_millis(),
                                received_at: now,
                                body: &body,
                            },
                        )
                        .await?;
                        if let EventKind::CustomerSignedOff { evidence, .. } = &e.kind {
                            chain_ok &= evidence.previous_evidence_digest == chain;
                            chain = Some(evidence.digest());
                        }
                        last = *seq;
                    }
                    devices::record_push(tx, &device, last, now, None, chain).await?;
                    let visit = events[0].1.visit_id.to_string();
                    project_visit(tx, &app, &visit, Some(chain_ok)).await?;
                    Ok::<_, doorstep_server::failure::Failure>(())
                })
            })
            .await
            .unwrap();
    }

    /// Counts stored events of a device directly in the database.
    pub async fn stored_events(&self, device: &str) -> i64 {
        let device = device.to_string();
        self.state
            .db
            .tx(move |tx| {
                Box::pin(async move {
                    let r = tx
                        .query_opt(
                            "SELECT COUNT(*) FROM events WHERE device_id = $1",
                            &[device.into()],
                        )
                        .await?;
                    Ok::<_, ApiError>(r.map_or(0, |r| r.int(0)))
                })
            })
            .await
            .unwrap()
    }
}

/// The start of a past service window whose visits (the fixtures record
/// each within 3 hours of it) all close on one day of `zone`: about 4 hours
/// before the suite started, moved earlier when those 3 hours would cross
/// the zone's midnight. A fixture's "this morning" never straddles two
/// business days, whatever the hour the suite runs; it is fixed for the run.
pub fn past_window_start(zone: &BusinessZone) -> DateTime<Utc> {
    static SUITE_STARTED: OnceLock<DateTime<Utc>> = OnceLock::new();
    let start = *SUITE_STARTED.get_or_init(Utc::now) - Duration::hours(4);
    let next_midnight = zone.start_of_day(zone.date_of(start) + chrono::Days::new(1));
    if start + Duration::hours(3) < next_midnight {
        start
    } else {
        next_midnight - Duration::hours(3) - Duration::minutes(1)
    }
}

/// The business day (of `zone`) on which the visits of a window starting at
/// [`past_window_start`] close.
pub fn closed_day(zone: &BusinessZone) -> NaiveDate {
    zone.date_of(past_window_start(zone))
}

/// The core assignment inside an assignment view.
pub fn assignment(v: &Value) -> Assignment {
    serde_json::from_value(v.clone()).expect("an assignment")
}

/// Numbers events from `first`.
pub fn numbered(events: &[VisitEvent], first: u64) -> Vec<(u64, VisitEvent)> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| (first + i as u64, e.clone()))
        .collect()
}

/// The visit of `a` walked by the book on `dev`, received at `at`, to the
/// customer's five-star sign-off and the technician's leaving.
pub fn completed_visit(a: &Assignment, dev: &str, at: DateTime<Utc>) -> Walkthrough {
    let pb = doorstep_core::Playbook::shipped_by_id(a.trade.as_str()).expect("a shipped trade");
    let mut v = Walkthrough::new(&pb, a, &device(dev), at);
    let mut chain = None;
    v.completed(
        None,
        doorstep_core::signoff::Ratings {
            quality: 5,
            attitude: 5,
        },
        &mut chain,
    );
    v
}

pub fn device(id: &str) -> DeviceId {
    DeviceId::new(id).unwrap()
}

/// A fresh `--data-dir` for a server process (its photos).
fn fresh_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "doorstep-process-{}",
        uuid::Uuid::now_v7().simple()
    ))
}

/// A `doorstep-server` process (the real binary) on a fresh database; killed
/// when dropped, its output (stdout and its log on stderr) then scanned.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub base: String,
    /// Where the database is (SQLite path or PostgreSQL URL).
    pub url: String,
    dir: Option<PathBuf>,
    /// The process's `--data-dir` (its photos).
    data: PathBuf,
    /// The threads draining its stdout and stderr into the log scan.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts the binary on an ephemeral port with `args` added; the admin
    /// is `admin` with [`PASSWORD`].
    pub async fn start(b: Backend, args: &[&str]) -> ServerProcess {
        let (url, dir) = database_url(b).await;
        Self::launch(url, dir, fresh_data_dir(), args).await
    }

    /// Kills the process at once (SIGKILL: nothing of it runs after) and
    /// starts the binary again on the same database and data directory
    /// with `args`.
    pub async fn kill_and_restart(mut self, args: &[&str]) -> ServerProcess {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (url, dir) = (self.url.clone(), self.dir.take());
        let data = std::mem::take(&mut self.data);
        Self::launch(url, dir, data, args).await
    }

    /// Starts the binary on the database at `url` (another process may
    /// already run on it), its photos in a directory of its own.
    pub async fn start_on(url: &str, args: &[&str]) -> ServerProcess {
        Self::launch(url.to_string(), None, fresh_data_dir(), args).await
    }

    async fn launch(
        url: String,
        dir: Option<PathBuf>,
        data: PathBuf,
        args: &[&str],
    ) -> ServerProcess {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_doorstep-server"));
        for (k, _) in std::env::vars() {
            if k.starts_with("DOORSTEP_") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .args(["--listen", "127.0.0.1:0", "--database-url", &url])
            .arg("--data-dir")
            .arg(&data)
            .args(["--admin-password", PASSWORD])
            .args(args)
            .env("RUST_LOG", log_scan::SCAN_FILTER)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start doorstep-server");
        // Keep draining the server's output for its whole life: a full
        // pipe would stall it. Every line goes to the log scan; warnings
        // and errors also to the test's stderr.
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let out = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                log_scan::append(&line);
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().trim_end_matches('/').to_string());
                }
            }
        });
        let err = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                log_scan::append(&line);
                if line.contains(" WARN ") || line.contains(" ERROR ") {
                    eprintln!("{line}");
                }
            }
        });
        let base = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(60))
        })
        .await
        .unwrap()
        .expect("the server says where it listens");
        ServerProcess {
            child,
            base,
            url,
            dir,
            data,
            readers: vec![out, err],
        }
    }

    /// The process's resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
        let _ = std::fs::remove_dir_all(&self.data);
        log_scan::check(&format!("the server process at {}", self.base));
    }
}
