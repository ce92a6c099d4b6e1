package token

import (
	"net/http"
	"net/http/httptest"
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
