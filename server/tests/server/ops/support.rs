//! The operator's view for the ops tests: the real `doorstep-server` binary
//! started as a process (its standard error kept for the log checks), a
//! plain HTTP client, and phones that are the real device store with the
//! real sync client.

use chrono::{DateTime, Duration, Utc};
use doorstep_core::clock::FixedClock;
use doorstep_core::store::{Enrollment, Store, StoreError};
use doorstep_core::sync::{SyncClient, SyncConfig, SyncError, SyncReport};
use doorstep_core::{AssignmentId, DeviceId, TechnicianId, VisitCommand};
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Instant;

pub const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");
pub const ADMIN_PASSWORD: &str = "correct horse battery";

/// A fresh temporary directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!(
            "doorstep-ops-{label}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&p).expect("a scratch directory");
        Scratch(p)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `doorstep-server` process; killed when dropped if still running.
pub struct ServerBinary {
    pub child: Child,
    pub base: String,
    pub stderr: PathBuf,
}

/// The binary as a command with no `DOORSTEP_…` variable of the test's
/// environment.
pub fn command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("DOORSTEP_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

impl ServerBinary {
    /// Starts `program` with `args` (no listen address added) and `envs`;
    /// standard error goes to `stderr`. Waits for "listening on".
    pub async fn start_exact(
        program: &str,
        args: &[String],
        envs: &[(String, String)],
        stderr: &Path,
    ) -> ServerBinary {
        let log = std::fs::File::create(stderr).expect("a log file");
        let mut cmd = command(program);
        cmd.args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start doorstep-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().trim_end_matches('/').to_string());
                }
            }
        });
        let base = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(60))
        })
        .await
        .unwrap();
        let base = match base {
            Ok(b) => b,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not say where it listens; its log:\n{}",
                    std::fs::read_to_string(stderr).unwrap_or_default()
                );
            }
        };
        ServerBinary {
            child,
            base,
            stderr: stderr.to_path_buf(),
        }
    }

    /// The binary on `data_dir`, any free port, the admin's password set,
    /// with `extra` flags.
    pub async fn start(data_dir: &Path, extra: &[&str]) -> ServerBinary {
        let mut args: Vec<String> = vec![
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--admin-password".into(),
            ADMIN_PASSWORD.into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = data_dir.with_extension(format!("{}.log", uuid::Uuid::now_v7().simple()));
        ServerBinary::start_exact(BIN, &args, &[], &log).await
    }

    /// Sends SIGTERM and waits (at most `bound`) for the process to end:
    /// its exit status and how long it took.
    pub fn terminate(&mut self, bound: std::time::Duration) -> (ExitStatus, std::time::Duration) {
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success(), "kill -TERM failed");
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return (status, sent.elapsed());
            }
            if sent.elapsed() > bound {
                let _ = self.child.kill();
                panic!("the server did not exit within {bound:?} of SIGTERM");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Everything the process wrote to standard error so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for ServerBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// Runs the binary to completion (backup, restore, a refused start).
pub fn run(args: &[&str]) -> Output {
    command(BIN)
        .args(args)
        .output()
        .expect("run doorstep-server")
}

/// A JSON call; the answer's status, headers and body.
pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("a request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

/// The center's desk over HTTP: the admin's session on one server.
pub struct Desk {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Desk {
    pub async fn login(base: &str) -> Desk {
        let http = reqwest::Client::new();
        let (st, _, body) = call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/api/login"),
            None,
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
        assert_eq!(st, 200, "{body}");
        Desk {
            base: base.to_string(),
            token: body["token"].as_str().unwrap().to_string(),
            http,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (st, _, v) = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}{path}", self.base),
            Some(&self.token),
            Some(body),
        )
        .await;
        assert!((200..300).contains(&st), "POST {path}: {st} {v}");
        v
    }

    /// A technician with one enrolled device: (device id, device token).
    pub async fn technician(&self, id: &str) -> (String, String) {
        self.post(
            "/api/technicians",
            json!({"id": id, "name": format!("Tech {id}"), "trades": ["appliance_repair"]}),
        )
        .await;
        let device = format!("phone-{id}");
        let v = self
            .post(
                &format!("/api/technicians/{id}/devices"),
                json!({"device_id": device}),
            )
            .await;
        (device, v["token"].as_str().unwrap().to_string())
    }

    /// An appliance-repair assignment for `technician` with its window at `start`.
    pub async fn assignment(&self, technician: &str, start: DateTime<Utc>) -> AssignmentId {
        let a = self
            .post(
                "/api/assignments",
                json!({
                    "trade": "appliance_repair",
                    "customer": {"name": CUSTOMER_NAME, "phone": CUSTOMER_PHONE, "address": CUSTOMER_ADDRESS,
                                 "location": {"lat": 31.2304, "lon": 121.4737}},
                    "product": {"model": "BCD-470", "purchase_date": "2023-05-01", "warranty": "out_of_warranty"},
                    "fault_description": "冰箱不制冷",
                    "requested_window": {"start": start, "end": start + Duration::hours(2)},
                    "received_at": start - Duration::days(1),
                }),
            )
            .await;
        let id = a["id"].as_str().unwrap().to_string();
        self.post(
            &format!("/api/assignments/{id}/assign"),
            json!({"technician": technician}),
        )
        .await;
        AssignmentId::new(id).unwrap()
    }
}

/// The test customer's contact details: never to be found in a log.
pub const CUSTOMER_NAME: &str = "王芳";
pub const CUSTOMER_PHONE: &str = "138 0013 8000";
pub const CUSTOMER_ADDRESS: &str = "上海市浦东新区世纪大道88号1201室";

/// A window start in the future (the server's clock never finds it over).
pub fn window(day: i64, slot: i64) -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        + Duration::days(3 + day)
        + Duration::hours(3 * slot)
}

/// The first commands of an appliance visit, with their times relative to
/// the window start: each one event.
pub fn first_steps(start: DateTime<Utc>) -> Vec<(DateTime<Utc>, Value)> {
    let t = |min: i64| start + Duration::minutes(min);
    let mut steps = vec![
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
        steps.push((t(-60), json!({"type": "check_kit_item", "item": item})));
    }
    steps
}

/// A technician's phone: the real device store and sync client.
pub struct Phone {
    pub store: Store,
    pub clock: FixedClock,
    pub device: String,
    pub token: String,
    _dir: Scratch,
}

impl Phone {
    pub fn new(technician: &str, device: &str, token: &str) -> Phone {
        let dir = Scratch::new(device);
        let store = Store::open(
            dir.path("phone.db"),
            &Enrollment {
                device_id: DeviceId::new(device).unwrap(),
                technician_id: TechnicianId::new(technician).unwrap(),
                technician_name: format!("Tech {technician}"),
            },
        )
        .expect("open the phone's store");
        Phone {
            store,
            clock: FixedClock::new(Utc::now()),
            device: device.into(),
            token: token.into(),
            _dir: dir,
        }
    }

    pub async fn sync(&self, server: &str) -> Result<SyncReport, SyncError> {
        let mut cfg = SyncConfig::new(server, &self.token);
        cfg.timeout = std::time::Duration::from_secs(10);
        SyncClient::new(cfg)?.sync(&self.store, &self.clock).await
    }

    /// Applies a command (script JSON) at `at`.
    pub fn apply(&self, assignment: &AssignmentId, at: DateTime<Utc>, command: &Value) {
        let cmd: VisitCommand = serde_json::from_value(command.clone())
            .unwrap_or_else(|e| panic!("bad command {command}: {e}"));
        self.clock.set(at);
        self.store
            .apply_command(assignment.clone(), &cmd, at, None)
            .unwrap_or_else(|e| panic!("{command}: {e}"));
    }

    /// Whether the phone holds the assignment.
    pub fn knows(&self, assignment: &AssignmentId) -> bool {
        match self.store.history(assignment.clone()) {
            Ok(_) => true,
            Err(StoreError::UnknownAssignment(_)) => false,
            Err(e) => panic!("history of {assignment}: {e}"),
        }
    }

    /// Every event id of these assignments on the phone, in the device's
    /// order (HLC order, the order the outbox numbered them).
    pub fn event_ids(&self, assignments: &[AssignmentId]) -> Vec<String> {
        let mut all = vec![];
        for a in assignments {
            let events = self
                .store
                .history(a.clone())
                .unwrap_or_else(|e| panic!("history of {a}: {e}"));
            all.extend(events.into_iter().map(|e| (e.hlc, e.id.to_string())));
        }
        all.sort();
        all.into_iter().map(|(_, id)| id).collect()
    }
}

/// The event ids a SQLite server database holds for `device`: its uploaded
/// events and the receipts derived from its download acknowledgements, in
/// clock order (as the phone's own log sorts them).
pub fn stored_event_ids(database: &Path, device: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(database).expect("open the server database");
    let mut stmt = conn
        .prepare(
            "SELECT event_id, hlc_millis, hlc_counter, seq FROM events WHERE device_id = ?1
             UNION ALL
             SELECT event_id, hlc_millis, hlc_counter, 0 AS seq FROM receipts WHERE device_id = ?1
             ORDER BY hlc_millis, hlc_counter, seq",
        )
        .unwrap();
    stmt.query_map([device], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Parses Prometheus text into `name{labels}` → value.
pub fn scrape(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (key, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("a sample: {l}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number in {l}"));
            (key.to_string(), value)
        })
        .collect()
}
