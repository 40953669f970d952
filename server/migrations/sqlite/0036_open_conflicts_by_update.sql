-- Migration 0036: the open conflicts in the order the console lists them.
-- The list (`store::visits::open_conflicts`) asks for the visits in
-- conflict oldest update first; with the partial index of 0014 keyed by
-- conflict version, SQLite walked every visit ever made through
-- `visits_updated` to skip the sort (tests/server/history_reads.rs saw its
-- steps double with the history). Keyed by update time, the same partial
-- index holds only the visits in conflict, already in the list's order, and
-- still answers the live change mark's count.
DROP INDEX visits_open_conflicts;
CREATE INDEX visits_open_conflicts ON visits (updated_at) WHERE conflict IS NOT NULL;
