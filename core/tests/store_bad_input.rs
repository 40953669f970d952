//! Bad files and a full disk: each gives a typed error, never a panic, and
//! the file is never repaired or recreated behind the caller's back.

mod common;

use chrono::Duration;
use common::*;
use doorstep_core::store::{schema, Store, StoreError};
use doorstep_core::AssignmentId;
use sha2::{Digest, Sha256};
use std::path::Path;

fn digest(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// A closed store (WAL checkpointed into the file) holding unsynced events.
fn store_with_unsynced_events(dir: &TempDir, visits: usize) -> u64 {
    let store = open(&dir.db());
    for i in 0..visits {
        run_visit(&store, &format!("A-{i}"), day(), 12);
    }
    let pending = store.pending_count().unwrap();
    assert!(pending > 0);
    pending
}

#[test]
fn garbage_file_is_not_a_database_and_is_left_untouched() {
    let dir = TempDir::new("garbage");
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(dir.db(), &bytes).unwrap();
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    assert!(matches!(err, StoreError::NotADatabase), "{err}");
    assert_eq!(err.code(), "store_not_a_database");
    assert_eq!(std::fs::read(dir.db()).unwrap(), bytes);
}

#[test]
fn truncated_file_is_refused_and_never_recreated() {
    let dir = TempDir::new("truncated");
    store_with_unsynced_events(&dir, 20);
    let full = std::fs::metadata(dir.db()).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.db())
        .unwrap();
    f.set_len(full / 2).unwrap();
    drop(f);
    let before = digest(&dir.db());
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    match &err {
        StoreError::Truncated {
            expected_bytes,
            actual_bytes,
        } => {
            assert_eq!(*expected_bytes, full);
            assert_eq!(*actual_bytes, full / 2);
        }
        other => panic!("expected Truncated, got {other}"),
    }
    assert!(err.to_string().contains("truncated"));
    assert_eq!(digest(&dir.db()), before, "the file is left as it was");
}

#[test]
fn damaged_schema_page_is_reported_as_corrupt() {
    let dir = TempDir::new("corrupt");
    store_with_unsynced_events(&dir, 3);
    // Scribble over page 1 after the 100-byte header: the schema table.
    let mut bytes = std::fs::read(dir.db()).unwrap();
    for b in &mut bytes[100..4096] {
        *b = 0xA5;
    }
    std::fs::write(dir.db(), &bytes).unwrap();
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    assert!(
        matches!(err, StoreError::Corrupt { .. } | StoreError::NotADatabase),
        "{err:?}"
    );
    assert_eq!(std::fs::read(dir.db()).unwrap(), bytes);
}

#[test]
fn damaged_data_pages_give_corrupt_errors_not_panics() {
    let dir = TempDir::new("corrupt-data");
    store_with_unsynced_events(&dir, 20);
    let mut bytes = std::fs::read(dir.db()).unwrap();
    let len = bytes.len();
    // Damage every page but the first (schema) one.
    for (i, b) in bytes[4096..len].iter_mut().enumerate() {
        *b = (i % 253) as u8;
    }
    std::fs::write(dir.db(), &bytes).unwrap();
    match Store::open(dir.db(), &enrollment()) {
        Err(e) => assert!(matches!(e, StoreError::Corrupt { .. }), "{e:?}"),
        Ok(store) => {
            let read = store.history(AssignmentId::new("A-3").unwrap());
            assert!(matches!(read, Err(StoreError::Corrupt { .. })), "{read:?}");
            assert_ne!(store.integrity_check().ok(), Some(vec!["ok".to_string()]));
        }
    }
}

#[test]
fn newer_schema_version_is_refused_with_both_versions() {
    let dir = TempDir::new("newer");
    store_with_unsynced_events(&dir, 1);
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.pragma_update(None, "user_version", schema::VERSION + 1)
            .unwrap();
    }
    let before = digest(&dir.db());
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    match err {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!(found, schema::VERSION + 1);
            assert_eq!(supported, schema::VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other}"),
    }
    assert_eq!(digest(&dir.db()), before);
}

#[test]
fn foreign_sqlite_database_is_refused() {
    let dir = TempDir::new("foreign");
    {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');")
            .unwrap();
    }
    let before = digest(&dir.db());
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    assert!(matches!(err, StoreError::ForeignDatabase { .. }), "{err}");
    assert_eq!(digest(&dir.db()), before);
}

#[test]
fn read_only_file_is_refused_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("readonly");
    store_with_unsynced_events(&dir, 1);
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = digest(&dir.db());
    let err = Store::open(dir.db(), &enrollment()).err().unwrap();
    assert!(matches!(err, StoreError::ReadOnly), "{err}");
    assert!(err.to_string().contains("read-only"));
    assert_eq!(digest(&dir.db()), before);
    std::fs::set_permissions(dir.db(), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        Store::open(dir.db(), &enrollment()).is_ok(),
        "writable again: opens"
    );
}

#[test]
fn full_disk_rolls_back_the_command_and_recovers_when_space_returns() {
    let dir = TempDir::new("full");
    let store = open(&dir.db());
    run_visit(&store, "A-0", day(), 3);
    let pages: u64 = {
        let c = rusqlite::Connection::open(dir.db()).unwrap();
        c.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    };
    store.set_max_page_count(pages).unwrap();
    let mut full = None;
    for i in 1..200 {
        let start = day() + Duration::minutes(i);
        let change = issued(&format!("A-{i}"), start);
        match store.receive_assignment(&change, start) {
            Ok(_) => continue,
            Err(e) => {
                full = Some((i, e));
                break;
            }
        }
    }
    let (i, err) = full.expect("the size cap must fill up");
    assert!(matches!(err, StoreError::DiskFull), "{err:?}");
    assert_eq!(err.code(), "store_disk_full");
    assert!(err.text().zh.contains("存储空间已满"));
    // The failed change left nothing behind, and the store still reads.
    let id = AssignmentId::new(format!("A-{i}")).unwrap();
    assert!(matches!(
        store.state(&id),
        Err(StoreError::UnknownAssignment(_))
    ));
    assert!(store.verify_projections().unwrap().is_empty());
    let outbox = store.pending_outbox(10_000).unwrap().len() as u64;
    assert_eq!(outbox, store.pending_count().unwrap());
    // Space comes back: the same change goes through.
    store.set_max_page_count(1 << 30).unwrap();
    let start = day() + Duration::minutes(i);
    store
        .receive_assignment(&issued(&format!("A-{i}"), start), start)
        .unwrap();
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_string()]);
}
