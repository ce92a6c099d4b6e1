package token

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// FuzzFromRequest checks token extraction from arbitrary headers: a Bearer
// header always wins, another scheme is ignored, and the token is only ever
// taken from a well-formed Bearer header or the named cookie.
func FuzzFromRequest(f *testing.F) {
	f.Add("Bearer abc", "session=def")
	f.Add("", "session=def")
	f.Add("Basic abc", "")
	f.Add("bearer  x y ", "other=1; session=2")
	f.Fuzz(func(t *testing.T, auth, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Cookie", cookie)
		tok, fromHeader := FromRequest(req, "session")
		hdr := req.Header.Get("Authorization")
		scheme, _, _ := strings.Cut(hdr, " ")
		if fromHeader != strings.EqualFold(scheme, "Bearer") {
			t.Fatalf("fromHeader = %v for Authorization %q", fromHeader, hdr)
		}
		if fromHeader && tok != "" && (!IsBearer(hdr) || !strings.Contains(hdr, tok)) {
			t.Fatalf("token %q not from a well-formed header %q", tok, hdr)
		}
		if !fromHeader && tok != "" && !strings.Contains(req.Header.Get("Cookie"), tok) {
			t.Fatalf("token %q not from cookie %q", tok, cookie)
		}
	})
}

// bearerPattern is the definition IsBearer implements: RFC 6750's
// credentials with its b64token.
var bearerPattern = regexp.MustCompile(`^[Bb][Ee][Aa][Rr][Ee][Rr] +[A-Za-z0-9\-._~+/]+=*$`)

// FuzzIsBearer holds the hand-written scan to the regular expression.
func FuzzIsBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc==", "BEARER a=b", "Bearer ", "Bearer=abc", "Basic abc",
		"Bearer abc ", "Bearer\tabc", "Bearer a~b.c_d-e+f/g", "BearerX abc", "Bearer ==", "Bearer \u212a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := IsBearer(h), bearerPattern.MatchString(h); got != want {
			t.Fatalf("IsBearer(%q) = %v, the pattern says %v", h, got, want)
		}
	})
}

// FuzzCookieValue holds CookieValue to net/http's Request.Cookie.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"session=abc", "a=1; session=x.y-z_", "session=\"q\"", "session=; session=b",
		"session=a b", "  session=abc  ;x=1", "session=a,b", "Session=abc", "session==x=", "session=abc;session=def"} {
		f.Add(s, "")
	}
	f.Add("x=1", "session=two")
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Add("Cookie", line1)
		if line2 != "" {
			req.Header.Add("Cookie", line2)
		}
		want := ""
		if ck, err := req.Cookie("session"); err == nil {
			want = ck.Value
		}
		if got := CookieValue(req, "session"); got != want {
			t.Fatalf("CookieValue(%q, %q) = %q, net/http says %q", line1, line2, got, want)
		}
	})
}
