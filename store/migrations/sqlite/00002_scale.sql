-- +goose Up
CREATE TABLE cache_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL,
    created_at DATETIME NOT NULL
);

CREATE TABLE rate_counters (
    key          TEXT PRIMARY KEY,
    window_start DATETIME NOT NULL,
    count        INTEGER NOT NULL
);

CREATE TABLE lockouts (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure DATETIME NOT NULL,
    locked_until DATETIME
);

-- +goose Down
DROP TABLE lockouts;
DROP TABLE rate_counters;
DROP TABLE cache_events;
