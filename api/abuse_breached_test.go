package api_test

import (
	"context"
	"crypto/sha1" //nolint:gosec // the range API's key
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// rangeAPI is a breached-password range API running in the test, in the
// shape of Have I Been Pwned's: GET /range/{5 hex} answers SUFFIX:COUNT
// lines, padded with count-0 lines when asked (Add-Padding: true).
type rangeAPI struct {
	srv      *httptest.Server
	mu       sync.Mutex
	breached map[string]int // full upper-case SHA-1 → count
	padded   []string       // full hashes that appear only as padding
	requests []*http.Request
	down     bool
	hang     chan struct{}
}

func sha1Hex(pw string) string {
	sum := sha1.Sum([]byte(pw)) //nolint:gosec // see the import
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func newRangeAPI(t *testing.T) *rangeAPI {
	f := &rangeAPI{breached: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		down, hang := f.down, f.hang
		var lines []string
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		for h, n := range f.breached {
			if strings.HasPrefix(h, prefix) {
				lines = append(lines, fmt.Sprintf("%s:%d", h[5:], n))
			}
		}
		if r.Header.Get("Add-Padding") == "true" {
			for _, h := range f.padded {
				if strings.HasPrefix(h, prefix) {
					lines = append(lines, h[5:]+":0")
				}
			}
			for i := range 20 {
				lines = append(lines, fmt.Sprintf("%035X:0", i))
			}
		}
		f.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(strings.Join(lines, "\r\n")))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *rangeAPI) breach(pw string) {
	f.mu.Lock()
	f.breached[sha1Hex(pw)] = 42
	f.mu.Unlock()
}

func (f *rangeAPI) set(down bool, hang chan struct{}) {
	f.mu.Lock()
	f.down, f.hang = down, hang
	f.mu.Unlock()
}

func (f *rangeAPI) calls() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

const breachedPassword = "tr0ub4dor and 3 more words"

// TestBreachedPasswords: a password seen in a breach is refused (422 on the
// field) wherever a password is set; only 5 hex characters of its SHA-1
// leave, with Add-Padding; answers are cached by prefix; a padding line is
// not a match; the service down or slow fails open within its timeout.
func TestBreachedPasswords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newRangeAPI(t)
		f.breach(breachedPassword)
		f.padded = []string{sha1Hex("only in the padding lines")}
		reg := prometheus.NewRegistry()
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_BREACHED_PASSWORDS": "check", "AUTH_BREACHED_PASSWORDS_URL": f.srv.URL + "/range/",
			"AUTH_EMAIL_VERIFICATION": "off"}, withRegistry(reg),
			func(c *config.Config, _ *api.Deps) { c.Abuse.BreachedTimeout = 300 * time.Millisecond })
		hashes := m.hasher.Count()
		body := map[string]any{"email": newEmail(), "password": breachedPassword, "name": "Ada"}
		r := m.client().do("POST", "/auth/register", body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"password":["has appeared in a data breach; choose another"]`) {
			t.Fatalf("register with a breached password: %d %s", r.status, r.body)
		}
		if m.hasher.Count() != hashes {
			t.Error("a breached password was hashed")
		}
		calls := f.calls()
		if len(calls) != 1 {
			t.Fatalf("%d range calls", len(calls))
		}
		full := sha1Hex(breachedPassword)
		if calls[0].Method != "GET" || calls[0].URL.Path != "/range/"+full[:5] || calls[0].URL.RawQuery != "" || calls[0].Header.Get("Add-Padding") != "true" {
			t.Errorf("the request: %s %s ?%s Add-Padding %q", calls[0].Method, calls[0].URL.Path, calls[0].URL.RawQuery, calls[0].Header.Get("Add-Padding"))
		}
		for name, v := range calls[0].Header {
			if strings.Contains(strings.Join(v, ","), full[5:10]) {
				t.Errorf("header %s carries more of the hash", name)
			}
		}
		// Cached by prefix: the same password again asks nothing.
		wantStatus(t, m.client().do("POST", "/auth/register", body), http.StatusUnprocessableEntity, "again")
		if n := len(f.calls()); n != 1 {
			t.Errorf("%d range calls after a cached prefix", n)
		}
		// A padding line (count 0) is not a breach.
		email := newEmail()
		c := m.client()
		wantStatus(t, c.do("POST", "/auth/register", map[string]any{"email": email, "password": "only in the padding lines", "name": "Ada"}),
			http.StatusCreated, "a password found only in padding")
		// Change and reset.
		r = c.do("POST", "/auth/password", map[string]any{"currentPassword": "only in the padding lines", "newPassword": breachedPassword})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"newPassword":["has appeared in a data breach`) {
			t.Errorf("change to a breached password: %d %s", r.status, r.body)
		}
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		_, tok := m.mailFor(email, "Reset your password", 0).Link()
		r = m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": breachedPassword})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"password":["has appeared in a data breach`) {
			t.Errorf("reset to a breached password: %d %s", r.status, r.body)
		}
		// The command line (and an operator) set passwords through auth too.
		u, _ := m.svc.UserByEmail(context.Background(), email)
		if err := m.svc.SetPassword(context.Background(), auth.Client{}, u, breachedPassword); models.CodeOf(err) != models.CodeValidationFailed {
			t.Errorf("SetPassword with a breached password: %v", err)
		}
		if _, err := m.svc.CreateUser(context.Background(), auth.NewUser{Email: newEmail(), Name: "Op", Password: breachedPassword, Role: models.RoleUser}); models.CodeOf(err) != models.CodeValidationFailed {
			t.Errorf("CreateUser with a breached password: %v", err)
		}

		// Down: fail open, with a warning, counted.
		f.set(true, nil)
		wantStatus(t, m.client().do("POST", "/auth/register", map[string]any{"email": newEmail(), "password": "a service that is down", "name": "Ada"}),
			http.StatusCreated, "register while the range API is down")
		// Hanging: fail open within the timeout.
		release := make(chan struct{})
		f.set(false, release)
		start := time.Now()
		wantStatus(t, m.client().do("POST", "/auth/register", map[string]any{"email": newEmail(), "password": "a service that hangs forever", "name": "Ada"}),
			http.StatusCreated, "register while the range API hangs")
		close(release)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("a hanging range API held registration %v", d)
		}
		if !strings.Contains(m.logs.String(), "breached-password service unavailable") {
			t.Error("no warning when failing open")
		}
		if u, b := counter(t, reg, "portcullis_breached_check_total", "outcome", "unavailable"), counter(t, reg, "portcullis_breached_check_total", "outcome", "breached"); u != 2 || b < 5 {
			t.Errorf("portcullis_breached_check_total unavailable %v breached %v", u, b)
		}
	})
}

// TestBreachCheckAfterSignIn: after a password sign-in the check runs in the
// background; a slow range API never delays the sign-in; a match mails
// password_breached and audits it, once per 30 days.
func TestBreachCheckAfterSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newRangeAPI(t)
		checked := make(chan struct{}, 4)
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_BREACHED_PASSWORDS": "check", "AUTH_BREACHED_PASSWORDS_URL": f.srv.URL + "/range/",
			"AUTH_EMAIL_VERIFICATION": "off"}, func(_ *config.Config, d *api.Deps) {
			d.Hooks.BreachChecked = func() { checked <- struct{}{} }
		})
		email := newEmail()
		m.register(email) // goodPassword, not breached then
		// The corpus learns of it; the cached prefix expires.
		f.breach(goodPassword)
		m.clock.Advance(11 * time.Minute)
		release := make(chan struct{})
		f.set(false, release)
		// The sign-in answers while the range API is still holding the check.
		login(t, m.harness, email)
		select {
		case <-checked:
			t.Fatal("the check finished before the range API answered")
		default:
		}
		close(release)
		<-checked
		if msg := m.mailFor(email, "Your password appears in a data breach", 0); !strings.Contains(msg.Text, "Change it now") {
			t.Errorf("notice: %q", msg.Text)
		}
		ev, err := m.db.Events(context.Background(), models.EventFilter{UserID: "", Type: models.EventPasswordBreached})
		if err != nil || len(ev) != 1 {
			t.Fatalf("password_breached audit: %d %v", len(ev), err)
		}
		// Within 30 days: checked again, but no second notice.
		f.set(false, nil)
		login(t, m.harness, email)
		<-checked
		m.settle(email, 1) // registration mailed nothing (verification off): the one notice
		if ev, _ := m.db.Events(context.Background(), models.EventFilter{Type: models.EventPasswordBreached}); len(ev) != 1 {
			t.Errorf("%d password_breached events after a second sign-in", len(ev))
		}
	})
}
