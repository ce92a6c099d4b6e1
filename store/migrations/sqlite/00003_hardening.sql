-- +goose Up
-- Password attempts being checked right now, apart from those that failed,
-- so a success forgets the failures without freeing the pending slots.
ALTER TABLE lockouts ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

-- Bumped by every password change, reset and disable: a session is created
-- only if the version its password check read is still current.
ALTER TABLE users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN credential_version;
ALTER TABLE lockouts DROP COLUMN pending;
