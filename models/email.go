package models

import "time"

// TokenPurpose says what a one-time token proves.
type TokenPurpose string

// One-time token purposes.
const (
	PurposeVerifyEmail   TokenPurpose = "verify_email"
	PurposeResetPassword TokenPurpose = "reset_password"
	PurposeChangeEmail   TokenPurpose = "change_email"
	PurposeSignIn        TokenPurpose = "sign_in"
	// PurposeInvite sets the first password of a user an administrator
	// created (POST /auth/password/reset takes it like a reset).
	PurposeInvite TokenPurpose = "invite"
)

// OneTimeToken is a token mailed to a user: only the hashes of the token
// (and of the sign-in code) are kept.
type OneTimeToken struct {
	ID        string `gorm:"primaryKey"`
	Purpose   TokenPurpose
	UserID    string
	Email     string // the address it was sent to (the new one for an email change)
	TokenHash string
	CodeHash  string
	Attempts  int
	// CredentialVersion is the user's credential version when the token
	// was issued: the token is refused once it changed.
	CredentialVersion int64
	CreatedAt         time.Time
	ExpiresAt         time.Time
	ConsumedAt        *time.Time
}

// MailKind is a type of message, and the name of its templates.
type MailKind string

// Mail kinds.
const (
	MailVerifyEmail     MailKind = "verify_email"
	MailResetPassword   MailKind = "reset_password"
	MailChangeEmail     MailKind = "change_email"
	MailEmailChanged    MailKind = "email_changed"
	MailPasswordChanged MailKind = "password_changed"
	MailSignInCode      MailKind = "sign_in_code"
	MailAccountExists   MailKind = "account_exists"
	MailMFAEnrolled     MailKind = "mfa_enrolled" // a second factor was turned on
	MailMFARemoved      MailKind = "mfa_removed"  // a factor was removed, or an operator reset them all
	MailMFAFailed       MailKind = "mfa_failed"   // wrong second factors locked the account
	// MailPasswordRemoved tells the owner of an address proven for the first
	// time by a sign-in that the password set before was voided.
	MailPasswordRemoved MailKind = "password_removed"
	// MailPasswordBreached tells a user the password they signed in with
	// appears in a data breach.
	MailPasswordBreached MailKind = "password_breached"
	// MailAccountDeleted tells the former owner that the account is gone;
	// it names no user (there is none left to name).
	MailAccountDeleted MailKind = "account_deleted"
	// MailInvite carries the link an administrator's invitation sets the
	// first password with.
	MailInvite MailKind = "invite"
)

// MailRequest asks for a message to be sent later by the outbox worker,
// which decides whether it is sent at all: requests never talk to SMTP and
// never reveal whether an address has an account.
type MailRequest struct {
	Kind      MailKind
	Recipient string
	UserID    string // when known
	NewEmail  string // for an email change
	// CredentialVersion, when set, is the user's credential version the
	// request was made under: the worker drops it once that changed.
	CredentialVersion *int64
	CreatedAt         time.Time
}

// QueuedMail is a mail request the outbox worker has claimed.
type QueuedMail struct {
	ID             int64
	Kind           MailKind
	Recipient      string
	UserID         string
	NewEmail       string
	Payload        string // the sealed rendered message; "" until resolved
	TokenExpiresAt *time.Time
	Attempts       int
	CreatedAt      time.Time
	// CredentialVersion is the request's (MailRequest.CredentialVersion).
	CredentialVersion *int64
}
