-- Version 13: device tokens rotate. token_issued_at is when the device's
-- current token was issued (enrolment before this version: enrolled_at);
-- a token replaced by a rotation stays valid until valid_until (the grace
-- period, Unix milliseconds), so a phone that missed the new token still
-- syncs. Only SHA-256 hashes are stored.
ALTER TABLE devices ADD COLUMN token_issued_at INTEGER;
UPDATE devices SET token_issued_at = enrolled_at;
CREATE TABLE device_retired_tokens (
    token_hash  TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL REFERENCES devices (id),
    valid_until INTEGER NOT NULL
);
CREATE INDEX device_retired_tokens_device ON device_retired_tokens (device_id);
