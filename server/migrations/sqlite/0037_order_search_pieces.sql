-- Migration 0037: a search starts from the orders holding a piece of what
-- was typed, not from every order. Each order's search text (order id,
-- customer name, address: the look-up row of 0030) is cut into its pieces
-- of two and three characters, its phone digits into pieces of four, each
-- row keyed by piece and receipt time (`store::order_search_pieces`). A
-- search counts how many orders hold each of its pieces (up to 100), reads
-- the rarest's orders newest first and checks the whole text on those; a
-- piece no order holds ends the search at once. Before, a search for a rare
-- name or phone walked every order's look-up row (tests/server/
-- history_reads.rs saw its steps double with the history). The orders
-- taken before this version get their pieces when the server opens the
-- database (`pending_fills`).
CREATE TABLE assignment_search_grams (
    gram          TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    assignment_id TEXT NOT NULL REFERENCES assignments (id),
    PRIMARY KEY (gram, received_at, assignment_id)
) WITHOUT ROWID;
INSERT INTO pending_fills (name) VALUES ('assignment_search_grams');
