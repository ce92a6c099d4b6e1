package models

import "time"

// Factor is a second factor of a user (TOTP today). Secret is sealed with
// AUTH_DATA_KEYS; LastStep is the last accepted TOTP time step.
type Factor struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Type       string // "totp"
	Name       string
	Secret     string
	Status     string // "pending" until its first code, then "active"
	CreatedAt  time.Time
	VerifiedAt *time.Time
	LastUsedAt *time.Time
	LastStep   int64
}

// TableName is where factors live.
func (Factor) TableName() string { return "mfa_factors" }

// Factor statuses.
const (
	FactorPending = "pending"
	FactorActive  = "active"
)

// RecoveryCode is one single-use recovery code, stored hashed.
type RecoveryCode struct {
	ID        string `gorm:"primaryKey"`
	UserID    string
	CodeHash  string
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Spend is what a second-factor proof uses up: one TOTP time step of a
// factor (FactorID, Step), or one recovery code (RecoveryCodeID).
type Spend struct {
	FactorID       string
	Step           int64
	RecoveryCodeID string
}

// MFAChallenge is the second step of a sign-in, named by an mfaToken's jti.
type MFAChallenge struct {
	ID                string `gorm:"primaryKey"`
	UserID            string
	CredentialVersion int64
	Attempts          int
	Remember          bool
	AMR               string // the first factor's method
	CreatedAt         time.Time
	ExpiresAt         time.Time
	ConsumedAt        *time.Time
}

// TableName is where challenges live.
func (MFAChallenge) TableName() string { return "mfa_challenges" }
