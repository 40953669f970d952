-- Version 4: a dissatisfied customer (or a declined signature) is followed
-- up until satisfied or closed by the center (004): each earlier call of a
-- follow-up is kept here, and the `callbacks` row holds the next (or last)
-- one; `closed_by_center` marks a follow-up the center ended.
CREATE TABLE callback_attempts (
    visit_id   TEXT NOT NULL REFERENCES visits (visit_id),
    reason     TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    due_at     INTEGER NOT NULL,
    done_at    INTEGER NOT NULL,
    done_by    TEXT NOT NULL,
    reached    INTEGER NOT NULL,
    satisfied  INTEGER,
    note       TEXT,
    PRIMARY KEY (visit_id, reason, attempt)
);
ALTER TABLE callbacks ADD COLUMN closed_by_center INTEGER NOT NULL DEFAULT 0;
