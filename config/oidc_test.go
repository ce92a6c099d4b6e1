package config

import (
	"errors"
	"strings"
	"testing"
)

// TestOIDCProviders: presets fill the issuer, each provider's variables are
// read by its upper-cased name, and a bad value names its variable.
func TestOIDCProviders(t *testing.T) {
	c, err := Load(env(map[string]string{
		"AUTH_OIDC_PROVIDERS": "google,corp", "AUTH_PUBLIC_URL": "https://auth.example.com/",
		"AUTH_OIDC_GOOGLE_CLIENT_ID": "g", "AUTH_OIDC_GOOGLE_CLIENT_SECRET": "gs",
		"AUTH_OIDC_CORP_ISSUER": "https://sso.example.com/realms/x/", "AUTH_OIDC_CORP_CLIENT_ID": "c",
		"AUTH_OIDC_CORP_SCOPES": "openid email", "AUTH_OIDC_AUTO_LINK": "verified",
	}))
	if err != nil {
		t.Fatal(err)
	}
	g, corp := c.OIDCProviders[0], c.OIDCProviders[1]
	if g.Issuer != "https://accounts.google.com" || g.DisplayName != "Google" || g.ClientSecret != "gs" ||
		strings.Join(g.Scopes, " ") != "openid email profile" || corp.Issuer != "https://sso.example.com/realms/x" ||
		corp.DisplayName != "corp" || strings.Join(corp.Scopes, " ") != "openid email" || !c.OIDCAutoLink ||
		c.PublicURL != "https://auth.example.com" {
		t.Fatalf("providers: %+v, public %q", c.OIDCProviders, c.PublicURL)
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_CLIENT_ID": "c"}, "AUTH_OIDC_CORP_ISSUER"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_ISSUER": "http://sso.example.com", "AUTH_OIDC_CORP_CLIENT_ID": "c"}, "AUTH_OIDC_CORP_ISSUER"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "google"}, "AUTH_OIDC_GOOGLE_CLIENT_ID"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "microsoft", "AUTH_OIDC_MICROSOFT_CLIENT_ID": "m", "AUTH_OIDC_MICROSOFT_TENANT": "common"}, "AUTH_OIDC_MICROSOFT_TENANT"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "a/b"}, "AUTH_OIDC_PROVIDERS"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "corp,corp"}, "AUTH_OIDC_PROVIDERS"},
		{map[string]string{"AUTH_OIDC_PROVIDERS": "corp", "AUTH_OIDC_CORP_ISSUER": "https://x.example", "AUTH_OIDC_CORP_CLIENT_ID": "c", "AUTH_OIDC_CORP_SCOPES": "email"}, "AUTH_OIDC_CORP_SCOPES"},
		{map[string]string{"AUTH_OIDC_AUTO_LINK": "always"}, "AUTH_OIDC_AUTO_LINK"},
		{map[string]string{"AUTH_PUBLIC_URL": "auth.example.com"}, "AUTH_PUBLIC_URL"},
	} {
		_, err := Load(env(tc.vars))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.want {
			t.Errorf("%v: error %v, want one naming %s", tc.vars, err, tc.want)
		}
	}
	// Loopback issuers may be plain http (development, tests).
	c, err = Load(env(map[string]string{"AUTH_OIDC_PROVIDERS": "dev", "AUTH_OIDC_DEV_ISSUER": "http://127.0.0.1:5556", "AUTH_OIDC_DEV_CLIENT_ID": "d"}))
	if err != nil || c.OIDCProviders[0].Issuer != "http://127.0.0.1:5556" {
		t.Fatalf("loopback issuer: %v", err)
	}
	m, err := Load(env(map[string]string{"AUTH_OIDC_PROVIDERS": "microsoft", "AUTH_OIDC_MICROSOFT_CLIENT_ID": "m", "AUTH_OIDC_MICROSOFT_TENANT": "0000-tenant"}))
	if err != nil || m.OIDCProviders[0].Issuer != "https://login.microsoftonline.com/0000-tenant/v2.0" {
		t.Fatalf("microsoft: %v %+v", err, m.OIDCProviders)
	}
}
