-- Migration 0030: the desk finds any order ever taken, not the newest few
-- thousand. A search, a caller's history, the intake's repeat warning and
-- the technician picker's day of bookings read the newest 5 000 (or 2 000)
-- assignments and parsed each body to filter it: at 200 orders a day, a
-- caller of 26 days ago had no history and an order booked two weeks ahead
-- was missing from its technician's day. Each assignment now has a narrow
-- row of what those reads match, derived from its body wherever the body
-- is written (`store::order_lookup`; orders taken before this version
-- are filled in when the server opens the database): the customer's phone
-- as digits, the lower-cased text a search matches (order id, customer
-- name, address) and the requested window. A search reads these rows
-- newest first (about a hundred bytes an order, where an assignment's row
-- holds its whole body); a phone's orders and a day's bookings are found
-- through indexes. The console's newest page of orders is read from an
-- index too, not sorted from the whole table.
CREATE TABLE assignment_lookup (
    assignment_id         TEXT PRIMARY KEY REFERENCES assignments (id),
    received_at           BIGINT NOT NULL,
    customer_phone_digits TEXT,
    search_text           TEXT NOT NULL,
    window_start          BIGINT,
    window_end            BIGINT
);
CREATE INDEX assignment_lookup_newest ON assignment_lookup (received_at, assignment_id);
CREATE INDEX assignment_lookup_phone ON assignment_lookup (customer_phone_digits, received_at, assignment_id);
CREATE INDEX assignment_lookup_window_end ON assignment_lookup (window_end);
CREATE INDEX assignments_newest ON assignments (received_at, id);
