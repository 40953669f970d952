-- Version 9 (issue 17): personal data as China's PIPL expects. Keep in step
-- with ../sqlite/0009_personal_data.sql.
-- When retention masked an order's customer contact (closed longer than
-- --contact-retention-days ago), and when it was erased on request.
ALTER TABLE assignments ADD COLUMN contact_masked_at BIGINT;
ALTER TABLE assignments ADD COLUMN contact_erased_at BIGINT;
-- Each erasure on request: who, when, why and which orders (their ids
-- only: the request's phone number is not kept).
CREATE TABLE personal_data_erasures (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    assignments  TEXT NOT NULL
);
-- Who was shown a customer's full contact details, when, for which order
-- and why (the endpoint that showed them).
CREATE TABLE contact_access_log (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL,
    accessed_at   BIGINT NOT NULL,
    assignment_id TEXT NOT NULL,
    purpose       TEXT NOT NULL
);
CREATE INDEX contact_access_log_assignment ON contact_access_log (assignment_id, accessed_at);
CREATE INDEX contact_access_log_time ON contact_access_log (accessed_at);
