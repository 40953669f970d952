//! The SQLite backend: one writer connection owned by one dedicated thread,
//! and a pool of read-only connections for reads.
//!
//! Every write transaction is a job sent to the writer thread; the job opens
//! `BEGIN IMMEDIATE`, drives the transaction body (whose queries complete
//! synchronously, so its future is ready on the first poll) and commits or
//! rolls back. WAL journal, `synchronous=FULL` (an acknowledged push
//! survives a power cut), checkpoints on a thread of their own
//! (`sqlite_checkpoints`), foreign keys on. Migrations follow
//! `PRAGMA user_version`.
//!
//! Reads ([`SqliteDb::read`]) run on [`READERS`] threads of their own, each
//! owning a connection opened read-only (`query_only` too): under WAL a
//! reader sees the last committed snapshot and never waits for the writer,
//! so a dispatcher's list does not queue behind a long push. A read job that
//! tries to write fails (`attempt to write a readonly database`).

use super::sql::{newer_schema, BoxFuture, DbError, LockKey, Row, Tx, TxFn, Value};
use super::sqlite_checkpoints;
use super::sqlite_statement_work::StatementWork;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{CachedStatement, Connection, StatementStatus};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Migrations, in order; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_technician_phone.sql"),
    include_str!("../../migrations/sqlite/0003_user_disable.sql"),
    include_str!("../../migrations/sqlite/0004_callback_follow_ups.sql"),
    include_str!("../../migrations/sqlite/0005_blobs.sql"),
    include_str!("../../migrations/sqlite/0006_report_links.sql"),
    include_str!("../../migrations/sqlite/0007_receipts.sql"),
    include_str!("../../migrations/sqlite/0008_device_keys_and_refusals.sql"),
    include_str!("../../migrations/sqlite/0009_personal_data.sql"),
    include_str!("../../migrations/sqlite/0011_desk_requests.sql"),
    include_str!("../../migrations/sqlite/0012_outbox.sql"),
    include_str!("../../migrations/sqlite/0013_device_token_rotation.sql"),
    include_str!("../../migrations/sqlite/0014_live_stream_indexes.sql"),
    include_str!("../../migrations/sqlite/0015_refusal_review.sql"),
    include_str!("../../migrations/sqlite/0016_center_field_changes.sql"),
    include_str!("../../migrations/sqlite/0017_acceptance_codes.sql"),
    include_str!("../../migrations/sqlite/0018_invoice_requests.sql"),
    include_str!("../../migrations/sqlite/0019_privacy_numbers.sql"),
    include_str!("../../migrations/sqlite/0020_cash_ledger.sql"),
    include_str!("../../migrations/sqlite/0021_qr_payments.sql"),
    include_str!("../../migrations/sqlite/0022_remittance_voids.sql"),
    include_str!("../../migrations/sqlite/0023_qr_payment_queries.sql"),
    include_str!("../../migrations/sqlite/0024_privacy_binding_expiry.sql"),
    include_str!("../../migrations/sqlite/0025_discount_secrets.sql"),
    include_str!("../../migrations/sqlite/0026_published_playbooks.sql"),
    include_str!("../../migrations/sqlite/0027_held_acknowledgements.sql"),
    include_str!("../../migrations/sqlite/0028_order_numbers.sql"),
    include_str!("../../migrations/sqlite/0029_lists_by_index.sql"),
    include_str!("../../migrations/sqlite/0030_order_lookup.sql"),
    include_str!("../../migrations/sqlite/0031_photo_events.sql"),
    include_str!("../../migrations/sqlite/0032_desk_queue_indexes.sql"),
    include_str!("../../migrations/sqlite/0033_technician_positions.sql"),
    include_str!("../../migrations/sqlite/0034_desk_requests_index_without_in.sql"),
    include_str!("../../migrations/sqlite/0035_order_lookup_fill_once.sql"),
    include_str!("../../migrations/sqlite/0036_open_conflicts_by_update.sql"),
    include_str!("../../migrations/sqlite/0037_order_search_pieces.sql"),
    include_str!("../../migrations/sqlite/0038_intakes_by_order.sql"),
    include_str!("../../migrations/sqlite/0039_finished_orders_by_time.sql"),
    include_str!("../../migrations/sqlite/0040_unlinked_intakes_by_phone.sql"),
];

/// The newest schema version this binary knows (`/readyz`, restore).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// How long any connection waits for a lock another holds (the writer's,
/// a reader's, the checkpointer's) before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How many read-only connections (and threads) serve reads.
pub const READERS: usize = 4;

/// Handle to the writer thread and the reader pool.
#[derive(Clone)]
pub struct SqliteDb {
    jobs: mpsc::Sender<Job>,
    /// Transactions sent to the writer and not yet answered (`/metrics`).
    in_flight: Arc<AtomicU64>,
    /// Read jobs, taken by whichever reader thread is free; `None` for an
    /// in-memory database (its readers would see another database), whose
    /// reads then run on the writer.
    reads: Option<mpsc::Sender<Job>>,
    /// The statements that ran long, on every connection.
    work: Arc<StatementWork>,
}

impl SqliteDb {
    /// Opens or creates the database file and migrates it.
    pub async fn open(path: &str) -> Result<SqliteDb, DbError> {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                DbError::Unavailable(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let path = path.to_string();
        let writer_path = path.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite".into())
            .spawn(move || {
                let opened = open_connection(&writer_path).and_then(|mut c| {
                    if !in_memory(&writer_path) {
                        sqlite_checkpoints::start(&mut c, &writer_path, BUSY_TIMEOUT)?;
                    }
                    Ok(c)
                });
                let mut conn = match opened {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| DbError::Unavailable(format!("cannot start the database thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| DbError::Unavailable("the database thread stopped".into()))??;
        let reads = if in_memory(&path) {
            None
        } else {
            Some(start_readers(&path)?)
        };
        Ok(SqliteDb {
            jobs,
            in_flight: Arc::default(),
            reads,
            work: Arc::default(),
        })
    }

    /// Runs a read-only transaction on a reader connection (a snapshot of
    /// the last committed state), never waiting behind the writer.
    pub(super) async fn read<R, E>(&self, f: TxFn<R, E>) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let Some(reads) = &self.reads else {
            return self.tx(f).await;
        };
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let work = self.work.clone();
        let job: Job = Box::new(move |conn: &mut Connection| {
            let _ = done_tx.send(run_in(conn, &work, "BEGIN DEFERRED", f));
        });
        reads
            .send(job)
            .map_err(|_| DbError::Unavailable("the database readers stopped".into()))?;
        done_rx
            .await
            .map_err(|_| E::from(DbError::Unavailable("the database readers stopped".into())))?
    }

    pub(super) async fn tx<R, E>(&self, f: TxFn<R, E>) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        let in_flight = self.in_flight.clone();
        let work = self.work.clone();
        let job: Job = Box::new(move |conn: &mut Connection| {
            let _ = done_tx.send(run_in(conn, &work, "BEGIN IMMEDIATE", f));
            in_flight.fetch_sub(1, Ordering::Relaxed);
        });
        self.jobs.send(job).map_err(|_| {
            self.in_flight.fetch_sub(1, Ordering::Relaxed);
            DbError::Unavailable("the database thread stopped".into())
        })?;
        done_rx
            .await
            .map_err(|_| E::from(DbError::Unavailable("the database thread stopped".into())))?
    }
}

impl SqliteDb {
    pub(super) fn transactions_in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// What SQLite counted for the statements that ran long.
    pub(super) fn statement_work(&self) -> &StatementWork {
        &self.work
    }

    /// Waits for the transactions sent before it, then folds the WAL back
    /// into the database file (a clean close: the next start replays
    /// nothing; or a quiet moment, [`super::database::Database::checkpoint`]).
    pub(super) async fn checkpoint(&self) -> Result<(), DbError> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn: &mut Connection| {
            let _ = done_tx.send(
                conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
                    .map_err(DbError::from),
            );
        });
        self.jobs
            .send(job)
            .map_err(|_| DbError::Unavailable("the database thread stopped".into()))?;
        done_rx
            .await
            .map_err(|_| DbError::Unavailable("the database thread stopped".into()))?
    }
}

/// An in-memory database: no file, so no readers of its own and no WAL.
fn in_memory(path: &str) -> bool {
    path.is_empty() || path == ":memory:" || path.starts_with("file::memory:")
}

/// Opens [`READERS`] read-only connections on the (already migrated)
/// database, each on its own thread taking jobs from one shared queue.
fn start_readers(path: &str) -> Result<mpsc::Sender<Job>, DbError> {
    let (reads, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    for i in 0..READERS {
        let mut conn = open_reader(path)?;
        let rx = rx.clone();
        std::thread::Builder::new()
            .name(format!("sqlite-read-{i}"))
            .spawn(move || loop {
                // Hold the queue only to take one job, never while running it.
                let job = match rx.lock() {
                    Ok(queue) => queue.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(&mut conn),
                    Err(_) => return,
                }
            })
            .map_err(|e| DbError::Unavailable(format!("cannot start a database reader: {e}")))?;
    }
    Ok(reads)
}

fn open_reader(path: &str) -> Result<Connection, DbError> {
    use rusqlite::OpenFlags;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch("PRAGMA query_only = ON;")?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    keep_plans(&conn)?;
    Ok(conn)
}

/// Cached statements keep their plan whatever values are bound. Without the
/// query planner stability guarantee, SQLite re-prepares a statement when a
/// newly bound value might change its plan, and counted 9 re-prepares in 10
/// runs of a plain lookup by visit id (the test below): every query by
/// visit, device or order re-parsed and re-planned on each call, the
/// statement cache notwithstanding (5 % of a push, measured). The server runs
/// no `ANALYZE`, so a plan never depended on the values anyway.
fn keep_plans(conn: &Connection) -> Result<(), DbError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

fn open_connection(path: &str) -> Result<Connection, DbError> {
    let mut conn = Connection::open(path)?;
    // Read the header before changing anything (WAL mode writes to it).
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase => {
                DbError::Schema(format!(
                    "{path} is not a SQLite database (damaged, encrypted or another kind of \
                     file): point --data-dir at a Doorstep data directory or an empty one; \
                     the file was left untouched"
                ))
            }
            other => DbError::from(other),
        })?;
    if version > MIGRATIONS.len() as i64 {
        return Err(newer_schema(version, MIGRATIONS.len()));
    }
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    keep_plans(&conn)?;
    migrate(&mut conn)?;
    Ok(conn)
}

/// Applies the migrations newer than `user_version`, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let t = conn.transaction()?;
        t.execute_batch(sql)?;
        t.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        t.commit()?;
    }
    Ok(())
}

/// Polls a future that must complete without waiting (all its queries are
/// synchronous on this thread).
fn drive<T>(fut: impl Future<Output = T>) -> Option<T> {
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Runs `f` between `begin` and `COMMIT` (`ROLLBACK` on error), its
/// statements' work recorded in `work`.
fn run_in<R, E: From<DbError>>(
    conn: &mut Connection,
    work: &StatementWork,
    begin: &str,
    f: TxFn<R, E>,
) -> Result<R, E> {
    conn.execute_batch(begin).map_err(DbError::from)?;
    let mut tx = SqliteTx { conn, work };
    let outcome = drive(f(&mut tx)).unwrap_or_else(|| {
        Err(E::from(DbError::Unavailable(
            "a SQLite transaction waited on something other than the database".into(),
        )))
    });
    let conn = tx.conn;
    match outcome {
        Ok(v) => {
            if let Err(e) = conn.execute_batch("COMMIT") {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(DbError::from(e).into());
            }
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

struct SqliteTx<'c> {
    conn: &'c mut Connection,
    work: &'c StatementWork,
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// `$1` placeholders become SQLite's numbered `?1`.
fn dialect(sql: &str) -> String {
    sql.replace('$', "?")
}

impl SqliteTx<'_> {
    fn query_now(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut stmt = self.conn.prepare_cached(&dialect(sql))?;
        let rows = read_rows(&mut stmt, params);
        record_work(self.work, sql, &stmt);
        rows
    }

    fn execute_now(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let mut stmt = self.conn.prepare_cached(&dialect(sql))?;
        let changed = stmt.execute(rusqlite::params_from_iter(params.iter()));
        record_work(self.work, sql, &stmt);
        Ok(changed? as u64)
    }
}

/// Hands one run's step counts to `work`, setting them back to zero for the
/// statement's next run (a cached statement keeps its counters).
fn record_work(work: &StatementWork, sql: &str, stmt: &CachedStatement<'_>) {
    let steps = |status| u64::try_from(stmt.reset_status(status)).unwrap_or(0);
    work.record(
        sql,
        steps(StatementStatus::VmStep),
        steps(StatementStatus::FullscanStep),
    );
}

/// Runs the statement and reads every row it answers.
fn read_rows(stmt: &mut CachedStatement<'_>, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let n = stmt.column_count();
    let columns: Arc<[String]> = stmt.column_names().map(String::from).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(n);
        for i in 0..n {
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(v) => Value::Int(v as i64),
                ValueRef::Text(t) | ValueRef::Blob(t) => {
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
            });
        }
        out.push(Row::new(columns.clone(), row));
    }
    Ok(out)
}

impl Tx for SqliteTx<'_> {
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(std::future::ready(self.query_now(sql, params)))
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, DbError>> {
        Box::pin(std::future::ready(self.execute_now(sql, params)))
    }

    fn lock(&mut self, _key: LockKey) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::StatementStatus;

    /// A statement run with a new value each time (a visit's events, one
    /// visit after another) is compiled once, on the writer and on readers.
    #[test]
    fn a_cached_statement_is_not_compiled_again_for_each_new_value() {
        let dir = std::env::temp_dir().join(format!("doorstep-plans-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("plans.db");
        let path = path.to_str().unwrap();
        let writer = open_connection(path).unwrap();
        let reader = open_reader(path).unwrap();
        let sql = "SELECT body FROM events WHERE visit_id = ?1 ORDER BY hlc_millis, hlc_counter";
        for conn in [&writer, &reader] {
            for visit in 0..10 {
                let mut stmt = conn.prepare_cached(sql).unwrap();
                let rows = stmt
                    .query_map([format!("visit-{visit}")], |_| Ok(()))
                    .unwrap();
                assert_eq!(rows.count(), 0);
            }
            let stmt = conn.prepare_cached(sql).unwrap();
            assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        }
        drop((writer, reader));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
