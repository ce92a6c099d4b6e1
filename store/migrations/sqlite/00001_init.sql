-- +goose Up
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL CHECK (email = lower(email)),
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    disabled_at   DATETIME,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   DATETIME NOT NULL,
    last_seen_at DATETIME NOT NULL,
    expires_at   DATETIME NOT NULL,
    revoked_at   DATETIME,
    refresh_gen  INTEGER NOT NULL DEFAULT 0,
    rotated_at   DATETIME NOT NULL,
    remember     BOOLEAN NOT NULL DEFAULT FALSE,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    user_id    TEXT,
    session_id TEXT,
    email      TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, created_at);
CREATE INDEX audit_events_type_idx ON audit_events (type, created_at);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE sessions;
DROP TABLE users;
