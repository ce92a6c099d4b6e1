package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

func TestCookieFlowRegisterMeRefreshLogout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.client()
		r := c.do("POST", "/auth/register", registerBody("  Ada@Example.COM "))
		wantStatus(t, r, http.StatusCreated, "register")
		var reg handlers.AuthResponse
		r.json(t, &reg)
		if reg.User.Email != "ada@example.com" || reg.User.Role != "user" || reg.Session.ID == "" {
			t.Errorf("register body = %+v", reg)
		}
		if strings.Contains(string(r.body), "password") || strings.Contains(string(r.body), "argon2") {
			t.Errorf("register body leaks password material: %s", r.body)
		}
		access := r.cookie("__Host-session")
		refresh := r.cookie("__Secure-refresh")
		if access == nil || !access.HttpOnly || !access.Secure || access.Path != "/" || access.MaxAge != 900 || access.SameSite != http.SameSiteLaxMode {
			t.Errorf("access cookie = %+v", access)
		}
		if refresh == nil || !refresh.HttpOnly || !refresh.Secure || refresh.Path != "/auth" || refresh.MaxAge != 7*24*3600 {
			t.Errorf("refresh cookie = %+v", refresh)
		}
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q", got)
		}

		r = c.do("GET", "/auth/me", nil)
		wantStatus(t, r, http.StatusOK, "me")
		var me handlers.AuthResponse
		r.json(t, &me)
		if me.User.ID != reg.User.ID || me.Session.ID != reg.Session.ID {
			t.Errorf("me = %+v, want the registered user and session", me)
		}

		oldAccess := c.cookieValue("/", "__Host-session")
		h.clock.Advance(time.Minute)
		r = c.do("POST", "/auth/refresh", nil)
		wantStatus(t, r, http.StatusOK, "refresh")
		if c.cookieValue("/", "__Host-session") == oldAccess {
			t.Error("refresh did not rotate the access cookie")
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me after refresh")

		r = c.do("POST", "/auth/logout", nil)
		wantStatus(t, r, http.StatusNoContent, "logout")
		if ck := r.cookie("__Host-session"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("logout did not clear the access cookie: %+v", ck)
		}
		if ck := r.cookie("__Secure-refresh"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("logout did not clear the refresh cookie: %+v", ck)
		}
		// A copy of the cookie kept from before logout is dead at once.
		replay := h.client()
		replay.setCookie("/", "__Host-session", oldAccess)
		r = replay.do("GET", "/auth/me", nil)
		wantStatus(t, r, http.StatusUnauthorized, "replayed cookie after logout")
		if code := r.errorCode(t); code != "unauthenticated" {
			t.Errorf("code = %q", code)
		}
		wantStatus(t, c.do("POST", "/auth/logout", nil), http.StatusNoContent, "second logout")
	})
}

func TestLoginAnswersUnknownEmailAndWrongPasswordAlike(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		h.register("ada@example.com")
		c := h.client()
		wrong := c.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "not the password"})
		unknown := c.do("POST", "/auth/login", map[string]any{"email": "nobody@example.com", "password": "not the password"})
		wantStatus(t, wrong, http.StatusUnauthorized, "wrong password")
		wantStatus(t, unknown, http.StatusUnauthorized, "unknown email")
		var a, b handlers.ErrorResponse
		wrong.json(t, &a)
		unknown.json(t, &b)
		a.Error.RequestID, b.Error.RequestID = "", ""
		if a.Error.Code != b.Error.Code || a.Error.Message != b.Error.Message || a.Error.Code != "invalid_credentials" {
			t.Errorf("wrong password %+v, unknown email %+v: want the same invalid_credentials", a, b)
		}
		if wrong.cookie("__Host-session") != nil {
			t.Error("failed login set a cookie")
		}

		r := c.do("POST", "/auth/login", map[string]any{"email": "ADA@example.com ", "password": goodPassword, "rememberMe": true})
		wantStatus(t, r, http.StatusOK, "login")
		if ck := r.cookie("__Secure-refresh"); ck == nil || ck.MaxAge != 30*24*3600 {
			t.Errorf("rememberMe refresh cookie = %+v, want Max-Age 30 days", ck)
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me after login")
	})
}

func TestAccessCookieIsDirA256GCMWithMinimalClaims(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("ada@example.com")
	tok := c.cookieValue("/", "__Host-session")
	obj, err := jose.ParseEncryptedCompact(tok, []jose.KeyAlgorithm{jose.DIRECT}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		t.Fatalf("cookie is not dir/A256GCM compact JWE: %v", err)
	}
	if obj.Header.KeyID != "test" {
		t.Errorf("kid = %q, want test", obj.Header.KeyID)
	}
	payload, err := obj.Decrypt(h.key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range claims {
		keys = append(keys, k)
	}
	want := map[string]bool{"typ": true, "sid": true, "sub": true, "role": true, "aal": true, "iat": true, "exp": true}
	if len(claims) != len(want) {
		t.Errorf("claims %v, want exactly typ sid sub role aal iat exp", keys)
	}
	for k := range want {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing from %v", k, claims)
		}
	}
	// Neither the address nor the name (ids are hex, so a bare "ada" could
	// be part of one).
	if strings.Contains(string(payload), "example.com") || strings.Contains(string(payload), "Lovelace") {
		t.Errorf("claims carry personal data: %s", payload)
	}
	if claims["typ"] != "access" || claims["exp"].(float64)-claims["iat"].(float64) != 900 {
		t.Errorf("claims = %v", claims)
	}
}

func TestTokenExpiredThenRefresh(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.register("ada@example.com")
		h.clock.Advance(16 * time.Minute)
		// The jar would drop the expired cookie; a client with a slow clock would not.
		c.setCookie("/", "__Host-session", c.cookieValue("/", "__Host-session"))
		r := c.do("GET", "/auth/me", nil)
		wantStatus(t, r, http.StatusUnauthorized, "me with expired access token")
		if code := r.errorCode(t); code != "token_expired" {
			t.Errorf("code = %q, want token_expired", code)
		}
		wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusOK, "refresh")
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me after refresh")
	})
}

func TestTokensOfOneTypeAreNotTheOther(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("ada@example.com")
	access, refresh := c.cookieValue("/", "__Host-session"), c.cookieValue("/auth", "__Secure-refresh")
	x := h.client()
	x.setCookie("/auth", "__Secure-refresh", access)
	r := x.do("POST", "/auth/refresh", nil)
	wantStatus(t, r, http.StatusUnauthorized, "access token as refresh token")
	if code := r.errorCode(t); code != "invalid_refresh" {
		t.Errorf("code = %q", code)
	}
	r = x.do("GET", "/auth/me", nil, "Authorization", "Bearer "+refresh)
	wantStatus(t, r, http.StatusUnauthorized, "refresh token as access token")
	wantStatus(t, x.do("GET", "/auth/me", nil, "Authorization", "Bearer "+access), http.StatusOK, "bearer access token")
	wantStatus(t, x.do("GET", "/auth/me", nil, "Authorization", "Basic "+access), http.StatusUnauthorized, "non-bearer scheme")
}

func TestRefreshReuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.register("ada@example.com")
		stale := c.cookieValue("/auth", "__Secure-refresh")
		wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusOK, "first refresh")

		// Within the reuse interval a one-generation-old token gets current tokens.
		h.clock.Advance(5 * time.Second)
		tab := h.client()
		tab.setCookie("/auth", "__Secure-refresh", stale)
		wantStatus(t, tab.do("POST", "/auth/refresh", nil), http.StatusOK, "racing tab within the interval")
		wantStatus(t, tab.do("GET", "/auth/me", nil), http.StatusOK, "racing tab's new cookie")

		// After it, reuse revokes the whole session.
		h.clock.Advance(10 * time.Second)
		thief := h.client()
		thief.setCookie("/auth", "__Secure-refresh", stale)
		r := thief.do("POST", "/auth/refresh", nil)
		wantStatus(t, r, http.StatusUnauthorized, "reuse after the interval")
		if code := r.errorCode(t); code != "invalid_refresh" {
			t.Errorf("code = %q", code)
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusUnauthorized, "legitimate client after reuse detection")
		wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "legitimate refresh after reuse detection")
		if n := countEvents(t, h, models.EventRefreshReuseDetected); n != 1 {
			t.Errorf("%d refresh_reuse_detected events, want 1", n)
		}
	})
}

func TestThreeTabsRefreshingAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		first := h.register("ada@example.com")
		access, refresh := first.cookieValue("/", "__Host-session"), first.cookieValue("/auth", "__Secure-refresh")
		tabs := make([]*client, 3)
		for i := range tabs {
			tabs[i] = h.client()
			tabs[i].setCookie("/", "__Host-session", access)
			tabs[i].setCookie("/auth", "__Secure-refresh", refresh)
		}
		var wg sync.WaitGroup
		statuses := make([]int, len(tabs))
		for i, tab := range tabs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = tab.do("POST", "/auth/refresh", nil).status
			}()
		}
		wg.Wait()
		for i, tab := range tabs {
			if statuses[i] != http.StatusOK {
				t.Errorf("tab %d refresh: %d", i, statuses[i])
			}
			wantStatus(t, tab.do("GET", "/auth/me", nil), http.StatusOK, fmt.Sprintf("tab %d me", i))
		}
		// They keep working: each refreshes again later (the first rotates,
		// the others arrive within the reuse interval).
		h.clock.Advance(time.Minute)
		for i, tab := range tabs {
			wantStatus(t, tab.do("POST", "/auth/refresh", nil), http.StatusOK, fmt.Sprintf("tab %d second refresh", i))
		}
	})
}

func TestSessionsSlideAndAreCapped(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_SESSION_TTL": "24h", "AUTH_REMEMBER_TTL": "48h", "AUTH_SESSION_MAX_AGE": "72h"}))
	c := h.register("ada@example.com")
	var got handlers.AuthResponse
	for i := range 4 {
		h.clock.Advance(20 * time.Hour)
		r := c.do("POST", "/auth/refresh", nil)
		if i < 3 {
			wantStatus(t, r, http.StatusOK, fmt.Sprintf("refresh %d", i))
			r.json(t, &got)
			want := got.Session.CreatedAt.Add(time.Duration(min(20*(i+1)+24, 72)) * time.Hour)
			if !got.Session.ExpiresAt.Equal(want) {
				t.Errorf("refresh %d: expiresAt %v, want %v", i, got.Session.ExpiresAt, want)
			}
		} else {
			wantStatus(t, r, http.StatusUnauthorized, "refresh past the absolute cap")
		}
	}
}

func TestUpdateMe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.register("ada@example.com")
		r := c.do("PATCH", "/auth/me", map[string]any{"name": "  Ada King  "})
		wantStatus(t, r, http.StatusOK, "patch me")
		var u handlers.UserResponse
		r.json(t, &u)
		if u.User.Name != "Ada King" {
			t.Errorf("name = %q", u.User.Name)
		}
		for _, body := range []any{map[string]any{"name": " "}, map[string]any{"name": "a\u0000b"}, map[string]any{"name": strings.Repeat("x", 101)}} {
			r := c.do("PATCH", "/auth/me", body)
			wantStatus(t, r, http.StatusUnprocessableEntity, fmt.Sprintf("patch %v", body))
		}
		// A partial update: absent fields keep their value.
		r = c.do("PATCH", "/auth/me", map[string]any{})
		wantStatus(t, r, http.StatusOK, "empty patch")
		r.json(t, &u)
		if u.User.Name != "Ada King" {
			t.Errorf("an empty patch changed the name to %q", u.User.Name)
		}
		// Fields changed elsewhere are refused, naming the field and where.
		for field, where := range map[string]string{"email": "POST /auth/email/change", "role": "/admin/users", "password": "/auth/password"} {
			r := c.do("PATCH", "/auth/me", map[string]any{"name": "Other Name", field: "x"})
			var e handlers.ErrorResponse
			r.json(t, &e)
			if r.status != http.StatusUnprocessableEntity || len(e.Error.Fields[field]) != 1 || !strings.Contains(e.Error.Fields[field][0], where) {
				t.Errorf("patch %s: %d %s", field, r.status, r.body)
			}
		}
		wantStatus(t, h.client().do("PATCH", "/auth/me", map[string]any{"name": "x"}), http.StatusUnauthorized, "anonymous patch")
	})
}

func TestDatabaseGoneIs503(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("ada@example.com")
	wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me")
	h.db.Close()
	// Cached sessions would still answer; drop them so the request needs the database.
	h.cache.Purge()
	r := c.do("GET", "/auth/me", nil)
	wantStatus(t, r, http.StatusServiceUnavailable, "me with the database closed")
	if code := r.errorCode(t); code != "unavailable" {
		t.Errorf("code = %q", code)
	}
	wantStatus(t, c.do("GET", "/readyz", nil), http.StatusServiceUnavailable, "readyz")
	wantStatus(t, c.do("GET", "/healthz", nil), http.StatusOK, "healthz")
}

// TestExpiredCookieDroppedByTheBrowser covers the browser's side of expiry:
// the access cookie is gone (Max-Age passed) but the refresh cookie is still
// sent to /auth, so the answer is token_expired, not unauthenticated.
func TestExpiredCookieDroppedByTheBrowser(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register("ada@example.com")
	browser := h.client()
	browser.setCookie("/auth", "__Secure-refresh", c.cookieValue("/auth", "__Secure-refresh"))
	r := browser.do("GET", "/auth/me", nil)
	wantStatus(t, r, http.StatusUnauthorized, "me with only the refresh cookie")
	if code := r.errorCode(t); code != "token_expired" {
		t.Errorf("code = %q, want token_expired", code)
	}
	wantStatus(t, browser.do("POST", "/auth/refresh", nil), http.StatusOK, "refresh")
	wantStatus(t, browser.do("GET", "/auth/me", nil), http.StatusOK, "me after refresh")
	if code := h.client().do("GET", "/auth/me", nil).errorCode(t); code != "unauthenticated" {
		t.Errorf("no cookies at all: %q, want unauthenticated", code)
	}
}

// TestBcryptHashIsUpgradedOnLogin covers users imported with bcrypt hashes.
func TestBcryptHashIsUpgradedOnLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		h.register("ada@example.com")
		ctx := context.Background()
		u, err := h.db.UserByEmail(ctx, "ada@example.com")
		if err != nil {
			t.Fatal(err)
		}
		legacy, _ := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
		if err := h.cache.UpgradePasswordHash(ctx, u.ID, string(legacy), u.CredentialVersion); err != nil {
			t.Fatal(err)
		}
		login(t, h, "ada@example.com")
		u, _ = h.db.UserByEmail(ctx, "ada@example.com")
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("hash after login = %.7s…, want it upgraded to argon2id", u.PasswordHash)
		}
		login(t, h, "ada@example.com")
	})
}
