package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/handlers"
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

// TestBearerFailuresSayHowToRecover: a 401 on a request with a bearer token
// carries WWW-Authenticate (RFC 6750), and an expired one points to the
// refresh grant; a cookie request's 401 points to /auth/refresh as before.
func TestBearerFailuresSayHowToRecover(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("bearer@example.com")
	tok := c.cookieValue("/", "__Host-session")
	r := h.client().do("GET", "/auth/me", nil, "Authorization", "Bearer not-a-real-token")
	wantStatus(t, r, http.StatusUnauthorized, "garbage bearer")
	if got := r.header.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	h.clock.Advance(16 * time.Minute)
	r = h.client().do("GET", "/auth/me", nil, "Authorization", "Bearer "+tok)
	var e handlers.ErrorResponse
	r.json(t, &e)
	if r.status != http.StatusUnauthorized || e.Error.Code != "token_expired" || !strings.Contains(e.Error.Message, "grant_type=refresh_token") ||
		r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("expired bearer: %d %v %s", r.status, r.header, r.body)
	}
	r = c.do("GET", "/auth/me", nil) // the browser dropped its access cookie
	r.json(t, &e)
	if e.Error.Code != "token_expired" || !strings.Contains(e.Error.Message, "/auth/refresh") || r.header.Get("WWW-Authenticate") != "" {
		t.Errorf("expired cookie: %v %s", r.header, r.body)
	}
}

// TestOpenAPIIsCompleteEnoughToGenerateFrom pins what a client generator
// and a reader need from openapi.yaml: the API's own description and one per
// security scheme, ordered tags, an operationId and a description on every
// operation, no Go package in schema names, required fields on request
// bodies, X-Request-ID on every response, Retry-After on 429 and 503, and
// error responses that list their codes with an example.
func TestOpenAPIIsCompleteEnoughToGenerateFrom(t *testing.T) {
	doc, _ := spec(t)
	if d := doc.Info.Description; !strings.Contains(d, "token_expired") || !strings.Contains(d, "error_description") {
		t.Errorf("info.description is not the API's own: %.120q", d)
	}
	seen := map[string]string{}
	for name, s := range doc.Components.SecuritySchemes {
		d := s.Value.Description
		if d == "" || seen[d] != "" {
			t.Errorf("security scheme %s: description %q (also %s's)", name, d, seen[d])
		}
		seen[d] = name
	}
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	if got := strings.Join(tags, ","); got != "auth,sessions,email,mfa,passkeys,services,admin,operations" {
		t.Errorf("tags in the order %s", got)
	}
	for name := range doc.Components.Schemas {
		if strings.Contains(name, ".") || strings.HasPrefix(name, "handlers") {
			t.Errorf("schema %s carries a Go package", name)
		}
	}
	ids := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.OperationID == "" || ids[op.OperationID] || op.Description == "" {
				t.Errorf("%s: operationId %q (unique: %v), description %q", where, op.OperationID, !ids[op.OperationID], op.Description)
			}
			ids[op.OperationID] = true
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					if s := mt.Schema.Value; len(s.Properties) > 0 && len(s.Required) == 0 && !slices.Contains([]string{"updateMe", "updateUser", "signInWithEmail", "enrollTOTP", "reauthenticate", "deleteMe"}, op.OperationID) {
						t.Errorf("%s: the %s body lists no required field", where, ct)
					}
				}
			}
			for status, r := range op.Responses.Map() {
				if r.Value.Headers["X-Request-ID"] == nil {
					t.Errorf("%s %s: no X-Request-ID header", where, status)
				}
				if (status == "429" || status == "503") && r.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s %s: no Retry-After header", where, status)
				}
				if status[0] != '4' && status[0] != '5' {
					continue
				}
				for ct, mt := range r.Value.Content {
					if !strings.Contains(*r.Value.Description, "Codes: `") || mt.Example == nil {
						t.Errorf("%s %s (%s): codes %q, example %v", where, status, ct, *r.Value.Description, mt.Example)
					}
				}
			}
		}
	}
}
