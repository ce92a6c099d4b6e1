-- +goose Up
-- A mailed token records the user's credential version when it was issued
-- and is refused once that version moved on (a password change or reset,
-- disable, email change, factor change). Tokens issued before this migration
-- take the user's current version, so they keep working until they expire.
ALTER TABLE one_time_tokens ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
UPDATE one_time_tokens SET credential_version =
    (SELECT users.credential_version FROM users WHERE users.id = one_time_tokens.user_id);

-- A mail request made by a signed-in user (an email change) records the
-- version it was made under: the worker drops it if the credentials changed
-- before it issued the token. NULL: a request bound to no credentials.
ALTER TABLE email_outbox ADD COLUMN credential_version BIGINT;

-- +goose Down
ALTER TABLE email_outbox DROP COLUMN credential_version;
ALTER TABLE one_time_tokens DROP COLUMN credential_version;
