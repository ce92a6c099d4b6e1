package models

import "time"

// Role is a user's authorisation role.
type Role string

// The roles Portcullis knows.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// User is an account. Email is stored normalised (trimmed, lower-cased) and is
// unique. PasswordHash is a PHC-format argon2id string (or a legacy bcrypt hash)
// and never leaves the service: wire types live in package handlers.
type User struct {
	ID           string `gorm:"primaryKey"`
	Email        string
	Name         string
	PasswordHash string
	Role         Role
	DisabledAt   *time.Time
	// CredentialVersion changes with every password change, reset and
	// disable; a session is created only while the version its check read
	// is current.
	CredentialVersion int64
	// EmailVerified is set once the user proved the address (a link or
	// code mailed to it, a password reset).
	EmailVerified bool
	// Metadata is the user's own JSON object (PATCH /auth/me); AppMetadata
	// one only administrators set. Both are stored serialised; "" reads
	// as {}.
	Metadata    string
	AppMetadata string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Disabled reports whether an administrator has disabled the account.
func (u User) Disabled() bool { return u.DisabledAt != nil }

// UserChange is an administrator's change to a user; nil fields are kept.
type UserChange struct {
	Role     *Role
	Disabled *bool
	// AppMetadata, when set, is a JSON merge patch (RFC 7396) of the
	// user's app metadata.
	AppMetadata []byte
}

// MetadataJSON returns a stored metadata object, {} when empty.
func MetadataJSON(s string) []byte {
	if s == "" || s == "{}" {
		// Shared and never written to: length and capacity 2, so an
		// append copies it.
		return emptyObject[:2:2]
	}
	return []byte(s)
}

var emptyObject = []byte("{}")

// LoginMethods are the ways into an account that a removal would leave:
// the password, passkeys and linked identities (the mailed code is always
// there, but needs SMTP).
type LoginMethods struct {
	Password   bool
	Passkeys   int
	Identities int
}

// None reports whether nothing but the mailed code is left.
func (m LoginMethods) None() bool { return !m.Password && m.Passkeys == 0 && m.Identities == 0 }
