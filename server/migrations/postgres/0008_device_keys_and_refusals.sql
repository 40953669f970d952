-- Version 8: device signatures and refused facts for dispatchers.
-- A phone enrolled with version 2 of enrolment registers the public half of
-- its ECDSA P-256 device key (hex, SEC1 or SubjectPublicKeyInfo); phones
-- enrolled with version 1 have none and their sign-offs are "unsigned".
ALTER TABLE devices ADD COLUMN public_key TEXT;
ALTER TABLE devices ADD COLUMN enrolment_version BIGINT NOT NULL DEFAULT 1;
-- A refused fact names its visit, assignment and kind, so dispatchers can
-- list them (GET /api/refused-events) without reading the bodies.
ALTER TABLE refused_events ADD COLUMN visit_id TEXT;
ALTER TABLE refused_events ADD COLUMN assignment_id TEXT;
ALTER TABLE refused_events ADD COLUMN kind TEXT;
CREATE INDEX refused_events_received ON refused_events (received_at);
