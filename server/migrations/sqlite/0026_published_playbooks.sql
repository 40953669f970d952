-- Version 26: the company's own playbook versions, published from the
-- server to the phones (core `playbook::published`): each version's body
-- (the playbook's canonical JSON) with the server's ECDSA P-256 signature
-- over it, who published it and when. A version is never replaced or
-- removed: a visit keeps the version it started with for as long as it
-- lives. The signing key's secret is in `settings` (playbook_signing_key).
CREATE TABLE published_playbooks (
    trade TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (trade, version)
);
