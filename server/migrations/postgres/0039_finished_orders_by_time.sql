-- Migration 0039: when each order finished, stored, so the retention run
-- finds the orders due without reading every finished one. An order
-- finished (done or cancelled) when its last visit closed or, without a
-- closed visit, when the order last changed; `finished_at` holds that
-- time while the order is finished and NULL otherwise, kept by
-- `store::personal_data::refresh_finished_at` whenever an order is
-- written, its status set or one of its visits closes. The partial index
-- holds only the finished orders still holding their contact, oldest
-- first: the retention run's batches walk exactly the orders they mask.
ALTER TABLE assignments ADD COLUMN finished_at BIGINT;
UPDATE assignments
   SET finished_at = COALESCE((SELECT MAX(v.closed_at) FROM visits v WHERE v.assignment_id = assignments.id),
                              updated_at)
 WHERE status IN ('done', 'cancelled');
CREATE INDEX assignments_due_for_retention ON assignments (finished_at, id)
    WHERE finished_at IS NOT NULL AND contact_masked_at IS NULL AND contact_erased_at IS NULL;
