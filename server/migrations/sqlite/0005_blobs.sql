-- Version 5 (issue 12): photo blobs the devices uploaded, content-addressed.
-- The bytes are files in the blob directory (--blob-dir, default
-- <data dir>/blobs), named by their SHA-256; a row here means the file is
-- whole and its bytes hash to `digest`. An upload in progress has no row,
-- only a partial file. Keep in step with ../postgres/0005_blobs.sql.
CREATE TABLE blobs (
    digest       TEXT PRIMARY KEY,
    size_bytes   INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    device_id    TEXT NOT NULL REFERENCES devices (id),
    stored_at    INTEGER NOT NULL
);
