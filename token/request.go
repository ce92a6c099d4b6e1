package token

import (
	"net/http"
	"regexp"
	"strings"
)

// bearer is a well-formed Bearer credential (RFC 6750's b64token).
var bearer = regexp.MustCompile(`^[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9\-._~+/]+=*$`)

// IsBearer reports whether an Authorization header value is a well-formed
// Bearer credential. Only such a request carries its own proof of identity;
// anything else (Basic, which browsers attach by themselves, or garbage)
// does not.
func IsBearer(h string) bool { return bearer.MatchString(h) }

// FromRequest returns the access token of a request. A Bearer Authorization
// header takes precedence over the cookie and is then the only credential
// looked at, so a request never mixes two identities; a malformed one yields
// no token. Any other Authorization header (Basic, which browsers attach by
// themselves on sites behind basic auth) is not Portcullis's and is ignored.
// fromHeader reports whether a Bearer header was present.
func FromRequest(r *http.Request, cookieName string) (tok string, fromHeader bool) {
	h := r.Header.Get("Authorization")
	if scheme, rest, _ := strings.Cut(h, " "); strings.EqualFold(scheme, "Bearer") {
		if !IsBearer(h) {
			return "", true
		}
		return strings.TrimSpace(rest), true
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
