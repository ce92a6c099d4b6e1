// Package models holds Portcullis's domain types, their validation and the one
// error type every layer returns. It depends on the standard library only.
package models

import (
	"errors"
	"fmt"
)

// Kind classifies an error; the HTTP layer maps each kind to one status code.
type Kind int

// The error kinds. Their zero value is Internal so an unclassified error is
// never mistaken for a client error.
const (
	Internal        Kind = iota // a bug or an unexpected failure (500)
	Invalid                     // input failed validation (422)
	BadRequest                  // input could not be parsed (400)
	Unauthenticated             // no valid credentials (401)
	Forbidden                   // authenticated but not allowed (403)
	NotFound                    // no such resource, or not the caller's (404)
	Conflict                    // a uniqueness or state conflict (409)
	RateLimited                 // too many attempts (429)
	Unavailable                 // a dependency is down or overloaded (503)
	NotImplemented              // a capability this deployment has not set up (501)
)

// Error is the error type of Portcullis. Code is the machine-readable code sent
// to clients (empty means the kind's default code); Message is safe to show to
// a user; Fields lists per-field validation messages.
type Error struct {
	Kind    Kind
	Code    Code
	Message string
	Fields  map[string][]string
	// RetryAfter, when positive, is how long a client should wait (429, 503).
	RetryAfterSeconds int
	// Err is the underlying cause; it is logged, never sent to a client.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code err carries: its own, else its kind's.
func CodeOf(err error) Code {
	var e *Error
	if !errors.As(err, &e) {
		return CodeInternal
	}
	if e.Code != "" {
		return e.Code
	}
	return e.Kind.Code()
}

// Errorf returns an *Error of the given kind with a formatted, client-safe message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind whose cause is err. The message is
// what clients see; err is only logged.
func Wrap(kind Kind, err error, message string) *Error {
	return &Error{Kind: kind, Message: message, Err: err}
}

// KindOf returns the kind of err, or Internal when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// IsKind reports whether err is an *Error of the given kind.
func IsKind(err error, kind Kind) bool {
	if err == nil {
		return false
	}
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// ErrStaleCredentials reports that a user's credentials changed, or the user
// was disabled, between a check and the write that relied on it.
var ErrStaleCredentials = &Error{Kind: Conflict, Message: "the credentials changed since they were checked"}

// ErrChallengeConsumed reports that another request consumed a second step
// first; ErrProofSpent that the TOTP step or recovery code of a proof was
// used meanwhile. Either way the store changed nothing.
var (
	ErrChallengeConsumed = &Error{Kind: Conflict, Message: "the second step was already completed"}
	ErrProofSpent        = &Error{Kind: Conflict, Message: "the code was already used"}
)

// FieldErrors collects validation messages for several fields so that all of
// them are reported together.
type FieldErrors map[string][]string

// Add records a message for field.
func (f FieldErrors) Add(field, message string) { f[field] = append(f[field], message) }

// Err returns nil when no field failed, else an Invalid *Error listing them.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: Invalid, Code: CodeValidationFailed, Message: "some fields are invalid", Fields: f}
}
