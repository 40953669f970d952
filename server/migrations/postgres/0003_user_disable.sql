-- Version 3: an admin can disable a staff account (it cannot log in and its
-- sessions end); who disabled it and when are kept for audit.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN disabled_by TEXT;
