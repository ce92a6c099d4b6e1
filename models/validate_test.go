package models

import "testing"

func TestEmailProblem(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"ada@example.com", true},
		{NormalizeEmail("  Ada@Example.COM "), true},
		{"ada.lovelace+tag@mail.example.org", true},
		{"", false},
		{"ada", false},
		{"ada@localhost", false},
		{"Ada <ada@example.com>", false},
		{"ada @example.com", false},
		{"ada@exa\u200bmple.com", false},
		{"ada\x00@example.com", false},
		{"ada@example.com.", false},
		{"a@b@example.com", false},
		{string(make([]byte, 250)) + "@example.com", false},
	}
	for _, tt := range tests {
		got := EmailProblem(tt.in)
		if (got == "") != tt.ok {
			t.Errorf("EmailProblem(%q) = %q, want ok=%v", tt.in, got, tt.ok)
		}
	}
}

func TestNameAndPasswordShape(t *testing.T) {
	if p := NameProblem(NormalizeName("  Ada  ")); p != "" {
		t.Errorf("NameProblem(Ada) = %q", p)
	}
	for _, bad := range []string{"", "a\x00b", "a\nb", string(make([]rune, 101))} {
		if NameProblem(bad) == "" {
			t.Errorf("NameProblem(%q) accepted", bad)
		}
	}
	long := make([]byte, 257)
	for i := range long {
		long[i] = 'x'
	}
	for _, bad := range []string{"", "short", string(long), "abcdefgh\x00"} {
		if PasswordShapeProblem(bad) == "" {
			t.Errorf("PasswordShapeProblem(%q) accepted", bad)
		}
	}
	if p := PasswordShapeProblem("correct horse battery"); p != "" {
		t.Errorf("PasswordShapeProblem(good) = %q", p)
	}
}

func TestSlidExpiryIsCapped(t *testing.T) {
	s := Session{CreatedAt: mustTime(t, "2026-01-01T00:00:00Z")}
	now := mustTime(t, "2026-03-30T00:00:00Z")
	got := s.SlidExpiry(now, 168*3600e9, 2160*3600e9)
	want := mustTime(t, "2026-04-01T00:00:00Z")
	if !got.Equal(want) {
		t.Errorf("SlidExpiry = %v, want %v", got, want)
	}
}
