-- Version 21: pay by QR at the door (issue 19, item 4). One row per
-- native-pay order a technician's phone asked for (WeChat Pay, Alipay): the
-- visit it pays, who asked, the merchant's order number the provider knows
-- it by (out_trade_no: letters and digits, at most 32), the amount in fen,
-- where it stands (creating → awaiting_payment → paid; closed, failed), the
-- provider's QR link, why it failed (en, zh) and the provider's transaction
-- once paid. qr_payment_notifications logs every provider notification
-- received, accepted or refused (and why).
CREATE TABLE qr_payments (
    id                       TEXT PRIMARY KEY,
    assignment_id            TEXT NOT NULL,
    visit_id                 TEXT NOT NULL,
    technician_id            TEXT NOT NULL,
    device_id                TEXT NOT NULL,
    provider                 TEXT NOT NULL,
    out_trade_no             TEXT NOT NULL UNIQUE,
    amount                   INTEGER NOT NULL,
    state                    TEXT NOT NULL,
    code_url                 TEXT,
    failure_en               TEXT,
    failure_zh               TEXT,
    created_at               INTEGER NOT NULL,
    expires_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    paid_at                  INTEGER,
    provider_transaction_id  TEXT
);
CREATE INDEX qr_payments_by_visit ON qr_payments (visit_id, created_at);
CREATE INDEX qr_payments_by_assignment ON qr_payments (assignment_id, created_at);

CREATE TABLE qr_payment_notifications (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    out_trade_no   TEXT,
    outcome        TEXT NOT NULL,
    reason         TEXT,
    received_at    INTEGER NOT NULL
);
CREATE INDEX qr_payment_notifications_by_time ON qr_payment_notifications (received_at);
