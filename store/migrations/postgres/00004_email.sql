-- +goose Up
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;

-- One-time tokens (verification, reset, email change, sign-in): only hashes.
CREATE TABLE one_time_tokens (
    id          UUID PRIMARY KEY,
    purpose     TEXT NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    code_hash   TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);
CREATE INDEX one_time_tokens_email_idx ON one_time_tokens (email, purpose);

-- The transactional outbox: requests insert a mail request; a worker
-- resolves it (the token, the rendered and sealed message) and sends it.
CREATE TABLE email_outbox (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    user_id          UUID,
    new_email        TEXT NOT NULL DEFAULT '',
    payload          TEXT NOT NULL DEFAULT '',
    token_expires_at TIMESTAMPTZ,
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_until      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ
);
CREATE INDEX email_outbox_due_idx ON email_outbox (state, next_attempt_at);
CREATE INDEX email_outbox_recipient_idx ON email_outbox (recipient, kind, created_at);

-- +goose Down
DROP TABLE email_outbox;
DROP TABLE one_time_tokens;
ALTER TABLE users DROP COLUMN email_verified;
