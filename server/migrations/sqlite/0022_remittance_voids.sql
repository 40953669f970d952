-- Version 22: a remittance entered wrongly is voided (作废), never deleted:
-- it stays on the ledger with who voided it, when and why, and counts no
-- more (issue 19, item 4). A correction is a void and a new remittance.
ALTER TABLE cash_remittances ADD COLUMN voided_at INTEGER;
ALTER TABLE cash_remittances ADD COLUMN voided_by TEXT;
ALTER TABLE cash_remittances ADD COLUMN void_reason TEXT;
