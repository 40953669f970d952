-- Migration 0034: the queue's index of requests (0032) written as a chain
-- of equalities. SQLite evaluates a partial index's condition at every
-- insert into its table, and a condition `kind IN (ten texts)` cost every
-- fact the push stores about 2.5 µs (an ephemeral table of the list built
-- for each row; the push took about 15 % longer), where the same condition
-- as `kind = … OR kind = …` costs nothing measurable. The queue's query
-- names the same chain, in the same order (`store::desk_requests`), or no
-- index serves it.
DROP INDEX events_desk_requests;
CREATE INDEX events_desk_requests ON events (recorded_at, event_id)
    WHERE kind = 'center_verification_requested' OR kind = 'fields_waived'
       OR kind = 'quote_refused' OR kind = 'escalated_to_center'
       OR kind = 'payment_refused' OR kind = 'payment_deferred'
       OR kind = 'manager_visit_requested' OR kind = 'center_notified_absent'
       OR kind = 'acceptance_code_withheld' OR kind = 'incident_recorded';
