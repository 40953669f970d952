//! Storage: one repository over two backends, embedded SQLite (default, zero
//! set-up) and PostgreSQL (production, stateless replicas).
//!
//! The repository logic (the `repo` module and the handlers' queries) is
//! written once against the [`Tx`] trait: a transaction that runs SQL with
//! `$1`-style parameters over three value types (integer, text, null).
//! Each backend implements that trait and owns its migrations; the schema is
//! the same on both (times are integer Unix milliseconds, JSON is text,
//! flags are 0/1 integers), so every query means the same on both and the
//! integration tests run unchanged on each. Why not one trait of domain
//! methods per backend: two hand-written copies of every query drift apart;
//! one copy of the SQL and a 100-line dialect layer cannot.
//!
//! Transactions: [`Database::tx`] runs a closure in one transaction and
//! commits when it returns `Ok`, rolls back otherwise.
//! - SQLite runs on one dedicated thread that owns the single connection
//!   (WAL, foreign keys on, `BEGIN IMMEDIATE`): writes are serialised, as
//!   SQLite does anyway, and never block the async runtime. The closure's
//!   future is driven on that thread; its queries complete synchronously.
//! - PostgreSQL uses a deadpool pool of tokio-postgres connections with
//!   cached prepared statements. Writers that need a total order (the change
//!   sequence, one device's pushes) take a transaction-scoped advisory lock
//!   ([`Tx::lock`]), which SQLite's single writer gives for free.

pub mod postgres;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

/// A future borrowed from a transaction.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A value bound to or read from a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone, Default)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Some(*v),
            Some(Value::Text(s)) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Value::Text(s)) => Some(s.clone()),
            Some(Value::Int(v)) => Some(v.to_string()),
            _ => None,
        }
    }
    pub fn flag(&self, i: usize) -> bool {
        self.int(i) != 0
    }
}

/// A storage failure. Never carries row contents (customer data), only
/// what the database said about the statement.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The server's message and SQLSTATE only: PostgreSQL's `DETAIL` can
    /// quote row values, which must not reach logs.
    #[error("postgres: {message}")]
    Postgres {
        code: Option<String>,
        message: String,
    },
    #[error("postgres pool: {0}")]
    Pool(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("unique constraint violated")]
    Unique,
    /// The database is not one this server can use (from a newer server, or
    /// not a Doorstep database at all). Nothing in it was changed.
    #[error("{0}")]
    Schema(String),
}

/// The refusal of a database whose schema is newer than this server's.
pub(crate) fn newer_schema(found: i64, known: usize) -> DbError {
    DbError::Schema(format!(
        "the database is at schema version {found}, newer than this server knows \
         (up to {known}): it was written by a newer doorstep-server. Run that version \
         (or newer), or point this one at another database; nothing was changed"
    ))
}

impl DbError {
    /// Whether the error is a unique-constraint violation.
    pub fn is_unique(&self) -> bool {
        match self {
            DbError::Unique => true,
            DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            }
            DbError::Postgres { code, .. } => {
                code.as_deref() == Some(tokio_postgres::error::SqlState::UNIQUE_VIOLATION.code())
            }
            _ => false,
        }
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => DbError::Postgres {
                code: Some(db.code().code().to_string()),
                message: format!("{}: {}", db.severity(), db.message()),
            },
            None => DbError::Postgres {
                code: e.code().map(|c| c.code().to_string()),
                message: e.to_string(),
            },
        }
    }
}

/// Keys of the transaction-scoped locks writers take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKey {
    /// Every write to assignments and the change log (keeps the change
    /// sequence in commit order, so a cursor never skips a change).
    Assignments,
    /// One device's pushes.
    Device(i64),
}

impl LockKey {
    pub fn id(self) -> i64 {
        match self {
            LockKey::Assignments => 1,
            LockKey::Device(h) => h | (1 << 40),
        }
    }

    /// The lock of a device id (a stable 32-bit hash).
    pub fn device(device_id: &str) -> LockKey {
        let digest = doorstep_core::canonical::sha256_hex(device_id.as_bytes());
        LockKey::Device(i64::from_str_radix(&digest[..8], 16).unwrap_or(0))
    }
}

/// A transaction on either backend.
pub trait Tx: Send {
    /// Runs a statement that returns rows.
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>>;
    /// Runs a statement; returns the number of rows changed.
    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, DbError>>;
    /// Takes a lock held until the transaction ends (no-op on SQLite, whose
    /// single writer already serialises transactions).
    fn lock(&mut self, key: LockKey) -> BoxFuture<'_, Result<(), DbError>>;
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The first row, if any.
    fn query_opt<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Option<Row>, DbError>> {
        let rows = self.query(sql, params);
        Box::pin(async move { Ok(rows.await?.into_iter().next()) })
    }
}

/// The transaction body: a closure that borrows the transaction.
pub type TxFn<R, E> = Box<dyn for<'a> FnOnce(&'a mut dyn Tx) -> BoxFuture<'a, Result<R, E>> + Send>;

/// The database the server runs on.
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Database {
    /// Opens (and migrates) the database named by `url`: `postgres://…`
    /// for PostgreSQL, otherwise a SQLite file path.
    pub async fn open(url: &str) -> Result<Database, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(postgres::PgDb::open(url).await?))
        } else {
            Ok(Database::Sqlite(sqlite::SqliteDb::open(url).await?))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// Runs `f` in one transaction: commit on `Ok`, roll back on `Err`.
    pub async fn tx<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'a> FnOnce(&'a mut dyn Tx) -> BoxFuture<'a, Result<R, E>> + Send + 'static,
    {
        match self {
            Database::Sqlite(db) => db.tx(Box::new(f)).await,
            Database::Postgres(db) => db.tx(Box::new(f)).await,
        }
    }
}
