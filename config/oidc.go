package config

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

// providerName is what AUTH_OIDC_PROVIDERS may list: it becomes a URL path
// segment and, upper-cased, part of variable names.
var providerName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// oidcPresets fill a provider's issuer and display name by name.
var oidcPresets = map[string]OIDCProvider{
	"google":    {DisplayName: "Google", Issuer: "https://accounts.google.com"},
	"microsoft": {DisplayName: "Microsoft"}, // issuer from AUTH_OIDC_MICROSOFT_TENANT
}

// oidcProviders reads AUTH_OIDC_PROVIDERS and each provider's variables.
func (p *parser) oidcProviders() []OIDCProvider {
	var out []OIDCProvider
	names := p.list("AUTH_OIDC_PROVIDERS")
	seen := map[string]bool{}
	for i, name := range names {
		name = strings.ToLower(name)
		if !providerName.MatchString(name) || seen[name] {
			p.fail("AUTH_OIDC_PROVIDERS", "names must be distinct, lower-case letters, digits or _ (e.g. google,corp)")
			return nil
		}
		seen[name], names[i] = true, name
	}
	for _, name := range names {
		v := "AUTH_OIDC_" + strings.ToUpper(name) + "_"
		pr := oidcPresets[name]
		pr.Name = name
		if name == "microsoft" {
			tenant := p.str(v+"TENANT", "")
			if tenant == "" || tenant == "common" || tenant == "organizations" || tenant == "consumers" || strings.ContainsAny(tenant, "/?#") {
				p.fail(v+"TENANT", "is required: your Entra ID tenant id (the common tenant's templated issuer cannot be verified)")
				return nil
			}
			pr.Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
		}
		pr.Issuer = strings.TrimSuffix(p.str(v+"ISSUER", pr.Issuer), "/")
		pr.DisplayName = p.str(v+"DISPLAY_NAME", pr.DisplayName)
		if pr.DisplayName == "" {
			pr.DisplayName = name
		}
		pr.ClientID = p.str(v+"CLIENT_ID", "")
		pr.ClientSecret = p.str(v+"CLIENT_SECRET", "")
		pr.Scopes = strings.Fields(strings.ReplaceAll(p.str(v+"SCOPES", "openid email profile"), ",", " "))
		switch {
		case pr.Issuer == "":
			p.fail(v+"ISSUER", "is required (discovery is at {issuer}/.well-known/openid-configuration)")
			return nil
		case !issuerOK(pr.Issuer):
			p.fail(v+"ISSUER", "must be an https:// URL (http:// only on a loopback host)")
			return nil
		case pr.ClientID == "":
			p.fail(v+"CLIENT_ID", "is required")
			return nil
		case !containsWord(pr.Scopes, "openid"):
			p.fail(v+"SCOPES", "must include openid")
			return nil
		}
		out = append(out, pr)
	}
	if pu := p.str("AUTH_PUBLIC_URL", ""); pu != "" {
		if u, err := url.Parse(pu); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			p.fail("AUTH_PUBLIC_URL", "must be Portcullis's external http:// or https:// base URL, such as https://auth.example.com")
		}
	}
	return out
}

// issuerOK: https, or http on a loopback host (development and tests).
func issuerOK(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func containsWord(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}
