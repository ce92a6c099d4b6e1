-- +goose Up
-- Second factors: TOTP secrets are sealed with AUTH_DATA_KEYS; last_step is
-- the last accepted time step, so a code works once.
CREATE TABLE mfa_factors (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    secret       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    verified_at  TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    last_step    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mfa_factors_user_idx ON mfa_factors (user_id);

CREATE TABLE recovery_codes (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- The second step of a sign-in: the mfaToken's jti names a row, so the token
-- is single use and its attempts are shared by every instance.
CREATE TABLE mfa_challenges (
    id                 UUID PRIMARY KEY,
    user_id            UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_version BIGINT NOT NULL,
    attempts           INTEGER NOT NULL DEFAULT 0,
    remember           BOOLEAN NOT NULL DEFAULT FALSE,
    amr                TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL,
    consumed_at        TIMESTAMPTZ
);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE mfa_factors;
