-- Version 28: the last number given to an order of each day, so an intake
-- numbers its order (`A-YYYYMMDD-NNNN`) by one lookup rather than by
-- counting the day's ids with `LIKE`, which no index serves (SQLite's LIKE
-- is case-blind; PostgreSQL's needs the C collation) and so read every
-- assignment ever taken, at every intake. A day with no row starts from
-- its first number and steps past the ids it finds taken (a day numbered
-- before this version: one primary-key lookup each, once).
CREATE TABLE order_numbers (
    day  TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
