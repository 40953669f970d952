-- Migration 0033: each technician's last known position kept, not searched
-- for. The map and the technician picker (at every order a dispatcher
-- assigns) read the newest 20 000 facts of the last two days for their
-- location fixes, through no index on `recorded_at`: every fact ever
-- pushed was read and the last two days' sorted, each time (a year of 200
-- visits a day: about 3 million facts). The push now keeps each
-- technician's newest fix here (one row a technician, moved on by a push
-- that brings a newer one: `store::positions`); the fixes of the last two
-- days are copied in once when the server opens the database, while
-- `pending_fills` names the work. The fix is its JSON text (WGS-84, as
-- the phone reported it): the schema's values are integers and text.
CREATE TABLE technician_positions (
    technician_id TEXT PRIMARY KEY,
    recorded_at   INTEGER NOT NULL,
    fix           TEXT NOT NULL
);
INSERT INTO pending_fills (name) VALUES ('technician_positions');
