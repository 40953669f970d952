-- Version 27: download acknowledgements held until their receipts are
-- derived. A pull stores what it acknowledges here, in its own
-- transaction (durable with the cursor it records), and answers; the
-- receipts are derived right after the answer, and before any push of the
-- same device is admitted (domain::receipts::settle). A row is taken
-- (deleted) by the transaction that derives it; rows left by a crash are
-- derived when the server starts.
CREATE TABLE held_acknowledgements (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices (id),
    technician_id   TEXT NOT NULL,
    received        TEXT NOT NULL,
    acknowledged_at BIGINT NOT NULL
);
CREATE INDEX held_acknowledgements_device ON held_acknowledgements (device_id, id);
