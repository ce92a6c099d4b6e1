package token

import (
	"net/http"
	"testing"
	"time"
)

func TestCookieNamesAndAttributes(t *testing.T) {
	tests := []struct {
		cfg                  CookieConfig
		access, refresh, dom string
	}{
		{CookieConfig{Secure: true, SameSite: http.SameSiteLaxMode}, "__Host-session", "__Secure-refresh", ""},
		{CookieConfig{Secure: true, SameSite: http.SameSiteLaxMode, Domain: "example.com"}, "__Secure-session", "__Secure-refresh", "example.com"},
		{CookieConfig{Secure: false, SameSite: http.SameSiteLaxMode}, "session", "refresh", ""},
	}
	for _, tt := range tests {
		a := tt.cfg.Access("tok", 15*time.Minute)
		r := tt.cfg.Refresh("tok", 7*24*time.Hour)
		if a.Name != tt.access || r.Name != tt.refresh || a.Domain != tt.dom {
			t.Errorf("%+v: names %s/%s domain %q", tt.cfg, a.Name, r.Name, a.Domain)
		}
		got := a.String()
		want := tt.access + "=tok; Path=/"
		if tt.dom != "" {
			want += "; Domain=" + tt.dom
		}
		want += "; Max-Age=900; HttpOnly"
		if tt.cfg.Secure {
			want += "; Secure"
		}
		want += "; SameSite=Lax"
		if got != want {
			t.Errorf("access cookie = %q, want %q", got, want)
		}
		if r.Path != "/auth" || r.MaxAge != 604800 || !r.HttpOnly {
			t.Errorf("refresh cookie = %q", r.String())
		}
		for _, c := range tt.cfg.Clear() {
			if s := c.String(); !contains(s, "Max-Age=0") {
				t.Errorf("clear cookie = %q, want Max-Age=0", s)
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
