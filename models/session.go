package models

import (
	"strings"
	"time"
)

// Session is one login: a row per device or client, revocable at any moment.
// RefreshGen is the generation of the only refresh token that may rotate it;
// RotatedAt is when that generation was issued.
type Session struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	RefreshGen int64
	RotatedAt  time.Time
	Remember   bool
	UserAgent  string
	IP         string
	// AAL is the assurance level (1: one factor, 2: two); AMR lists the
	// methods used, comma-separated (pwd, otp, recovery, webauthn, email,
	// oidc); AuthTime is when the user last proved who they are in it.
	AAL      int
	AMR      string
	AuthTime time.Time
}

// Methods returns the session's authentication methods.
func (s Session) Methods() []string {
	if s.AMR == "" {
		return []string{}
	}
	return strings.Split(s.AMR, ",")
}

// Live reports whether the session can still authenticate requests at now.
func (s Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// Lifetime is how long the session lasts after each refresh.
func (s Session) Lifetime(sessionTTL, rememberTTL time.Duration) time.Duration {
	if s.Remember {
		return rememberTTL
	}
	return sessionTTL
}

// SlidExpiry is the session's new expiry when it is refreshed at now: now plus
// its lifetime, never past maxAge after it was created.
func (s Session) SlidExpiry(now time.Time, lifetime, maxAge time.Duration) time.Time {
	exp := now.Add(lifetime)
	if limit := s.CreatedAt.Add(maxAge); exp.After(limit) {
		exp = limit
	}
	return exp
}
