-- Migration 0040: a customer's consultations (intakes the desk answered
-- without an order) found by the caller's phone through an index. A
-- customer's erasure and copy of data read every such intake ever
-- recorded and parsed its caller. Each intake now keeps its caller's
-- phone digits as the orders' look-up rows keep theirs
-- (`store::order_lookup::phone_digits`), written with the intake and
-- rewritten with its caller; the intakes recorded before this version get
-- theirs when the server opens the database (`pending_fills`). The index
-- of 0038 gains the digits after the order: an order's intakes and the
-- consultations (no order) of a phone are both found through it.
ALTER TABLE intakes ADD COLUMN caller_phone_digits TEXT;
DROP INDEX intakes_assignment;
CREATE INDEX intakes_by_order_and_caller_phone ON intakes (assignment_id, caller_phone_digits);
INSERT INTO pending_fills (name) VALUES ('intakes_caller_phone');
