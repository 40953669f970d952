-- Version 7: receipts derived from download acknowledgements. A phone
-- acknowledges each applied page of assignment changes (its cursor, the
-- time and HLC base it applied them with, the changes that became
-- "assignment received" facts); the server derives each of those facts
-- here, with the envelope the phone gave it (doorstep_core::receipt), instead
-- of receiving one event per assignment. A visit's timeline is its events
-- and its receipts; download_cursor is the last cursor a device
-- acknowledged (it holds every change up to it).
CREATE TABLE receipts (
    event_id      TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES devices (id),
    change_seq    BIGINT NOT NULL,
    visit_id      TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    version       BIGINT NOT NULL,
    technician_id TEXT NOT NULL,
    hlc_millis    BIGINT NOT NULL,
    hlc_counter   BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    body          TEXT NOT NULL,
    UNIQUE (device_id, change_seq)
);
CREATE INDEX receipts_visit ON receipts (visit_id, hlc_millis, hlc_counter);
CREATE INDEX receipts_assignment ON receipts (assignment_id, device_id);
ALTER TABLE devices ADD COLUMN download_cursor BIGINT NOT NULL DEFAULT 0;
