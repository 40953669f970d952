-- Version 29: the console's lists read through indexes. The view of one
-- order asked the feed for the order's events, and with no index on
-- `assignment_id` read every event the center ever recorded (a year of
-- 200 orders a day: about 900 000 rows) at every opening of an order; the
-- list of outbound messages and the desk's list of intakes read and sorted
-- their whole tables for each page, newest first.
CREATE INDEX integration_events_assignment ON integration_events (assignment_id, id);
CREATE INDEX outbox_newest ON outbox (created_at, id);
CREATE INDEX intakes_newest ON intakes (received_at);
