-- +goose Up
-- Passkeys (WebAuthn credentials). credential_id is the authenticator's id
-- (base64url); sign_count moves only forward (clone detection).
CREATE TABLE passkeys (
    id              UUID PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    public_key      BYTEA NOT NULL,
    attestation     TEXT NOT NULL DEFAULT '',
    sign_count      BIGINT NOT NULL DEFAULT 0,
    aaguid          TEXT NOT NULL DEFAULT '',
    transports      TEXT NOT NULL DEFAULT '',
    user_verified   BOOLEAN NOT NULL DEFAULT FALSE,
    backup_eligible BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state    BOOLEAN NOT NULL DEFAULT FALSE,
    name            TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- WebAuthn ceremonies in flight: the flowId names a row, which one
-- conditional update consumes. Pruned by expires_at.
CREATE TABLE webauthn_challenges (
    id               UUID PRIMARY KEY,
    purpose          TEXT NOT NULL,
    user_id          UUID,
    session_id       UUID,
    mfa_challenge_id UUID,
    data             TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    consumed_at      TIMESTAMPTZ
);
CREATE INDEX webauthn_challenges_expires_idx ON webauthn_challenges (expires_at);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE passkeys;
