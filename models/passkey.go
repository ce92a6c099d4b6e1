package models

import (
	"errors"
	"time"
)

// Passkey is a WebAuthn credential of a user. CredentialID is the
// authenticator's credential id, base64url without padding; SignCount is the
// highest signature counter seen (clone detection); Transports is
// comma-separated.
type Passkey struct {
	ID             string `gorm:"primaryKey"`
	UserID         string
	CredentialID   string
	PublicKey      []byte
	Attestation    string
	SignCount      int64
	AAGUID         string `gorm:"column:aaguid"`
	Transports     string
	UserVerified   bool
	BackupEligible bool
	BackupState    bool
	Name           string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
}

// WebAuthnChallenge is a WebAuthn ceremony in flight, named by its flowId:
// the challenge and settings the answer is checked against (Data, JSON),
// what it was issued for, and to whom.
type WebAuthnChallenge struct {
	ID             string `gorm:"primaryKey"`
	Purpose        string
	UserID         *string
	SessionID      *string
	MFAChallengeID *string `gorm:"column:mfa_challenge_id"`
	Data           string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	ConsumedAt     *time.Time
}

// TableName is where WebAuthn ceremonies live.
func (WebAuthnChallenge) TableName() string { return "webauthn_challenges" }

// ErrSignCountBehind reports an assertion whose signature counter did not
// move past the stored one: a cloned authenticator, or a replay.
var ErrSignCountBehind = errors.New("models: the signature counter went backwards")
