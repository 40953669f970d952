-- Version 24: when a privacy-number binding ends at the provider
-- (its Expiration, Unix ms), so the server extends it before then while
-- the order is still the technician's (UpdateSubscription, updateExpire).
-- Bindings made before this version are taken to end 720 hours (the
-- default --privacy-binding-hours) after they were asked for.
ALTER TABLE privacy_bindings ADD COLUMN expires_at INTEGER;
UPDATE privacy_bindings SET expires_at = created_at + 2592000000
 WHERE state IN ('binding', 'bound');
