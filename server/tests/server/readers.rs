//! Reads do not wait behind the writer: on SQLite the read endpoints run on
//! a pool of read-only WAL connections, so a dispatcher's list answers while
//! a long write transaction holds the single writer; on PostgreSQL a read is
//! never blocked by another transaction's writes.

use crate::both_backends;
use crate::harness::{Backend, Srv};
use doorstep_server::store::DbError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

both_backends!(a_dispatcher_read_completes_while_a_long_write_transaction_is_open);

/// How long the write transaction stays open.
const WRITE_HELD: Duration = Duration::from_secs(3);

async fn a_dispatcher_read_completes_while_a_long_write_transaction_is_open(b: Backend) {
    let srv = Srv::start(b).await;
    let (st, _) = srv.get("/api/assignments", &srv.dispatcher).await;
    assert_eq!(st, 200);
    let begun = Arc::new(AtomicBool::new(false));
    let db = srv.state.db.clone();
    let flag = begun.clone();
    // The writer runs on a thread and runtime of its own, so holding its
    // transaction open blocks none of the server's workers (nor the timer).
    let writer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(db.tx(move |tx| {
            Box::pin(async move {
                tx.execute("UPDATE users SET role = role WHERE username = 'desk'", &[])
                    .await?;
                flag.store(true, Ordering::SeqCst);
                // Holds the transaction (and SQLite's writer) open.
                std::thread::sleep(WRITE_HELD);
                Ok::<_, DbError>(())
            })
        }))
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while !begun.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the write transaction never began"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let (st, body) = srv.get("/api/assignments", &srv.dispatcher).await;
    let took = started.elapsed();
    assert_eq!(st, 200, "{body}");
    let still_open = !writer.is_finished();
    let outcome = writer.join().unwrap();
    assert!(outcome.is_ok(), "the write transaction failed: {outcome:?}");
    assert!(
        took < WRITE_HELD / 3 && still_open,
        "the read took {took:?} while a write transaction was open for {WRITE_HELD:?} (still open when it answered: {still_open}): it waited for the writer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_transaction_cannot_write_on_sqlite() {
    let srv = Srv::start(Backend::Sqlite).await;
    let outcome = srv
        .state
        .db
        .read(|tx| {
            Box::pin(async move {
                tx.execute("UPDATE users SET role = role WHERE username = 'desk'", &[])
                    .await
            })
        })
        .await;
    assert!(outcome.is_err(), "a write ran on a read-only connection");
}
