//! How much work SQLite did for each statement, read from its own counters
//! (`sqlite3_stmt_status`: virtual-machine steps and full-scan steps, per
//! run): the statements whose run took more steps than a bound, kept by
//! their SQL text.
//!
//! A read that answers one page of today's work should do the same work
//! whether the database holds a week or a year: a statement whose steps grow
//! with the history walks rows it does not show (a missing index, a filter
//! the index cannot serve). Steps are counted, not timed, so the same
//! workload gives the same numbers on any machine: the server's tests run
//! the day's reads over a small and a large history and compare
//! (`server/tests/server/history_reads.rs`), and in production a run over
//! [`LONG_RUN_STEPS`] is logged once per statement and counted in
//! `/metrics` (`doorstep_sqlite_long_statement_runs_total`).
//!
//! PostgreSQL keeps its own statistics (`pg_stat_statements`); this ledger
//! is SQLite's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A run of one statement taking more virtual-machine steps than this is
/// logged (once per statement) and counted: about 10-50 ms of SQLite's time
/// on a server core, a full walk of some 200 000 rows.
pub const LONG_RUN_STEPS: u64 = 1_000_000;

use doorstep_core::store::statement_work::StatementWork as Ledger;
/// What SQLite counted for the runs of one statement over the bound, and
/// the statement on one line: the phone's store counts the same.
pub use doorstep_core::store::statement_work::{one_line, StatementRuns};

/// The statements of one database whose runs went over the bound.
#[derive(Debug)]
pub struct StatementWork {
    /// Runs of more steps than this are kept ([`StatementWork::keep_runs_over`]).
    kept_over: AtomicU64,
    /// Runs over [`LONG_RUN_STEPS`], ever.
    long_runs: AtomicU64,
    /// The runs kept, by statement (the phone's store keeps its own alike).
    kept: Ledger,
}

impl Default for StatementWork {
    fn default() -> Self {
        StatementWork {
            kept_over: AtomicU64::new(LONG_RUN_STEPS),
            long_runs: AtomicU64::new(0),
            kept: Ledger::default(),
        }
    }
}

impl StatementWork {
    /// Records one run of `sql`: `steps` virtual-machine steps, of which
    /// `full_scan_steps` forward through a whole table.
    pub fn record(&self, sql: &str, steps: u64, full_scan_steps: u64) {
        if steps > LONG_RUN_STEPS {
            self.long_runs.fetch_add(1, Ordering::Relaxed);
        }
        if steps <= self.kept_over.load(Ordering::Relaxed) {
            return;
        }
        let first = self.kept.record(sql, steps, full_scan_steps);
        if first && steps > LONG_RUN_STEPS {
            tracing::warn!(
                steps,
                full_scan_steps,
                sql = %one_line(sql),
                "a SQLite statement ran long: it may walk rows no index narrows"
            );
        }
    }

    /// From now on keeps every run of more than `steps` steps (the default
    /// keeps only long runs; a test keeps them all with 0).
    pub fn keep_runs_over(&self, steps: u64) {
        self.kept_over.store(steps, Ordering::Relaxed);
    }

    /// The statements kept so far, by SQL text, and forgets them.
    pub fn take(&self) -> BTreeMap<String, StatementRuns> {
        self.kept.take()
    }

    /// Runs over [`LONG_RUN_STEPS`] since the database was opened.
    pub fn long_runs(&self) -> u64 {
        self.long_runs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_runs_over_the_bound_are_kept_with_their_most_steps() {
        let work = StatementWork::default();
        work.keep_runs_over(100);
        work.record("SELECT a", 100, 0);
        work.record("SELECT b", 101, 7);
        work.record("SELECT b", 300, 2);
        work.record("SELECT b", 200, 9);
        let kept = work.take();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            kept["SELECT b"],
            StatementRuns {
                runs: 3,
                most_steps: 300,
                most_full_scan_steps: 9
            }
        );
        assert!(work.take().is_empty(), "taking forgets");
    }

    #[test]
    fn a_run_over_the_long_run_bound_is_counted_whatever_is_kept() {
        let work = StatementWork::default();
        work.record("SELECT a", LONG_RUN_STEPS, 0);
        assert_eq!(work.long_runs(), 0);
        assert!(work.take().is_empty());
        work.record("SELECT a", LONG_RUN_STEPS + 1, 0);
        assert_eq!(work.long_runs(), 1);
        assert_eq!(
            work.take()["SELECT a"].runs,
            1,
            "the default keeps long runs"
        );
    }

    #[test]
    fn the_log_line_folds_the_statement_onto_one_line() {
        assert_eq!(
            one_line("SELECT a\n       FROM t\n  WHERE x = $1"),
            "SELECT a FROM t WHERE x = $1"
        );
    }
}
