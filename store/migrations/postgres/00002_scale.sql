-- +goose Up
-- Cache invalidations for engines without LISTEN/NOTIFY (polled).
CREATE TABLE cache_events (
    id         BIGSERIAL PRIMARY KEY,
    key        TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- Shared rate-limit and lockout counters (AUTH_RATE_LIMIT_STORE=database).
CREATE TABLE rate_counters (
    key          TEXT PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count        INTEGER NOT NULL
);

CREATE TABLE lockouts (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

-- +goose Down
DROP TABLE lockouts;
DROP TABLE rate_counters;
DROP TABLE cache_events;
