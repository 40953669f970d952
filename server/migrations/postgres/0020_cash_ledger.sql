-- Version 20: the engineers' cash ledger (issue 19, item 4). Every cash
-- payment a technician collected (an admitted payment_collected fact paid in
-- cash, once per event) is on his ledger until he remits it; a remittance
-- is a dispatcher's record that he handed cash over. business_day is the
-- day (YYYY-MM-DD, of the business time zone) the money counts on.
CREATE TABLE cash_collections (
    event_id       TEXT PRIMARY KEY,
    technician_id  TEXT NOT NULL,
    business_day   TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    visit_id       TEXT NOT NULL,
    assignment_id  TEXT NOT NULL,
    receipt        TEXT,
    collected_at   BIGINT NOT NULL,
    received_at    BIGINT NOT NULL
);
CREATE INDEX cash_collections_by_technician ON cash_collections (technician_id, business_day);
CREATE INDEX cash_collections_by_day ON cash_collections (business_day);

CREATE TABLE cash_remittances (
    id             TEXT PRIMARY KEY,
    technician_id  TEXT NOT NULL,
    business_day   TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    remitted_at    BIGINT NOT NULL,
    received_by    TEXT NOT NULL,
    note           TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX cash_remittances_by_technician ON cash_remittances (technician_id, business_day);
CREATE INDEX cash_remittances_by_day ON cash_remittances (business_day);
