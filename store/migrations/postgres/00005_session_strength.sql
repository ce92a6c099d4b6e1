-- +goose Up
-- How each session was authenticated: its assurance level, the methods used
-- (comma-separated: pwd, otp, recovery, webauthn, email, oidc) and when the
-- user last proved who they are in it.
ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN auth_time TIMESTAMPTZ;
UPDATE sessions SET auth_time = created_at;

-- +goose Down
ALTER TABLE sessions DROP COLUMN auth_time;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN aal;
