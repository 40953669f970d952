//! Sync benchmark (issue 5, DESIGN.md "Performance budgets"): a real device
//! store and the real `SyncClient` — the code path of `doorstep device sync`
//! — against a real `doorstep-server` on SQLite started in-process on
//! loopback.
//!
//! - **upload**: a phone that received ~350 appliance-repair assignments
//!   works them offline (`Phone::apply` of `appliance_visit`, stopping when
//!   the outbox holds exactly `--events` events), then one timed `sync`.
//! - **download**: 5 000 assignments (`--assignments`) for a technician, a
//!   freshly enrolled phone, one timed `sync` (which includes pushing back
//!   the "received" facts the phone records for each of them). Reported
//!   too, on its own line and never instead of it: when the last page (and
//!   its cursor) became visible to another reader of the phone's database,
//!   i.e. the day's assignments are applied and on screen — watched from a
//!   separate read connection polling every millisecond.
//!
//! Every iteration gets a fresh server and phone (setup is not timed). Wire
//! bytes are counted twice: the request/response bodies as the client sends
//! them (gzip, `SyncReport`), and the TCP payload in each direction at a
//! counting proxy (bodies + HTTP headers) on one extra, untimed run, which
//! is what the PouchDB comparison counts too.
//!
//! `--export FILE` writes the uploaded events (JSON array, outbox order) for
//! `bench/pouchdb/bench.js`; `--pouchdb` runs that script on them and prints
//! the ratios against the budgets. Usage (see docs/PERFORMANCE.md, "Sync"):
//!
//! ```sh
//! cargo run --profile server-bench -p doorstep-e2e --bin sync-bench -- \
//!     [--iterations 5] [--events 10000] [--assignments 5000] [--export FILE] [--pouchdb]
//!     [--only upload|download]
//! ```

use chrono::{DateTime, Duration, Utc};
use doorstep_core::sync::SyncReport;
use doorstep_core::AssignmentId;
use doorstep_e2e::{appliance_visit, Center, Phone};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};

struct Args {
    iterations: usize,
    events: usize,
    assignments: usize,
    export: Option<PathBuf>,
    pouchdb: bool,
    pouchdb_iterations: usize,
    /// Run only this scenario (`upload` or `download`); both by default.
    only: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        iterations: 5,
        events: 10_000,
        assignments: 5_000,
        export: None,
        pouchdb: false,
        pouchdb_iterations: 3,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let mut v = || it.next().ok_or(format!("{f} needs a value"));
        let num = |s: String| s.parse::<usize>().map_err(|_| format!("{f}: a number"));
        match f.as_str() {
            "--iterations" => a.iterations = num(v()?)?.max(1),
            "--events" => a.events = num(v()?)?.max(1),
            "--assignments" => a.assignments = num(v()?)?.max(1),
            "--export" => a.export = Some(PathBuf::from(v()?)),
            "--pouchdb" => a.pouchdb = true,
            "--pouchdb-iterations" => a.pouchdb_iterations = num(v()?)?.max(1),
            "--only" => match v()?.as_str() {
                s @ ("upload" | "download") => a.only = Some(s.to_string()),
                s => return Err(format!("--only {s}: upload or download")),
            },
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The first window: in the future, so the server never finds a visit overdue.
fn first_window() -> DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_hms_opt(1, 0, 0)
        .expect("a time")
        .and_utc()
        + Duration::days(3)
}

/// Windows every 3 hours: a visit runs from 2 h before its window start to
/// 58 min after, so one technician's visits never overlap.
fn windows(n: usize) -> Vec<DateTime<Utc>> {
    let first = first_window();
    (0..n)
        .map(|i| first + Duration::hours(3 * i as i64))
        .collect()
}

/// A loopback TCP proxy counting the bytes each way (request, response).
struct Counter {
    addr: SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

async fn counting_proxy(target: SocketAddr) -> Counter {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (u, d) = (up.clone(), down.clone());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (u, d) = (u.clone(), d.clone());
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(target).await else {
                    return;
                };
                if let Ok((a, b)) = tokio::io::copy_bidirectional(&mut client, &mut server).await {
                    u.fetch_add(a, Ordering::Relaxed);
                    d.fetch_add(b, Ordering::Relaxed);
                }
            });
        }
    });
    Counter { addr, up, down }
}

impl Counter {
    /// Waits until the proxied connections are closed and their counts are in.
    async fn totals(&self) -> (u64, u64) {
        let mut last = (u64::MAX, u64::MAX);
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let now = (
                self.up.load(Ordering::Relaxed),
                self.down.load(Ordering::Relaxed),
            );
            if now == last && now.0 > 0 {
                return now;
            }
            last = now;
        }
    }
}

struct Run {
    secs: f64,
    /// Download only: seconds from the start of the sync until the last
    /// page (and the cursor committed with it) was visible to another
    /// reader of the phone's database — the day's assignments applied.
    pulled: Option<f64>,
    report: SyncReport,
    /// TCP payload bytes (request, response) when run through the proxy.
    wire: Option<(u64, u64)>,
}

/// A phone with exactly `events` events waiting, worked offline.
async fn worked_phone(center: &Center, events: usize) -> (Phone, Vec<AssignmentId>) {
    let (device, token) = center.technician("T-1").await;
    let phone = Phone::new("T-1", &device, &token, &center.base, Utc::now());
    let per_visit = appliance_visit(first_window()).len();
    let starts = windows(events / per_visit + 2);
    let ids = center.assignments_bulk("T-1", &starts).await;
    // Morning sync: the work arrives (and the "received" facts go up).
    let first = phone.sync().await.expect("the morning sync");
    assert_eq!(first.changes as usize, ids.len());
    assert_eq!(first.pending, 0);
    // Offline: visit after visit until the outbox holds `events`.
    let mut pending = 0;
    'visits: for (a, start) in ids.iter().zip(&starts) {
        for (at, cmd) in appliance_visit(*start) {
            if pending >= events {
                break 'visits;
            }
            pending += phone
                .apply(a, at, cmd.clone())
                .unwrap_or_else(|e| panic!("{cmd}: {e}"))
                .len();
        }
    }
    let waiting = phone.store.pending_count().expect("pending") as usize;
    assert_eq!(waiting, pending, "the outbox holds what was applied");
    assert!(
        waiting >= events,
        "only {waiting} events from {} visits",
        ids.len()
    );
    (phone, ids)
}

async fn upload(events: usize, via_proxy: bool, export: Option<&PathBuf>) -> Run {
    let center = Center::start().await;
    let (phone, _) = worked_phone(&center, events).await;
    let waiting = phone.store.pending_count().expect("pending") as usize;
    if let Some(path) = export {
        let docs: Vec<Value> = phone
            .store
            .pending_outbox(waiting)
            .expect("the outbox")
            .into_iter()
            .map(|e| serde_json::to_value(&e.event).expect("an event as JSON"))
            .collect();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the export directory");
        }
        std::fs::write(path, serde_json::to_vec(&docs).expect("JSON")).expect("write the export");
    }
    let proxy = if via_proxy {
        Some(counting_proxy(center.addr()).await)
    } else {
        None
    };
    let base = match &proxy {
        Some(p) => format!("http://{}", p.addr),
        None => center.base.clone(),
    };
    let started = Instant::now();
    let report = phone.sync_via(&base).await.expect("the upload sync");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.pushed as usize, waiting, "{report:?}");
    assert_eq!(report.pending, 0);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let wire = match &proxy {
        Some(p) => Some(p.totals().await),
        None => None,
    };
    Run {
        secs,
        pulled: None,
        report,
        wire,
    }
}

/// Watches the phone's database from a connection of its own (WAL: it never
/// blocks the phone's writer) and notes when each new download cursor
/// becomes visible, in seconds from `started`, until `stop` is set.
fn watch_cursor(
    db: PathBuf,
    started: Instant,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(f64, String)>> {
    std::thread::spawn(move || {
        let conn = rusqlite::Connection::open_with_flags(
            &db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .expect("a read connection to the phone's database");
        let mut seen: Vec<(f64, String)> = vec![];
        while !stop.load(Ordering::Relaxed) {
            let cursor: Option<String> = conn
                .query_row(
                    "SELECT cursor FROM sync_cursor WHERE stream = 'assignments'",
                    [],
                    |r| r.get(0),
                )
                .ok();
            if let Some(c) = cursor {
                if seen.last().is_none_or(|(_, last)| *last != c) {
                    seen.push((started.elapsed().as_secs_f64(), c));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        seen
    })
}

async fn download(assignments: usize, via_proxy: bool) -> Run {
    let center = Center::start().await;
    let (device, token) = center.technician("T-1").await;
    center.assignments_bulk("T-1", &windows(assignments)).await;
    let phone = Phone::new("T-1", &device, &token, &center.base, Utc::now());
    let proxy = if via_proxy {
        Some(counting_proxy(center.addr()).await)
    } else {
        None
    };
    let base = match &proxy {
        Some(p) => format!("http://{}", p.addr),
        None => center.base.clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let watcher = watch_cursor(phone.store.path().to_path_buf(), started, stop.clone());
    let report = phone.sync_via(&base).await.expect("the download sync");
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let final_cursor = report.cursor.to_string();
    let pulled = watcher
        .join()
        .expect("the cursor watcher")
        .into_iter()
        .find(|(_, c)| *c == final_cursor)
        .map(|(t, _)| t);
    assert_eq!(report.changes as usize, assignments, "{report:?}");
    assert_eq!(
        phone.store.visit_count().expect("visits") as usize,
        assignments
    );
    assert_eq!(report.pending, 0);
    let wire = match &proxy {
        Some(p) => Some(p.totals().await),
        None => None,
    };
    Run {
        secs,
        pulled,
        report,
        wire,
    }
}

/// (median, min, max) of seconds.
fn spread(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    };
    (median, v[0], v[v.len() - 1])
}

fn ms(s: f64) -> String {
    format!("{:.0} ms", s * 1000.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Runs `bench/pouchdb/bench.js` on the exported events; its last stdout
/// line is a JSON summary.
fn pouchdb(events_file: &std::path::Path, iterations: usize) -> Result<Value, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bench/pouchdb/bench.js");
    let out = std::process::Command::new("node")
        .arg(&script)
        .arg("--events")
        .arg(events_file)
        .arg("--iterations")
        .arg(iterations.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("node {}: {e}", script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() {
        return Err(format!("node exited with {}", out.status));
    }
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).map_err(|e| format!("the summary line {last:?}: {e}"))
}

async fn run(a: Args) -> Result<(), String> {
    let export = match (&a.export, a.pouchdb) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => {
            Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/sync-bench/events.json"))
        }
        (None, false) => None,
    };
    let run_upload = a.only.as_deref() != Some("download");
    let run_download = a.only.as_deref() != Some("upload");
    if a.pouchdb && !run_upload {
        return Err("--pouchdb compares the upload: drop --only download".into());
    }
    println!(
        "sync-bench: {} iterations, upload {} events, download {} assignments (load {})",
        a.iterations,
        a.events,
        a.assignments,
        load()
    );

    // Upload.
    let mut up = vec![];
    let (mut up_req, mut up_resp) = (0, 0);
    if run_upload {
        for i in 0..a.iterations {
            let r = upload(a.events, false, if i == 0 { export.as_ref() } else { None }).await;
            println!(
                "upload   #{i}: {} ({:.0} events/s), {} requests, body bytes sent {} received {} (load {})",
                ms(r.secs),
                r.report.pushed as f64 / r.secs,
                r.report.push_requests,
                r.report.bytes_sent,
                r.report.bytes_received,
                load()
            );
            up.push(r);
        }
        let up_wire = upload(a.events, true, None).await;
        (up_req, up_resp) = up_wire.wire.unwrap_or_default();
        println!(
            "upload via counting proxy (untimed): TCP bytes request {up_req}, response {up_resp}"
        );
    }

    // Download.
    let mut down = vec![];
    if run_download {
        for i in 0..a.iterations {
            let r = download(a.assignments, false).await;
            println!(
                "download #{i}: {} ({:.0} assignments/s; all applied and visible after {}), then {} received facts pushed back in {} requests, body bytes sent {} received {} (load {})",
                ms(r.secs),
                r.report.changes as f64 / r.secs,
                r.pulled.map_or("?".into(), ms),
                r.report.pushed,
                r.report.push_requests,
                r.report.bytes_sent,
                r.report.bytes_received,
                load()
            );
            down.push(r);
        }
        let down_wire = download(a.assignments, true).await;
        let (down_req, down_resp) = down_wire.wire.unwrap_or_default();
        println!(
            "download via counting proxy (untimed): TCP bytes request {down_req}, response {down_resp}"
        );
    }

    println!();
    println!("| what | median | min – max | budget |");
    println!("|---|---|---|---|");
    if run_upload {
        let (um, umin, umax) = spread(&up.iter().map(|r| r.secs).collect::<Vec<_>>());
        let events = up[0].report.pushed;
        println!(
            "| upload {events} events, one sync | {} ({:.0} events/s) | {} – {} | < 1 s: {} |",
            ms(um),
            events as f64 / um,
            ms(umin),
            ms(umax),
            if um < 1.0 { "met" } else { "missed" }
        );
    }
    if run_download {
        let (dm, dmin, dmax) = spread(&down.iter().map(|r| r.secs).collect::<Vec<_>>());
        println!(
            "| download {} assignments, one sync (incl. pushing back the received facts) | {} | {} – {} | < 0.5 s: {} |",
            a.assignments,
            ms(dm),
            ms(dmin),
            ms(dmax),
            if dm < 0.5 { "met" } else { "missed" }
        );
        let pulled: Vec<f64> = down.iter().filter_map(|r| r.pulled).collect();
        if pulled.len() == down.len() {
            let (pm, pmin, pmax) = spread(&pulled);
            println!(
                "| — of which: until all {} are applied and visible (end of pull; not the budget line) | {} | {} – {} | |",
                a.assignments,
                ms(pm),
                ms(pmin),
                ms(pmax),
            );
        }
    }
    if run_upload {
        println!(
            "| upload request bytes: gzip bodies / TCP incl. headers | {} / {up_req} | | |",
            up[0].report.bytes_sent
        );
    }

    if a.pouchdb {
        let (um, _, _) = spread(&up.iter().map(|r| r.secs).collect::<Vec<_>>());
        let events = up[0].report.pushed;
        let file = export.ok_or("no export file")?;
        let p = pouchdb(&file, a.pouchdb_iterations)?;
        let pm = p["median_s"].as_f64().ok_or("median_s")?;
        let pup = p["bytes_up"].as_u64().ok_or("bytes_up")?;
        let pdown = p["bytes_down"].as_u64().ok_or("bytes_down")?;
        let speed = pm / um;
        let bytes = up_req as f64 / pup as f64;
        println!();
        println!("| vs PouchDB (same {events} events) | Doorstep | PouchDB | ratio | budget |");
        println!("|---|---|---|---|---|");
        println!(
            "| upload wall time (median) | {} | {} | {speed:.1} × faster | ≥ 5 ×: {} |",
            ms(um),
            ms(pm),
            if speed >= 5.0 { "met" } else { "missed" }
        );
        println!(
            "| request bytes on the wire (TCP) | {up_req} | {pup} | {bytes:.3} | ≤ 1/3: {} |",
            if bytes <= 1.0 / 3.0 { "met" } else { "missed" }
        );
        println!(
            "| response bytes on the wire (TCP) | {up_resp} | {pdown} | {:.3} | |",
            up_resp as f64 / pdown as f64
        );
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sync-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(a).await {
        eprintln!("sync-bench: {e}");
        std::process::exit(1);
    }
}
