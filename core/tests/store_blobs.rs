//! The store's blob area (issue 12): a captured photo's bytes stored under
//! their SHA-256 beside the database before its `photo_taken` event is
//! recorded, bounded, deleted once the server holds them — and a SIGKILL in
//! the middle of a write never leaves a referenced blob torn.
//!
//! The crash child is this test binary run again with
//! `DOORSTEP_BLOB_CRASH_CHILD_DB` set (`blob_crash_child` is a no-op
//! otherwise). Kills: 30 by default, `DOORSTEP_BLOB_CRASH_KILLS` to change it.

mod common;

use chrono::Duration;
use common::*;
use doorstep_core::canonical::sha256_hex;
use doorstep_core::store::{CapturedPhoto, Store};
use doorstep_core::{AssignmentId, EventKind, Stage};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

const CHILD_DB: &str = "DOORSTEP_BLOB_CRASH_CHILD_DB";

/// A visit of `id` walked to the customer's door (photos may be taken there).
fn at_the_door(store: &Store, id: &str) -> AssignmentId {
    let start = day() + Duration::hours(1);
    store
        .receive_assignment(&issued(id, start), start - Duration::hours(20))
        .unwrap();
    let aid = AssignmentId::new(id).unwrap();
    while store.state(&aid).unwrap().stage != Stage::AtDoor {
        let s = store.state(&aid).unwrap();
        let (cmd, at, fix) = next_command(&s).unwrap();
        store.apply_command(&aid, &cmd, at, fix).unwrap();
    }
    aid
}

fn photo<'a>(moment: &'a str, bytes: &'a [u8]) -> CapturedPhoto<'a> {
    CapturedPhoto {
        moment,
        bytes,
        width: 1280,
        height: 960,
    }
}

/// Bytes that look like a JPEG, `len` long, different for each `seed`.
fn jpeg_like(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0];
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn blob_files(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.blob_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn a_stored_photo_lives_under_its_sha256_beside_the_database_and_is_recorded() {
    let dir = TempDir::new("blobs");
    let store = open(&dir.db());
    let aid = at_the_door(&store, "B-1");
    let bytes = jpeg_like(50_000, 7);
    let (digest, events) = store
        .store_photo(&aid, photo("nameplate", &bytes), day(), None)
        .unwrap();
    assert_eq!(digest, sha256_hex(&bytes));
    assert!(store.blob_dir().starts_with(dir.path()));
    assert_eq!(store.blob(&digest).unwrap().as_deref(), Some(&bytes[..]));
    assert!(matches!(
        &events[0].kind,
        EventKind::PhotoTaken { digest: d, size_bytes: 50_000, .. } if *d == digest
    ));
    assert_eq!(store.blobs().unwrap().len(), 1);
}

#[test]
fn a_full_blob_area_refuses_the_photo_with_a_clear_error_and_writes_nothing() {
    let dir = TempDir::new("blobs-full");
    let store = open(&dir.db());
    let aid = at_the_door(&store, "B-2");
    store.set_blob_limit(100_000);
    store
        .store_photo(&aid, photo("nameplate", &jpeg_like(60_000, 1)), day(), None)
        .unwrap();
    let events_before = store.history(&aid).unwrap().len();
    let e = store
        .store_photo(
            &aid,
            photo("fault_before", &jpeg_like(60_000, 2)),
            day(),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), "store_blob_area_full");
    assert!(e.text().zh.contains("照片存储空间已满"), "{}", e.text().zh);
    assert!(e.to_string().contains("100000"), "{e}");
    assert_eq!(store.history(&aid).unwrap().len(), events_before);
    assert_eq!(
        blob_files(&store).len(),
        1,
        "no half-written blob, no temp file"
    );
}

#[test]
fn a_refused_photo_leaves_no_blob_behind() {
    let dir = TempDir::new("blobs-refused");
    let store = open(&dir.db());
    let aid = at_the_door(&store, "B-3");
    let e = store
        .store_photo(&aid, photo("selfie", &jpeg_like(1_000, 3)), day(), None)
        .unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(blob_files(&store).is_empty());
}

#[test]
fn a_blob_the_server_acknowledged_is_purged_from_the_device() {
    let dir = TempDir::new("blobs-ack");
    let store = open(&dir.db());
    let aid = at_the_door(&store, "B-4");
    let (digest, _) = store
        .store_photo(&aid, photo("nameplate", &jpeg_like(5_000, 4)), day(), None)
        .unwrap();
    assert!(store.blob_acknowledged(&digest).unwrap());
    assert_eq!(store.blob(&digest).unwrap(), None);
    assert!(!store.blob_acknowledged(&digest).unwrap());
    // The event stays: the report still names the photo by digest.
    assert!(store.state(&aid).unwrap().photos[0].digest == digest);
}

#[test]
fn a_blob_no_event_names_is_purged_once_old_and_a_named_one_is_kept() {
    let dir = TempDir::new("blobs-orphan");
    let store = open(&dir.db());
    let aid = at_the_door(&store, "B-5");
    let (named, _) = store
        .store_photo(&aid, photo("nameplate", &jpeg_like(3_000, 5)), day(), None)
        .unwrap();
    // What a crash between the blob and its event leaves.
    let orphan = store.put_blob(&jpeg_like(3_000, 6)).unwrap();
    // Young blobs are left alone: another process may be about to record it.
    assert_eq!(
        store
            .purge_orphan_blobs(std::time::Duration::from_secs(600))
            .unwrap(),
        0
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        store
            .purge_orphan_blobs(std::time::Duration::from_millis(10))
            .unwrap(),
        1
    );
    assert_eq!(store.blob(&orphan).unwrap(), None);
    assert!(store.blob(&named).unwrap().is_some());
}

/// The child: stores photos of 0.5-3 MB until killed, printing `OK <digest>`
/// after each `store_photo` returned.
#[test]
fn blob_crash_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = Store::open(&path, &enrollment()).expect("child opens the store");
    let aid = AssignmentId::new("C-1").unwrap();
    if store.state(&aid).is_err() {
        at_the_door(&store, "C-1");
    }
    let mut out = std::io::stdout();
    writeln!(out, "READY").unwrap();
    out.flush().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    for i in 0..200u64 {
        let len = 500_000 + (seed.wrapping_mul(i + 1) % 2_500_000) as usize;
        let bytes = jpeg_like(len, seed ^ i);
        let (digest, _) = store
            .store_photo(&aid, photo("old_part", &bytes), day(), None)
            .unwrap();
        writeln!(out, "OK {digest}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn the_blob_area_survives_sigkill_mid_write_with_no_referenced_blob_torn() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let kills: u64 = std::env::var("DOORSTEP_BLOB_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(30);
    let exe = std::env::current_exe().unwrap();
    let dir = TempDir::new("blob-crash");
    let db = dir.db();
    let mut checked = 0usize;
    for k in 0..kills {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "blob_crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
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
        // A write of 0.5-3 MB with its fsyncs takes a few milliseconds: kill
        // at a spread of moments 20-420 ms in, landing inside some writes.
        let wait = 20_000 + (k * 104_729 + 3_001) % 400_000;
        std::thread::sleep(std::time::Duration::from_micros(wait));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let rest = reader.join().unwrap();
        if status.signal().is_none() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("child {k} exited ({status}) before it was killed:\n{err}");
        }
        let store = open(&db);
        let confirmed: Vec<String> = String::from_utf8_lossy(&rest)
            .lines()
            .filter_map(|l| l.strip_prefix("OK ").map(str::to_string))
            .filter(|d| d.len() == 64)
            .collect();
        let state = store.state(AssignmentId::new("C-1").unwrap()).unwrap();
        for d in &confirmed {
            assert!(
                state.photos.iter().any(|p| &p.digest == d),
                "kill {k}: confirmed photo {d} lost"
            );
        }
        // Every referenced blob is whole: its bytes hash to its name.
        for p in &state.photos {
            let bytes = store
                .blob(&p.digest)
                .unwrap()
                .unwrap_or_else(|| panic!("kill {k}: referenced blob {} missing", p.digest));
            assert_eq!(bytes.len() as u64, p.size_bytes, "kill {k}: torn blob");
            assert_eq!(sha256_hex(&bytes), p.digest, "kill {k}: torn blob");
            checked += 1;
        }
        // No temporary file survives the reopening.
        for name in blob_files(&store) {
            assert_eq!(name.len(), 64, "kill {k}: leftover {name}");
        }
    }
    assert!(checked > 0, "no photo was ever stored before a kill");
    eprintln!("blob crash: {kills} kills, {checked} referenced blobs checked whole");
}
