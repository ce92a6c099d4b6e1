package handlers

import (
	"encoding/json"
	"time"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// Time is a time on the wire: RFC 3339 in UTC with exactly three fraction
// digits, the same everywhere (Go's default drops trailing zeros).
type Time struct{ time.Time }

// wireTime is Time's layout.
const wireTime = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the time in the wire layout.
func (t Time) MarshalJSON() ([]byte, error) {
	return t.appendJSON(make([]byte, 0, len(wireTime)+2)), nil
}

func wire(t time.Time) Time { return Time{t.UTC()} }

// User is the public view of an account.
type User struct {
	ID    string `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b" validate:"required" format:"uuid"`
	Email string `json:"email" example:"ada@example.com" validate:"required" format:"email"`
	Name  string `json:"name" example:"Ada Lovelace" validate:"required"`
	Role  string `json:"role" enums:"user,admin" example:"user" validate:"required"`
	// EmailVerified says the user proved the address (a mailed link or code, a reset).
	EmailVerified bool `json:"emailVerified" example:"true" validate:"required"`
	// Metadata is the user's own JSON object (PATCH /auth/me); AppMetadata
	// one only administrators set (PATCH /admin/users/{id}). {} when empty.
	Metadata    json.RawMessage `json:"metadata" swaggertype:"object" validate:"required"`
	AppMetadata json.RawMessage `json:"appMetadata" swaggertype:"object" validate:"required"`
	CreatedAt   Time            `json:"createdAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
} //	@name	User

// Session is the public view of the caller's current session.
type Session struct {
	ID              string `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c" validate:"required" format:"uuid"`
	CreatedAt       Time   `json:"createdAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
	ExpiresAt       Time   `json:"expiresAt" swaggertype:"string" format:"date-time" example:"2026-11-30T10:00:00.000Z" validate:"required"`
	AccessExpiresAt Time   `json:"accessExpiresAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:15:00.000Z" validate:"required"`
	// AAL is the assurance level: 1 for one factor, 2 for two.
	AAL int `json:"aal" enums:"1,2" example:"1" validate:"required"`
	// AMR lists how the user signed in: pwd, email (and later otp, recovery, webauthn, oidc).
	AMR []string `json:"amr" example:"pwd" validate:"required"`
	// AuthTime is when the user last proved who they are in this session.
	AuthTime Time `json:"authTime" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
} //	@name	Session

// AuthResponse answers register, login, me and refresh.
type AuthResponse struct {
	User    User    `json:"user" validate:"required"`
	Session Session `json:"session" validate:"required"`
} //	@name	AuthResponse

// UserResponse wraps one user.
type UserResponse struct {
	User User `json:"user" validate:"required"`
} //	@name	UserResponse

// RegisterRequest creates an account.
type RegisterRequest struct {
	Email    string `json:"email" example:"ada@example.com" validate:"required" format:"email" maxLength:"254"`
	Password string `json:"password" example:"correct horse battery staple" validate:"required" format:"password" minLength:"8" maxLength:"256"`
	Name     string `json:"name" example:"Ada Lovelace" validate:"required" minLength:"1" maxLength:"100"`
} //	@name	RegisterRequest

// LoginRequest starts a session.
type LoginRequest struct {
	Email      string `json:"email" example:"ada@example.com" validate:"required" format:"email" maxLength:"254"`
	Password   string `json:"password" example:"correct horse battery staple" validate:"required" format:"password" maxLength:"256"`
	RememberMe bool   `json:"rememberMe" example:"false"`
} //	@name	LoginRequest

// UpdateMeRequest changes the caller's profile; absent fields keep their
// value. Email, role and password are changed elsewhere (422 here).
type UpdateMeRequest struct {
	Name *string `json:"name" minLength:"1" maxLength:"100" example:"Ada King"`
	// Metadata is a JSON merge patch (RFC 7396) of the user's metadata:
	// keys merge, null removes one. The result is at most 4 KiB serialised
	// and 5 levels deep (422).
	Metadata json.RawMessage  `json:"metadata,omitempty" swaggertype:"object"`
	Email    *json.RawMessage `json:"email,omitempty" swaggerignore:"true"`
	Role     *json.RawMessage `json:"role,omitempty" swaggerignore:"true"`
	Password *json.RawMessage `json:"password,omitempty" swaggerignore:"true"`
} //	@name	UpdateMeRequest

func userView(u models.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), EmailVerified: u.EmailVerified,
		Metadata: models.MetadataJSON(u.Metadata), AppMetadata: models.MetadataJSON(u.AppMetadata), CreatedAt: wire(u.CreatedAt)}
}

func authResponse(r auth.Result) AuthResponse {
	return AuthResponse{User: userView(r.User), Session: sessionView(r.Session, r.Tokens.AccessExpires)}
}

func sessionView(s models.Session, accessExpires time.Time) Session {
	return Session{ID: s.ID, CreatedAt: wire(s.CreatedAt), ExpiresAt: wire(s.ExpiresAt), AccessExpiresAt: wire(accessExpires),
		AAL: s.AAL, AMR: s.Methods(), AuthTime: wire(s.AuthTime)}
}
