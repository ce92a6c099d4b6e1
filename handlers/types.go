package handlers

import (
	"time"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// User is the public view of an account.
type User struct {
	ID        string    `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b"`
	Email     string    `json:"email" example:"ada@example.com"`
	Name      string    `json:"name" example:"Ada Lovelace"`
	Role      string    `json:"role" enums:"user,admin" example:"user"`
	CreatedAt time.Time `json:"createdAt" example:"2026-11-23T10:00:00Z"`
}

// Session is the public view of the caller's current session.
type Session struct {
	ID              string    `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c"`
	CreatedAt       time.Time `json:"createdAt" example:"2026-11-23T10:00:00Z"`
	ExpiresAt       time.Time `json:"expiresAt" example:"2026-11-30T10:00:00Z"`
	AccessExpiresAt time.Time `json:"accessExpiresAt" example:"2026-11-23T10:15:00Z"`
}

// AuthResponse answers register, login, me and refresh.
type AuthResponse struct {
	User    User    `json:"user"`
	Session Session `json:"session"`
}

// UserResponse wraps one user.
type UserResponse struct {
	User User `json:"user"`
}

// RegisterRequest creates an account.
type RegisterRequest struct {
	Email    string `json:"email" example:"ada@example.com"`
	Password string `json:"password" example:"correct horse battery staple"`
	Name     string `json:"name" example:"Ada Lovelace"`
}

// LoginRequest starts a session.
type LoginRequest struct {
	Email      string `json:"email" example:"ada@example.com"`
	Password   string `json:"password" example:"correct horse battery staple"`
	RememberMe bool   `json:"rememberMe" example:"false"`
}

// UpdateMeRequest changes the caller's profile.
type UpdateMeRequest struct {
	Name *string `json:"name" example:"Ada King"`
}

func userView(u models.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), CreatedAt: u.CreatedAt.UTC()}
}

func authResponse(r auth.Result) AuthResponse {
	return AuthResponse{User: userView(r.User), Session: sessionView(r.Session, r.Tokens.AccessExpires)}
}

func sessionView(s models.Session, accessExpires time.Time) Session {
	return Session{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(), AccessExpiresAt: accessExpires.UTC()}
}
