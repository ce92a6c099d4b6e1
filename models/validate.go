package models

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on user-supplied fields.
const (
	MaxEmailLength    = 254
	MaxNameLength     = 100
	MinPasswordLength = 8
	MaxPasswordLength = 256
	MaxPasswordBytes  = 1024
)

// NormalizeEmail trims and lower-cases an address. It does not validate it.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// EmailProblem returns why a normalised address is unacceptable, or "" when it
// is a bare local@domain address with a dotted domain.
func EmailProblem(email string) string {
	switch {
	case email == "":
		return "is required"
	case !utf8.ValidString(email):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(email) > MaxEmailLength:
		return "must be at most 254 characters"
	case strings.IndexFunc(email, unsafeRune) >= 0:
		return "must not contain spaces or control characters"
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "must be an email address such as name@example.com"
	}
	at := strings.LastIndexByte(email, '@')
	domain := email[at+1:]
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "must have a domain such as example.com"
	}
	return ""
}

// NormalizeName trims a display name.
func NormalizeName(s string) string { return strings.TrimSpace(s) }

// NameProblem returns why a normalised display name is unacceptable, or "".
func NameProblem(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case n == 0:
		return "is required"
	case n > MaxNameLength:
		return "must be at most 100 characters"
	case strings.IndexFunc(name, controlRune) >= 0:
		return "must not contain control characters"
	}
	return ""
}

// PasswordShapeProblem checks a password's length limits, which are cheap and
// come before any strength estimate. It returns "" when they hold.
func PasswordShapeProblem(pw string) string {
	switch n := utf8.RuneCountInString(pw); {
	case pw == "":
		return "is required"
	case !utf8.ValidString(pw):
		return "must be valid UTF-8"
	case n < MinPasswordLength:
		return "must be at least 8 characters"
	case n > MaxPasswordLength || len(pw) > MaxPasswordBytes:
		return "must be at most 256 characters"
	case strings.ContainsRune(pw, 0):
		return "must not contain NUL characters"
	}
	return ""
}

// HasControl reports whether s holds a control or format character, which
// never reaches the database.
func HasControl(s string) bool { return strings.IndexFunc(s, controlRune) >= 0 }

// Sanitize strips control and format characters and truncates s to max runes;
// it is for informational strings such as a User-Agent header.
func Sanitize(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if controlRune(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

func controlRune(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

func unsafeRune(r rune) bool { return controlRune(r) || unicode.IsSpace(r) }
