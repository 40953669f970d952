-- Version 14: indexes for the console's live stream. Every open console
-- reads a change mark every second (http/center/live.rs): the newest
-- assignment and visit updates and the visits with an open conflict; each
-- is answered from an index instead of a whole-table read.
CREATE INDEX assignments_updated ON assignments (updated_at);
CREATE INDEX visits_updated ON visits (updated_at);
CREATE INDEX visits_open_conflicts ON visits (conflict_version) WHERE conflict IS NOT NULL;
