-- Version 6: customer links to a visit's service report. The token is
-- random (256 bits) and only its SHA-256 is stored; a link stops working at
-- expires_at (Unix milliseconds).
CREATE TABLE report_links (
    token_hash  TEXT PRIMARY KEY,
    visit_id    TEXT NOT NULL REFERENCES visits (visit_id),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX report_links_visit ON report_links (visit_id);
