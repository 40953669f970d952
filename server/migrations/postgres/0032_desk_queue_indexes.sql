-- Migration 0032: the desk's queue read through indexes. Every console
-- asks for the queue's count at each live update (`GET /api/requests`),
-- and the queue read every fact ever pushed to find the requests among
-- them (no index on `kind`: a year of 200 visits a day is about 3 million
-- facts), read them again for each order whose acceptance code the center
-- found wrong, and read every refused fact ever kept to find the ones not
-- reviewed. Partial indexes hold only what the queue asks for: the facts
-- of the kinds it lists (the list in `store::desk_requests`, in its order:
-- a query names the same list, or no index serves it), the codes a phone
-- sent unchecked, the orders whose code was wrong, the refused facts not
-- reviewed.
CREATE INDEX events_desk_requests ON events (recorded_at, event_id)
    WHERE kind IN ('center_verification_requested', 'fields_waived', 'quote_refused',
                   'escalated_to_center', 'payment_refused', 'payment_deferred',
                   'manager_visit_requested', 'center_notified_absent',
                   'acceptance_code_withheld', 'incident_recorded');
CREATE INDEX events_acceptance_codes ON events (assignment_id, recorded_at, event_id)
    WHERE kind = 'acceptance_code_entered';
CREATE INDEX acceptance_codes_wrong ON acceptance_codes (assignment_id)
    WHERE center_result = 'wrong';
CREATE INDEX refused_events_unreviewed ON refused_events (received_at, device_id, seq)
    WHERE reviewed_at IS NULL;
