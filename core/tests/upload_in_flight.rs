//! The outbox upload keeps two batches on their way (`sync::upload`): the
//! next batch goes before the answer to the one before it, answers are
//! applied in the order sent, and a batch that reached the server before
//! the one ahead of it goes again, with nothing queued again.
#![cfg(feature = "sync")]

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{open, run_visit, TempDir};
use doorstep_core::clock::FixedClock;
use doorstep_core::protocol::PushResponse;
use doorstep_core::sync::{
    HttpRequest, HttpResponse, SyncClient, SyncConfig, SyncReport, Transport, TransportFuture,
};
use std::io::Read;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

fn server_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

/// How the server treats the first push it receives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum First {
    /// Answered only once the second push has arrived (503 after five
    /// seconds without it); the second is stored after it.
    AnsweredAfterTheSecondArrives,
    /// Stored only after the second push was handled: the second reaches
    /// the store first.
    OvertakenByTheSecond,
}

/// A server that stores one device's sequences in order (a push, or an
/// exchange's push with an empty page): a push whose first
/// sequence follows the last one stored is stored (what it already holds
/// counts as duplicates), any other is refused with a sequence gap.
struct OrderedServer {
    first: First,
    stored: Mutex<Vec<u64>>,
    /// Each push as it arrived: its first and last sequence.
    pushes: Mutex<Vec<(u64, u64)>>,
    arrived: watch::Sender<usize>,
    handled: watch::Sender<usize>,
}

impl OrderedServer {
    fn new(first: First) -> Self {
        Self {
            first,
            stored: Mutex::default(),
            pushes: Mutex::default(),
            arrived: watch::Sender::new(0),
            handled: watch::Sender::new(0),
        }
    }

    fn store(&self, seqs: &[u64]) -> HttpResponse {
        let mut stored = self.stored.lock().unwrap();
        let held = stored.last().copied().unwrap_or(0);
        let (first, last) = (seqs[0], *seqs.last().unwrap());
        if first > held + 1 {
            return answer(
                409,
                serde_json::json!({"error": {
                    "code": "sequence_gap",
                    "message": format!("sequence {first} arrived but the server expects {}", held + 1),
                    "expected_seq": held + 1,
                    "acked_seq": held,
                }}),
            );
        }
        let fresh: Vec<u64> = seqs.iter().copied().filter(|s| *s > held).collect();
        stored.extend(&fresh);
        let push = PushResponse {
            protocol_version: 1,
            acked_seq: last,
            applied: fresh.len() as u64,
            duplicates: (seqs.len() - fresh.len()) as u64,
            refused: vec![],
            server_time: server_time(),
        };
        answer(200, serde_json::to_value(push).unwrap())
    }
}

fn answer(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(&body).unwrap(),
    }
}

/// The sequences of a gzipped push body.
fn sequences(gzipped: &[u8]) -> Vec<u64> {
    let mut bytes = vec![];
    flate2::read::GzDecoder::new(gzipped)
        .read_to_end(&mut bytes)
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

async fn reach(counter: &watch::Sender<usize>, n: usize) -> bool {
    let mut seen = counter.subscribe();
    let waited = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        seen.wait_for(|c| *c >= n),
    )
    .await;
    waited.is_ok()
}

impl Transport for OrderedServer {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let path = request.url.rsplit('/').next().unwrap_or("").to_string();
            if path == "pull" {
                // The pull: nothing to download.
                return Ok(answer(
                    200,
                    serde_json::to_value(common::empty_last_page(server_time())).unwrap(),
                ));
            }
            let seqs = sequences(&request.body);
            let nth = {
                let mut pushes = self.pushes.lock().unwrap();
                pushes.push((seqs[0], *seqs.last().unwrap()));
                pushes.len() - 1
            };
            self.arrived.send_modify(|n| *n += 1);
            let waits = match (self.first, nth) {
                (First::AnsweredAfterTheSecondArrives, 0) => Some(reach(&self.arrived, 2)),
                // Stored after the first, as the server keeps a device's
                // pushes in order.
                (First::AnsweredAfterTheSecondArrives, 1) => Some(reach(&self.handled, 1)),
                (First::OvertakenByTheSecond, 0) => Some(reach(&self.handled, 1)),
                _ => None,
            };
            if let Some(wait) = waits {
                let waited = wait.await;
                if !waited {
                    return Ok(answer(
                        503,
                        serde_json::json!({"error": {"code": "overloaded", "message": "the second push never came"}}),
                    ));
                }
            }
            let mut answered = self.store(&seqs);
            self.handled.send_modify(|n| *n += 1);
            if path == "exchange" && answered.status == 200 {
                let push: serde_json::Value = serde_json::from_slice(&answered.body).unwrap();
                answered = answer(
                    200,
                    serde_json::json!({"push": push, "pull": common::empty_last_page(server_time())}),
                );
            }
            Ok(answered)
        })
    }
}

/// A store with a visit's facts waiting, synced with `server` in batches
/// of two (the last an exchange).
fn sync_with(server: &Arc<OrderedServer>) -> (Vec<u64>, SyncReport) {
    let dir = TempDir::new("upload-in-flight");
    let store = open(&dir.db());
    run_visit(&store, "A-1", server_time() + Duration::hours(2), 8);
    let waiting = store.pending_count().unwrap();
    assert!(
        waiting >= 6,
        "{waiting} facts waiting: three batches at least"
    );
    let mut config = SyncConfig::new("http://doorstep.test", "token");
    config.push_batch = 2;
    let client = SyncClient::with_transport(config, server.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(client.sync(&store, &FixedClock::new(server_time())))
        .expect("the sync");
    assert_eq!(report.pending, 0, "{report:?}");
    ((1..=waiting).collect(), report)
}

#[test]
fn the_next_batch_goes_before_the_answer_to_the_one_before_it() {
    let server = Arc::new(OrderedServer::new(First::AnsweredAfterTheSecondArrives));
    let (waiting, report) = sync_with(&server);
    assert_eq!(
        *server.stored.lock().unwrap(),
        waiting,
        "each fact once, in order"
    );
    assert_eq!(report.pushed, waiting.len() as u64);
    assert_eq!(
        report.push_requests as usize,
        waiting.len().div_ceil(2),
        "one request a batch"
    );
}

#[test]
fn a_batch_that_overtook_the_one_ahead_of_it_goes_again_and_nothing_is_queued_again() {
    let server = Arc::new(OrderedServer::new(First::OvertakenByTheSecond));
    let (waiting, report) = sync_with(&server);
    assert_eq!(
        *server.stored.lock().unwrap(),
        waiting,
        "each fact once, in order"
    );
    let pushes = server.pushes.lock().unwrap().clone();
    assert_eq!(
        pushes.iter().filter(|p| **p == (3, 4)).count(),
        2,
        "the overtaking batch went again: {pushes:?}"
    );
    assert_eq!(
        report.requeued, 0,
        "no acknowledged fact queued again: {report:?}"
    );
    assert_eq!(report.pushed, waiting.len() as u64);
    assert_eq!(report.duplicates, 0, "{report:?}");
}
