//! The phone's day costs the same over months of history as over weeks:
//! every statement the store runs for a day of work (the sync client
//! downloading the day's order from a center answering over a scripted
//! transport, the day's list, the visit's screen and the sync status after
//! each step, the app's start looking for photos no fact names, the sync
//! sending the visit's facts, the visit's history, the retention run) is
//! counted in SQLite's own steps
//! (`store::statement_work`), once after some weeks of past visits and once
//! again after as many more. A statement that does more work the second
//! time walks history it does not show. Steps, not times: the same
//! workload gives the same counts on any machine and under any load.

#![cfg(feature = "sync")]

mod common;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use common::*;
use doorstep_core::clock::FixedClock;
use doorstep_core::protocol::{AssignmentChange, PushRequest, PushResponse};
use doorstep_core::store::statement_work::{self, StatementRuns};
use doorstep_core::store::Store;
use doorstep_core::sync::{
    HttpRequest, HttpResponse, SyncClient, SyncConfig, Transport, TransportFuture,
};
use doorstep_core::AssignmentId;
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Past visits added before each measured day: as many again the second
/// time. Each leaves about 40 facts.
const PAST_VISITS: i64 = 150;

/// How many more steps a statement may take on the second day: the day's
/// own answers are the same size both days.
const STEPS_MAY_GROW: u64 = 250;

/// How long the phone keeps a customer's contact after the visit closed
/// and the server has its facts.
fn retention() -> Duration {
    Duration::days(7)
}

fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

#[tokio::test]
async fn no_statement_of_a_phones_day_grows_with_the_history_it_does_not_show() {
    let dir = TempDir::new("history-reads");
    let store = open(&dir.db());
    let center = Arc::new(Center::default());
    let client = SyncClient::with_transport(
        SyncConfig::new("https://doorstep.example.com", "token"),
        center.clone(),
    );
    let work = store.count_statement_work().unwrap();
    let mut past = Past { visits: 0 };

    past.add(&store, PAST_VISITS);
    work.take();
    work_a_day(&store, &client, &center, day(), 1).await;
    let first = work.take();

    past.add(&store, PAST_VISITS);
    work.take();
    work_a_day(&store, &client, &center, day() + Duration::days(1), 2).await;
    let second = work.take();

    let grown = statement_work::grown(&first, &second, STEPS_MAY_GROW);
    assert!(
        grown.is_empty(),
        "{} statements of the phone's day did more work over a longer history:\n{}",
        grown.len(),
        grown.join("\n")
    );
    assert_distinct_statements(&second);
}

/// The workload kept its reads and writes.
fn assert_distinct_statements(day: &BTreeMap<String, StatementRuns>) {
    assert!(
        day.len() > 15,
        "the day ran {} distinct statements: the workload lost its reads",
        day.len()
    );
}

/// The history: finished visits, six hours apart, going back from 30
/// days before the first measured day, their facts acknowledged by the
/// server and their contact purged as the phone's daily run does.
struct Past {
    visits: i64,
}

impl Past {
    fn add(&mut self, store: &Store, n: i64) {
        for _ in 0..n {
            self.visits += 1;
            let start = day() - Duration::days(30) - Duration::hours(6 * self.visits);
            run_visit(store, &format!("P-{}", self.visits), start, 1000);
        }
        let sent = store.pending_outbox(100_000).unwrap();
        store
            .ack_outbox(sent.last().unwrap().seq, day() - Duration::days(29))
            .unwrap();
        store
            .purge_personal_data(day() - Duration::days(1), retention())
            .unwrap();
    }
}

/// The center, as the sync client sees it: a pull brings the order
/// offered since the last one, a push is acknowledged whole.
#[derive(Default)]
struct Center {
    offered: Mutex<Vec<AssignmentChange>>,
    /// The last change given.
    cursor: Mutex<u64>,
}

impl Center {
    fn offer(&self, change: AssignmentChange) {
        self.offered.lock().unwrap().push(change);
    }

    fn page(&self) -> serde_json::Value {
        let changes = std::mem::take(&mut *self.offered.lock().unwrap());
        let mut cursor = self.cursor.lock().unwrap();
        *cursor = changes.last().map_or(*cursor, |c| c.seq);
        let mut page = empty_last_page(day());
        page.next_cursor = *cursor;
        page.changes = changes;
        serde_json::to_value(page).unwrap()
    }
}

/// What a push acknowledges: everything it sent.
fn acknowledged(body: &[u8]) -> serde_json::Value {
    let mut bytes = vec![];
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut bytes)
        .unwrap();
    let push: PushRequest = serde_json::from_slice(&bytes).unwrap();
    let seq = push.events.last().map_or(0, |e| e.seq);
    serde_json::to_value(PushResponse {
        protocol_version: 1,
        acked_seq: seq,
        applied: seq,
        duplicates: 0,
        refused: vec![],
        server_time: day(),
    })
    .unwrap()
}

impl Transport for Center {
    fn send(&self, request: HttpRequest) -> TransportFuture<'_> {
        let body = if request.url.ends_with("/push") {
            acknowledged(&request.body)
        } else if request.url.ends_with("/exchange") {
            serde_json::json!({"push": acknowledged(&request.body), "pull": self.page()})
        } else {
            self.page()
        };
        Box::pin(async move {
            Ok(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: serde_json::to_vec(&body).unwrap(),
            })
        })
    }

    fn cancel(&self) {}
}

/// One day: the order downloaded by the sync client, the visit walked with
/// the day's list, its screen and the sync status read after each step, the
/// app's start looking for photos no fact names, the visit's facts sent by
/// the sync client, its history read, the retention run.
async fn work_a_day(
    store: &Store,
    client: &SyncClient,
    center: &Center,
    start: DateTime<Utc>,
    n: u32,
) {
    let id = format!("A-TODAY-{n}");
    center.offer(AssignmentChange {
        seq: n.into(),
        change: issued(&id, start),
    });
    let morning = FixedClock::new(start - Duration::hours(20));
    client.sync(store, &morning).await.unwrap();
    let aid = AssignmentId::new(&id).unwrap();
    let date = start.with_timezone(&shanghai()).date_naive();
    loop {
        let state = store.state(&aid).unwrap();
        let Some((cmd, at, fix)) = next_command(&state) else {
            break;
        };
        store
            .apply_command(&aid, &cmd, at, fix)
            .unwrap_or_else(|e| panic!("{} refused: {e}", cmd.name()));
        let list = store.visits_on(date, shanghai()).unwrap();
        assert_eq!(list.len(), 1, "today's list holds today's visit");
        store.view(&aid, at).unwrap();
        store.sync_status().unwrap();
    }
    // The app starts again: a photo written but never recorded (its
    // command refused after the bytes were kept) is found and removed.
    let orphan = store
        .put_blob(format!("never recorded {n}").as_bytes())
        .unwrap();
    let written_long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(store.blob_dir().join(&orphan))
        .unwrap()
        .set_modified(written_long_ago)
        .unwrap();
    let ten_minutes = std::time::Duration::from_secs(600);
    assert_eq!(store.purge_orphan_blobs(ten_minutes).unwrap(), 1);
    let closed = store.state(&aid).unwrap().closed_at.unwrap();
    client.sync(store, &FixedClock::new(closed)).await.unwrap();
    let status = store.sync_status().unwrap();
    assert_eq!(status.pending, 0, "the day's facts were sent: {status:?}");
    store.refused().unwrap();
    store.history(&aid).unwrap();
    store.purge_personal_data(closed, retention()).unwrap();
}
