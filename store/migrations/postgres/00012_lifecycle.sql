-- +goose Up
-- User metadata (the user's own, set with PATCH /auth/me) and app metadata
-- (set by administrators): JSON objects, stored as their serialised text.
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';

-- Webhook deliveries: one row per (event, URL), written in the transaction
-- of the event's audit row. user_id (no foreign key: user.deleted outlives
-- the user) orders a user's events per URL; state is pending, delivered or
-- failed (for good, after 24 hours of retries, until retried).
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    url             TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (user_id, url, id);

-- +goose Down
DROP TABLE webhook_deliveries;
ALTER TABLE users DROP COLUMN app_metadata;
ALTER TABLE users DROP COLUMN metadata;
