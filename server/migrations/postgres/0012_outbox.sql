-- Version 12: what leaves the server. Keep in step with
-- ../sqlite/0012_outbox.sql.
-- `outbox`: every outbound message (customer notice, webhook), delivered by
-- the server's worker with retries; the idempotency key is unique and sent
-- to the provider with every attempt; `lease_until` is the claim of a
-- delivery in flight (a claim whose lease ran out is delivered again).
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    assignment_id   TEXT,
    target          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    last_error      TEXT,
    provider_ref    TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_assignment ON outbox (assignment_id, created_at);

-- The customer's consent to notices for one work order, taken at intake:
-- the channel (sms / wechat), the number or WeChat openid, the language.
CREATE TABLE notice_consents (
    assignment_id TEXT PRIMARY KEY REFERENCES assignments (id),
    consented     BIGINT NOT NULL,
    channel       TEXT NOT NULL,
    address       TEXT NOT NULL,
    language      TEXT NOT NULL,
    recorded_at   BIGINT NOT NULL,
    recorded_by   TEXT NOT NULL
);

-- Integrators' API keys: only the SHA-256 of the key is stored.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- Where signed webhooks go. The signing secret is derived from the
-- server's key (an environment variable), never stored.
CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    event_types TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT
);

-- Order status changes and visit milestones, recorded in the transaction
-- that made them; the worker numbers them (`feed_seq`, in the order it
-- fans them out to webhooks and notices) for the polling feed.
CREATE TABLE integration_events (
    id            TEXT PRIMARY KEY,
    event_type    TEXT NOT NULL,
    assignment_id TEXT,
    visit_id      TEXT,
    occurred_at   BIGINT NOT NULL,
    data          TEXT NOT NULL,
    feed_seq      BIGINT UNIQUE
);
CREATE INDEX integration_events_feed ON integration_events (feed_seq, id);
