package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

func login(t *testing.T, h *harness, email string, headers ...string) *client {
	t.Helper()
	c := h.client()
	r := c.do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}, headers...)
	wantStatus(t, r, http.StatusOK, "login "+email)
	return c
}

func TestSessionsListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		laptop := h.register("ada@example.com")
		phone := login(t, h, "ada@example.com", "User-Agent", "Phone/1.0")
		other := h.register("eve@example.com")

		r := laptop.do("GET", "/auth/sessions", nil)
		wantStatus(t, r, http.StatusOK, "list sessions")
		var list handlers.SessionsResponse
		r.json(t, &list)
		if len(list.Sessions) != 2 {
			t.Fatalf("%d sessions, want 2: %s", len(list.Sessions), r.body)
		}
		var phoneID string
		current := 0
		for _, s := range list.Sessions {
			if s.Current {
				current++
			}
			if s.UserAgent == "Phone/1.0" {
				phoneID = s.ID
				if s.Current || s.IP != "127.0.0.1" {
					t.Errorf("phone session = %+v", s)
				}
			}
		}
		if current != 1 || phoneID == "" {
			t.Fatalf("sessions = %+v: want one current and the phone's", list.Sessions)
		}

		// Another user's session, a malformed id and an unknown id all look the same.
		r = other.do("DELETE", "/auth/sessions/"+phoneID, nil)
		wantStatus(t, r, http.StatusNotFound, "delete another user's session")
		wantStatus(t, laptop.do("DELETE", "/auth/sessions/not-a-uuid", nil), http.StatusNotFound, "malformed id")
		wantStatus(t, laptop.do("DELETE", "/auth/sessions/01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c", nil), http.StatusNotFound, "unknown id")
		wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusOK, "phone still signed in")

		wantStatus(t, laptop.do("DELETE", "/auth/sessions/"+phoneID, nil), http.StatusNoContent, "sign out the phone")
		wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusUnauthorized, "phone at its next request")
		wantStatus(t, phone.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "phone refresh")
		wantStatus(t, laptop.do("GET", "/auth/me", nil), http.StatusOK, "laptop unaffected")
		wantStatus(t, laptop.do("DELETE", "/auth/sessions/"+phoneID, nil), http.StatusNotFound, "already revoked")
	})
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		a := h.register("ada@example.com")
		b := login(t, h, "ada@example.com")
		r := a.do("POST", "/auth/password", map[string]any{"currentPassword": "wrong password!", "newPassword": "a brand new passphrase"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "wrong current password")
		var e handlers.ErrorResponse
		r.json(t, &e)
		if len(e.Error.Fields["currentPassword"]) == 0 {
			t.Errorf("fields = %v, want currentPassword", e.Error.Fields)
		}
		r = a.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "password1"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "weak new password")

		wantStatus(t, a.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}), http.StatusNoContent, "change password")
		wantStatus(t, a.do("GET", "/auth/me", nil), http.StatusOK, "this session stays")
		wantStatus(t, b.do("GET", "/auth/me", nil), http.StatusUnauthorized, "other session at its next request")
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": goodPassword}), http.StatusUnauthorized, "old password")
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "a brand new passphrase"}), http.StatusOK, "new password")
	})
}

func TestActivityNewestFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		a := h.register("ada@example.com")
		h.clock.Advance(time.Second)
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "nope nope nope"}), http.StatusUnauthorized, "failed login")
		h.clock.Advance(time.Second)
		b := login(t, h, "ada@example.com")
		h.clock.Advance(time.Second)
		wantStatus(t, b.do("POST", "/auth/logout", nil), http.StatusNoContent, "logout")
		r := a.do("GET", "/auth/activity", nil)
		wantStatus(t, r, http.StatusOK, "activity")
		var act handlers.ActivityResponse
		r.json(t, &act)
		var types []string
		for _, e := range act.Events {
			types = append(types, e.Type)
		}
		want := "logout,login_succeeded,login_failed,register"
		if got := strings.Join(types, ","); got != want {
			t.Errorf("activity = %s, want %s", got, want)
		}
	})
}

func TestCrossOriginProtection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		const app = "https://app.example.com"
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_ALLOWED_ORIGINS": app}))
		c := h.register("ada@example.com")
		evil := []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
		for _, path := range []string{"/auth/logout", "/auth/password"} {
			r := c.do("POST", path, map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}, evil...)
			wantStatus(t, r, http.StatusForbidden, "cross-site "+path)
			if code := r.errorCode(t); code != "csrf_failed" {
				t.Errorf("%s: code %q", path, code)
			}
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "session survives")

		for _, origin := range []string{"https://app.example.com.evil.com", "http://app.example.com", "https://app.example.com:8443", "null"} {
			r := c.do("POST", "/auth/logout", nil, "Origin", origin, "Sec-Fetch-Site", "cross-site")
			wantStatus(t, r, http.StatusForbidden, "origin "+origin)
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("origin %s got CORS headers", origin)
			}
		}
		// Without Sec-Fetch-Site (older browsers), Origin is compared with Host.
		wantStatus(t, c.do("POST", "/auth/logout", nil, "Origin", "https://evil.example"), http.StatusForbidden, "Origin only")

		// Login CSRF: a foreign page cannot sign the browser in.
		x := h.client()
		r := x.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": goodPassword}, evil...)
		wantStatus(t, r, http.StatusForbidden, "cross-site login")
		if r.header.Get("Set-Cookie") != "" {
			t.Error("cross-site login set a cookie")
		}

		// A bearer request carries its own credential and is exempt.
		tok := c.cookieValue("/", "__Host-session")
		wantStatus(t, h.client().do("PATCH", "/auth/me", map[string]any{"name": "Ada"}, append(evil, "Authorization", "Bearer "+tok)...), http.StatusOK, "bearer from another origin")

		// The allowed origin works, with CORS headers.
		r = c.do("POST", "/auth/logout", nil, "Origin", app, "Sec-Fetch-Site", "cross-site")
		wantStatus(t, r, http.StatusNoContent, "logout from the allowed origin")
		if r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("CORS headers = %v", r.header)
		}
	})
}

func TestCORS(t *testing.T) {
	const app = "http://localhost:5173"
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_ALLOWED_ORIGINS": app}))
	c := h.client()
	r := c.do("OPTIONS", "/auth/login", nil, "Origin", app, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if r.status >= 300 || r.header.Get("Access-Control-Allow-Origin") != app || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(strings.ToLower(r.header.Get("Access-Control-Allow-Headers")), "content-type") {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	// Errors carry CORS headers too, so the SPA can read a 401.
	r = c.do("GET", "/auth/me", nil, "Origin", app)
	wantStatus(t, r, http.StatusUnauthorized, "anonymous me")
	if r.header.Get("Access-Control-Allow-Origin") != app || !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
		t.Errorf("401 CORS headers = %v", r.header)
	}
	// Unlisted origins get no CORS headers but are processed as usual.
	r = c.do("GET", "/auth/me", nil, "Origin", "https://other.example")
	wantStatus(t, r, http.StatusUnauthorized, "unlisted origin")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("unlisted origin got %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestClientIPTrustsOnlyConfiguredProxies(t *testing.T) {
	for _, tt := range []struct {
		proxies, want string
	}{
		{"", "127.0.0.1"},
		{"127.0.0.0/8", "203.0.113.9"},
	} {
		h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_TRUSTED_PROXIES": tt.proxies}))
		c := h.client()
		wantStatus(t, c.do("POST", "/auth/register", registerBody("ada@example.com"), "X-Forwarded-For", "203.0.113.9"), http.StatusCreated, "register")
		r := c.do("GET", "/auth/sessions", nil)
		var list handlers.SessionsResponse
		r.json(t, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].IP != tt.want {
			t.Errorf("proxies %q: sessions %+v, want IP %s", tt.proxies, list.Sessions, tt.want)
		}
	}
}

// TestLockoutAcrossIPsAndForUnknownEmails spreads failures over many
// addresses: they add up to the email's global lock (set here to the pair
// threshold, 10) whether or not the account exists.
func TestLockoutAcrossIPsAndForUnknownEmails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_TRUSTED_PROXIES": "127.0.0.1/32", "AUTH_LOCKOUT_GLOBAL_THRESHOLD": "10"}))
		h.register("ada@example.com")
		h.register("bob@example.com")
		for _, email := range []string{"ada@example.com", "ghost@example.com"} {
			var statuses []int
			for i := range 12 {
				r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": "wrong password " + fmt.Sprint(i)},
					"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
				statuses = append(statuses, r.status)
				if r.status == http.StatusTooManyRequests {
					if r.header.Get("Retry-After") == "" || r.errorCode(t) != "rate_limited" {
						t.Errorf("429 without Retry-After or code: %v %s", r.header, r.body)
					}
				}
			}
			if statuses[9] != 401 || statuses[10] != 429 || statuses[11] != 429 {
				t.Errorf("%s: statuses %v, want 401 x10 then 429", email, statuses)
			}
		}
		// Locked even with the right password; other accounts are unaffected.
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": "ADA@example.com", "password": goodPassword}), http.StatusTooManyRequests, "right password while locked")
		login(t, h, "bob@example.com")
		if n := countEvents(t, h, models.EventLockout); n != 2 {
			t.Errorf("%d lockout events, want 2", n)
		}
		h.clock.Advance(16 * time.Minute)
		login(t, h, "ada@example.com")
	})
}

func TestIPRateLimit(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.client()
	limited := 0
	for i := range 75 {
		r := c.do("POST", "/auth/login", map[string]any{"email": fmt.Sprintf("u%d@example.com", i), "password": "whatever123"})
		if r.status == http.StatusTooManyRequests {
			limited++
			if r.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if limited != 15 {
		t.Errorf("%d of 75 attempts within a minute limited, want 15", limited)
	}
	h.clock.Advance(time.Minute)
	wantStatus(t, c.do("POST", "/auth/login", map[string]any{"email": "x@example.com", "password": "whatever123"}), http.StatusUnauthorized, "after a minute")
}

func TestKeyRotationAcrossRestarts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		if strings.HasPrefix(dbURL, "sqlite::memory:") {
			dbURL = "sqlite:" + t.TempDir() + "/auth.db"
		}
		oldKey, newKey := token.GenerateKey("old"), token.GenerateKey("new")
		withKeys := func(keys ...token.Key) option {
			return func(_ *config.Config, d *api.Deps) { d.Keys, _ = token.NewKeyRing(keys...) }
		}
		h1 := newHarness(t, dbURL, withKeys(oldKey))
		c := h1.register("ada@example.com")
		access, refresh := c.cookieValue("/", "__Host-session"), c.cookieValue("/auth", "__Secure-refresh")

		h2 := newHarness(t, dbURL, withKeys(newKey, oldKey))
		old := h2.client()
		old.setCookie("/", "__Host-session", access)
		old.setCookie("/auth", "__Secure-refresh", refresh)
		wantStatus(t, old.do("GET", "/auth/me", nil), http.StatusOK, "old cookie with new,old keys")
		fresh := login(t, h2, "ada@example.com")
		if kid := kidOf(t, fresh.cookieValue("/", "__Host-session")); kid != "new" {
			t.Errorf("new cookie kid = %q, want new", kid)
		}

		h3 := newHarness(t, dbURL, withKeys(newKey))
		gone := h3.client()
		gone.setCookie("/", "__Host-session", access)
		wantStatus(t, gone.do("GET", "/auth/me", nil), http.StatusUnauthorized, "old cookie after the old key is removed")
		still := h3.client()
		still.setCookie("/", "__Host-session", fresh.cookieValue("/", "__Host-session"))
		wantStatus(t, still.do("GET", "/auth/me", nil), http.StatusOK, "new cookie with new key only")
	})
}

// TestRevocationBeatsTheCaches checks a session whose token and state are
// cached is still rejected at its very next request after revocation, and a
// demotion applies at once.
func TestRevocationBeatsTheCaches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root@example.com")
		phone := login(t, h, "root@example.com")
		for range 3 { // warm both caches
			wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusOK, "warm")
		}
		var list handlers.SessionsResponse
		phone.do("GET", "/auth/sessions", nil).json(t, &list)
		for _, s := range list.Sessions {
			if s.Current {
				wantStatus(t, root.do("DELETE", "/auth/sessions/"+s.ID, nil), http.StatusNoContent, "revoke the phone")
			}
		}
		wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusUnauthorized, "revoked phone, next request")

		ada := h.register("ada@example.com")
		adaID := userID(t, ada)
		wantStatus(t, root.do("PATCH", "/admin/users/"+adaID, map[string]any{"role": "admin"}), http.StatusOK, "promote")
		wantStatus(t, ada.do("GET", "/admin/users", nil), http.StatusOK, "warm admin")
		wantStatus(t, root.do("PATCH", "/admin/users/"+adaID, map[string]any{"role": "user"}), http.StatusOK, "demote")
		wantStatus(t, ada.do("GET", "/admin/users", nil), http.StatusForbidden, "demoted, next request")
	})
}
