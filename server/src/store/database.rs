//! The database the server runs on: either backend behind one handle that
//! opens, migrates and runs transactions.

use super::postgres;
use super::sql::{BoxFuture, DbError, Tx};
use super::sqlite;

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

    /// Runs `f` in one read-only transaction: on SQLite a reader connection
    /// that never waits for the writer (a snapshot of the last commit); on
    /// PostgreSQL a pooled connection, as [`Database::tx`]. `f` must not
    /// write (SQLite refuses it).
    pub async fn read<R, E, F>(&self, f: F) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
        F: for<'a> FnOnce(&'a mut dyn Tx) -> BoxFuture<'a, Result<R, E>> + Send + 'static,
    {
        match self {
            Database::Sqlite(db) => db.read(Box::new(f)).await,
            Database::Postgres(db) => db.tx(Box::new(f)).await,
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
