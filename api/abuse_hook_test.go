package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookReceiver is the operator's before-create hook running in the test: it
// verifies each request's signature with the Standard Webhooks library (a
// bad one answers 401, which the service must treat as no answer) and
// answers as told.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	answer string // the body to answer; "" answers 500
	hang   chan struct{}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	wh, err := standardwebhooks.NewWebhook(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	f := &hookReceiver{answer: `{"allow":true}`}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "bad signature: "+err.Error(), http.StatusUnauthorized)
			return
		}
		var ev map[string]any
		_ = json.Unmarshal(body, &ev)
		f.mu.Lock()
		f.events = append(f.events, ev)
		answer, hang := f.answer, f.hang
		f.mu.Unlock()
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
				return
			}
		}
		if answer == "" {
			http.Error(w, "oops", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *hookReceiver) set(answer string, hang chan struct{}) {
	f.mu.Lock()
	f.answer, f.hang = answer, hang
	f.mu.Unlock()
}

func (f *hookReceiver) seen() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.events...)
}

func hookEnv(f *hookReceiver, extra ...string) map[string]string {
	env := map[string]string{"AUTH_HOOK_BEFORE_CREATE_URL": f.srv.URL, "AUTH_HOOK_SECRET": hookSecret}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// TestBeforeCreateHook: under required, the signed hook is asked for every
// registration with the same data whether or not the address has an
// account, so allow (202), deny (403 with its cleaned message) and an
// outage (503 closed) answer alike; open lets an outage through; a hanging
// receiver costs no more than the timeout.
func TestBeforeCreateHook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newHookReceiver(t)
		m := newMailHarness(t, dbURL, hookEnv(f, "AUTH_EMAIL_VERIFICATION", "required"),
			func(c *config.Config, _ *api.Deps) { c.Abuse.HookTimeout = 300 * time.Millisecond })
		ctx := context.Background()
		existing := newEmail()
		wantStatus(t, m.client().do("POST", "/auth/register", registerBody(existing), "User-Agent", "browser/1"), http.StatusAccepted, "register (allowed)")
		wantStatus(t, m.client().do("POST", "/auth/register", registerBody(existing), "User-Agent", "browser/1"), http.StatusAccepted, "register an existing address (allowed)")
		ev := f.seen()
		if len(ev) != 2 {
			t.Fatalf("%d hook calls, want 2 (one for each registration)", len(ev))
		}
		data, _ := ev[0]["data"].(map[string]any)
		if ev[0]["type"] != "user.before_create" || ev[0]["timestamp"] == nil || data["email"] != existing || data["name"] != "Ada Lovelace" ||
			data["method"] != "password" || data["ip"] != "127.0.0.1" || data["userAgent"] != "browser/1" || data["password"] != nil || len(data) != 5 {
			t.Errorf("hook event: %v", ev[0])
		}
		second, _ := json.Marshal(ev[1]["data"])
		first, _ := json.Marshal(data)
		if string(first) != string(second) {
			t.Errorf("the hook saw different data for an existing address: %s vs %s", first, second)
		}

		// Deny: 403 signup_denied with the receiver's message, cleaned and
		// bounded; the same for an address with an account and one without.
		f.set(`{"allow":false,"message":"Sign-ups from your network are paused.\u0007\n`+strings.Repeat("x", 300)+`"}`, nil)
		hashes := m.hasher.Count()
		var answers []string
		fresh := newEmail()
		for _, email := range []string{existing, fresh} {
			r := m.client().do("POST", "/auth/register", registerBody(email))
			var e handlers.ErrorResponse
			r.json(t, &e)
			if r.status != http.StatusForbidden || e.Error.Code != "signup_denied" || !strings.HasPrefix(e.Error.Message, "Sign-ups from your network are paused.x") ||
				len([]rune(e.Error.Message)) != 200 || strings.ContainsAny(e.Error.Message, "\u0007\n") {
				t.Fatalf("denied %s: %d %s", email, r.status, r.body)
			}
			answers = append(answers, e.Error.Message)
		}
		if answers[0] != answers[1] || m.hasher.Count() != hashes {
			t.Errorf("deny answers differ or hashed: %q / %q, hashes %d→%d", answers[0], answers[1], hashes, m.hasher.Count())
		}
		if _, err := m.db.UserByEmail(ctx, fresh); !models.IsKind(err, models.NotFound) {
			t.Errorf("a denied sign-up created an account: %v", err)
		}
		if audit, _ := m.db.Events(ctx, models.EventFilter{Type: models.EventSignupDenied}); len(audit) != 2 || audit[0].Detail != "reason: hook" {
			t.Errorf("signup_denied audit: %d", len(audit))
		}

		// Down (5xx, a bad body, a hang), closed: 503 hook_unavailable for both.
		for _, answer := range []string{"", `{"allowed":true}`, "not json"} {
			f.set(answer, nil)
			for _, email := range []string{existing, newEmail()} {
				r := m.client().do("POST", "/auth/register", registerBody(email))
				if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "hook_unavailable" || r.header.Get("Retry-After") != "5" {
					t.Fatalf("hook answering %q (closed), %s: %d %s", answer, email, r.status, r.body)
				}
			}
		}
		release := make(chan struct{})
		f.set(`{"allow":true}`, release)
		start := time.Now()
		r := m.client().do("POST", "/auth/register", registerBody(newEmail()))
		close(release)
		if r.status != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
			t.Errorf("hanging hook: %d after %v", r.status, time.Since(start))
		}

		// Open: an outage lets the sign-up through, with a warning.
		f.set("", nil)
		o := newMailHarness(t, dbURL, hookEnv(f, "AUTH_HOOK_FAIL", "open", "AUTH_EMAIL_VERIFICATION", "off"))
		wantStatus(t, o.client().do("POST", "/auth/register", registerBody(newEmail())), http.StatusCreated, "hook down (open)")
		if !strings.Contains(o.logs.String(), "AUTH_HOOK_FAIL=open") {
			t.Error("no warning when failing open")
		}
		// A forged signature is no answer: the receiver refuses it.
		bad := newMailHarness(t, dbURL, hookEnv(f, "AUTH_HOOK_SECRET", "whsec_"+"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "AUTH_EMAIL_VERIFICATION", "off"))
		f.set(`{"allow":true}`, nil)
		wantStatus(t, bad.client().do("POST", "/auth/register", registerBody(newEmail())), http.StatusServiceUnavailable, "signed with another secret")
	})
}

// TestOIDCFirstSignInControls: an OpenID Connect first sign-in meets the
// domain rules and the before-create hook (method "oidc"); a returning
// user is not asked again.
func TestOIDCFirstSignInControls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newHookReceiver(t)
		o := newOIDCHarness(t, dbURL, hookEnv(f, "AUTH_SIGNUP_DOMAINS_DENY", "blocked.example"))
		ctx := context.Background()
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-blocked", Email: "eve@blocked.example", EmailVerified: true, Name: "Eve"})
		landed(t, o.signIn(o.browser()), "email_domain_not_allowed")
		if _, err := o.db.UserByEmail(ctx, "eve@blocked.example"); !models.IsKind(err, models.NotFound) {
			t.Errorf("a denied domain got an account: %v", err)
		}
		if n := len(f.seen()); n != 0 {
			t.Errorf("the hook was asked %d times about a denied domain", n)
		}
		f.set(`{"allow":false,"message":"invite only"}`, nil)
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-ada", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"})
		landed(t, o.signIn(o.browser()), "signup_denied")
		if _, err := o.db.UserByEmail(ctx, "ada@example.com"); !models.IsKind(err, models.NotFound) {
			t.Errorf("a denied sign-up got an account: %v", err)
		}
		f.set(`{"allow":true}`, nil)
		landed(t, o.signIn(o.browser()), "")
		ev := f.seen()
		if data, _ := ev[len(ev)-1]["data"].(map[string]any); len(ev) != 2 || data["method"] != "oidc" || data["email"] != "ada@example.com" {
			t.Errorf("hook events: %v", ev)
		}
		// A returning user: no hook call, even were it to deny.
		f.set(`{"allow":false,"message":"no"}`, nil)
		landed(t, o.signIn(o.browser()), "")
		if n := len(f.seen()); n != 2 {
			t.Errorf("the hook was asked about a returning user (%d calls)", n)
		}
	})
}
