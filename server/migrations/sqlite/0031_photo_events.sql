-- Migration 0031: a photo's facts found by its digest. Each upload of a
-- photo (every HEAD and PUT of `/api/sync/blobs/{sha256}`) looked for the
-- device's `photo_taken` fact naming it with `body LIKE '%"digest":"…"%'`,
-- reading every fact the device ever pushed (about 70 000 a year); a
-- technician's phone fetching a photo read every fact of every device. Each
-- stored `photo_taken` fact now has a row here (written beside it by the
-- push, `store::blobs`), searched by the photo's digest. The facts stored
-- before are copied in once when the server opens the database (the server
-- parses them: the phone's trimmed SQLite has no JSON functions), while
-- `pending_fills` names the work.
CREATE TABLE photo_events (
    event_id      TEXT PRIMARY KEY REFERENCES events (event_id),
    digest        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    technician_id TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL
);
CREATE INDEX photo_events_digest ON photo_events (digest);
CREATE TABLE pending_fills (
    name TEXT PRIMARY KEY
);
INSERT INTO pending_fills (name) VALUES ('photo_events');
