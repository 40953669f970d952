-- Migration 0019: privacy numbers (号码隐私保护). Keep in step with
-- ../postgres/0019_privacy_numbers.sql.
-- `privacy_bindings`: the virtual number (X) binding a work order's
-- customer (A) to the technician it is dispatched to (B), for the order's
-- life with that technician: binding (BindAxb in the outbox) → bound
-- (`virtual_number`, the provider's `subs_id`) → unbinding
-- (UnbindSubscription in the outbox, once the order is reassigned, cancelled
-- or done) → unbound; or failed (`failure_reason`). Neither real number
-- is stored here: the customer's stays on the order, the technician's on
-- the roster.
CREATE TABLE privacy_bindings (
    id              TEXT PRIMARY KEY,
    assignment_id   TEXT NOT NULL REFERENCES assignments (id),
    technician_id   TEXT NOT NULL REFERENCES technicians (id),
    state           TEXT NOT NULL,
    virtual_number  TEXT,
    subs_id         TEXT,
    failure_reason  TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    bound_at        INTEGER,
    unbound_at      INTEGER
);
CREATE INDEX privacy_bindings_assignment ON privacy_bindings (assignment_id, technician_id);
CREATE INDEX privacy_bindings_technician ON privacy_bindings (technician_id, state);
CREATE INDEX privacy_bindings_state ON privacy_bindings (state);
