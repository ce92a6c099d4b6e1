package models

import "time"

// Deletion is what DeleteUser does besides removing the user.
type Deletion struct {
	// EmailMAC replaces the user's email in every audit event that names it.
	EmailMAC string
	// Notice, when its Kind is set, is queued in the same transaction after
	// the user's pending mail is deleted (it carries no user id).
	Notice MailRequest
	// Event is recorded in the same transaction.
	Event *AuditEvent
}

// Export is everything stored about a user that may leave the service.
type Export struct {
	User       User
	Sessions   []Session
	Identities []Identity
	Factors    []Factor
	Passkeys   []Passkey
	Events     []AuditEvent
}

// WebhookDelivery is one event for one URL.
type WebhookDelivery struct {
	ID            int64 `gorm:"primaryKey"`
	EventID       string
	EventType     string
	UserID        string
	URL           string `gorm:"column:url"`
	Payload       string
	State         string // pending, delivered, failed
	Attempts      int
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
	LeaseUntil    *time.Time
	CreatedAt     time.Time
	FinishedAt    *time.Time
}
