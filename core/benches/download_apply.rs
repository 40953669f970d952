//! The phone's side of a download: applying 5 000 new assignments in pages
//! of 2 000, 2 000 and 1 000 (`Store::apply_download_page`), as the sync
//! bench's download does after the pages arrived. Prints the median wall
//! and CPU time of the whole apply over fresh stores, and per assignment.
//! Run: `cargo bench -p doorstep-core --bench download_apply`.
//! `HACK_SQL`, if set, is run on each fresh store before the apply (a
//! schema experiment, e.g. an index dropped, measured without a rebuild);
//! `KEEP` keeps the stores for inspection; `DOORSTEP_BENCH_ROUNDS` sets
//! the number of fresh stores (default 9).

#[path = "../tests/common/mod.rs"]
mod common;

use chrono::Duration;
use common::*;
use doorstep_core::protocol::AssignmentChange;
use doorstep_core::receipt::ReceiptIds;
use std::path::Path;
use std::time::Instant;

const ASSIGNMENTS: usize = 5_000;
const PAGES: [usize; 3] = [2_000, 2_000, 1_000];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // The target directory: the same disk as the project, never a tmpfs.
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("download-apply-bench");
    let changes: Vec<AssignmentChange> = (0..ASSIGNMENTS)
        .map(|n| AssignmentChange {
            seq: n as u64 + 1,
            change: issued(&format!("D-{n}"), day() + Duration::hours(3 * n as i64)),
        })
        .collect();
    let runs: usize = std::env::var("DOORSTEP_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(9);
    let (mut wall, mut cpu) = (vec![], vec![]);
    for run in 0..runs {
        let dir = root.join(run.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = open(&dir.join("store.db"));
        if let Ok(sql) = std::env::var("HACK_SQL") {
            rusqlite::Connection::open(dir.join("store.db"))
                .unwrap()
                .execute_batch(&sql)
                .unwrap();
        }
        let (t, c) = (Instant::now(), thread_cpu());
        let mut at = 0;
        for size in PAGES {
            let page = &changes[at..at + size];
            at += size;
            store
                .apply_download_page(page, &at.to_string(), day(), ReceiptIds::InChangeOrder)
                .unwrap();
        }
        wall.push(t.elapsed().as_secs_f64() * 1e3);
        cpu.push((thread_cpu() - c).as_secs_f64() * 1e3);
        assert_eq!(store.visit_count().unwrap() as usize, ASSIGNMENTS);
        drop(store);
        if std::env::var("KEEP").is_err() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let (w, c) = (median(wall), median(cpu));
    println!(
        "apply {ASSIGNMENTS} new assignments in pages of {PAGES:?}: median of {runs} fresh stores \
         {w:.1} ms wall, {c:.1} ms CPU ({:.1} µs CPU an assignment)",
        c * 1e3 / ASSIGNMENTS as f64
    );
}
