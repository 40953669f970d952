-- Migration 0035: the orders' look-up rows (0030) filled in once, as the
-- photo facts (0031) and the positions (0033) are: while `pending_fills`
-- names the work. Before, every start of the server asked every order
-- whether it had its look-up row (a year of 200 orders a day: 73 000).
INSERT INTO pending_fills (name) VALUES ('assignment_lookup');
