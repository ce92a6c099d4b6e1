package token

import (
	"net/http"
	"time"
)

// CookieConfig describes how session cookies are issued.
type CookieConfig struct {
	Secure   bool
	SameSite http.SameSite
	Domain   string
}

// AccessName is the access cookie's name: __Host-session when Secure and
// host-only, __Secure-session when shared across a Domain, else session.
func (c CookieConfig) AccessName() string {
	switch {
	case c.Secure && c.Domain == "":
		return "__Host-session"
	case c.Secure:
		return "__Secure-session"
	}
	return "session"
}

// RefreshName is the refresh cookie's name.
func (c CookieConfig) RefreshName() string {
	if c.Secure {
		return "__Secure-refresh"
	}
	return "refresh"
}

// RefreshPath limits the refresh cookie to the auth endpoints.
const RefreshPath = "/auth"

// Access returns the access cookie holding token for ttl.
func (c CookieConfig) Access(token string, ttl time.Duration) *http.Cookie {
	return c.cookie(c.AccessName(), "/", token, ttl)
}

// Refresh returns the refresh cookie holding token for ttl.
func (c CookieConfig) Refresh(token string, ttl time.Duration) *http.Cookie {
	return c.cookie(c.RefreshName(), RefreshPath, token, ttl)
}

// Clear returns the two cookies that delete the access and refresh cookies.
func (c CookieConfig) Clear() []*http.Cookie {
	return []*http.Cookie{
		c.cookie(c.AccessName(), "/", "", 0),
		c.cookie(c.RefreshName(), RefreshPath, "", 0),
	}
}

func (c CookieConfig) cookie(name, path, value string, ttl time.Duration) *http.Cookie {
	ck := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		HttpOnly: true,
		Secure:   c.Secure,
		SameSite: c.SameSite,
		MaxAge:   int(ttl / time.Second),
	}
	if ttl <= 0 {
		ck.MaxAge = -1 // net/http writes Max-Age=0, which deletes the cookie.
	}
	if c.Domain != "" && name != "__Host-session" {
		ck.Domain = c.Domain
	}
	return ck
}

// FlowPath scopes the OpenID Connect flow cookie to the sign-in routes.
const FlowPath = "/auth/oidc"

// FlowName is the OpenID Connect flow cookie's name.
func (c CookieConfig) FlowName() string {
	if c.Secure {
		return "__Secure-oidc-flow"
	}
	return "oidc-flow"
}

// Flow returns the flow cookie holding a sealed flow for ttl (zero: the
// cookie that deletes it). It is SameSite=Lax whatever the session cookies
// use: Strict would not come back with the provider's redirect, and None
// would go with any cross-site request.
func (c CookieConfig) Flow(sealed string, ttl time.Duration) *http.Cookie {
	ck := c.cookie(c.FlowName(), FlowPath, sealed, ttl)
	ck.SameSite = http.SameSiteLaxMode
	return ck
}
