package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

func TestBadInputGetsTheContractsErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.client()
		tests := []struct {
			name    string
			body    any
			headers []string
			status  int
			code    string
		}{
			{"malformed JSON", `{"email":`, nil, 400, "bad_request"},
			{"not an object", `[1,2]`, nil, 400, "bad_request"},
			{"empty body", ``, nil, 400, "bad_request"},
			{"two objects", `{} {}`, nil, 400, "bad_request"},
			{"wrong type", `{"email": 5, "password": "x", "name": "y"}`, nil, 400, "bad_request"},
			{"invalid UTF-8", []byte("{\"email\":\"a\xff@example.com\",\"password\":\"x\",\"name\":\"y\"}"), nil, 400, "bad_request"},
			{"too large", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, nil, 413, "payload_too_large"},
			{"text/plain", `{}`, []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type"},
			{"form body", `email=a`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		}
		for _, tt := range tests {
			r := c.do("POST", "/auth/register", tt.body, tt.headers...)
			if r.status != tt.status {
				t.Errorf("%s: status %d, want %d (%s)", tt.name, r.status, tt.status, r.body)
				continue
			}
			if code := r.errorCode(t); code != tt.code {
				t.Errorf("%s: code %q, want %q", tt.name, code, tt.code)
			}
		}
	})
}

func TestRegisterValidationListsEveryField(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.client()
	r := c.do("POST", "/auth/register", map[string]any{"email": "not-an-email", "password": "password", "name": ""})
	wantStatus(t, r, http.StatusUnprocessableEntity, "invalid register")
	var e handlers.ErrorResponse
	r.json(t, &e)
	if e.Error.Code != "validation_failed" {
		t.Errorf("code = %q", e.Error.Code)
	}
	for _, f := range []string{"email", "password", "name"} {
		if len(e.Error.Fields[f]) == 0 {
			t.Errorf("fields.%s missing from %+v", f, e.Error.Fields)
		}
	}
	bad := []map[string]any{
		{"email": "Ada <ada@example.com>", "password": goodPassword, "name": "Ada"},
		{"email": "ada@localhost", "password": goodPassword, "name": "Ada"},
		{"email": "ada@example.com", "password": "qwertyuiop", "name": "Ada"},
		{"email": "ada@example.com", "password": "ada@example.com!", "name": "Ada"},
		{"email": "ada@example.com", "password": strings.Repeat("é", 257), "name": "Ada"},
		{"email": "ada@example.com", "password": goodPassword, "name": "Ada\u0007"},
		{"email": "ada\u0000@example.com", "password": goodPassword, "name": "Ada"},
	}
	for _, body := range bad {
		if r := c.do("POST", "/auth/register", body); r.status != http.StatusUnprocessableEntity {
			t.Errorf("register %v: status %d, want 422", body, r.status)
		}
	}
	// A 256-character random password is accepted (and checked quickly).
	long := strings.Repeat("Zq8#xW2!vR5@", 22)[:256]
	wantStatus(t, c.do("POST", "/auth/register", map[string]any{"email": "long@example.com", "password": long, "name": "Long"}), http.StatusCreated, "256-character password")
}

func TestUnknownRoutesAndMethodsAreJSON(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.client()
	r := c.do("GET", "/nope", nil)
	wantStatus(t, r, http.StatusNotFound, "unknown route")
	if code := r.errorCode(t); code != "not_found" {
		t.Errorf("code = %q", code)
	}
	r = c.do("DELETE", "/auth/login", nil)
	wantStatus(t, r, http.StatusMethodNotAllowed, "wrong method")
	if code := r.errorCode(t); code != "method_not_allowed" {
		t.Errorf("code = %q", code)
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Request-ID") == "" {
		t.Errorf("headers = %v", r.header)
	}
	wantStatus(t, c.do("POST", "/auth/logout?scope=everything", nil), http.StatusBadRequest, "bad logout scope")
}

func TestConcurrentRegistrationsOfOneEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		var wg sync.WaitGroup
		statuses := make([]int, 20)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				email := "same@example.com"
				if i%2 == 1 {
					email = "SAME@example.com"
				}
				statuses[i] = h.client().do("POST", "/auth/register", registerBody(email)).status
			}()
		}
		wg.Wait()
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[201] != 1 || counts[409] != 19 {
			t.Errorf("statuses %v, want one 201 and nineteen 409", counts)
		}
	})
}

// TestManyUsersAtOnceOnSQLiteFile drives 40 users through register, refresh
// and logout concurrently against an on-disk SQLite database, as `go run .`
// uses: no request may fail (in particular not with "database is locked").
func TestManyUsersAtOnceOnSQLiteFile(t *testing.T) {
	h := newHarness(t, "sqlite:"+t.TempDir()+"/auth.db")
	var wg sync.WaitGroup
	errs := make(chan string, 40*5)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client()
			steps := []struct {
				method, path string
				body         any
				want         int
			}{
				{"POST", "/auth/register", registerBody(fmt.Sprintf("user%d@example.com", i)), 201},
				{"GET", "/auth/me", nil, 200},
				{"POST", "/auth/refresh", nil, 200},
				{"PATCH", "/auth/me", map[string]any{"name": fmt.Sprintf("User %d", i)}, 200},
				{"POST", "/auth/logout", nil, 204},
			}
			for _, s := range steps {
				if r := c.do(s.method, s.path, s.body); r.status != s.want {
					errs <- fmt.Sprintf("user %d %s %s: %d %s", i, s.method, s.path, r.status, r.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestControlCharactersNeverReachTheDatabase sends NUL and other control
// characters wherever a string could reach a query; PostgreSQL would refuse
// NUL with an error that must never become a 500.
func TestControlCharactersNeverReachTheDatabase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root@example.com")
		c := h.client()
		for _, email := range []string{"ada\u0000@example.com", "ada@example.com\u0007"} {
			for _, path := range []string{"/auth/login", "/auth/register"} {
				r := c.do("POST", path, map[string]any{"email": email, "password": goodPassword, "name": "Ada"})
				wantStatus(t, r, http.StatusUnprocessableEntity, path+" with a control character")
			}
			r := c.do("POST", "/auth/token", map[string]any{"grant_type": "password", "username": email, "password": goodPassword})
			wantStatus(t, r, http.StatusBadRequest, "token with a control character")
		}
		wantStatus(t, root.do("GET", "/admin/users?email=%00", nil), http.StatusBadRequest, "admin email filter with NUL")
		wantStatus(t, root.do("GET", "/admin/audit?type=%00", nil), http.StatusBadRequest, "audit type filter with NUL")
		wantStatus(t, root.do("PATCH", "/auth/me", map[string]any{"name": "A\u0000"}), http.StatusUnprocessableEntity, "name with NUL")
		tabbed := login(t, h, "root@example.com", "User-Agent", "evil\tagent")
		var list handlers.SessionsResponse
		r := tabbed.do("GET", "/auth/sessions", nil)
		wantStatus(t, r, http.StatusOK, "sessions of the tabbed client")
		r.json(t, &list)
		current := slices.IndexFunc(list.Sessions, func(s handlers.SessionInfo) bool { return s.Current })
		if current < 0 {
			t.Fatalf("no current session among %d listed", len(list.Sessions))
		}
		if got := list.Sessions[current].UserAgent; got != "evilagent" {
			t.Errorf("stored user agent %q, want the control character stripped", got)
		}
	})
}
