//! Phones and addresses never reach the server's logs or its error texts
//! (PIPL; docs/PIPL.md). The real `doorstep-server` binary runs on SQLite
//! with the demo data and its most talkative log level, through a workload
//! with Chinese customers: orders and intakes, refusals of bad input that
//! carry a phone number where it does not belong, a sync, an export and
//! an erasure. Its stdout and stderr, and every refusal's body, are then
//! scanned for mainland mobile numbers (`1[3-9]` and 9 more digits, also
//! spaced or dashed; the scanner every test server's logs go through,
//! `log_scan`) and for every customer's phone and address.

use crate::harness::log_scan::mobile_numbers;
use crate::harness::{database_url, Backend, PASSWORD};
use serde_json::{json, Value};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Customers only this test uses.
const CUSTOMERS: &[(&str, &str, &str)] = &[
    (
        "张建国",
        "13812345678",
        "北京市朝阳区建国路 93 号万达广场 8 号楼 1201",
    ),
    (
        "陈丽华",
        "159 8765 4321",
        "广州市天河区珠江新城花城大道 68 号",
    ),
    (
        "刘洋",
        "+86 186-0021-3344",
        "成都市武侯区人民南路四段 11 号",
    ),
];

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Reads a pipe to its end into `into`.
fn drain(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
    /// Every response body, to scan too.
    seen: String,
}

impl Client {
    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Vec<u8>>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept-language", "zh-CN");
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        if status >= 400 {
            self.seen.push_str(&text);
            self.seen.push('\n');
        }
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&mut self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            path,
            token,
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    async fn get(&mut self, path: &str, token: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_workload_never_writes_a_phone_number_or_an_address_to_logs_or_error_texts() {
    let (url, dir) = database_url(Backend::Sqlite).await;
    let data_dir =
        std::env::temp_dir().join(format!("doorstep-log-privacy-{}", std::process::id()));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_doorstep-server"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DOORSTEP_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .args(["--listen", "127.0.0.1:0", "--database-url", &url, "--demo"])
        // Its photos (the demo's) in a directory of its own, not the crate's.
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--admin-password", PASSWORD])
        .env("RUST_LOG", "debug,hyper=info,h2=info,tokio_postgres=info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start doorstep-server");
    let (out, err) = (
        Arc::new(Mutex::new(String::new())),
        Arc::new(Mutex::new(String::new())),
    );
    let readers = [
        drain(child.stdout.take().unwrap(), out.clone()),
        drain(child.stderr.take().unwrap(), err.clone()),
    ];
    let started = std::time::Instant::now();
    let base = loop {
        let text = out.lock().unwrap().clone();
        if let Some(rest) = text.split("listening on ").nth(1) {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "the server did not start: {text}{}",
            err.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let stdout = out.lock().unwrap().clone();
    let dispatcher = stdout
        .split("Dispatchers ")
        .nth(1)
        .and_then(|r| r.split([',', ' ']).next())
        .expect("the demo names its dispatchers")
        .to_string();
    let (device, device_token) = stdout
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("device ")?;
            let device = rest.split(' ').next()?;
            let token = rest.split(" token ").nth(1)?;
            Some((device.to_string(), token.trim().to_string()))
        })
        .expect("the demo prints a device token");
    let mut c = Client {
        http: reqwest::Client::new(),
        base,
        seen: String::new(),
    };
    let (st, login) = c
        .post(
            "/api/login",
            "",
            json!({"username": dispatcher, "password": doorstep_server::demo::DEMO_PASSWORD}),
        )
        .await;
    assert_eq!(st, 200, "{login}");
    let desk = login["token"].as_str().unwrap().to_string();
    let (_, admin) = c
        .post(
            "/api/login",
            "",
            json!({"username": "admin", "password": PASSWORD}),
        )
        .await;
    let admin = admin["token"].as_str().unwrap().to_string();

    // Orders and intakes of Chinese customers, read back in detail.
    let start = chrono::Utc::now() + chrono::Duration::hours(3);
    let mut orders = Vec::new();
    for (name, phone, address) in CUSTOMERS {
        let (st, a) = c
            .post(
                "/api/assignments",
                &desk,
                json!({"trade": "appliance_repair",
                       "customer": {"name": name, "phone": phone, "address": address},
                       "product": {"model": "Midea MG70"}, "fault_description": "洗衣机漏水",
                       "requested_window": {"start": start, "end": start + chrono::Duration::hours(2)}}),
            )
            .await;
        assert_eq!(st, 201, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        c.get(&format!("/api/assignments/{id}"), &desk).await;
        let (st, i) = c
            .post(
                "/api/intakes",
                &desk,
                json!({"classification": "consultation", "caller": {"name": name, "phone": phone, "address": address},
                       "content": "咨询保修期", "answer": "保修一年"}),
            )
            .await;
        assert!(st < 300, "{i}");
        orders.push(id);
    }
    // Refusals of input that carries a phone number or an address.
    let (name, phone, address) = CUSTOMERS[0];
    let bad: Vec<Value> = vec![
        json!({"trade": "appliance_repair", "customer": {"name": name, "phone": 13812345678u64, "address": address}}),
        json!({"trade": "appliance_repair", "customer": {"name": name, "phone": phone, "address": address.repeat(40)}}),
        json!({"trade": "appliance_repair", "customer": {"name": name, "phone": phone, "location": phone}}),
        json!({"trade": phone, "customer": {"name": name, "phone": phone, "address": address}}),
        json!({"trade": CUSTOMERS[1].1, "customer": {"name": name, "phone": phone, "address": address}}),
        json!({"trade": "appliance_repair", "product": {"warranty": CUSTOMERS[2].2}, "customer": {"phone": phone}}),
        json!({"trade": "appliance_repair", "classification": address, "customer": {"phone": phone}}),
        json!({"trade": "appliance_repair", "requested_window": {"start": phone, "end": address}}),
    ];
    for body in bad {
        let (st, r) = c.post("/api/assignments", &desk, body).await;
        assert!((400..500).contains(&st), "{r}");
    }
    let malformed =
        format!("{{\"trade\": \"appliance_repair\", \"customer\": {{\"phone\": \"{phone}\" ");
    c.send(
        reqwest::Method::POST,
        "/api/assignments",
        &desk,
        Some(malformed.into_bytes()),
    )
    .await;
    let (st, _) = c
        .post(
            &format!("/api/assignments/{}", orders[0]),
            &desk,
            json!({"customer": {"phone": phone}}),
        )
        .await;
    assert!(st >= 400);
    c.send(
        reqwest::Method::PATCH,
        &format!("/api/assignments/{}", orders[0]),
        &desk,
        Some(
            json!({"customer": {"phone": [phone]}})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    c.post(
        "/api/login",
        "",
        json!({"username": phone, "password": address}),
    )
    .await;

    // A phone syncs; a push with a customer's number where an id belongs.
    let (st, page) = c
        .post(
            "/api/sync/pull",
            &device_token,
            json!({"protocol_version": 1, "device_id": device, "cursor": 0}),
        )
        .await;
    assert_eq!(st, 200, "{page}");
    c.post(
        "/api/sync/push",
        &device_token,
        json!({"protocol_version": 1, "device_id": device, "events": [{"seq": 1, "event": {"id": phone, "visit_id": address}}]}),
    )
    .await;

    // An access request, an erasure of an open order (refused), a cancel
    // and the erasure, a number nobody has.
    let (st, export) = c
        .post("/api/customers/export", &desk, json!({"phone": phone}))
        .await;
    assert_eq!(st, 200, "{export}");
    c.post(
        "/api/customers/erasure",
        &desk,
        json!({"phone": phone, "reason": "客户要求删除"}),
    )
    .await;
    c.post(
        &format!("/api/assignments/{}/cancel", orders[0]),
        &desk,
        json!({"reason": "客户取消"}),
    )
    .await;
    let (st, r) = c
        .post(
            "/api/customers/erasure",
            &desk,
            json!({"phone": phone, "reason": "客户要求删除"}),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    c.post(
        "/api/customers/erasure",
        &desk,
        json!({"phone": "13700001111", "reason": "客户要求删除"}),
    )
    .await;
    c.post(
        "/api/customers/export",
        &desk,
        json!({"phone": "1370000111x"}),
    )
    .await;
    c.post("/api/personal-data/retention/run", &admin, json!({}))
        .await;

    // Every customer the server knows, the demo's included.
    let (st, all) = c.get("/api/assignments?limit=2000", &desk).await;
    assert_eq!(st, 200);
    let mut phones: Vec<String> = CUSTOMERS.iter().map(|c| c.1.to_string()).collect();
    let mut addresses: Vec<String> = CUSTOMERS.iter().map(|c| c.2.to_string()).collect();
    for listed in all.as_array().unwrap() {
        // The list masks phones: each order's own page has the number.
        let id = listed["id"].as_str().unwrap();
        let (st, a) = c.get(&format!("/api/assignments/{id}"), &desk).await;
        assert_eq!(st, 200, "{a}");
        if let Some(p) = a["customer"]["phone"].as_str() {
            phones.push(p.to_string());
        }
        if let Some(addr) = a["customer"]["address"].as_str() {
            addresses.push(addr.to_string());
        }
    }
    assert!(
        phones.len() > CUSTOMERS.len() + 5,
        "the demo's customers are scanned too"
    );

    let _ = child.kill();
    let _ = child.wait();
    for r in readers {
        r.join().unwrap();
    }
    let logs = format!("{}\n{}", out.lock().unwrap(), err.lock().unwrap());
    assert!(
        logs.matches("request answered").count() > 10,
        "the server logged each request (the scan reads them):\n{logs}"
    );
    for (what, text) in [("the server's output", &logs), ("the refusals", &c.seen)] {
        let numbers = mobile_numbers(text);
        assert!(
            numbers.is_empty(),
            "{what} contain mobile numbers {numbers:?}:\n{text}"
        );
        for p in &phones {
            assert!(
                !text.contains(p.as_str()) && !text.contains(&digits(p)),
                "{what} contain the phone {p}:\n{text}"
            );
        }
        for a in &addresses {
            assert!(
                !text.contains(a.as_str()),
                "{what} contain the address {a}:\n{text}"
            );
        }
    }
    if let Some(d) = dir {
        let _ = std::fs::remove_dir_all(d);
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
