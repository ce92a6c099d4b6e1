package auth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPasswordProblem checks the policy never panics, refuses what is too
// long, and accepts nothing shorter than 8 characters.
func FuzzPasswordProblem(f *testing.F) {
	for _, s := range []string{"correct horse battery staple", "password", "", strings.Repeat("a", 300), "pässwörd-ünïcödé-42"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		p := PasswordProblem(pw, "ada@example.com", "Ada")
		n := utf8.RuneCountInString(pw)
		if p == "" && (n < 8 || n > 256 || len(pw) > 1024 || !utf8.ValidString(pw)) {
			t.Fatalf("accepted %q", pw)
		}
	})
}
