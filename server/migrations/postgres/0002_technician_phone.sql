-- Version 2: the technician's work phone, which the 1-hour rule (001)
-- requires the branch to give the customer with the visit time.
ALTER TABLE technicians ADD COLUMN phone TEXT;
