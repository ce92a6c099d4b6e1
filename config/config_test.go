package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.DatabaseURL != "sqlite:auth.db" || !c.CookieSecure || c.CookieSameSite != "lax" ||
		c.AccessTTL != 15*time.Minute || c.SessionTTL != 168*time.Hour || c.RateLimitIP != (Rate{60, time.Minute}) ||
		c.LockoutThreshold != 10 || c.RefreshReuseInterval != 10*time.Second || c.Production {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_ACCESS_TTL": "soon"}, "AUTH_ACCESS_TTL"},
		{map[string]string{"AUTH_DATABASE_URL": "mysql://x"}, "AUTH_DATABASE_URL"},
		{map[string]string{"AUTH_COOKIE_SECURE": "maybe"}, "AUTH_COOKIE_SECURE"},
		{map[string]string{"AUTH_COOKIE_SAMESITE": "none", "AUTH_COOKIE_SECURE": "false"}, "AUTH_COOKIE_SAMESITE"},
		{map[string]string{"AUTH_RATE_LIMIT_IP": "60 per minute"}, "AUTH_RATE_LIMIT_IP"},
		{map[string]string{"AUTH_LOCKOUT_THRESHOLD": "-1"}, "AUTH_LOCKOUT_THRESHOLD"},
		{map[string]string{"AUTH_TRUSTED_PROXIES": "10.0.0.0/33"}, "AUTH_TRUSTED_PROXIES"},
		{map[string]string{"AUTH_ALLOWED_ORIGINS": "https://app.example.com/path"}, "AUTH_ALLOWED_ORIGINS"},
		{map[string]string{"AUTH_ENV": "production"}, "AUTH_SESSION_KEYS"},
		{map[string]string{"AUTH_ENV": "production", "AUTH_SESSION_KEYS": "k:x", "AUTH_COOKIE_SECURE": "false"}, "AUTH_COOKIE_SECURE"},
		{map[string]string{"AUTH_ALLOWED_ORIGINS": "*"}, "AUTH_ALLOWED_ORIGINS"},
		{map[string]string{"AUTH_INTROSPECT_CLIENTS": "svc:short"}, "AUTH_INTROSPECT_CLIENTS"},
		{map[string]string{"AUTH_LOG_LEVEL": "loud"}, "AUTH_LOG_LEVEL"},
	}
	for _, tt := range tests {
		_, err := Load(env(tt.vars))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tt.want {
			t.Errorf("Load(%v) = %v, want an error naming %s", tt.vars, err, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error spans lines: %q", err)
		}
	}
}

func TestSecretsAreNotEchoed(t *testing.T) {
	_, err := Load(env(map[string]string{"AUTH_INTROSPECT_CLIENTS": "svc:hunter2"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v; want one that does not echo the secret", err)
	}
}

func TestRateLimitStoreFollowsTheDatabase(t *testing.T) {
	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{nil, "memory"},
		{map[string]string{"AUTH_DATABASE_URL": "postgres://db/auth"}, "database"},
		{map[string]string{"AUTH_REDIS_URL": "redis://cache:6379/0"}, "redis"},
		{map[string]string{"AUTH_DATABASE_URL": "postgres://db/auth", "AUTH_RATE_LIMIT_STORE": "memory"}, "memory"},
	} {
		c, err := Load(env(tt.vars))
		if err != nil || c.RateLimitStore != tt.want {
			t.Errorf("Load(%v).RateLimitStore = %q, %v; want %q", tt.vars, c.RateLimitStore, err, tt.want)
		}
	}
}

func TestOriginsAreNormalised(t *testing.T) {
	c, err := Load(env(map[string]string{"AUTH_ALLOWED_ORIGINS": " https://App.Example.com , http://localhost:5173"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.AllowedOrigins, ","); got != "https://app.example.com,http://localhost:5173" {
		t.Errorf("origins = %q", got)
	}
}

// TestUnknownVariablesSuggestTheNearest: a misspelt or shortened AUTH_
// variable is named with the known ones it most likely meant.
func TestUnknownVariablesSuggestTheNearest(t *testing.T) {
	for name, want := range map[string]string{
		"AUTH_SMTP":        "; did you mean AUTH_SMTP_URL?",
		"AUTH_REDIS":       "; did you mean AUTH_REDIS_URL?",
		"AUTH_DATABASE":    "; did you mean AUTH_DATABASE_URL?",
		"AUTH_METRICS":     "; did you mean AUTH_METRICS_ADDR or AUTH_METRICS_TOKEN?",
		"AUTH_SESION_KEYS": "; did you mean AUTH_SESSION_KEYS?",
		"AUTH_SMTP_HOST":   "; did you mean AUTH_SMTP_URL?",
		"AUTH_WHATEVER":    "",
	} {
		got := Unknown([]string{name, "AUTH_ADDR", "HOME"})
		if len(got) != 1 || got[0] != name+" is not a Portcullis variable and is ignored"+want {
			t.Errorf("%s: %q, want the suggestion %q", name, got, want)
		}
	}
}

// TestWebAuthnRelyingParty: the id defaults to the host of AUTH_APP_URL and
// the origins to it plus the allowed origins on that domain; an explicit
// origin off the id's domain, or an IP address as id, stops the start.
func TestWebAuthnRelyingParty(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebAuthnRPID != "localhost" || c.WebAuthnRPName != "Portcullis" || strings.Join(c.WebAuthnOrigins, ",") != "http://localhost:5173" {
		t.Errorf("defaults: %q %q %v", c.WebAuthnRPID, c.WebAuthnRPName, c.WebAuthnOrigins)
	}
	c, err = Load(env(map[string]string{"AUTH_APP_URL": "https://app.example.com/portal",
		"AUTH_ALLOWED_ORIGINS": "https://admin.example.com,https://partner.example.org", "AUTH_WEBAUTHN_RP_ID": "Example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebAuthnRPID != "example.com" || strings.Join(c.WebAuthnOrigins, ",") != "https://app.example.com,https://admin.example.com" {
		t.Errorf("derived: %q %v", c.WebAuthnRPID, c.WebAuthnOrigins)
	}
	for _, vars := range []map[string]string{
		{"AUTH_WEBAUTHN_ORIGINS": "https://evil.example"},
		{"AUTH_WEBAUTHN_ORIGINS": "not an origin"},
	} {
		if _, err := Load(env(vars)); err == nil || !strings.HasPrefix(err.Error(), "AUTH_WEBAUTHN_ORIGINS") {
			t.Errorf("Load(%v) = %v", vars, err)
		}
	}
	for _, id := range []string{"127.0.0.1", "https://example.com", "example.com:443"} {
		if _, err := Load(env(map[string]string{"AUTH_WEBAUTHN_RP_ID": id})); err == nil || !strings.HasPrefix(err.Error(), "AUTH_WEBAUTHN_RP_ID") {
			t.Errorf("AUTH_WEBAUTHN_RP_ID=%s: %v", id, err)
		}
	}
}
