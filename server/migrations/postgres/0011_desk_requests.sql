-- Version 11: the dispatch desk's requests queue. A technician's request to
-- the center (verify with center, waiver, escalation, manager visit, absent
-- customer, incident) is an event the phone synced; the desk marks it
-- handled here, with who, when and what was done (the event stays as sent).
CREATE TABLE handled_requests (
    event_id    TEXT PRIMARY KEY REFERENCES events (event_id),
    handled_by  TEXT NOT NULL,
    handled_at  BIGINT NOT NULL,
    answer      TEXT
);

-- One-time enrolment codes: the admin screen shows a code (and a QR code of
-- it) that a technician's phone exchanges once, before expires_at, for its
-- device token (POST /api/enrol). Only the code's SHA-256 is stored.
CREATE TABLE enrolment_codes (
    code_hash     TEXT PRIMARY KEY,
    technician_id TEXT NOT NULL REFERENCES technicians (id),
    device_id     TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
