//! Connection handling: opening the file safely, the pragmas, and the
//! `read(|tx| ...)` / `write(durability, |tx| ...)` helpers that own every
//! transaction.
//!
//! One writer connection behind a mutex (SQLite has one writer at a time
//! anyway; serialising in-process avoids `SQLITE_BUSY`), and one reader
//! connection behind its own mutex: in WAL mode readers see the last
//! committed snapshot and never block the writer, so the UI can read views
//! while sync drains the outbox. Each connection's interrupt handle is kept
//! outside its lock so a long query can be stopped from another thread.
//!
//! Opening never repairs, truncates or recreates an existing file: a file
//! that is not a database, is cut short, belongs to a newer app or another
//! application is refused with a typed error before SQLite writes to it.
//!
//! Durability: WAL with `synchronous=NORMAL` survives any crash of the app
//! (a killed process loses nothing that committed) but may lose the last
//! commits on power loss; `synchronous=FULL` also syncs the WAL at each
//! commit and survives power loss. [`Durability::Full`] switches the pragma
//! for one transaction; the store uses it for customer-facing facts.

use super::error::{Result, StoreError};
use super::schema;
use rusqlite::{Connection, InterruptHandle, OpenFlags, Transaction, TransactionBehavior};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How hard a commit must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Durability {
    /// Survives an app crash (WAL, `synchronous=NORMAL`).
    Normal,
    /// Survives power loss too (`synchronous=FULL`: the WAL is synced at commit).
    Full,
}

/// The connections of an open store.
pub(crate) struct Db {
    // Field order is drop order: the reader closes first (after `Drop`
    // stopped the checkpointer), so the writer is the last connection and
    // its close checkpoints the WAL into the file.
    reader: Mutex<Connection>,
    writer: Mutex<Connection>,
    checkpointer: Option<Checkpointer>,
    commits: AtomicU64,
    writer_interrupt: InterruptHandle,
    reader_interrupt: InterruptHandle,
    path: PathBuf,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Write transactions between two background checkpoints. After each
/// checkpoint, the first commit that reuses the WAL syncs its header (SQLite
/// does this even with `synchronous=NORMAL`): one fsync every this many
/// commands, so it stays out of the p99. A command writes ~10 pages, so the
/// WAL peaks around 20 MB; shells also call `Store::checkpoint` when the app
/// goes to the background.
const CHECKPOINT_EVERY: u64 = 500;

/// The writer's page cache, in KiB (`PRAGMA cache_size`). A downloaded page
/// of 2 000 new orders dirties about 4 MiB of pages in one transaction;
/// with SQLite's default of 2 MiB the writer spills dirty pages into the
/// WAL halfway (and writes the ones it touches again once more at the
/// commit), about a tenth of the page's apply. The cache grows only as far
/// as a transaction needs, and `Db::checkpoint` (the app going to the
/// background) gives it back. Readers keep SQLite's default.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// Checkpoints off the command path: SQLite's automatic checkpoint runs
/// inside the commit that crosses the threshold and fsyncs twice, which
/// would put a few milliseconds into the p99 of ordinary commands. This
/// thread has its own connection and runs `PASSIVE` checkpoints, which never
/// block the writer or the readers.
///
/// SQLite starts the WAL file over (writing from its start again, over
/// pages the OS still caches) only when a write begins with every frame
/// copied. While commits follow each other without a pause (a download, a
/// burst of commands) that never happens: the writer has begun its next
/// transaction before the thread's checkpoint ends, and appends new frames
/// that it has not copied, checkpoint after checkpoint, so the WAL grew by
/// every commit's pages until a pause (seen: 476 MB after 9 000
/// back-to-back commands, every frame appended to new file pages, and a
/// durable commit's sync paying for the file's growth). So when the thread
/// finds the WAL longer than [`WAL_RESTART_FRAMES`], the writer copies what
/// was committed meanwhile itself, after its next commit and before it
/// begins another (`wal_long`): the write after that starts the WAL over. Only
/// then: a finish after every run cost a burst's commands more at p99 than
/// it saved (two syncs in the writer every 500 commits, measured in
/// docs/PERFORMANCE.md).
struct Checkpointer {
    wake: Sender<()>,
    thread: Option<JoinHandle<()>>,
    /// Set when the thread's checkpoint found the WAL long, taken by the writer.
    wal_long: Arc<AtomicBool>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let (wake, rx) = channel::<()>();
        let wal_long = Arc::new(AtomicBool::new(false));
        let flag = wal_long.clone();
        let thread = std::thread::Builder::new()
            .name("doorstep-store-checkpoint".into())
            .spawn(move || {
                // Ends when the store drops the sender.
                while rx.recv().is_ok() {
                    // Best effort: a failed checkpoint is retried next time,
                    // and the WAL keeps every commit meanwhile.
                    if let Ok(frames) = passive_checkpoint(&conn) {
                        flag.store(frames > WAL_RESTART_FRAMES, Ordering::Relaxed);
                    }
                }
            })?;
        Ok(Checkpointer {
            wake,
            thread: Some(thread),
            wal_long,
        })
    }
}

/// A `PASSIVE` checkpoint on `conn`: copies the frames no reader still
/// needs, waiting for nobody. Returns the WAL's length in frames.
fn passive_checkpoint(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?)
}

/// A WAL longer than this (in 4 KiB frames: about 40 MB, twice what 500
/// commands write) after a checkpoint is started over by the writer.
const WAL_RESTART_FRAMES: i64 = 10_000;
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock dropped its transaction (rolled back),
    // so the connection is still consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks an existing file before SQLite touches it: the SQLite magic, the
/// size its header promises, and write permission.
fn check_file(path: &Path) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if meta.permissions().readonly() {
        return Err(StoreError::ReadOnly);
    }
    let len = meta.len();
    if len == 0 {
        return Ok(()); // an empty file is an empty database
    }
    let mut header = [0u8; 100];
    let mut f = std::fs::File::open(path)?;
    let mut read = 0;
    while read < header.len() {
        match f.read(&mut header[read..])? {
            0 => break,
            n => read += n,
        }
    }
    if read < 16 || &header[..16] != SQLITE_MAGIC {
        return Err(StoreError::NotADatabase);
    }
    if read < 100 {
        return Err(StoreError::Truncated {
            expected_bytes: 100,
            actual_bytes: len,
        });
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536u64,
        n => u64::from(n),
    };
    if page_size < 512 || !page_size.is_power_of_two() {
        return Err(StoreError::Corrupt {
            detail: "invalid page size in the file header".into(),
        });
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let pages = u64::from(be32(28));
    let size_valid = pages > 0 && be32(24) == be32(92);
    // With a non-empty WAL the main file may legitimately lag its header
    // (a checkpoint in progress); SQLite recovers from the WAL itself.
    let wal = wal_path(path);
    let wal_pending = std::fs::metadata(&wal)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    if size_valid && !wal_pending && len < pages * page_size {
        return Err(StoreError::Truncated {
            expected_bytes: pages * page_size,
            actual_bytes: len,
        });
    }
    Ok(())
}

fn wal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

fn open_writer(path: &Path) -> Result<Connection> {
    check_file(path)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)?;
    if conn.is_readonly(rusqlite::MAIN_DB)? {
        return Err(StoreError::ReadOnly);
    }
    conn.busy_timeout(BUSY_TIMEOUT)?;
    keep_plans(&conn)?;
    // Read-only look first: refuse what we must not touch before any write.
    let header = schema::header(&conn)?;
    schema::check_compatible(&header)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::CannotOpen {
            detail: format!("the file system does not support WAL (journal mode {mode})"),
        });
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Zero deleted and overwritten content inside b-tree pages (no extra
    // I/O), so old copies of personal data do not linger after a purge.
    conn.pragma_update(None, "secure_delete", "FAST")?;
    // Checkpoints run on the checkpointer thread, not inside commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // A statement that changes many rows inside a transaction keeps the
    // pages it overwrote in a statement journal (to undo just itself); past
    // 64 KiB SQLite spills it to a temporary file, written through the
    // file system on every acknowledged upload batch. It stays in memory:
    // at most the pages one statement touches.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Negative: a size in KiB rather than in pages.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    schema::migrate(&tx)?;
    tx.commit()?;
    Ok(conn)
}

fn open_reader(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    keep_plans(&conn)?;
    Ok(conn)
}

/// Cached statements keep their plan whatever values are bound: without the
/// query planner stability guarantee, SQLite re-prepares a statement when a
/// newly bound value might change its plan, and counted 9 re-prepares in 10
/// runs of a plain lookup by visit id (the test below) — every read of a
/// visit, an assignment or a page re-parsed and re-planned despite the
/// statement cache. The store runs no `ANALYZE`, so no plan ever depended on
/// the values.
fn keep_plans(conn: &Connection) -> Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

impl Db {
    /// Opens (creating if missing) and migrates the store at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        let writer = open_writer(path)?;
        let reader = open_reader(path)?;
        let checkpointer = Checkpointer::start(path)?;
        Ok(Db {
            writer_interrupt: writer.get_interrupt_handle(),
            reader_interrupt: reader.get_interrupt_handle(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            checkpointer: Some(checkpointer),
            commits: AtomicU64::new(0),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a read transaction: one consistent snapshot.
    pub fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.reader);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
        // dropping the read transaction ends it
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`), committed with
    /// the given durability. On any error nothing is written.
    pub fn write<T>(
        &self,
        durability: Durability,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = lock(&self.writer);
        if durability == Durability::Full {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        let result = (|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        if let (Ok(_), Some(c)) = (&result, &self.checkpointer) {
            if self
                .commits
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(CHECKPOINT_EVERY)
            {
                let _ = c.wake.send(());
            } else if c.wal_long.swap(false, Ordering::Relaxed) {
                // What was committed while the thread copied, here between
                // two commits (best effort, as the thread's): the next
                // write starts the WAL over.
                let _ = passive_checkpoint(&conn);
            }
        }
        if durability == Durability::Full {
            let restored = conn.pragma_update(None, "synchronous", "NORMAL");
            if result.is_ok() {
                restored?;
            }
        }
        result
    }

    /// Counts the work of every statement either connection runs from now
    /// on into `work`.
    pub fn count_statement_work(
        &self,
        work: std::sync::Arc<super::statement_work::StatementWork>,
    ) -> Result<()> {
        super::statement_work::count_on(&mut lock(&self.reader), work.clone())?;
        super::statement_work::count_on(&mut lock(&self.writer), work)?;
        Ok(())
    }

    /// Runs `f` with the writer connection outside any transaction (pragmas,
    /// checkpoints).
    pub fn with_writer<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = lock(&self.writer);
        f(&conn)
    }

    /// Copies the WAL into the database file now (`TRUNCATE`: the WAL file
    /// is emptied) and frees the writer's cached pages. For a shell going
    /// to the background.
    pub fn checkpoint(&self) -> Result<()> {
        self.with_writer(|c| {
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            c.execute_batch("PRAGMA shrink_memory")?;
            Ok(())
        })
    }

    /// Stops whatever query is running on either connection (it fails with
    /// an interrupted error; its transaction rolls back).
    pub fn interrupt(&self) {
        self.writer_interrupt.interrupt();
        self.reader_interrupt.interrupt();
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(mut c) = self.checkpointer.take() {
            drop(c.wake); // closes the channel: the thread's loop ends
            if let Some(t) = c.thread.take() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The durability a write asks for is the durability its commit gets
    //! (what `customer_facing_facts_commit_durably` in core/tests/store.rs
    //! relies on for sign-offs and payments).
    use super::*;

    /// A new, empty directory for one test's database.
    fn fresh_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "doorstep-db-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `PRAGMA synchronous`: 1 is NORMAL, 2 is FULL.
    fn synchronous(c: &Connection) -> i64 {
        c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
    }

    /// Frames in the WAL now (after a `PASSIVE` checkpoint that copies
    /// them, so the count is the WAL's length, not what is left).
    fn wal_frames(db: &Db) -> i64 {
        db.with_writer(passive_checkpoint).unwrap()
    }

    /// A burst of commits that outruns the checkpoint thread (here: a
    /// reader holding an old snapshot while it runs, so it cannot copy the
    /// last frames) must not leave the WAL growing: once the thread has
    /// found it long, the writer finishes the copy after its next commit
    /// and the write after that starts the WAL over.
    #[test]
    fn a_wal_that_a_burst_made_long_starts_over_after_the_burst() {
        let dir = fresh_dir("wal-restart");
        let db = Db::open(&dir.join("store.db")).unwrap();
        db.write(Durability::Normal, |tx| {
            tx.execute_batch("CREATE TABLE burst (id INTEGER PRIMARY KEY, body BLOB)")?;
            Ok(())
        })
        .unwrap();
        let write = |db: &Db| {
            db.write(Durability::Normal, |tx| {
                tx.execute("INSERT INTO burst (body) VALUES (zeroblob(40000))", [])?;
                Ok(())
            })
            .unwrap()
        };
        let reader = open_reader(&dir.join("store.db")).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM burst;")
            .unwrap();
        // 1 000 commits of ~11 pages: past WAL_RESTART_FRAMES, and the
        // thread woken at the 500th and the 1 000th.
        for _ in 0..1_000 {
            write(&db);
        }
        let checkpointer = db.checkpointer.as_ref().unwrap();
        let waited = std::time::Instant::now();
        while !checkpointer.wal_long.load(Ordering::Relaxed) {
            assert!(waited.elapsed() < Duration::from_secs(30), "the thread ran");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(wal_frames(&db) > WAL_RESTART_FRAMES);
        reader.execute_batch("COMMIT").unwrap();
        // The writer finishes the copy after this commit; the next starts over.
        write(&db);
        write(&db);
        assert!(
            wal_frames(&db) < 100,
            "the WAL started over: {} frames",
            wal_frames(&db)
        );
        drop((reader, db));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_write_commits_with_synchronous_full_and_then_returns_to_normal() {
        let dir = fresh_dir("durability");
        let db = Db::open(&dir.join("store.db")).unwrap();
        assert_eq!(db.with_writer(|c| Ok(synchronous(c))).unwrap(), 1);
        let during_full = db
            .write(Durability::Full, |tx| Ok(synchronous(tx)))
            .unwrap();
        assert_eq!(during_full, 2, "a Full write commits with synchronous=FULL");
        assert_eq!(db.with_writer(|c| Ok(synchronous(c))).unwrap(), 1);
        let during_normal = db
            .write(Durability::Normal, |tx| Ok(synchronous(tx)))
            .unwrap();
        assert_eq!(during_normal, 1);
        let failed: Result<()> = db.write(Durability::Full, |_| Err(StoreError::ReadOnly));
        assert!(failed.is_err());
        assert_eq!(
            db.with_writer(|c| Ok(synchronous(c))).unwrap(),
            1,
            "a failed Full write also returns to NORMAL"
        );
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// One of the writer's `sqlite3_db_status` counters; `reset` zeroes it.
    fn writer_status(c: &Connection, op: std::os::raw::c_int, reset: bool) -> i32 {
        let (mut current, mut highest) = (0, 0);
        // SAFETY: `c` is open for the call's duration; the call only reads
        // (and with `reset`, zeroes) the connection's counters.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(
                c.handle(),
                op,
                &mut current,
                &mut highest,
                reset.into(),
            )
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        current
    }

    /// A transaction as large as a downloaded page of 2 000 orders (about
    /// 4 MiB of new pages) stays in the writer's cache until its commit:
    /// nothing is spilled into the WAL halfway. The app going to the
    /// background gives the cache back.
    #[test]
    fn a_download_page_sized_write_stays_in_the_writers_cache_until_it_commits() {
        use rusqlite::ffi::{SQLITE_DBSTATUS_CACHE_SPILL, SQLITE_DBSTATUS_CACHE_USED};
        let dir = fresh_dir("cache");
        let db = Db::open(&dir.join("store.db")).unwrap();
        db.with_writer(|c| Ok(writer_status(c, SQLITE_DBSTATUS_CACHE_SPILL, true)))
            .unwrap();
        db.write(Durability::Normal, |tx| {
            tx.execute_batch("CREATE TABLE page (body BLOB NOT NULL)")?;
            let mut insert = tx.prepare("INSERT INTO page (body) VALUES (zeroblob(4000))")?;
            for _ in 0..1_000 {
                insert.execute([])?;
            }
            Ok(())
        })
        .unwrap();
        let spilled = db.with_writer(|c| Ok(writer_status(c, SQLITE_DBSTATUS_CACHE_SPILL, false)));
        assert_eq!(spilled.unwrap(), 0, "pages spilled before the commit");
        let used = |db: &Db| {
            db.with_writer(|c| Ok(writer_status(c, SQLITE_DBSTATUS_CACHE_USED, false)))
                .unwrap()
        };
        assert!(used(&db) > 4 << 20, "the page's 4 MiB are still cached");
        db.checkpoint().unwrap();
        assert!(
            used(&db) < 1 << 20,
            "cache kept after the checkpoint: {}",
            used(&db)
        );
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A statement run with a new value each time (one visit's events, then
    /// the next visit's) is compiled once, by the writer and by readers.
    #[test]
    fn a_cached_statement_is_not_compiled_again_for_each_new_value() {
        use rusqlite::StatementStatus;
        let dir = fresh_dir("plans");
        let db = Db::open(&dir.join("store.db")).unwrap();
        let sql = "SELECT json FROM visit_events WHERE visit_id = ?1 ORDER BY seq";
        let reprepared = |c: &Connection| -> Result<i32> {
            for visit in 0..10 {
                let mut stmt = c.prepare_cached(sql)?;
                assert_eq!(
                    stmt.query_map([format!("visit-{visit}")], |_| Ok(()))?
                        .count(),
                    0
                );
            }
            Ok(c.prepare_cached(sql)?
                .get_status(StatementStatus::RePrepare))
        };
        assert_eq!(db.with_writer(reprepared).unwrap(), 0);
        assert_eq!(db.read(|tx| reprepared(tx)).unwrap(), 0);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
