package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// fieldError checks that r is 422 validation_failed whose fields name field,
// and returns the message for it.
func fieldError(t *testing.T, r response, field, what string) string {
	t.Helper()
	wantStatus(t, r, http.StatusUnprocessableEntity, what)
	var e handlers.ErrorResponse
	r.json(t, &e)
	if e.Error.Code != "validation_failed" || len(e.Error.Fields[field]) == 0 || e.Error.RequestID == "" {
		t.Fatalf("%s: %s, want validation_failed naming %s", what, r.body, field)
	}
	return e.Error.Fields[field][0]
}

// TestUnknownFieldsAreNotAttempts: a body with a field its schema does not
// have is 422 naming the field, on login and on the second step, and it is
// not an attempt: wrong passwords sent with a mistyped field lock nothing
// and audit nothing, and an mfaToken sent with the token grant's "otp" (or
// with no code, or with two) keeps every one of its five attempts and still
// signs in with the right code.
func TestUnknownFieldsAreNotAttempts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_LOCKOUT_THRESHOLD": "3"}))
		plain := newEmail()
		h.register(plain)
		for range 5 {
			msg := fieldError(t, h.client().do("POST", "/auth/login", map[string]any{"email": plain, "password": "a wrong password", "rememberme": true}),
				"rememberme", "login with rememberme")
			if !strings.Contains(msg, "rememberMe") {
				t.Errorf("the message for rememberme does not point to rememberMe: %q", msg)
			}
		}
		r := h.client().do("POST", "/auth/login", map[string]any{"email": plain, "password": goodPassword, "rememberMe": true})
		wantStatus(t, r, http.StatusOK, "the right password after five mistyped bodies (lockout threshold 3)")
		if n := countEvents(t, h, models.EventLoginFailed); n != 0 {
			t.Errorf("%d login_failed events for bodies that were never checked", n)
		}

		email := newEmail()
		_, secret, _ := enrolled(t, h, email)
		h.clock.Advance(time.Minute) // a fresh time step
		_, tok := loginFirstStep(t, h, email)
		failedBefore := countEvents(t, h, models.EventMFAFailed) // the enrolment's wrong first code
		code := apitest.TOTP(t, secret, h.clock.Now())
		for _, bad := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"mfaToken": tok, "otp": code}, "otp"},
			{map[string]any{"mfaToken": tok, "code": code, "rememberMe": true}, "rememberMe"},
			{map[string]any{"mfaToken": tok, "Code": code}, "Code"},
			{map[string]any{"mfaToken": tok}, "code"},
			{map[string]any{"mfaToken": tok, "code": ""}, "code"},
			{map[string]any{"mfaToken": tok, "code": code, "recoveryCode": "abcde-fghjk"}, "code"},
			{map[string]any{"code": code}, "mfaToken"},
			{map[string]any{"mfaToken": nil, "code": code}, "mfaToken"},
			// Malformed codes: the request's fault, never a wrong proof.
			{map[string]any{"mfaToken": tok, "code": "12345"}, "code"},
			{map[string]any{"mfaToken": tok, "code": "12345a"}, "code"},
			{map[string]any{"mfaToken": tok, "code": "1234567"}, "code"},
			{map[string]any{"mfaToken": tok, "recoveryCode": "short"}, "recoveryCode"},
			{map[string]any{"mfaToken": tok, "recoveryCode": "abcde-fghj!"}, "recoveryCode"},
		} {
			fieldError(t, h.client().do("POST", "/auth/mfa/verify", bad.body), bad.field, "second step "+strings.Join(keys(bad.body), ","))
		}
		var attempts int
		if err := h.db.SQL().QueryRow(`SELECT attempts FROM mfa_challenges WHERE user_id = (SELECT id FROM users WHERE email = $1)`, email).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts != 0 {
			t.Errorf("the challenge counts %d attempts after malformed bodies, want 0", attempts)
		}
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": code}), http.StatusOK,
			"the right code through the same mfaToken")
		if n := countEvents(t, h, models.EventMFAFailed) - failedBefore; n != 0 {
			t.Errorf("%d mfa_failed events for bodies that were never checked", n)
		}
	})
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEmptyBodyNamesTheToken: {} on every endpoint that takes a token is 422
// naming the token (the JSON API), or 400 invalid_request (the two OAuth
// endpoints, which also ignore parameters they do not know).
func TestEmptyBodyNamesTheToken(t *testing.T) {
	const clientID, secret = "gateway", "a-long-gateway-secret"
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_INTROSPECT_CLIENTS": clientID + ":" + secret}))
		signedIn := h.register(newEmail())
		for _, tc := range []struct {
			path  string
			body  any
			field string // the JSON API's fields.<field>, or else the OAuth error_description names it
			who   *client
		}{
			{"/auth/email/verify", map[string]any{}, "token", nil},
			{"/auth/password/reset", map[string]any{"password": "a brand new passphrase"}, "token", nil},
			{"/auth/email/change/confirm", map[string]any{}, "token", nil},
			{"/auth/sign-in/email/verify", map[string]any{}, "token", nil},
			{"/auth/mfa/verify", map[string]any{}, "mfaToken", nil},
			{"/auth/email/change", map[string]any{}, "newEmail", signedIn},
			{"/auth/token", map[string]any{"grant_type": "mfa_otp", "otp": "123456"}, "mfa_token", nil},
			{"/auth/token", map[string]any{"grant_type": "mfa_otp", "mfa_token": "x"}, "otp", nil},
			{"/auth/token", map[string]any{"grant_type": "refresh_token", "scope": "ignored"}, "refresh_token", nil},
			{"/auth/token", map[string]any{}, "grant_type", nil},
			{"/auth/introspect", map[string]any{"token_type_hint": "access_token", "unknown": "ignored"}, "token", nil},
		} {
			t.Run(strings.TrimPrefix(tc.path, "/")+"/"+tc.field, func(t *testing.T) {
				c := tc.who
				if c == nil {
					c = h.client()
				}
				var auth []string
				if tc.path == "/auth/introspect" {
					auth = []string{"Authorization", "Basic " + basic(clientID, secret)}
				}
				r := c.do("POST", tc.path, tc.body, auth...)
				if tc.path != "/auth/token" && tc.path != "/auth/introspect" {
					fieldError(t, r, tc.field, tc.path)
					return
				}
				var e handlers.OAuthError
				r.json(t, &e)
				if r.status != http.StatusBadRequest || e.Error != "invalid_request" || !strings.Contains(e.ErrorDescription, tc.field) {
					t.Errorf("%s %v: %d %s, want 400 invalid_request naming %s", tc.path, tc.body, r.status, r.body, tc.field)
				}
			})
		}
		// The OAuth endpoints ignore what they do not know (RFC 6749 §3.2).
		email := newEmail()
		h.register(email)
		r := h.client().do("POST", "/auth/token", map[string]any{"grant_type": "password", "username": email, "password": goodPassword,
			"scope": "openid", "client_id": "a-client"})
		wantStatus(t, r, http.StatusOK, "the password grant with parameters it does not know")
	})
}
