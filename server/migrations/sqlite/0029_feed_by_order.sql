-- Version 29: an order's integration events found by the order, and the
-- outbound messages listed newest first without sorting them all. The
-- console's view of an order asked the feed for the order's events, and
-- with no index on `assignment_id` read every event the center ever
-- recorded (a year of 200 orders a day: about 900 000 rows) at every
-- opening of an order; its list of outbound messages read and sorted the
-- whole outbox for each page.
CREATE INDEX integration_events_assignment ON integration_events (assignment_id, id);
CREATE INDEX outbox_newest ON outbox (created_at, id);
