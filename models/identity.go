package models

import "time"

// Identity is a user's account at an OpenID Connect provider, keyed by
// (Issuer, Subject): the provider's email is recorded, never used as the key.
type Identity struct {
	ID            string `gorm:"primaryKey"`
	UserID        string
	Provider      string // the configured name (AUTH_OIDC_PROVIDERS)
	Issuer        string
	Subject       string
	Email         string
	EmailVerified bool
	CreatedAt     time.Time
	LastUsedAt    time.Time
}

// OIDCState is a finished callback's state (hashed): a replay is refused.
type OIDCState struct {
	ID        string `gorm:"primaryKey"`
	ExpiresAt time.Time
}

// TableName is where spent states live.
func (OIDCState) TableName() string { return "oidc_states" }
