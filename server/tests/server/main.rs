//! Integration tests over real HTTP: each test starts the server on an
//! ephemeral port and runs twice, on SQLite and on PostgreSQL
//! (`DOORSTEP_TEST_PG_URL`, started by `scripts/test-all`). The PostgreSQL
//! runs are `#[ignore]`d, so a plain `cargo test` reports them as ignored,
//! never as passed; `scripts/test-all` runs them with `-- --ignored`, and
//! run without the variable they fail.

mod harness;

mod acceptance;
mod after;
mod bad_input;
mod board;
mod bounds;
mod cash_ledger;
mod center;
mod defences;
mod demo;
mod desk;
mod device_tokens;
mod forged;
mod history_reads;
mod invoices;
mod log_privacy;
mod openapi;
mod ops;
mod outbox;
mod personal_data;
mod privacy_numbers;
mod qr_payments;
mod readers;
mod records;
mod report;
mod schema;
mod schema_parity;
mod sync;
mod trust;
mod two_servers;

/// Runs `async fn $name(b: Backend)` on both backends.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: scripts/test-all runs these with DOORSTEP_TEST_PG_URL and -- --ignored"]
                async fn postgres() {
                    $crate::harness::require_postgres();
                    super::$name($crate::harness::Backend::Postgres).await
                }
            }
        )*
    };
}
