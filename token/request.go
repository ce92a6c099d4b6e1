package token

import (
	"net/http"
	"strings"
)

// IsBearer reports whether an Authorization header value is a well-formed
// Bearer credential: "Bearer" in any case, one or more spaces, then RFC
// 6750's b64token (`[A-Za-z0-9\-._~+/]+=*`). Only such a request carries
// its own proof of identity; anything else (Basic, which browsers attach by
// themselves, or garbage) does not. It runs on every request, so it is a
// scan rather than a regular expression (FuzzIsBearer holds it to one).
func IsBearer(h string) bool {
	const scheme = "bearer"
	if len(h) < len(scheme)+2 {
		return false
	}
	for i := range len(scheme) {
		if h[i]|0x20 != scheme[i] {
			return false
		}
	}
	i := len(scheme)
	if h[i] != ' ' {
		return false
	}
	for i < len(h) && h[i] == ' ' {
		i++
	}
	start := i
	for i < len(h) && b64token[h[i]] {
		i++
	}
	if i == start {
		return false
	}
	for i < len(h) && h[i] == '=' {
		i++
	}
	return i == len(h)
}

// b64token marks the characters of RFC 6750's b64token before its '='
// padding.
var b64token = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c], t[c+'a'-'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

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
// escaped. It answers what net/http's Request.Cookie answers
// (FuzzCookieValue holds it to that), without parsing every cookie into a
// new slice when the first cookie of that name has a plain value, as a
// token always has.
func CookieValue(r *http.Request, name string) string {
	lines := r.Header["Cookie"]
	n := 0
	for _, line := range lines {
		n += strings.Count(line, ";") + 1
	}
	if n > maxFastCookies {
		// net/http refuses a header with too many cookies; let it decide.
		return slowCookieValue(r, name)
	}
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(strings.Trim(part, asciiSpace), "=")
			if strings.Trim(k, asciiSpace) != name {
				continue
			}
			if plainCookieValue(v) {
				return v
			}
			return slowCookieValue(r, name)
		}
	}
	return slowCookieValue(r, name)
}

// asciiSpace is what net/textproto.TrimString trims; maxFastCookies is far
// below net/http's limit on cookies per request.
const (
	asciiSpace     = " \t\r\n"
	maxFastCookies = 100
)

// plainCookieValue reports whether v is a non-empty cookie value that
// net/http keeps as it is: no quotes, spaces, commas or other bytes it
// rejects or rewrites.
func plainCookieValue(v string) bool {
	if v == "" {
		return false
	}
	for i := range len(v) {
		if !b64token[v[i]] && v[i] != '=' {
			return false
		}
	}
	return true
}

func slowCookieValue(r *http.Request, name string) string {
	ck, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return ck.Value
}
