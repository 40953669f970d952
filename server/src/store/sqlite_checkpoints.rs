//! The SQLite backend's WAL checkpoints, off the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its
//! threshold: the writer copies the WAL's pages into the database file and
//! syncs it before that transaction's answer goes out, so every few pushes
//! one carried the pages of the others (tens of milliseconds of copying and
//! two fsyncs on a single writer that every phone waits behind). Here the
//! writer's WAL hook only wakes a thread with a connection of its own that
//! runs `PASSIVE` checkpoints, which never block the writer or the readers,
//! each time a thousand pages wait to be copied. A WAL starts over only
//! when a write begins with every page copied, which a checkpointer copying
//! beside a busy writer never sees; so once the WAL holds 16 MiB the writer
//! copies what is left in its commit (the pages since the last pass, as
//! SQLite's own checkpoint would have), and the next write restarts it: the
//! WAL stays bounded. Durability is unchanged: a commit is durable when its WAL
//! frames are synced (`synchronous=FULL`), whoever copies them later.

use super::sql::DbError;
use rusqlite::{Connection, OpenFlags};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc};

/// WAL pages (4 KiB each) not yet copied that wake the checkpointer:
/// SQLite's own automatic threshold.
pub const WAKE_AT_PAGES: i32 = 1000;

/// WAL pages at which the writer finishes the checkpoint in its commit
/// (16 MiB). A WAL starts again from its beginning only when a write
/// begins with every page copied; under a steady stream of writes the
/// checkpointer, copying beside the writer, never gets there, so the
/// writer copies what is left (the pages since the checkpointer's last
/// pass) and the next write restarts the WAL.
pub const WRITER_FINISHES_AT_PAGES: i32 = 4 * WAKE_AT_PAGES;

/// What a commit does about checkpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCommit {
    /// Few pages wait to be copied: nothing.
    Nothing,
    /// Wake the checkpointer (a wake already pending is enough).
    WakeCheckpointer,
    /// Checkpoint in the commit: the WAL is not starting over by itself.
    CheckpointHere,
}

/// The decision the writer's WAL hook makes after a commit that left
/// `pages` in the WAL, of which the checkpointer last copied `copied` (a
/// count above `pages` is of a WAL since restarted: nothing of it copied).
pub fn after_commit(pages: i32, copied: i32) -> AfterCommit {
    let waiting = if copied > pages {
        pages
    } else {
        pages - copied
    };
    if pages >= WRITER_FINISHES_AT_PAGES {
        AfterCommit::CheckpointHere
    } else if waiting >= WAKE_AT_PAGES {
        AfterCommit::WakeCheckpointer
    } else {
        AfterCommit::Nothing
    }
}

/// Starts the checkpointer thread for the database at `path` and installs
/// the writer's WAL hook (which replaces SQLite's automatic checkpoint).
/// The thread ends when the writer connection, which holds its wake-up
/// sender, is closed. `busy_timeout` is the store's, so the checkpointer
/// waits for a lock as long as the writer and readers do.
pub fn start(
    writer: &mut Connection,
    path: &str,
    busy_timeout: std::time::Duration,
) -> Result<(), DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(busy_timeout)?;
    // The WAL pages the last pass copied, for the writer's next decision.
    let copied = Arc::new(AtomicI32::new(0));
    let told = copied.clone();
    // One pending wake-up is enough: a pass copies whatever the WAL holds
    // when it runs.
    let (wake, woken) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while woken.recv().is_ok() {
                // Best effort: a pass that could not finish (a reader on an
                // old snapshot) is retried at the next wake-up, and the WAL
                // keeps every commit meanwhile.
                let pass =
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i32>(2));
                if let Ok(pages) = pass {
                    told.store(pages, Ordering::Relaxed);
                }
            }
        })
        .map_err(|e| DbError::Unavailable(format!("cannot start the checkpoint thread: {e}")))?;
    writer.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
        match after_commit(pages, copied.load(Ordering::Relaxed)) {
            AfterCommit::Nothing => {}
            AfterCommit::WakeCheckpointer => {
                let _ = wake.try_send(());
            }
            // The transaction has committed whatever this does: an error
            // returned here would report the commit failed. A checkpoint
            // that could not run now (the checkpointer is copying) is
            // tried again after the next commit.
            AfterCommit::CheckpointHere => {
                let _ = wal.checkpoint();
            }
        }
        Ok(())
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_wal_with_few_pages_to_copy_is_left_alone() {
        assert_eq!(after_commit(0, 0), AfterCommit::Nothing);
        assert_eq!(after_commit(WAKE_AT_PAGES - 1, 0), AfterCommit::Nothing);
        // Pages the checkpointer copied do not count again.
        assert_eq!(after_commit(2500, 1501), AfterCommit::Nothing);
        assert_eq!(after_commit(1500, 1500), AfterCommit::Nothing);
    }

    #[test]
    fn a_thousand_pages_to_copy_wake_the_checkpointer() {
        assert_eq!(
            after_commit(WAKE_AT_PAGES, 0),
            AfterCommit::WakeCheckpointer
        );
        assert_eq!(after_commit(2500, 1500), AfterCommit::WakeCheckpointer);
        // A WAL that started over since the last pass: all of it waits.
        assert_eq!(after_commit(1200, 3000), AfterCommit::WakeCheckpointer);
        assert_eq!(after_commit(900, 3000), AfterCommit::Nothing);
    }

    #[test]
    fn a_wal_that_does_not_start_over_is_finished_by_the_writer() {
        assert_eq!(
            after_commit(WRITER_FINISHES_AT_PAGES - 1, 3000),
            AfterCommit::Nothing
        );
        assert_eq!(
            after_commit(WRITER_FINISHES_AT_PAGES, 3999),
            AfterCommit::CheckpointHere
        );
        assert_eq!(WRITER_FINISHES_AT_PAGES, 4000);
        assert_eq!(WAKE_AT_PAGES, 1000);
    }

    /// SQLite reports the automatic checkpoint's threshold as 0 once a WAL
    /// hook of another replaced it: commits no longer copy pages themselves.
    #[test]
    fn the_writers_commits_no_longer_checkpoint_by_themselves() {
        let dir = std::env::temp_dir().join(format!("doorstep-ckpt-own-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("own.db");
        let path = path.to_str().unwrap().to_string();
        let mut writer = Connection::open(&path).unwrap();
        writer.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
        let threshold = |c: &Connection| {
            c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get::<_, i64>(0))
                .unwrap()
        };
        assert_eq!(threshold(&writer), 1000, "SQLite's own, before");
        start(&mut writer, &path, std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(threshold(&writer), 0);
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Commits filling the WAL past the threshold are copied into the
    /// database file by the checkpointer (the writer's hook replaced
    /// SQLite's automatic checkpoint, so without the wake-up the file would
    /// stay at its first size).
    #[test]
    fn the_checkpointer_copies_a_full_wal_into_the_database_file() {
        let dir = std::env::temp_dir().join(format!("doorstep-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ckpt.db");
        let _ = std::fs::remove_file(&path);
        let path = path.to_str().unwrap().to_string();
        let mut writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE pages (body TEXT);")
            .unwrap();
        start(&mut writer, &path, std::time::Duration::from_secs(5)).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let page = "x".repeat(4000);
        for _ in 0..(WAKE_AT_PAGES + 200) {
            writer
                .execute("INSERT INTO pages (body) VALUES (?1)", [&page])
                .unwrap();
        }
        let wanted = before + 4_000_000;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut size = before;
        while size < wanted && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            size = std::fs::metadata(&path).unwrap().len();
        }
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            size >= wanted,
            "the database file stayed at {size} bytes (from {before}): the WAL was not checkpointed"
        );
    }
}
