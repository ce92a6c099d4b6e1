package models

import "time"

// EventType names what an audit event records. Administrators filter on
// these, so a type is never renamed.
type EventType string

// Audit event types.
const (
	EventRegister             EventType = "register"
	EventLoginSucceeded       EventType = "login_succeeded"
	EventLoginFailed          EventType = "login_failed"
	EventLogout               EventType = "logout"
	EventRefreshReuseDetected EventType = "refresh_reuse_detected"
	EventPasswordChanged      EventType = "password_changed"
	EventSessionRevoked       EventType = "session_revoked"
	EventLockout              EventType = "lockout"
	EventLockoutLifted        EventType = "lockout_lifted"
	EventPasswordChangeFailed EventType = "password_change_failed"
	EventPasswordReset        EventType = "password_reset"
	EventEmailVerified        EventType = "email_verified"
	EventEmailChanged         EventType = "email_changed"
	EventMFAEnrolled          EventType = "mfa_enrolled"
	EventMFARemoved           EventType = "mfa_removed"
	EventMFAFailed            EventType = "mfa_failed"
	EventMFAReset             EventType = "mfa_reset"
	EventReauthenticated      EventType = "reauthenticated"
	EventUserUpdated          EventType = "user_updated"
	EventPasswordVoided       EventType = "password_voided"
	EventIdentityLinked       EventType = "identity_linked"
	EventIdentityUnlinked     EventType = "identity_unlinked"
	EventAccountDeleted       EventType = "account_deleted"
	EventUserCreated          EventType = "user_created"
	// EventRecoveryCodesRegenerated: a new set voided the old one.
	EventRecoveryCodesRegenerated EventType = "recovery_codes_regenerated"
	// EventSignupDenied: an abuse control refused a sign-up (the detail
	// names the reason: captcha, domain or hook).
	EventSignupDenied EventType = "signup_denied"
	// EventPasswordBreached: the password a user signed in with was found
	// in a breach corpus, and they were told.
	EventPasswordBreached EventType = "password_breached"
)

// AuditEvent records something that happened to an account. UserID is empty
// when no account is known (a failed login for an unknown email); Email then
// holds the submitted, normalised address.
type AuditEvent struct {
	// Webhooks are written with the event, in its transaction (not a
	// column).
	Webhooks  []WebhookDelivery `gorm:"-"`
	ID        string            `gorm:"primaryKey"`
	Type      EventType
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
	Type   EventType
	Limit  int
}

// Passkey events.
const (
	EventPasskeyRegistered    EventType = "passkey_registered"
	EventPasskeyRenamed       EventType = "passkey_renamed"
	EventPasskeyRemoved       EventType = "passkey_removed"
	EventPasskeyCloneDetected EventType = "passkey_clone_detected"
)
