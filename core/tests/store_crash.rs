//! Crash test: a child process applies random valid workflow commands to a
//! store and is SIGKILLed at random moments. After each kill the parent
//! reopens the store and checks that every command the child saw succeed is
//! there, that every projection equals a replay of its events, and that
//! `PRAGMA integrity_check` is ok.
//!
//! The child is this test binary run again with `DOORSTEP_CRASH_CHILD_DB`
//! set (the `crash_child` test is a no-op otherwise). Kills: 200 by
//! default, `DOORSTEP_CRASH_KILLS` to change it. std's `Child::kill` sends
//! SIGKILL on Unix: no destructor, no flush, no chance to clean up.

mod common;

use chrono::{Duration, FixedOffset};
use common::*;
use doorstep_core::store::Store;
use doorstep_core::{AssignmentId, EventId};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Instant;

const CHILD_DB: &str = "DOORSTEP_CRASH_CHILD_DB";
const CHILD_RUN: &str = "DOORSTEP_CRASH_RUN";
/// Kills per database file before starting a new one (keeps each check small).
const KILLS_PER_FILE: usize = 20;

/// A small xorshift generator: reproducible from its seed, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    (t ^ (u64::from(std::process::id()) << 32)) | 1
}

/// The child: runs until killed (or a safety cap), printing `OK <event ids>`
/// after each command returned Ok.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return; // a normal test run: nothing to do
    };
    let run: u64 = std::env::var(CHILD_RUN)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let store = Store::open(&path, &enrollment()).expect("child opens the store");
    let mut out = std::io::stdout();
    let mut rng = Rng(seed());
    // Resume the visits earlier (killed) children left open.
    let utc = FixedOffset::east_opt(0).unwrap();
    let mut open: Vec<AssignmentId> = store
        .visits_on(day().date_naive(), utc)
        .unwrap()
        .into_iter()
        .filter(|v| !v.closed)
        .map(|v| v.assignment_id)
        .collect();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let mut created = 0;
    for _ in 0..5_000 {
        let ids: Vec<EventId> = if open.len() < 3 || rng.below(8) == 0 {
            let id = format!("R{run}-{created}");
            created += 1;
            let start = day() + Duration::minutes(rng.below(540) as i64);
            let ev = store
                .receive_assignment(&issued(&id, start), start - Duration::hours(20))
                .expect("receive");
            open.push(AssignmentId::new(id).unwrap());
            ev.iter().map(|e| e.id).collect()
        } else if rng.below(40) == 0 {
            // The sync client acknowledges a few.
            if let Some(last) = store.pending_outbox(5).unwrap().last() {
                store.ack_outbox(last.seq, day()).unwrap();
            }
            vec![]
        } else {
            let i = rng.below(open.len() as u64) as usize;
            let s = store.state(&open[i]).expect("state");
            match next_command(&s) {
                None => {
                    open.swap_remove(i);
                    vec![]
                }
                Some((cmd, at, fix)) => store
                    .apply_command(&open[i], &cmd, at, fix)
                    .unwrap_or_else(|e| panic!("{} refused: {e}", cmd.name()))
                    .iter()
                    .map(|e| e.id)
                    .collect(),
            }
        };
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        writeln!(out, "OK {}", list.join(",")).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn killed_at_random_moments_loses_no_acknowledged_command() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let kills: usize = std::env::var("DOORSTEP_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(200);
    let exe = std::env::current_exe().unwrap();
    let dir = TempDir::new("crash");
    let mut rng = Rng(seed());
    let started = Instant::now();
    let mut confirmed_commands = 0usize;
    let mut confirmed_events = 0usize;
    for k in 0..kills {
        let db = dir.path().join(format!("crash-{}.db", k / KILLS_PER_FILE));
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &db)
            .env(CHILD_RUN, k.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // Wait until the child has opened the store, then let it work for a
        // random moment and kill it.
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 || line.trim_end().ends_with("READY") {
                break;
            }
        }
        let reader = std::thread::spawn(move || {
            let mut rest = vec![];
            let _ = stdout.read_to_end(&mut rest);
            rest
        });
        std::thread::sleep(std::time::Duration::from_micros(rng.below(40_000)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let rest = reader.join().unwrap();
        if status.signal().is_none() {
            // It ended by itself: a failure in the child (or it ran out of work).
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            let out = String::from_utf8_lossy(&rest);
            panic!("child {k} exited ({status}) before it was killed:\n{err}\n{out}");
        }
        // Only complete lines: the kill may cut the last one.
        let text = String::from_utf8_lossy(&rest);
        let complete = match text.rfind('\n') {
            Some(i) => &text[..=i],
            None => "",
        };
        let store = open(&db);
        for line in complete.lines() {
            let Some(ids) = line.strip_prefix("OK ") else {
                continue;
            };
            confirmed_commands += 1;
            for id in ids.split(',').filter(|s| !s.is_empty()) {
                let id: EventId = id.parse().unwrap();
                assert!(
                    store.has_event(id).unwrap(),
                    "kill {k}: confirmed event {id} lost"
                );
                confirmed_events += 1;
            }
        }
        assert_eq!(
            store.verify_projections().unwrap(),
            vec![],
            "kill {k}: projections differ from a replay"
        );
        assert_eq!(
            store.integrity_check().unwrap(),
            vec!["ok".to_string()],
            "kill {k}"
        );
        let pending = store.pending_outbox(1_000_000).unwrap();
        assert_eq!(pending.len() as u64, store.pending_count().unwrap());
        assert!(pending.windows(2).all(|w| w[0].seq < w[1].seq));
    }
    assert!(confirmed_commands > 0, "the children did work");
    eprintln!(
        "crash test: {kills} kills, {confirmed_commands} confirmed commands, {confirmed_events} events, {:?}",
        started.elapsed()
    );
}
