//! Backup under load and restore (issue 17, item 1), with the real binary:
//! `backup --to FILE` while phones push, `restore --from FILE --data-dir
//! DIR`, a server on the restored directory, every phone's next sync.

use super::support::*;
use chrono::Duration;
use doorstep_core::AssignmentId;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const PHONES: usize = 3;
/// Commands each phone applies after the backup was taken.
const AFTER_BACKUP: usize = 3;

/// A command of a phone's day: the assignment, when, the command.
type Step = (
    AssignmentId,
    chrono::DateTime<chrono::Utc>,
    serde_json::Value,
);

/// One phone's working day: each command applied and synced at once; the
/// last [`AFTER_BACKUP`] wait for the backup to be over, then the phone
/// keeps syncing until the desk's post-backup assignment reached it. The
/// day's last command is left for the restore's outage (returned).
async fn work(
    phone: &Phone,
    base: &str,
    mine: &[AssignmentId],
    pushed: &AtomicUsize,
    backed_up: &AtomicBool,
    late: &tokio::sync::watch::Receiver<Vec<AssignmentId>>,
    index: usize,
) -> Step {
    let mut steps = vec![];
    for (i, a) in mine.iter().enumerate() {
        for (at, cmd) in first_steps(window(0, i as i64)) {
            steps.push((a.clone(), at, cmd));
        }
    }
    let during_outage = steps.pop().expect("a day of steps");
    let before = steps.len() - AFTER_BACKUP;
    for (n, (a, at, cmd)) in steps.iter().enumerate() {
        if n == before {
            while !backed_up.load(Ordering::SeqCst) {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
        phone.apply(a, *at, cmd);
        let report = phone.sync(base).await.expect("a sync during the load");
        pushed.fetch_add(report.pushed as usize, Ordering::SeqCst);
    }
    let late = late
        .clone()
        .wait_for(|late| !late.is_empty())
        .await
        .unwrap()[index]
        .clone();
    for _ in 0..50 {
        if phone.knows(&late) {
            return during_outage;
        }
        phone.sync(base).await.expect("a sync after the backup");
    }
    panic!("{} never pulled {late}", phone.device);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_phones_push_restores_and_every_phone_resyncs_exactly_once() {
    let scratch = Scratch::new("backup");
    let live_dir = scratch.path("live");
    let mut live = ServerBinary::start(&live_dir, &[]).await;
    let desk = Desk::login(&live.base).await;
    let mut phones = vec![];
    let mut assignments = vec![];
    for p in 0..PHONES {
        let tech = format!("T-{p}");
        let (device, token) = desk.technician(&tech).await;
        let mine = vec![
            desk.assignment(&tech, window(0, 0)).await,
            desk.assignment(&tech, window(0, 1)).await,
        ];
        let phone = Phone::new(&tech, &device, &token);
        phone.sync(&live.base).await.expect("the morning sync");
        phones.push(phone);
        assignments.push(mine);
    }
    let total: usize = assignments.iter().map(|m| m.len() * 10).sum();
    let pushed = AtomicUsize::new(0);
    let backed_up = AtomicBool::new(false);
    let (late_tx, late_rx) = tokio::sync::watch::channel(vec![]);
    let backup_file = scratch.path("doorstep-backup.db");
    let backup_summary = std::sync::Mutex::new(String::new());

    let [p0, p1, p2] = &phones[..] else {
        unreachable!("{PHONES} phones")
    };
    let (a0, a1, a2) = (&assignments[0], &assignments[1], &assignments[2]);
    let base = live.base.clone();
    let operator = async {
        // The backup runs while the phones are pushing.
        while pushed.load(Ordering::SeqCst) < total / 3 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let (dir, file) = (live_dir.clone(), backup_file.clone());
        let out = tokio::task::spawn_blocking(move || {
            run(&[
                "backup",
                "--data-dir",
                dir.to_str().unwrap(),
                "--to",
                file.to_str().unwrap(),
            ])
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "backup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        *backup_summary.lock().unwrap() = String::from_utf8_lossy(&out.stdout).into_owned();
        backed_up.store(true, Ordering::SeqCst);
        // Changes after the backup: the phones pull them, so their cursors
        // pass the backup's last change.
        let mut late = vec![];
        for p in 0..PHONES {
            late.push(
                desk.assignment(&format!("T-{p}"), window(1, p as i64))
                    .await,
            );
        }
        late_tx.send_replace(late);
    };
    let (s0, s1, s2, ()) = tokio::join!(
        work(p0, &base, a0, &pushed, &backed_up, &late_rx, 0),
        work(p1, &base, a1, &pushed, &backed_up, &late_rx, 1),
        work(p2, &base, a2, &pushed, &backed_up, &late_rx, 2),
        operator,
    );
    assert!(
        backup_summary.lock().unwrap().contains("Backed up"),
        "{}",
        backup_summary.lock().unwrap()
    );
    let (status, _) = live.terminate(std::time::Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let live_db = live_dir.join("doorstep.db");
    let late = late_rx.borrow().clone();
    for ((phone, mine), late) in phones.iter().zip(&assignments).zip(&late) {
        let everything: Vec<AssignmentId> = mine.iter().chain([late]).cloned().collect();
        assert_eq!(
            stored_event_ids(&live_db, &phone.device),
            phone.event_ids(&everything),
            "the live server had every event before the restore"
        );
    }

    // Restore on a fresh data directory and serve it.
    let restored_dir = scratch.path("restored");
    let out = run(&[
        "restore",
        "--from",
        backup_file.to_str().unwrap(),
        "--data-dir",
        restored_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let restored_db = restored_dir.join("doorstep.db");
    let lost: usize = phones
        .iter()
        .zip(&assignments)
        .map(|(p, mine)| p.event_ids(mine).len() - stored_event_ids(&restored_db, &p.device).len())
        .sum();
    assert!(
        lost >= PHONES * AFTER_BACKUP,
        "the backup predates the events pushed after it ({lost} missing)"
    );
    let restored = ServerBinary::start(&restored_dir, &[]).await;

    // Two technicians kept working while the server was being restored,
    // the first did not: every phone's next sync, new events or not, sends
    // again what the backup lacked, once (the pull says what the server
    // holds).
    for (phone, (a, at, cmd)) in phones.iter().zip([s0, s1, s2]).skip(1) {
        phone.apply(&a, at, &cmd);
    }
    for (phone, mine) in phones.iter().zip(&assignments) {
        let report = phone
            .sync(&restored.base)
            .await
            .expect("the first sync after the restore");
        assert_eq!(report.pending, 0, "{report:?}");
        assert!(
            report.requeued > 0,
            "the phone sent its acknowledged entries again: {report:?}"
        );
        let on_server = stored_event_ids(&restored_db, &phone.device);
        let on_phone = phone.event_ids(mine);
        assert_eq!(
            on_server, on_phone,
            "exactly once, nothing missing, in order"
        );
        let again = phone.sync(&restored.base).await.unwrap();
        assert_eq!((again.pushed, again.duplicates, again.pending), (0, 0, 0));
    }

    // Cursors stay valid: a change made on the restored server reaches
    // every phone, though their cursors passed the backup's last change.
    let desk = Desk::login(&restored.base).await;
    for (p, phone) in phones.iter().enumerate() {
        let fresh = desk
            .assignment(&format!("T-{p}"), window(2, 0) + Duration::hours(p as i64))
            .await;
        let report = phone.sync(&restored.base).await.unwrap();
        assert!(report.changes >= 1, "{report:?}");
        assert!(
            phone.knows(&fresh),
            "{} missed {fresh} after the restore",
            phone.device
        );
    }
}

#[test]
fn a_restore_refuses_a_backup_of_a_newer_schema_and_names_both_versions() {
    let scratch = Scratch::new("newer");
    let backup = scratch.path("from-the-future.db");
    let conn = rusqlite::Connection::open(&backup).unwrap();
    conn.execute_batch("CREATE TABLE events (id INTEGER); PRAGMA user_version = 99;")
        .unwrap();
    drop(conn);
    let target = scratch.path("data");
    let out = run(&[
        "restore",
        "--from",
        backup.to_str().unwrap(),
        "--data-dir",
        target.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("schema version 99"), "{stderr}");
    assert!(
        stderr.contains("newer than this doorstep-server knows"),
        "{stderr}"
    );
    assert!(stderr.contains("结构版本为 99"), "{stderr}");
    assert!(!target.join("doorstep.db").exists());
}

#[test]
fn a_backup_on_postgresql_points_at_pg_dump() {
    let out = run(&[
        "backup",
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "--to",
        "/nonexistent/x.db",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pg_dump"), "{stderr}");
}
