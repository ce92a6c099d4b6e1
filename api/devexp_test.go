package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// wireTime is the one time format of every response.
var wireTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// timesIn collects every string under a key named like a time in a JSON body.
func timesIn(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	out := map[string][]string{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "at" || regexp.MustCompile(`At$`).MatchString(k)) {
					out[k] = append(out[k], s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// TestTimesHaveOneFormat: every time in a response is RFC 3339 UTC with
// three fraction digits, accessExpiresAt included, and the refresh cookie
// lasts exactly the session lifetime.
func TestTimesHaveOneFormat(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	root := makeAdmin(t, h, "root@example.com")
	c := h.client()
	reg := c.do("POST", "/auth/register", registerBody("times@example.com"))
	wantStatus(t, reg, http.StatusCreated, "register")
	if got := reg.cookie("__Secure-refresh").MaxAge; got != 7*24*3600 {
		t.Errorf("refresh cookie Max-Age %d at register, want %d", got, 7*24*3600)
	}
	remember := h.client().do("POST", "/auth/login", map[string]any{"email": "times@example.com", "password": goodPassword, "rememberMe": true})
	if got := remember.cookie("__Secure-refresh").MaxAge; got != 30*24*3600 {
		t.Errorf("refresh cookie Max-Age %d with rememberMe, want %d", got, 30*24*3600)
	}
	h.clock.Advance(90 * time.Second) // the refreshed session slides to a full lifetime again
	refreshed := c.do("POST", "/auth/refresh", nil)
	if got := refreshed.cookie("__Secure-refresh").MaxAge; got != 7*24*3600 {
		t.Errorf("refresh cookie Max-Age %d after a refresh, want %d", got, 7*24*3600)
	}
	seen := 0
	for _, r := range []response{reg, refreshed, c.do("GET", "/auth/me", nil), c.do("GET", "/auth/sessions", nil),
		c.do("GET", "/auth/activity", nil), root.do("GET", "/admin/users", nil), root.do("GET", "/admin/audit", nil)} {
		for key, values := range timesIn(t, r.body) {
			for _, v := range values {
				seen++
				if !wireTime.MatchString(v) {
					t.Errorf("%s = %q, want RFC 3339 UTC with milliseconds", key, v)
				}
			}
		}
	}
	if seen < 15 {
		t.Errorf("only %d times seen", seen)
	}
}
