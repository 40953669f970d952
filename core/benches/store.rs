//! Local store benchmarks (DESIGN "Performance budgets"):
//!
//! - apply one workflow command with a normal commit (budget p99 < 0.3 ms
//!   on a quiet machine),
//! - the same command with a durable `synchronous=FULL` commit, against a
//!   bare single-row SQLite FULL commit measured in the same run (budget
//!   ≤ 1.5×),
//! - opening a store holding 10 000 visits (budget < 50 ms).
//!
//! Criterion gives the means; a custom loop before it prints p50/p99 of the
//! three commit paths, interleaved so that they see the same disk.
//! Run: `cargo bench -p doorstep-core --bench store`.

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::Duration;
use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use doorstep_core::protocol::AssignmentChange;
use doorstep_core::receipt::ReceiptIds;
use doorstep_core::store::{Durability, Store};
use doorstep_core::workflow::command::{CallOutcome, CallPurpose};
use doorstep_core::{AssignmentId, VisitCommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn bench_dir(tag: &str) -> PathBuf {
    // The target directory: the same disk as the project, never a tmpfs.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store-bench-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A store with `n` visits walked on site until the fee schedule has been
/// shown (the diagnosis and its photos recorded), where [`repeatable`] is
/// accepted again and again.
fn store_with_visits_on_site(dir: &Path, n: usize) -> (Store, Vec<AssignmentId>) {
    let store = open(&dir.join("store.db"));
    let mut ids = vec![];
    for i in 0..n {
        let start = day() + Duration::minutes(i as i64);
        let id = AssignmentId::new(format!("B-{i}")).unwrap();
        store
            .receive_assignment(&issued(id.as_str(), start), start - Duration::hours(20))
            .unwrap();
        while !store.state(&id).unwrap().fee_schedule_shown {
            let (cmd, at, fix) = next_command(&store.state(&id).unwrap()).unwrap();
            store.apply_command(&id, &cmd, at, fix).unwrap();
        }
        ids.push(id);
    }
    (store, ids)
}

/// The measured command: showing the fee schedule again on site. Its event
/// changes no list in the state, so the state stays the same size however
/// many iterations run (a repeated `log_call` would grow the call list and
/// measure JSON growth instead of the store).
fn repeatable() -> VisitCommand {
    VisitCommand::ShowFeeSchedule
}

fn log_call() -> VisitCommand {
    VisitCommand::LogCall {
        outcome: CallOutcome::Reached,
        purpose: CallPurpose::AtTheDoor,
        note: None,
    }
}

/// A bare single-row commit in its own WAL database with `synchronous=FULL`:
/// the physical floor a durable store commit is compared with.
struct Bare(rusqlite::Connection);

impl Bare {
    fn new(dir: &Path) -> Bare {
        let c = rusqlite::Connection::open(dir.join("bare.db")).unwrap();
        c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        c.pragma_update(None, "synchronous", "FULL").unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .unwrap();
        Bare(c)
    }
    fn commit_one_row(&mut self) {
        let tx = self.0.transaction().unwrap();
        tx.execute("INSERT INTO t (v) VALUES ('x')", []).unwrap();
        tx.commit().unwrap();
    }
}

/// CPU time of the calling thread: the store's own work, without the time
/// spent waiting for a core or for the disk.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(name: &str, mut us: Vec<f64>) -> (f64, f64) {
    us.sort_by(f64::total_cmp);
    let (p50, p99) = (percentile(&us, 0.50), percentile(&us, 0.99));
    println!(
        "{name:<36} n={:<5} p50 {p50:>8.1} µs   p99 {p99:>8.1} µs   p99.9 {:>8.1} µs   max {:>8.1} µs",
        us.len(),
        percentile(&us, 0.999),
        us[us.len() - 1]
    );
    (p50, p99)
}

/// p50/p99 of normal and durable command commits and of a bare FULL
/// commit, interleaved round by round.
fn latency_percentiles() {
    let rounds: usize = std::env::var("DOORSTEP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1000);
    let dir = bench_dir("latency");
    let (store, ids) = store_with_visits_on_site(&dir, 200);
    let mut bare = Bare::new(&dir);
    let at = day() + Duration::hours(1);
    // Start from a settled file: the set-up's WAL copied in and synced.
    store.checkpoint().unwrap();
    // Normal commits alone (what a technician tapping through a visit sees).
    let (mut alone, mut alone_cpu) = (vec![], vec![]);
    for r in 0..rounds {
        let id = &ids[r % ids.len()];
        let (t, cpu) = (Instant::now(), thread_cpu());
        store.apply_command(id, &repeatable(), at, None).unwrap();
        alone.push(t.elapsed().as_secs_f64() * 1e6);
        alone_cpu.push((thread_cpu() - cpu).as_secs_f64() * 1e6);
    }
    // The three paths interleaved, so they share the disk's state.
    let (mut normal, mut durable, mut floor) = (vec![], vec![], vec![]);
    for r in 0..rounds {
        let id = &ids[r % ids.len()];
        let t = Instant::now();
        store
            .apply_command_with(id, &repeatable(), at, None, Durability::Normal)
            .unwrap();
        normal.push(t.elapsed().as_secs_f64() * 1e6);

        let id = &ids[(r + 7) % ids.len()];
        let t = Instant::now();
        store
            .apply_command_with(id, &repeatable(), at, None, Durability::Full)
            .unwrap();
        durable.push(t.elapsed().as_secs_f64() * 1e6);

        let t = Instant::now();
        bare.commit_one_row();
        floor.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!("\n== local store commit latency ({rounds} commands each) ==");
    let (_, a99) = report("apply_command normal, alone", alone);
    report("  (its thread CPU time)", alone_cpu);
    let (_, n99) = report("apply_command normal, interleaved", normal);
    let (d50, d99) = report("apply_command durable, interleaved", durable);
    let (b50, b99) = report("bare 1-row FULL, interleaved", floor);
    println!(
        "durable / bare: p50 {:.2}x  p99 {:.2}x (budget ≤ 1.5x); normal p99 {:.3} ms alone, {:.3} ms interleaved (budget < 0.3 ms, quiet machine)\n",
        d50 / b50,
        d99 / b99,
        a99 / 1000.0,
        n99 / 1000.0
    );
}

/// A store of 10 000 visits, built in download pages of 500 (each visit
/// received, one call logged).
fn store_with_10k_visits(dir: &Path) -> PathBuf {
    let path = dir.join("store.db");
    let store = open(&path);
    for page in 0..20 {
        let changes: Vec<AssignmentChange> = (0..500)
            .map(|i| {
                let n = page * 500 + i;
                AssignmentChange {
                    seq: n as u64 + 1,
                    change: issued(&format!("V-{n}"), day() + Duration::minutes(n % 600)),
                }
            })
            .collect();
        store
            .apply_download_page(
                &changes,
                &page.to_string(),
                day(),
                ReceiptIds::InChangeOrder,
            )
            .unwrap();
    }
    for n in (0..10_000).step_by(10) {
        store
            .apply_command(
                AssignmentId::new(format!("V-{n}")).unwrap(),
                &log_call(),
                day(),
                None,
            )
            .unwrap();
    }
    assert_eq!(store.visit_count().unwrap(), 10_000);
    path
}

fn benches(c: &mut Criterion) {
    latency_percentiles();

    let dir = bench_dir("criterion");
    let (store, ids) = store_with_visits_on_site(&dir, 200);
    store.checkpoint().unwrap();
    let at = day() + Duration::hours(1);
    let mut i = 0;
    c.bench_function("store/apply_command/normal", |b| {
        b.iter(|| {
            i += 1;
            store
                .apply_command_with(
                    &ids[i % ids.len()],
                    &repeatable(),
                    at,
                    None,
                    Durability::Normal,
                )
                .unwrap()
        })
    });
    c.bench_function("store/apply_command/durable", |b| {
        b.iter(|| {
            i += 1;
            store
                .apply_command_with(
                    &ids[i % ids.len()],
                    &repeatable(),
                    at,
                    None,
                    Durability::Full,
                )
                .unwrap()
        })
    });
    let mut bare = Bare::new(&dir);
    c.bench_function("sqlite/bare_one_row_full_commit", |b| {
        b.iter(|| bare.commit_one_row())
    });
    drop(store);

    let dir = bench_dir("open");
    let path = store_with_10k_visits(&dir);
    c.bench_function("store/open/10k_visits", |b| {
        b.iter_with_large_drop(|| open(&path))
    });
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(store);
