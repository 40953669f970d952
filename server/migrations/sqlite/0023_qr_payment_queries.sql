-- Version 23: how a QR payment was confirmed paid — by the provider's
-- signed notification ('notification') or by the server's own order query
-- (查单, 'query') when the notification never came (issue 19, item 4).
-- Orders paid before this version were confirmed by notification.
ALTER TABLE qr_payments ADD COLUMN confirmed_by TEXT;
UPDATE qr_payments SET confirmed_by = 'notification' WHERE state = 'paid';
