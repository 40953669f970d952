//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections,
//! cached prepared statements, transaction-scoped advisory locks for the
//! writers that need a total order, and migrations recorded in
//! `schema_migrations` (applied under an advisory lock so that several
//! replicas starting together migrate once).

use super::sql::{newer_schema, BoxFuture, DbError, LockKey, Row, Tx, TxFn, Value};
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::sync::Arc;
use tokio_postgres::types::{IsNull, ToSql, Type};
use tokio_postgres::NoTls;

/// Migrations, in order, numbered from 1.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_init.sql"),
    include_str!("../../migrations/postgres/0002_technician_phone.sql"),
    include_str!("../../migrations/postgres/0003_user_disable.sql"),
    include_str!("../../migrations/postgres/0004_callback_follow_ups.sql"),
    include_str!("../../migrations/postgres/0005_blobs.sql"),
    include_str!("../../migrations/postgres/0006_report_links.sql"),
    include_str!("../../migrations/postgres/0007_receipts.sql"),
    include_str!("../../migrations/postgres/0008_device_keys_and_refusals.sql"),
    include_str!("../../migrations/postgres/0009_personal_data.sql"),
    include_str!("../../migrations/postgres/0011_desk_requests.sql"),
    include_str!("../../migrations/postgres/0012_outbox.sql"),
    include_str!("../../migrations/postgres/0013_device_token_rotation.sql"),
    include_str!("../../migrations/postgres/0014_live_stream_indexes.sql"),
    include_str!("../../migrations/postgres/0015_refusal_review.sql"),
    include_str!("../../migrations/postgres/0016_center_field_changes.sql"),
    include_str!("../../migrations/postgres/0017_acceptance_codes.sql"),
    include_str!("../../migrations/postgres/0018_invoice_requests.sql"),
    include_str!("../../migrations/postgres/0019_privacy_numbers.sql"),
    include_str!("../../migrations/postgres/0020_cash_ledger.sql"),
    include_str!("../../migrations/postgres/0021_qr_payments.sql"),
    include_str!("../../migrations/postgres/0022_remittance_voids.sql"),
    include_str!("../../migrations/postgres/0023_qr_payment_queries.sql"),
    include_str!("../../migrations/postgres/0024_privacy_binding_expiry.sql"),
    include_str!("../../migrations/postgres/0025_discount_secrets.sql"),
    include_str!("../../migrations/postgres/0026_published_playbooks.sql"),
    include_str!("../../migrations/postgres/0027_held_acknowledgements.sql"),
    include_str!("../../migrations/postgres/0028_order_numbers.sql"),
    include_str!("../../migrations/postgres/0029_lists_by_index.sql"),
    include_str!("../../migrations/postgres/0030_order_lookup.sql"),
    include_str!("../../migrations/postgres/0031_photo_events.sql"),
    include_str!("../../migrations/postgres/0032_desk_queue_indexes.sql"),
    include_str!("../../migrations/postgres/0033_technician_positions.sql"),
    include_str!("../../migrations/postgres/0034_desk_requests_index_without_in.sql"),
    include_str!("../../migrations/postgres/0035_order_lookup_fill_once.sql"),
    include_str!("../../migrations/postgres/0036_open_conflicts_by_update.sql"),
    include_str!("../../migrations/postgres/0037_order_search_pieces.sql"),
    include_str!("../../migrations/postgres/0038_intakes_by_order.sql"),
    include_str!("../../migrations/postgres/0039_finished_orders_by_time.sql"),
    include_str!("../../migrations/postgres/0040_unlinked_intakes_by_phone.sql"),
];

/// The newest schema version this binary knows (`/readyz`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Lock id that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x0D00_5735;

/// A connection pool.
#[derive(Clone)]
pub struct PgDb {
    pool: Pool,
}

impl PgDb {
    /// Connects, checks the connection and migrates.
    pub async fn open(url: &str) -> Result<PgDb, DbError> {
        let config: tokio_postgres::Config = url.parse()?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| DbError::Pool(e.to_string()))?;
        let db = PgDb { pool };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), DbError> {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let t = client.transaction().await?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        t.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        )
        .await?;
        let row = t
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?;
        let current: i64 = row.get(0);
        if current > MIGRATIONS.len() as i64 {
            return Err(newer_schema(current, MIGRATIONS.len()));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
            t.batch_execute(sql).await?;
            let version = i as i64 + 1;
            t.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&version],
            )
            .await?;
        }
        t.commit().await?;
        Ok(())
    }

    /// Connections handed out and the pool's size (`/metrics`).
    pub(super) fn pool_use(&self) -> super::sql::PoolUse {
        let status = self.pool.status();
        super::sql::PoolUse {
            in_use: (status.size.saturating_sub(status.available)) as u64,
            max: status.max_size as u64,
        }
    }

    /// Closes the pool: connections are closed as they come back.
    pub(super) fn close(&self) {
        self.pool.close();
    }

    pub(super) async fn tx<R, E>(&self, f: TxFn<R, E>) -> Result<R, E>
    where
        R: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let mut client = self.pool.get().await.map_err(pool_err)?;
        let t = client.transaction().await.map_err(DbError::from)?;
        let mut tx = PgTx { t, held: vec![] };
        let outcome = f(&mut tx).await;
        match outcome {
            Ok(v) => {
                tx.t.commit().await.map_err(DbError::from)?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.t.rollback().await;
                Err(e)
            }
        }
    }
}

fn pool_err(e: deadpool_postgres::PoolError) -> DbError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => DbError::from(e),
        other => DbError::Pool(other.to_string()),
    }
}

struct PgTx<'c> {
    t: deadpool_postgres::Transaction<'c>,
    /// The advisory locks this transaction took: held until it ends, so
    /// taking one again asks the server nothing.
    held: Vec<i64>,
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn read_row(r: &tokio_postgres::Row, columns: &Arc<[String]>) -> Result<Row, DbError> {
    let mut row = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let v = match *col.type_() {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map(Value::from),
            _ => r.try_get::<_, Option<String>>(i)?.map(Value::Text),
        };
        row.push(v.unwrap_or(Value::Null));
    }
    Ok(Row::new(columns.clone(), row))
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_> {
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            let stmt = self.t.prepare_cached(sql).await?;
            let rows = self.t.query(&stmt, &refs(params)).await?;
            let columns: Arc<[String]> = stmt
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            rows.iter().map(|r| read_row(r, &columns)).collect()
        })
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, DbError>> {
        Box::pin(async move {
            let stmt = self.t.prepare_cached(sql).await?;
            Ok(self.t.execute(&stmt, &refs(params)).await?)
        })
    }

    fn lock(&mut self, key: LockKey) -> BoxFuture<'_, Result<(), DbError>> {
        Box::pin(async move {
            let id = key.id();
            if self.held.contains(&id) {
                return Ok(());
            }
            self.t
                .execute("SELECT pg_advisory_xact_lock($1)", &[&id])
                .await?;
            self.held.push(id);
            Ok(())
        })
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}
