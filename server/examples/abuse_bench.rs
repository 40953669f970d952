//! Abuse benchmark of the real `doorstep-server` process (not a test: the
//! figures go to docs/PERFORMANCE.md, "Server under abuse"):
//!
//! 1. **Login storm**: `--concurrency` wrong-password logins at once,
//!    `--rounds` times (half on a real account, half on unknown names), once
//!    with the login rate limits raised so every attempt reaches the capped
//!    password hashing and once with the limits at their defaults; the server's resident memory (`VmRSS`) is sampled
//!    every 10 ms, and `/healthz` is timed throughout.
//! 2. **Slow connections**: `--slow` connections each send half a request
//!    head and stop; counts how many the server still holds open over time,
//!    when the last is closed, and how `/healthz` answers meanwhile.
//!
//! Usage (build the server first, same profile):
//! `cargo build --profile server-bench -p doorstep-server --bin doorstep-server &&
//!  cargo run --profile server-bench -p doorstep-server --example abuse-bench --
//!  [--server PATH] [--concurrency 64] [--rounds 4] [--slow 1000]`

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "bench password 1";

struct Args {
    server: String,
    concurrency: usize,
    rounds: usize,
    slow: usize,
}

fn args() -> Result<Args, String> {
    let next_to_me = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("doorstep-server")))
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut a = Args {
        server: next_to_me,
        concurrency: 64,
        rounds: 4,
        slow: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => a.server = value()?,
            "--concurrency" => {
                a.concurrency = value()?.parse().map_err(|_| "--concurrency: a number")?
            }
            "--rounds" => a.rounds = value()?.parse().map_err(|_| "--rounds: a number")?,
            "--slow" => a.slow = value()?.parse().map_err(|_| "--slow: a number")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

/// The server process on a fresh SQLite directory.
struct Server {
    child: Child,
    base: String,
    dir: std::path::PathBuf,
}

impl Server {
    fn start(bin: &str, extra: &[&str]) -> Server {
        let dir = std::env::temp_dir().join(format!("abuse-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(bin)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .args(["--admin-password", PASSWORD])
            .args(extra)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        // Keep draining the server's output for its whole life (a full pipe
        // would stall it); its errors are shown.
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = tx.send(rest.trim().trim_end_matches('/').to_string());
                } else if line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server says where it listens");
        Server { child, base, dir }
    }

    fn rss_kib(&self) -> u64 {
        rss_of(self.child.id())
    }

    fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples the process's RSS every 10 ms until stopped; returns the peak.
fn sample_peak(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_of(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    })
}

/// Times `/healthz` every 50 ms until stopped: (answers, failures, worst).
fn watch_health(
    base: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(u64, u64, Duration)> {
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let (mut ok, mut failed, mut worst) = (0, 0, Duration::ZERO);
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            let r = http
                .get(format!("{base}/healthz"))
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => ok += 1,
                _ => failed += 1,
            }
            worst = worst.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (ok, failed, worst)
    })
}

/// The storm with the login rate limits raised (`limits: false`: every
/// attempt reaches the hashing) or at their defaults.
async fn login_storm(a: &Args, limits: bool) {
    let raised = [
        "--logins-per-account-per-min=100000000",
        "--logins-per-address-per-min=100000000",
    ];
    let server = Server::start(&a.server, if limits { &[] } else { &raised });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = server.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = sample_peak(server.child.id(), stop.clone());
    let health = watch_health(server.base.clone(), stop.clone());
    let http = reqwest::Client::new();
    let (refused, busy, other, limited) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let started = Instant::now();
    for round in 0..a.rounds {
        let tasks: Vec<_> = (0..a.concurrency)
            .map(|i| {
                let (http, base) = (http.clone(), server.base.clone());
                let (refused, busy, other, limited) = (
                    refused.clone(),
                    busy.clone(),
                    other.clone(),
                    limited.clone(),
                );
                let user = if i % 2 == 0 {
                    "admin".to_string()
                } else {
                    format!("nobody-{round}-{i}")
                };
                tokio::spawn(async move {
                    let st = http
                        .post(format!("{base}/api/login"))
                        .json(&serde_json::json!({"username": user, "password": "wrong"}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    match st {
                        401 => refused.fetch_add(1, Ordering::Relaxed),
                        503 => busy.fetch_add(1, Ordering::Relaxed),
                        429 => limited.fetch_add(1, Ordering::Relaxed),
                        _ => other.fetch_add(1, Ordering::Relaxed),
                    };
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let peak = peak.join().unwrap();
    let (ok, failed, worst) = health.await.unwrap();
    let after = server.rss_kib();
    println!(
        "| login storm, rate limits {} | {}×{} wrong logins in {:.1} s: {} answered 401, {} 429 rate limited, {} 503 busy, {} other | idle {:.1} MiB, peak {:.1} MiB, 1 s after {:.1} MiB | /healthz {ok} answered, {failed} failed, worst {:.0} ms |",
        if limits { "at their defaults" } else { "raised" },
        a.concurrency,
        a.rounds,
        took.as_secs_f64(),
        refused.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0,
        worst.as_secs_f64() * 1000.0,
    );
}

async fn slow_connections(a: &Args) {
    let server = Server::start(&a.server, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let health = watch_health(server.base.clone(), stop.clone());
    let started = Instant::now();
    let closed_after = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    let mut connected = 0;
    for _ in 0..a.slow {
        let Ok(mut s) = TcpStream::connect(server.addr()).await else {
            continue;
        };
        connected += 1;
        let closed_after = closed_after.clone();
        tasks.push(tokio::spawn(async move {
            let _ = s
                .write_all(b"POST /api/login HTTP/1.1\r\nHost: bench\r\nContent-")
                .await;
            let mut buf = [0u8; 1024];
            let mut answer = Vec::new();
            loop {
                match tokio::time::timeout(Duration::from_secs(120), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
                }
            }
            let got_503 = answer.starts_with(b"HTTP/1.1 503");
            closed_after
                .lock()
                .unwrap()
                .push((started.elapsed(), got_503));
        }));
    }
    let mut held_at = Vec::new();
    for probe in [1u64, 5, 9, 11, 15] {
        let until = Duration::from_secs(probe);
        if let Some(wait) = until.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let closed = closed_after.lock().unwrap().len();
        held_at.push(format!("{} at {probe} s", connected - closed));
    }
    for t in tasks {
        let _ = t.await;
    }
    stop.store(true, Ordering::Relaxed);
    let (ok, failed, worst) = health.await.unwrap();
    let closed = closed_after.lock().unwrap().clone();
    let last = closed.iter().map(|c| c.0).max().unwrap_or_default();
    let answered_503 = closed.iter().filter(|c| c.1).count();
    let quick = closed
        .iter()
        .filter(|c| c.0 < Duration::from_secs(3))
        .count();
    println!(
        "| slow connections | {connected} connections sending half a request head | held open: {}; {quick} closed within 3 s ({answered_503} with 503 + Retry-After), the last closed after {:.1} s | /healthz {ok} answered, {failed} failed, worst {:.0} ms |",
        held_at.join(", "),
        last.as_secs_f64(),
        worst.as_secs_f64() * 1000.0,
    );
}

#[tokio::main]
async fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("abuse-bench: {e}");
            std::process::exit(2);
        }
    };
    println!("| scenario | load | server | /healthz meanwhile |");
    println!("|---|---|---|---|");
    login_storm(&a, false).await;
    login_storm(&a, true).await;
    slow_connections(&a).await;
}
