//! The database the server runs on: either backend behind one handle that
//! opens, migrates and runs transactions.

use super::postgres;
pub use super::sql::PoolUse;
use super::sql::{BoxFuture, DbError, Tx};
use super::sqlite;
use super::{blobs, order_lookup, positions};
use crate::failure::Failure;

/// The schema version applied to the database and the newest this binary knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    pub applied: i64,
    pub known: i64,
}

impl SchemaState {
    /// Every migration this binary knows is applied.
    pub fn is_current(&self) -> bool {
        self.applied == self.known
    }
}

/// The database the server runs on.
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Database {
    /// Opens (and migrates) the database named by `url`: `postgres://…`
    /// for PostgreSQL, otherwise a SQLite file path. Orders taken before
    /// migration 0030 get their look-up rows here ([`order_lookup`]).
    pub async fn open(url: &str) -> Result<Database, DbError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Database::Postgres(postgres::PgDb::open(url).await?)
        } else {
            Database::Sqlite(sqlite::SqliteDb::open(url).await?)
        };
        db.fill_order_lookup().await?;
        db.fill_photo_events().await?;
        db.fill_technician_positions().await?;
        Ok(db)
    }

    /// Copies the photo facts stored before migration 0031 into
    /// `photo_events`, once.
    async fn fill_photo_events(&self) -> Result<(), DbError> {
        const FILL: &str = "photo_events";
        if !self.fill_pending(FILL).await? {
            return Ok(());
        }
        let mut after = String::new();
        loop {
            let from = after.clone();
            let last = self
                .tx(move |tx| Box::pin(async move { blobs::fill_photo_events(tx, &from).await }))
                .await
                .map_err(|e| fill_failed(FILL, e))?;
            match last {
                Some(last) => after = last,
                None => break,
            }
        }
        self.fill_done(FILL).await
    }

    /// Keeps each technician's newest fix of the facts stored before
    /// migration 0033 that are recent enough to be shown, once.
    async fn fill_technician_positions(&self) -> Result<(), DbError> {
        const FILL: &str = "technician_positions";
        if !self.fill_pending(FILL).await? {
            return Ok(());
        }
        let since = (chrono::Utc::now() - chrono::Duration::days(positions::LAST_KNOWN_DAYS))
            .timestamp_millis();
        self.tx(move |tx| Box::pin(async move { positions::fill_from_facts(tx, since).await }))
            .await
            .map_err(|e| fill_failed(FILL, e))?;
        self.fill_done(FILL).await
    }

    /// Whether a migration left the copying named `name` to the server
    /// (`pending_fills`).
    async fn fill_pending(&self, name: &'static str) -> Result<bool, DbError> {
        Ok(self
            .read(move |tx| {
                Box::pin(async move {
                    tx.query_opt(
                        "SELECT name FROM pending_fills WHERE name = $1",
                        &[name.into()],
                    )
                    .await
                })
            })
            .await?
            .is_some())
    }

    /// The copying named `name` is done.
    async fn fill_done(&self, name: &'static str) -> Result<(), DbError> {
        self.tx(move |tx| {
            Box::pin(async move {
                tx.execute("DELETE FROM pending_fills WHERE name = $1", &[name.into()])
                    .await
            })
        })
        .await?;
        Ok(())
    }

    /// Writes the look-up row of every order that has none, a batch a
    /// transaction; how many it wrote.
    async fn fill_order_lookup(&self) -> Result<usize, DbError> {
        let mut filled = 0;
        loop {
            let batch = self
                .tx(|tx| Box::pin(order_lookup::fill_batch(tx)))
                .await
                .map_err(|e| fill_failed("assignment_lookup", e))?;
            if batch == 0 {
                return Ok(filled);
            }
            filled += batch;
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    /// How the connections are used right now (`/metrics`).
    pub fn pool_use(&self) -> PoolUse {
        match self {
            Database::Sqlite(db) => PoolUse {
                in_use: db.transactions_in_flight(),
                max: 1,
            },
            Database::Postgres(db) => db.pool_use(),
        }
    }

    /// Closes the database at shutdown, after the transactions already sent:
    /// SQLite checkpoints its WAL, PostgreSQL's pool closes its connections.
    pub async fn close(&self) -> Result<(), DbError> {
        match self {
            Database::Sqlite(_) => self.checkpoint().await,
            Database::Postgres(db) => {
                db.close();
                Ok(())
            }
        }
    }

    /// Folds SQLite's WAL into the database file now, after the
    /// transactions already sent (the checkpointer thread does it in the
    /// background otherwise): a bench calls it between its setup and its
    /// clock, so the measured work does not share the machine with the
    /// copying of the setup's own writes. PostgreSQL: nothing to do.
    pub async fn checkpoint(&self) -> Result<(), DbError> {
        match self {
            Database::Sqlite(db) => db.checkpoint().await,
            Database::Postgres(_) => Ok(()),
        }
    }

    /// Whether the database answers and has every migration this binary
    /// knows applied (`/readyz`).
    pub async fn readiness(&self) -> Result<SchemaState, DbError> {
        let (sql, known) = match self {
            Database::Sqlite(_) => ("PRAGMA user_version", sqlite::SCHEMA_VERSION),
            Database::Postgres(_) => (
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                postgres::SCHEMA_VERSION,
            ),
        };
        let applied = self
            .tx(move |tx| {
                Box::pin(async move {
                    let row = tx.query_opt(sql, &[]).await?;
                    Ok::<_, DbError>(row.map_or(0, |r| r.int(0)))
                })
            })
            .await?;
        Ok(SchemaState { applied, known })
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

/// A failure to fill in the rows of `table` a migration added.
fn fill_failed(table: &str, e: Failure) -> DbError {
    match e {
        Failure::Storage(e) => e,
        other => DbError::Schema(format!("filling in {table} after its migration: {other}")),
    }
}
