-- Migration 0038: an order's intakes found through an index. A customer's
-- erasure, copy of data and the retention run read every stored document
-- of an order (`store::personal_data::documents_of`), its intakes among
-- them, and a customer's unlinked intakes (those without an order); both
-- read every intake ever recorded.
CREATE INDEX intakes_assignment ON intakes (assignment_id);
