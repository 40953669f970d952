-- Migration 0018: e-fapiao requests. Keep in step with
-- ../sqlite/0018_invoice_requests.sql.
-- `invoice_requests`: the customer's request for an electronic invoice
-- (电子发票) for one work order — buyer type, title (发票抬头), tax number
-- (纳税人识别号), where to send it (e-mail and/or mobile), the amount
-- (the money collected on the order's visits, minor units; NULL until a
-- payment is known) — and where it is: requested (waiting for the amount)
-- → queued (in the outbox to the invoicing provider; `provider_serial` once
-- the provider took it) → issued (`invoice_number`) or failed
-- (`failure_reason`). `order_no` is the provider's order number, unique:
-- the provider refuses a second invoice for the same one.
CREATE TABLE invoice_requests (
    id              TEXT PRIMARY KEY,
    assignment_id   TEXT NOT NULL REFERENCES assignments (id),
    buyer_type      TEXT NOT NULL,
    title           TEXT NOT NULL,
    tax_number      TEXT,
    email           TEXT,
    phone           TEXT,
    amount          BIGINT,
    order_no        TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL,
    provider_serial TEXT,
    invoice_number  TEXT,
    failure_reason  TEXT,
    source          TEXT NOT NULL,
    requested_by    TEXT NOT NULL,
    requested_at    BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    issued_at       BIGINT
);
CREATE INDEX invoice_requests_assignment ON invoice_requests (assignment_id, requested_at);
CREATE INDEX invoice_requests_state ON invoice_requests (state);
