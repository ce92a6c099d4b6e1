-- +goose Up
-- User metadata (the user's own, set with PATCH /auth/me) and app metadata
-- (set by administrators): JSON objects, stored as their serialised text.
ALTER TABLE users ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE users DROP COLUMN app_metadata;
ALTER TABLE users DROP COLUMN metadata;
