package token

import (
	"net/http"
	"strings"
)

// FromRequest returns the access token of a request. An Authorization header
// takes precedence over the cookie and is then the only credential looked
// at, so a request never mixes two identities. fromHeader reports whether an
// Authorization header was present.
func FromRequest(r *http.Request, cookieName string) (tok string, fromHeader bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return strings.TrimSpace(tok), true
	}
	return CookieValue(r, cookieName), false
}

// CookieValue returns a cookie's raw value, or "". Unlike gin's
// Context.Cookie it does not URL-unescape it: tokens are base64url and never
// escaped.
func CookieValue(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}
