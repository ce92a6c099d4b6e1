package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEmail checks normalisation is idempotent and that every accepted
// address is a bare, bounded local@domain.tld with no unsafe characters.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", " Ada@Example.COM ", "a b@c.d", "<a@b.c>", "a@b", "\x00@a.b", "\"q\"@a.bc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeEmail(s)
		if NormalizeEmail(n) != n {
			t.Fatalf("NormalizeEmail not idempotent for %q", s)
		}
		if EmailProblem(n) != "" {
			return
		}
		at := strings.LastIndexByte(n, '@')
		if !utf8.ValidString(n) || utf8.RuneCountInString(n) > MaxEmailLength || at < 1 ||
			!strings.Contains(n[at+1:], ".") || strings.ContainsAny(n, " \t\r\n<>") || HasControl(n) {
			t.Fatalf("accepted %q", n)
		}
	})
}
