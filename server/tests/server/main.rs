//! Integration tests over real HTTP: each test starts the server on an
//! ephemeral port and runs twice, on SQLite and on PostgreSQL
//! (`DOORSTEP_TEST_PG_URL`, started by `scripts/test-all`). Without that
//! variable the PostgreSQL runs fail in CI (`CI=true`) and are skipped,
//! loudly, elsewhere.

mod harness;

mod after;
mod bad_input;
mod center;
mod demo;
mod forged;
mod schema;
mod schema_parity;
mod sync;

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
                async fn postgres() {
                    if $crate::harness::postgres_available() {
                        super::$name($crate::harness::Backend::Postgres).await
                    }
                }
            }
        )*
    };
}
