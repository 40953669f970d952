-- A dispatcher reviews a fact the server refused (a phone's record that did
-- not make it): the requests queue lists the unreviewed ones.
ALTER TABLE refused_events ADD COLUMN reviewed_at BIGINT;
ALTER TABLE refused_events ADD COLUMN reviewed_by TEXT;
