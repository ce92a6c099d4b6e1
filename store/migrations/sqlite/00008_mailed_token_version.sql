-- +goose Up
-- A mailed token records the user's credential version when it was issued
-- and is refused once that version moved on (a password change or reset,
-- disable, email change, factor change). Tokens issued before this migration
-- take the user's current version, so they keep working until they expire.
ALTER TABLE one_time_tokens ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;
UPDATE one_time_tokens SET credential_version =
    (SELECT users.credential_version FROM users WHERE users.id = one_time_tokens.user_id);

-- +goose Down
ALTER TABLE one_time_tokens DROP COLUMN credential_version;
