//! How much work SQLite did for each statement the store ran, read from its
//! own counters (`sqlite3_stmt_status`: virtual-machine steps and full-scan
//! steps) as each run finishes (`sqlite3_trace_v2`'s profile event), kept
//! by SQL text: the largest run of each.
//!
//! A phone in use for months holds every visit it made. A read of today's
//! work (the day's list, a visit's screen, the facts waiting for the
//! server) should cost the same after a year as after a week; a statement
//! whose steps grow with the stored history walks rows it does not show.
//! Counted, not timed: the same workload gives the same numbers on any
//! machine (`core/tests/store_history_reads.rs` runs a day over a short and
//! a longer history and compares). Off unless [`crate::store::Store::count_statement_work`]
//! turns it on.

use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::{Connection, StatementStatus};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The largest run of one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatementRuns {
    /// Runs seen.
    pub runs: u64,
    /// The most virtual-machine steps one run took.
    pub most_steps: u64,
    /// The most steps one run took forward through a whole table (a scan
    /// without an index).
    pub most_full_scan_steps: u64,
}

/// The statements run since the counting began (or since the last
/// [`StatementWork::take`]), by SQL text.
#[derive(Debug, Default)]
pub struct StatementWork {
    kept: Mutex<BTreeMap<String, StatementRuns>>,
}

impl StatementWork {
    /// Records one run of `sql`: `steps` virtual-machine steps, of which
    /// `full_scan_steps` forward through a whole table. Whether it is the
    /// statement's first run kept.
    pub fn record(&self, sql: &str, steps: u64, full_scan_steps: u64) -> bool {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let first = !kept.contains_key(sql);
        let runs = kept.entry(sql.to_string()).or_default();
        runs.runs += 1;
        runs.most_steps = runs.most_steps.max(steps);
        runs.most_full_scan_steps = runs.most_full_scan_steps.max(full_scan_steps);
        first
    }

    /// The statements kept so far, by SQL text, and forgets them.
    pub fn take(&self) -> BTreeMap<String, StatementRuns> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The statement on one line, its runs of spaces folded (for logs and
/// test failures).
pub fn one_line(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The statements of `later` whose largest run took more than `may_grow`
/// steps beyond their largest run in `earlier` (none there: zero), one line
/// each: `before → after steps (full-scan steps): SQL`.
pub fn grown(
    earlier: &BTreeMap<String, StatementRuns>,
    later: &BTreeMap<String, StatementRuns>,
    may_grow: u64,
) -> Vec<String> {
    later
        .iter()
        .filter_map(|(sql, runs)| {
            let before = earlier.get(sql).map_or(0, |r| r.most_steps);
            (runs.most_steps > before + may_grow).then(|| {
                format!(
                    "{before} → {} steps ({} full-scan): {}",
                    runs.most_steps,
                    runs.most_full_scan_steps,
                    one_line(sql)
                )
            })
        })
        .collect()
}

/// Records every run of a statement on `conn` into `work`: the counters
/// as the run begins (they add up over a cached statement's runs) are
/// taken from those as it finishes.
pub(crate) fn count_on(conn: &mut Connection, work: Arc<StatementWork>) -> rusqlite::Result<()> {
    let mut at_start: HashMap<String, (u64, u64)> = HashMap::new();
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_STMT | TraceEventCodes::SQLITE_TRACE_PROFILE,
        Some(move |event: TraceEvent<'_>| {
            let counters = |stmt: &rusqlite::trace::StmtRef<'_>| {
                let count = |status| u64::try_from(stmt.get_status(status)).unwrap_or(0);
                (
                    count(StatementStatus::VmStep),
                    count(StatementStatus::FullscanStep),
                )
            };
            match event {
                // A trigger's subprogram starting within a run is announced
                // as an SQL comment: the run goes on.
                TraceEvent::Stmt(stmt, text) if !text.starts_with("--") => {
                    at_start.insert(stmt.sql().to_string(), counters(&stmt));
                }
                TraceEvent::Profile(stmt, _) => {
                    let sql = stmt.sql();
                    let (steps, full_scan_steps) = counters(&stmt);
                    let (steps_before, full_scan_before) =
                        at_start.remove(sql.as_ref()).unwrap_or_default();
                    work.record(
                        &sql,
                        steps.saturating_sub(steps_before),
                        full_scan_steps.saturating_sub(full_scan_before),
                    );
                }
                _ => {}
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted() -> (Connection, Arc<StatementWork>) {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (n INTEGER PRIMARY KEY);
             WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000)
             INSERT INTO t SELECT n FROM c;",
        )
        .unwrap();
        let work = Arc::new(StatementWork::default());
        count_on(&mut conn, work.clone()).unwrap();
        (conn, work)
    }

    fn run(conn: &Connection, sql: &str, param: i64) -> i64 {
        conn.prepare_cached(sql)
            .unwrap()
            .query_row([param], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn each_run_of_a_cached_statement_counts_its_own_steps_only() {
        let (conn, work) = counted();
        let sum = "SELECT sum(n) FROM t WHERE n <= ?1";
        assert_eq!(run(&conn, sum, 1000), 500_500);
        let walk = work.take()[sum];
        assert_eq!(walk.runs, 1);
        assert!(walk.most_steps > 1000, "{walk:?}");
        // The same statement, reset and run again over ten rows: its
        // counters go on adding up, the run is counted alone.
        assert_eq!(run(&conn, sum, 10), 55);
        let few = work.take()[sum];
        assert_eq!(few.runs, 1);
        assert!(few.most_steps < 100, "{few:?}");
    }

    #[test]
    fn a_run_firing_a_trigger_counts_its_steps_from_its_own_start() {
        let (conn, work) = counted();
        conn.execute_batch(
            "CREATE TABLE totals (n INTEGER);
             CREATE TABLE log (n INTEGER);
             CREATE TRIGGER logged AFTER INSERT ON totals
             BEGIN INSERT INTO log VALUES (new.n); END;",
        )
        .unwrap();
        work.take();
        // The sum walks 1 000 rows before the one insert fires the trigger,
        // whose start is announced within the run: by then SQLite has
        // counted the walk's full-scan steps (its virtual-machine steps it
        // adds only as the run ends).
        let total = "INSERT INTO totals SELECT sum(n) FROM t";
        assert_eq!(conn.execute(total, []).unwrap(), 1);
        let run = work.take()[total];
        assert!(run.most_steps > 1000, "{run:?}");
        assert!(run.most_full_scan_steps >= 999, "{run:?}");
    }

    #[test]
    fn a_run_walking_a_whole_table_is_told_from_one_reading_through_an_index() {
        let (conn, work) = counted();
        let scan = "SELECT count(*) FROM t WHERE n + 0 = ?1";
        let seek = "SELECT count(*) FROM t WHERE n = ?1";
        assert_eq!(run(&conn, scan, 7), 1);
        assert_eq!(run(&conn, seek, 7), 1);
        let kept = work.take();
        assert!(kept[scan].most_full_scan_steps >= 999, "{kept:?}");
        assert_eq!(kept[seek].most_full_scan_steps, 0, "{kept:?}");
        assert!(work.take().is_empty(), "taking forgets");
    }

    #[test]
    fn a_statement_grown_beyond_the_bound_is_named_on_one_line() {
        let runs = |most_steps| StatementRuns {
            runs: 1,
            most_steps,
            most_full_scan_steps: 4,
        };
        let earlier = BTreeMap::from([
            ("SELECT a".to_string(), runs(100)),
            ("SELECT b\n   FROM t".to_string(), runs(100)),
        ]);
        let later = BTreeMap::from([
            ("SELECT a".to_string(), runs(150)),
            ("SELECT b\n   FROM t".to_string(), runs(151)),
            ("SELECT c".to_string(), runs(51)),
            ("SELECT d".to_string(), runs(50)),
        ]);
        assert_eq!(
            grown(&earlier, &later, 50),
            [
                "100 → 151 steps (4 full-scan): SELECT b FROM t",
                "0 → 51 steps (4 full-scan): SELECT c"
            ]
        );
    }

    #[test]
    fn the_largest_run_of_each_statement_is_kept() {
        let work = StatementWork::default();
        work.record("SELECT a", 10, 0);
        work.record("SELECT a", 30, 5);
        work.record("SELECT a", 20, 9);
        assert_eq!(
            work.take()["SELECT a"],
            StatementRuns {
                runs: 3,
                most_steps: 30,
                most_full_scan_steps: 9,
            }
        );
    }
}
