//! The SQL seam both backends implement: values, rows read by column
//! name, the storage error (re-exported from `failure`), transaction locks and the [`Tx`] trait,
//! and the lists' [`Filters`].

pub use crate::failure::DbError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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

/// A list's filters, each in the query only when it was given. A
/// condition written for every call, "`$1` is null or `column = $1`", is
/// served by no index on either backend: a list of one order's rows read
/// the whole table. A filter left out lets the planner search the index of
/// the one given.
#[derive(Debug, Default)]
pub struct Filters {
    conditions: Vec<String>,
    params: Vec<Value>,
}

impl Filters {
    /// Adds `column = value` when `value` is given. The column is a name
    /// written in the code (`'static`), never a caller's text.
    pub fn equal(mut self, column: &'static str, value: Option<impl Into<Value>>) -> Filters {
        if let Some(v) = value {
            self.params.push(v.into());
            self.conditions
                .push(format!("{column} = ${}", self.params.len()));
        }
        self
    }

    /// `select`, the filters given, `order` and at most `limit` rows: the
    /// query and its parameters.
    pub fn query(self, select: &str, order: &str, limit: i64) -> (String, Vec<Value>) {
        let Filters {
            conditions,
            mut params,
        } = self;
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        params.push(limit.into());
        let sql = format!("{select}{filter} {order} LIMIT ${}", params.len());
        (sql, params)
    }
}

/// Where a value sits in a [`Row`]: a column name (how the repository
/// modules read every row) or a position (for one-column ad-hoc queries such
/// as `PRAGMA user_version` in tests).
pub trait Column: Copy + std::fmt::Debug {
    /// The position of this column among `names`, if it is there.
    fn position(self, names: &[String]) -> Option<usize>;
}

impl Column for &str {
    fn position(self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

impl Column for usize {
    fn position(self, names: &[String]) -> Option<usize> {
        (self < names.len()).then_some(self)
    }
}

/// One result row: its column names (shared by every row of the result)
/// and its values.
#[derive(Debug, Clone, Default)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// A row of a result whose columns are `columns`.
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Row {
        debug_assert_eq!(columns.len(), values.len());
        Row { columns, values }
    }

    /// The value of a column. A name the query did not select is a
    /// programming error: it panics in debug builds (tests) and reads as
    /// NULL in release builds.
    pub fn get(&self, column: impl Column) -> &Value {
        match column.position(&self.columns) {
            Some(i) => &self.values[i],
            None => {
                debug_assert!(
                    false,
                    "column {column:?} is not in this row (columns: {:?})",
                    self.columns
                );
                &Value::Null
            }
        }
    }
    pub fn int(&self, column: impl Column) -> i64 {
        self.opt_int(column).unwrap_or(0)
    }
    pub fn opt_int(&self, column: impl Column) -> Option<i64> {
        match self.get(column) {
            Value::Int(v) => Some(*v),
            Value::Text(s) => s.parse().ok(),
            Value::Null => None,
        }
    }
    pub fn text(&self, column: impl Column) -> String {
        self.opt_text(column).unwrap_or_default()
    }
    pub fn opt_text(&self, column: impl Column) -> Option<String> {
        match self.get(column) {
            Value::Text(s) => Some(s.clone()),
            Value::Int(v) => Some(v.to_string()),
            Value::Null => None,
        }
    }
    /// A 0/1 flag column.
    pub fn flag(&self, column: impl Column) -> bool {
        self.int(column) != 0
    }
    /// A nullable 0/1 flag column.
    pub fn opt_flag(&self, column: impl Column) -> Option<bool> {
        self.opt_int(column).map(|v| v != 0)
    }
}

/// The refusal of a database whose schema is newer than this server's.
pub(super) fn newer_schema(found: i64, known: usize) -> DbError {
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
    /// Numbering the integration feed (the outbox worker's fan-out), so
    /// replicas number it once and in order.
    IntegrationFeed,
    /// One technician's cash ledger (a remittance checked against his
    /// balance, `domain::cash_ledger`).
    CashLedger(i64),
}

impl LockKey {
    pub fn id(self) -> i64 {
        match self {
            LockKey::Assignments => 1,
            LockKey::Device(h) => h | (1 << 40),
            LockKey::IntegrationFeed => 2,
            LockKey::CashLedger(h) => h | (1 << 41),
        }
    }

    /// The lock of a device id (a stable 32-bit hash).
    pub fn device(device_id: &str) -> LockKey {
        let digest = doorstep_core::canonical::sha256_hex(device_id.as_bytes());
        LockKey::Device(i64::from_str_radix(&digest[..8], 16).unwrap_or(0))
    }

    /// The lock of a technician's cash ledger.
    pub fn cash_ledger(technician: &str) -> LockKey {
        let digest = doorstep_core::canonical::sha256_hex(technician.as_bytes());
        LockKey::CashLedger(i64::from_str_radix(&digest[..8], 16).unwrap_or(0))
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
    /// single writer already serialises transactions); taking one the
    /// transaction holds already costs nothing.
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

/// How a database's connections are used right now (`/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections running a transaction (SQLite: transactions running or
    /// queued for its one connection).
    pub in_use: u64,
    /// The most connections the backend opens.
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row::new(
            vec!["status".to_string(), "n".to_string(), "note".to_string()].into(),
            vec![Value::Text("open".into()), Value::Int(3), Value::Null],
        )
    }

    #[test]
    fn a_list_query_holds_only_the_filters_given_numbered_in_order() {
        let (sql, params) = Filters::default()
            .equal("state", Some("dead"))
            .equal("kind", None::<&str>)
            .equal("assignment_id", Some("A-1"))
            .query("SELECT id FROM outbox", "ORDER BY id DESC", 50);
        assert_eq!(
            sql,
            "SELECT id FROM outbox WHERE state = $1 AND assignment_id = $2 ORDER BY id DESC LIMIT $3"
        );
        assert_eq!(
            params,
            vec![Value::from("dead"), Value::from("A-1"), Value::Int(50)]
        );
        let (sql, params) = Filters::default().equal("kind", None::<&str>).query(
            "SELECT id FROM outbox",
            "ORDER BY id DESC",
            50,
        );
        assert_eq!(sql, "SELECT id FROM outbox ORDER BY id DESC LIMIT $1");
        assert_eq!(params, vec![Value::Int(50)]);
    }

    #[test]
    fn a_row_is_read_by_column_name() {
        let r = row();
        assert_eq!(r.text("status"), "open");
        assert_eq!(r.int("n"), 3);
        assert!(r.flag("n"));
        assert_eq!(r.opt_text("note"), None);
        assert_eq!(r.opt_flag("note"), None);
        assert_eq!(
            r.int(1),
            3,
            "a position still reads one-column ad-hoc results"
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "is not in this row")]
    fn a_column_the_query_did_not_select_is_a_bug() {
        row().text("stauts");
    }
}
