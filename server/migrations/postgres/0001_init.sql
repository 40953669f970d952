-- Doorstep server schema, version 1 (PostgreSQL). Keep in step with
-- ../sqlite/0001_init.sql: same tables, columns and meanings (the test
-- server/tests/server/schema_parity.rs compares what both build).
-- Times are Unix milliseconds (UTC); JSON documents are text; flags 0/1.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'dispatcher')),
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users (username),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE technicians (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    trades     TEXT NOT NULL,
    active     BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id                   TEXT PRIMARY KEY,
    technician_id        TEXT NOT NULL REFERENCES technicians (id),
    token_hash           TEXT NOT NULL UNIQUE,
    enrolled_by          TEXT NOT NULL,
    enrolled_at          BIGINT NOT NULL,
    revoked_at           BIGINT,
    last_seq             BIGINT NOT NULL DEFAULT 0,
    last_sync_at         BIGINT,
    clock_offset_ms      BIGINT,
    last_evidence_digest TEXT
);

CREATE TABLE device_syncs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id       TEXT NOT NULL REFERENCES devices (id),
    kind            TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    device_time     BIGINT,
    clock_offset_ms BIGINT,
    events          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE intakes (
    id             TEXT PRIMARY KEY,
    classification TEXT NOT NULL,
    received_at    BIGINT NOT NULL,
    caller         TEXT NOT NULL,
    content        TEXT NOT NULL,
    answer         TEXT,
    assignment_id  TEXT,
    escalated      BIGINT NOT NULL DEFAULT 0,
    recorded_by    TEXT NOT NULL
);

CREATE TABLE assignments (
    id               TEXT PRIMARY KEY,
    version          BIGINT NOT NULL,
    trade            TEXT NOT NULL,
    technician_id    TEXT REFERENCES technicians (id),
    status           TEXT NOT NULL,
    priority         TEXT NOT NULL,
    classification   TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    window_confirmed BIGINT NOT NULL DEFAULT 0,
    cancel_reason    TEXT,
    body             TEXT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX assignments_status ON assignments (status, received_at);

-- Every technician an assignment was ever given to (authority for device facts).
CREATE TABLE assignment_holders (
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    technician_id TEXT NOT NULL REFERENCES technicians (id),
    since_version BIGINT NOT NULL,
    PRIMARY KEY (assignment_id, technician_id)
);

CREATE TABLE assignment_changes (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    version       BIGINT NOT NULL,
    technician_id TEXT,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    at            BIGINT NOT NULL,
    actor         TEXT NOT NULL
);
CREATE INDEX assignment_changes_tech ON assignment_changes (technician_id, seq);
CREATE INDEX assignment_changes_assignment ON assignment_changes (assignment_id, seq);

CREATE TABLE events (
    event_id      TEXT PRIMARY KEY,
    device_id     TEXT NOT NULL REFERENCES devices (id),
    seq           BIGINT NOT NULL,
    visit_id      TEXT NOT NULL,
    assignment_id TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    kind          TEXT NOT NULL,
    hlc_millis    BIGINT NOT NULL,
    hlc_counter   BIGINT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    body          TEXT NOT NULL,
    UNIQUE (device_id, seq)
);
CREATE INDEX events_visit ON events (visit_id, hlc_millis, hlc_counter, seq);

CREATE TABLE refused_events (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    seq         BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE visits (
    visit_id          TEXT PRIMARY KEY,
    assignment_id     TEXT NOT NULL REFERENCES assignments (id),
    technician_id     TEXT NOT NULL,
    device_id         TEXT NOT NULL,
    trade             TEXT NOT NULL,
    stage             TEXT NOT NULL,
    outcome           TEXT,
    trip              BIGINT NOT NULL,
    started_at        BIGINT,
    arrived_at        BIGINT,
    late              BIGINT,
    closed_at         BIGINT,
    signoff           TEXT NOT NULL,
    signoff_problem   TEXT,
    chain_ok          BIGINT NOT NULL DEFAULT 1,
    satisfied         BIGINT,
    conflict          TEXT,
    conflict_version  BIGINT,
    resolution        TEXT,
    resolved_version  BIGINT,
    resolved_by       TEXT,
    resolved_at       BIGINT,
    state             TEXT NOT NULL,
    event_count       BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX visits_assignment ON visits (assignment_id);
CREATE INDEX visits_closed ON visits (closed_at);

CREATE TABLE callbacks (
    visit_id    TEXT NOT NULL REFERENCES visits (visit_id),
    reason      TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    done_at     BIGINT,
    done_by     TEXT,
    reached     BIGINT,
    satisfied   BIGINT,
    note        TEXT,
    PRIMARY KEY (visit_id, reason)
);
CREATE INDEX callbacks_due ON callbacks (done_at, due_at);
