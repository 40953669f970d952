-- Changes to the center's own fields of a work order (priority, whether the
-- window is confirmed): they are not in the assignment the phones receive,
-- so not in its change log; the order's history reads them from here.
CREATE TABLE center_field_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    version INTEGER NOT NULL,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    field TEXT NOT NULL,
    before_value TEXT NOT NULL,
    after_value TEXT NOT NULL,
    -- 1 when saved together with a change of the assignment itself (the
    -- change log row of the same version), 0 when saved alone.
    in_edit INTEGER NOT NULL
);
CREATE INDEX center_field_changes_by_assignment ON center_field_changes (assignment_id, seq);
