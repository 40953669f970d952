//! The phone's day costs the same over months of history as over weeks:
//! every statement the store runs for a day of work (the day's order
//! downloaded, the day's list and the visit's screen after each step, the
//! facts waiting for the server sent and acknowledged, the visit's history,
//! the retention run) is counted in SQLite's own steps
//! (`store::statement_work`), once after some weeks of past visits and once
//! again after as many more. A statement that does more work the second
//! time walks history it does not show. Steps, not times: the same
//! workload gives the same counts on any machine and under any load.

mod common;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use common::*;
use doorstep_core::protocol::AssignmentChange;
use doorstep_core::receipt::ReceiptIds;
use doorstep_core::store::statement_work::StatementRuns;
use doorstep_core::store::Store;
use doorstep_core::AssignmentId;
use std::collections::BTreeMap;

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

#[test]
fn no_statement_of_a_phones_day_grows_with_the_history_it_does_not_show() {
    let dir = TempDir::new("history-reads");
    let store = open(&dir.db());
    let work = store.count_statement_work().unwrap();
    let mut past = Past { visits: 0 };

    past.add(&store, PAST_VISITS);
    work.take();
    work_a_day(&store, day(), 1);
    let first = work.take();

    past.add(&store, PAST_VISITS);
    work.take();
    work_a_day(&store, day() + Duration::days(1), 2);
    let second = work.take();

    let grown: Vec<String> = second
        .iter()
        .filter_map(|(sql, runs)| {
            let before = first.get(sql).map_or(0, |r: &StatementRuns| r.most_steps);
            (runs.most_steps > before + STEPS_MAY_GROW).then(|| {
                format!(
                    "{before} → {} steps ({} full-scan): {}",
                    runs.most_steps,
                    runs.most_full_scan_steps,
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
        })
        .collect();
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

/// One day: the order downloaded, the visit walked with the day's list and
/// its screen read after each step, its facts sent and acknowledged, its
/// history read, the retention run.
fn work_a_day(store: &Store, start: DateTime<Utc>, n: u32) {
    let id = format!("A-TODAY-{n}");
    let page = [AssignmentChange {
        seq: n.into(),
        change: issued(&id, start),
    }];
    store
        .apply_download_page(
            &page,
            &n.to_string(),
            start - Duration::hours(20),
            ReceiptIds::InChangeOrder,
        )
        .unwrap();
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
        store.pending_count().unwrap();
    }
    let sent = store.pending_outbox(500).unwrap();
    let closed = store.state(&aid).unwrap().closed_at.unwrap();
    store.ack_outbox(sent.last().unwrap().seq, closed).unwrap();
    store.refused().unwrap();
    store.history(&aid).unwrap();
    store.purge_personal_data(closed, retention()).unwrap();
}
