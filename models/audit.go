package models

import "time"

// Audit event types.
const (
	EventRegister             = "register"
	EventLoginSucceeded       = "login_succeeded"
	EventLoginFailed          = "login_failed"
	EventLogout               = "logout"
	EventRefreshReuseDetected = "refresh_reuse_detected"
	EventPasswordChanged      = "password_changed"
	EventSessionRevoked       = "session_revoked"
	EventLockout              = "lockout"
	EventUserUpdated          = "user_updated"
)

// AuditEvent records something that happened to an account. UserID is empty
// when no account is known (a failed login for an unknown email); Email then
// holds the submitted, normalised address.
type AuditEvent struct {
	ID        string `gorm:"primaryKey"`
	Type      string
	UserID    *string
	SessionID *string
	Email     string
	IP        string
	UserAgent string
	Detail    string
	CreatedAt time.Time
}

// EventFilter selects audit events; zero fields do not filter.
type EventFilter struct {
	UserID string
	Type   string
	Limit  int
}
