package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

const introspectClient = "gateway"
const introspectSecret = "s3cret-s3cret-s3cret"

var serviceEnv = map[string]string{"AUTH_INTROSPECT_CLIENTS": introspectClient + ":" + introspectSecret}

func form(vals ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(vals); i += 2 {
		v.Set(vals[i], vals[i+1])
	}
	return v.Encode()
}

const formType = "application/x-www-form-urlencoded"

func introspect(t *testing.T, h *harness, token string) handlers.IntrospectResponse {
	t.Helper()
	r := h.client().do("POST", "/auth/introspect", form("token", token), "Content-Type", formType,
		"Authorization", "Basic "+basic(introspectClient, introspectSecret))
	wantStatus(t, r, http.StatusOK, "introspect")
	var out handlers.IntrospectResponse
	r.json(t, &out)
	return out
}

func TestServiceTokenFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(serviceEnv))
		h.register("ada@example.com")
		svc := h.client()

		r := svc.do("POST", "/auth/token", map[string]any{"grant_type": "password", "username": "ada@example.com", "password": goodPassword})
		wantStatus(t, r, http.StatusOK, "password grant")
		if r.header.Get("Set-Cookie") != "" {
			t.Error("/auth/token set a cookie")
		}
		var tok handlers.TokenResponse
		r.json(t, &tok)
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" || tok.User.Email != "ada@example.com" {
			t.Fatalf("token response = %+v", tok)
		}
		wantStatus(t, svc.do("GET", "/auth/me", nil, "Authorization", "Bearer "+tok.AccessToken), http.StatusOK, "me with bearer")

		// Refresh with a form body, as OAuth clients send it.
		r = svc.do("POST", "/auth/token", form("grant_type", "refresh_token", "refresh_token", tok.RefreshToken), "Content-Type", formType)
		wantStatus(t, r, http.StatusOK, "refresh grant (form)")
		var next handlers.TokenResponse
		r.json(t, &next)
		if next.RefreshToken == tok.RefreshToken {
			t.Error("refresh token not rotated")
		}
		if got := introspect(t, h, next.AccessToken); !got.Active || got.Email != "ada@example.com" || got.Role != "user" || got.Sub == "" || got.Sid == "" || got.Exp == 0 {
			t.Errorf("introspect live token = %+v", got)
		}

		wantStatus(t, svc.do("POST", "/auth/logout", nil, "Authorization", "Bearer "+next.AccessToken), http.StatusNoContent, "logout with bearer")
		if got := introspect(t, h, next.AccessToken); got.Active || got.Sub != "" {
			t.Errorf("introspect after logout = %+v, want only active:false", got)
		}
		if got := introspect(t, h, "garbage"); got.Active {
			t.Error("garbage introspected as active")
		}
		if got := introspect(t, h, next.RefreshToken); got.Active {
			t.Error("refresh token introspected as active")
		}
	})
}

func TestTokenErrorsAreOAuthShaped(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(serviceEnv))
	h.register("ada@example.com")
	c := h.client()
	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"wrong password", form("grant_type", "password", "email", "ada@example.com", "password", "wrong password"), formType, 400, "invalid_grant"},
		{"unknown grant", form("grant_type", "client_credentials"), formType, 400, "unsupported_grant_type"},
		{"no grant", form(), formType, 400, "invalid_request"},
		{"missing password", map[string]any{"grant_type": "password", "username": "ada@example.com"}, "application/json", 400, "invalid_request"},
		{"bad refresh", map[string]any{"grant_type": "refresh_token", "refresh_token": "x"}, "application/json", 400, "invalid_grant"},
		{"text body", "grant_type=password", "text/plain", 415, "invalid_request"},
		{"malformed JSON", "{", "application/json", 400, "invalid_request"},
	}
	for _, tt := range tests {
		r := c.do("POST", "/auth/token", tt.body, "Content-Type", tt.ctype)
		var e handlers.OAuthError
		r.json(t, &e)
		if r.status != tt.status || e.Error != tt.code || e.ErrorDescription == "" {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, r.status, e, tt.status, tt.code)
		}
	}
	// Introspection needs client credentials.
	for _, auth := range []string{"", "Basic " + basic(introspectClient, "wrong"), "Basic " + basic("nobody", introspectSecret)} {
		r := c.do("POST", "/auth/introspect", form("token", "x"), "Content-Type", formType, "Authorization", auth)
		var e handlers.OAuthError
		r.json(t, &e)
		if r.status != 401 || e.Error != "invalid_client" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("introspect with %q: %d %+v", auth, r.status, e)
		}
	}
}

func TestTokenLockoutSharedWithLogin(t *testing.T) {
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_LOCKOUT_THRESHOLD": "3"}))
	h.register("ada@example.com")
	c := h.client()
	for range 3 {
		c.do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong password"})
	}
	r := c.do("POST", "/auth/token", form("grant_type", "password", "username", "ada@example.com", "password", goodPassword), "Content-Type", formType)
	var e handlers.OAuthError
	r.json(t, &e)
	if r.status != 429 || e.Error != "slow_down" || r.header.Get("Retry-After") == "" {
		t.Errorf("token grant for a locked email: %d %+v", r.status, e)
	}
}

func TestVerify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		c := h.register("ada@example.com")
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		check := func(r response, what string) {
			t.Helper()
			wantStatus(t, r, http.StatusOK, what)
			if r.header.Get("X-Auth-User-Id") != me.User.ID || r.header.Get("X-Auth-User-Email") != "ada@example.com" ||
				r.header.Get("X-Auth-User-Role") != "user" || r.header.Get("X-Auth-Session-Id") != me.Session.ID {
				t.Errorf("%s: headers %v", what, r.header)
			}
		}
		check(c.do("GET", "/auth/verify", nil), "verify with cookie")
		check(h.client().do("GET", "/auth/verify", nil, "Authorization", "Bearer "+c.cookieValue("/", "__Host-session")), "verify with bearer")
		wantStatus(t, h.client().do("GET", "/auth/verify", nil), http.StatusUnauthorized, "anonymous verify")
		r := c.do("GET", "/auth/verify?role=admin", nil)
		wantStatus(t, r, http.StatusForbidden, "user verifying as admin")
		if code := r.errorCode(t); code != "forbidden" {
			t.Errorf("code = %q", code)
		}
		wantStatus(t, c.do("GET", "/auth/verify?role=user", nil), http.StatusOK, "role=user")
	})
}

// makeAdmin creates an administrator through the store, as the CLI does.
func makeAdmin(t *testing.T, h *harness, email string) *client {
	t.Helper()
	c := h.register(email)
	u, err := h.db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	role := models.RoleAdmin
	if _, err := h.cache.UpdateUser(context.Background(), u.ID, models.UserChange{Role: &role}, h.clock.Now(), nil); err != nil {
		t.Fatal(err)
	}
	return c
}

func userID(t *testing.T, c *client) string {
	t.Helper()
	var me handlers.AuthResponse
	r := c.do("GET", "/auth/me", nil)
	wantStatus(t, r, http.StatusOK, "me")
	r.json(t, &me)
	return me.User.ID
}

func TestAdminRolesTakeEffectAtTheNextRequest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root@example.com")
		ada := h.register("ada@example.com")
		adaID := userID(t, ada)

		wantStatus(t, h.client().do("GET", "/admin/users", nil), http.StatusUnauthorized, "anonymous admin")
		r := ada.do("GET", "/admin/users", nil)
		wantStatus(t, r, http.StatusForbidden, "user on admin API")
		if code := r.errorCode(t); code != "forbidden" {
			t.Errorf("code = %q", code)
		}

		wantStatus(t, root.do("PATCH", "/admin/users/"+adaID, map[string]any{"role": "admin"}), http.StatusOK, "promote")
		wantStatus(t, ada.do("GET", "/admin/users", nil), http.StatusOK, "promoted user with the cookie it had")
		wantStatus(t, root.do("PATCH", "/admin/users/"+adaID, map[string]any{"role": "user"}), http.StatusOK, "demote")
		wantStatus(t, ada.do("GET", "/admin/users", nil), http.StatusForbidden, "demoted user with the same cookie")

		// Disabling: the existing cookie dies and login fails.
		r = root.do("PATCH", "/admin/users/"+adaID, map[string]any{"disabled": true})
		wantStatus(t, r, http.StatusOK, "disable")
		var upd handlers.AdminUserResponse
		r.json(t, &upd)
		if !upd.User.Disabled {
			t.Errorf("disabled user = %+v", upd.User)
		}
		wantStatus(t, ada.do("GET", "/auth/me", nil), http.StatusUnauthorized, "disabled user's cookie")
		wantStatus(t, ada.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "disabled user's refresh")
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": "ada@example.com", "password": goodPassword}), http.StatusUnauthorized, "disabled user's login")
		wantStatus(t, root.do("PATCH", "/admin/users/"+adaID, map[string]any{"disabled": false}), http.StatusOK, "enable")
		login(t, h, "ada@example.com")
	})
}

func TestAdminAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		root := makeAdmin(t, h, "root@example.com")
		rootID := userID(t, root)
		for i := range 3 {
			h.register(fmt.Sprintf("user%d@example.com", i))
		}
		r := root.do("GET", "/admin/users?page=2&limit=2", nil)
		wantStatus(t, r, http.StatusOK, "list page 2")
		var list handlers.UsersResponse
		r.json(t, &list)
		if list.Total != 4 || len(list.Users) != 2 {
			t.Errorf("page 2 of 2: total %d, %d users", list.Total, len(list.Users))
		}
		root.do("GET", "/admin/users?email=USER1&limit=1000", nil).json(t, &list)
		if list.Total != 1 || len(list.Users) != 1 || list.Users[0].Email != "user1@example.com" {
			t.Errorf("email filter: %+v", list)
		}
		for _, q := range []string{"page=0", "limit=x", "page=-1"} {
			wantStatus(t, root.do("GET", "/admin/users?"+q, nil), http.StatusBadRequest, q)
		}
		wantStatus(t, root.do("GET", "/admin/users/"+rootID, nil), http.StatusOK, "get user")
		wantStatus(t, root.do("GET", "/admin/users/01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c", nil), http.StatusNotFound, "unknown user")
		wantStatus(t, root.do("GET", "/admin/users/nope", nil), http.StatusNotFound, "malformed id")
		wantStatus(t, root.do("PATCH", "/admin/users/01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c", map[string]any{"role": "user"}), http.StatusNotFound, "patch unknown")
		r = root.do("PATCH", "/admin/users/"+rootID, map[string]any{"role": "superuser"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "invalid role")

		// The last active admin can be neither demoted nor disabled.
		for _, body := range []map[string]any{{"role": "user"}, {"disabled": true}} {
			r = root.do("PATCH", "/admin/users/"+rootID, body)
			wantStatus(t, r, http.StatusConflict, fmt.Sprintf("last admin %v", body))
		}
		wantStatus(t, root.do("GET", "/admin/users", nil), http.StatusOK, "still admin")

		// Revoking a user's sessions ends them at once.
		u0 := login(t, h, "user0@example.com")
		u0ID := userID(t, u0)
		wantStatus(t, root.do("DELETE", "/admin/users/"+u0ID+"/sessions", nil), http.StatusNoContent, "revoke sessions")
		wantStatus(t, u0.do("GET", "/auth/me", nil), http.StatusUnauthorized, "revoked user")

		r = root.do("GET", "/admin/audit?userId="+u0ID+"&type=session_revoked&limit=5", nil)
		wantStatus(t, r, http.StatusOK, "audit")
		var audit handlers.AuditResponse
		r.json(t, &audit)
		if len(audit.Events) != 1 || audit.Events[0].UserID != u0ID {
			t.Errorf("audit = %+v", audit)
		}
		wantStatus(t, root.do("GET", "/admin/audit?userId=nope", nil), http.StatusBadRequest, "bad userId")
	})
}

func TestTwoAdminsDemotingEachOtherAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		a, b := makeAdmin(t, h, "a@example.com"), makeAdmin(t, h, "b@example.com")
		aID, bID := userID(t, a), userID(t, b)
		var wg sync.WaitGroup
		var sa, sb int
		wg.Add(2)
		go func() {
			defer wg.Done()
			sa = a.do("PATCH", "/admin/users/"+bID, map[string]any{"role": "user"}).status
		}()
		go func() {
			defer wg.Done()
			sb = b.do("PATCH", "/admin/users/"+aID, map[string]any{"role": "user"}).status
		}()
		wg.Wait()
		n, err := h.db.CountActiveAdmins(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || !((sa == 200 && (sb == 409 || sb == 403)) || (sb == 200 && (sa == 409 || sa == 403))) {
			t.Errorf("statuses %d, %d with %d admins left; want exactly one admin left", sa, sb, n)
		}
	})
}

func TestBearerTakesPrecedenceOverCookie(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	ada := h.register("ada@example.com")
	bob := h.register("bob@example.com")
	r := ada.do("GET", "/auth/me", nil, "Authorization", "Bearer "+bob.cookieValue("/", "__Host-session"))
	var me handlers.AuthResponse
	r.json(t, &me)
	if me.User.Email != "bob@example.com" {
		t.Errorf("with Ada's cookie and Bob's bearer token: %s, want bob", me.User.Email)
	}
	wantStatus(t, ada.do("GET", "/auth/me", nil, "Authorization", "Bearer garbage"), http.StatusUnauthorized, "bad bearer with a good cookie")
	if strings.Contains(string(r.body), "ada@") {
		t.Error("mixed identities")
	}
}
