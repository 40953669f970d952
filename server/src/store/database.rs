//! The database the server runs on: either backend behind one handle that
//! opens, migrates and runs transactions.

use super::postgres;
pub use super::sql::PoolUse;
use super::sql::{BoxFuture, DbError, Tx};
use super::sqlite;
use super::sqlite_statement_work::StatementWork;
use super::{blobs, intakes, order_lookup, order_search_pieces, positions};
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

/// The fills `pending_fills` may name, in the order they run.
const FILL_ORDER: [&str; 5] = [
    "assignment_lookup",
    "assignment_search_grams",
    "intakes_caller_phone",
    "photo_events",
    "technician_positions",
];

/// The database the server runs on.
#[derive(Clone)]
pub enum Database {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Database {
    /// Opens (and migrates) the database named by `url`: `postgres://…`
    /// for PostgreSQL, otherwise a SQLite file path; then fills in what
    /// the migrations left to it ([`Database::fill_pending`]).
    pub async fn open(url: &str) -> Result<Database, DbError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Database::Postgres(postgres::PgDb::open(url).await?)
        } else {
            Database::Sqlite(sqlite::SqliteDb::open(url).await?)
        };
        db.fill_pending().await?;
        Ok(db)
    }

    /// Runs each fill a migration named in `pending_fills` (rows its SQL
    /// cannot make: the server's SQLite has no JSON functions), then
    /// deletes its name, so a large table is read once, not at every start.
    async fn fill_pending(&self) -> Result<(), DbError> {
        let mut pending = self
            .read(|tx| {
                Box::pin(async move { tx.query("SELECT name FROM pending_fills", &[]).await })
            })
            .await?
            .iter()
            .map(|r| r.text("name"))
            .collect::<Vec<_>>();
        // A fill may read what an earlier one writes (an order's search
        // pieces are cut from its look-up row).
        pending.sort_by_key(|name| FILL_ORDER.iter().position(|f| f == name));
        for name in pending {
            match name.as_str() {
                "assignment_lookup" => self.fill_order_lookup().await,
                "assignment_search_grams" => self.fill_order_search_pieces().await,
                "intakes_caller_phone" => self.fill_intakes_caller_phone().await,
                "photo_events" => self.fill_photo_events().await,
                "technician_positions" => self.fill_technician_positions().await,
                other => Err(Failure::Storage(DbError::Schema(format!(
                    "the database asks for a fill this server does not know: {other}"
                )))),
            }
            .map_err(|e| match e {
                Failure::Storage(e) => e,
                other => DbError::Schema(format!("filling in {name} after its migration: {other}")),
            })?;
            self.tx(move |tx| {
                Box::pin(async move {
                    tx.execute("DELETE FROM pending_fills WHERE name = $1", &[name.into()])
                        .await
                })
            })
            .await?;
        }
        Ok(())
    }

    /// Writes the look-up row of every order that has none (migration
    /// 0030), a batch a transaction.
    async fn fill_order_lookup(&self) -> Result<(), Failure> {
        while self.tx(|tx| Box::pin(order_lookup::fill_batch(tx))).await? > 0 {}
        Ok(())
    }

    /// Writes the search pieces of every order taken before migration 0037
    /// (after its look-up row: the fills run in the order the migrations
    /// named them), a batch a transaction; a fill cut short starts over and
    /// skips what it wrote.
    async fn fill_order_search_pieces(&self) -> Result<(), Failure> {
        let mut after = None;
        while let Some(last) = self
            .tx(move |tx| Box::pin(order_search_pieces::fill_batch(tx, after)))
            .await?
        {
            after = Some(last);
        }
        Ok(())
    }

    /// Writes the caller's phone digits of every intake recorded before
    /// migration 0040, in pages of intake ids.
    async fn fill_intakes_caller_phone(&self) -> Result<(), Failure> {
        let mut after = String::new();
        while let Some(last) = self
            .tx(move |tx| {
                Box::pin(async move { intakes::fill_caller_phone_batch(tx, &after).await })
            })
            .await?
        {
            after = last;
        }
        Ok(())
    }

    /// Copies the photo facts stored before migration 0031 into
    /// `photo_events`, in pages of event ids.
    async fn fill_photo_events(&self) -> Result<(), Failure> {
        let mut after = String::new();
        while let Some(last) = self
            .tx(move |tx| Box::pin(async move { blobs::fill_photo_events(tx, &after).await }))
            .await?
        {
            after = last;
        }
        Ok(())
    }

    /// Keeps each technician's newest fix of the facts stored before
    /// migration 0033 that are recent enough to be shown.
    async fn fill_technician_positions(&self) -> Result<(), Failure> {
        let since = (chrono::Utc::now() - chrono::Duration::days(positions::LAST_KNOWN_DAYS))
            .timestamp_millis();
        self.tx(move |tx| Box::pin(async move { positions::fill_from_facts(tx, since).await }))
            .await?;
        Ok(())
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

    /// What SQLite counted for the statements that ran long (`/metrics`,
    /// the tests of what reads walk); PostgreSQL keeps its own statistics.
    pub fn statement_work(&self) -> Option<&StatementWork> {
        match self {
            Database::Sqlite(db) => Some(db.statement_work()),
            Database::Postgres(_) => None,
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
