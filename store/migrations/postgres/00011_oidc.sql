-- +goose Up
-- Identities at OpenID Connect providers, keyed by (issuer, subject) — never
-- by email. A user may hold several; deleting the user deletes them.
CREATE TABLE identities (
    id             UUID PRIMARY KEY,
    user_id        UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX identities_issuer_subject_idx ON identities (issuer, subject);
CREATE INDEX identities_user_idx ON identities (user_id);

-- The states of finished OIDC callbacks (a SHA-256 of the state), so a
-- replayed callback is refused even with the flow cookie; prunable once
-- expires_at (the flow cookie's own end) has passed.
CREATE TABLE oidc_states (
    id         TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_states_expires_idx ON oidc_states (expires_at);

-- +goose Down
DROP TABLE oidc_states;
DROP TABLE identities;
