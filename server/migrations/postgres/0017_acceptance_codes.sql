-- Version 17: the customers' acceptance codes (验收码, issue 19), one per
-- work order whose trade asks for it. The code is kept here to send it to
-- the customer; the phones hold only the slow hash on the assignment.
-- center_result is what the center found for the code a phone sent after it
-- stopped checking offline: accepted or wrong.
CREATE TABLE acceptance_codes (
    assignment_id  TEXT PRIMARY KEY,
    code           TEXT NOT NULL,
    issued_at      BIGINT NOT NULL,
    center_result  TEXT,
    checked_at     BIGINT
);
