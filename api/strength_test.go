package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestSessionsRecordHowTheyWereAuthenticated: a session carries its
// assurance level, methods and authentication time, in responses, through
// refreshes, in introspection and in forward-auth; nothing today reaches
// aal 2, so ?aal=2 is refused.
func TestSessionsRecordHowTheyWereAuthenticated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off",
			"AUTH_INTROSPECT_CLIENTS": introspectClient + ":" + introspectSecret})
		email := newEmail()
		m.register(email)
		signedInAt := m.clock.Now()
		c := login(t, m.harness, email)
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		if s := me.Session; s.AAL != 1 || !slices.Equal(s.AMR, []string{"pwd"}) || !s.AuthTime.Equal(signedInAt) {
			t.Errorf("password session: aal %d amr %v authTime %v, want 1 [pwd] %v", s.AAL, s.AMR, s.AuthTime, signedInAt)
		}
		m.clock.Advance(20 * time.Minute)
		var refreshed handlers.AuthResponse
		r := c.do("POST", "/auth/refresh", nil)
		wantStatus(t, r, http.StatusOK, "refresh")
		r.json(t, &refreshed)
		if !refreshed.Session.AuthTime.Equal(signedInAt) || !slices.Equal(refreshed.Session.AMR, []string{"pwd"}) {
			t.Errorf("a refresh changed how the session was authenticated: %+v", refreshed.Session)
		}
		in := introspect(t, m.harness, c.cookieValue("/", "__Host-session"))
		if in.Acr != "aal1" || !slices.Equal(in.Amr, []string{"pwd"}) || in.AuthTime != signedInAt.Unix() {
			t.Errorf("introspection: acr %q amr %v auth_time %d", in.Acr, in.Amr, in.AuthTime)
		}
		if r := c.do("GET", "/auth/verify", nil); r.header.Get("X-Auth-AAL") != "1" {
			t.Errorf("X-Auth-AAL %q", r.header.Get("X-Auth-AAL"))
		}
		r = c.do("GET", "/auth/verify?aal=2", nil)
		if r.status != http.StatusForbidden || r.errorCode(t) != "insufficient_aal" {
			t.Errorf("?aal=2: %d %s", r.status, r.body)
		}
		var list handlers.SessionsResponse
		c.do("GET", "/auth/sessions", nil).json(t, &list)
		for _, s := range list.Sessions {
			if s.AAL != 1 || len(s.AMR) != 1 {
				t.Errorf("listed session: %+v", s)
			}
		}
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
		code := m.mailFor(email, "Your sign-in code", 0).Code()
		var byMail handlers.AuthResponse
		r = m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code})
		wantStatus(t, r, http.StatusOK, "sign in by code")
		r.json(t, &byMail)
		if !slices.Equal(byMail.Session.AMR, []string{"email"}) || byMail.Session.AAL != 1 {
			t.Errorf("email session: %+v", byMail.Session)
		}
	})
}
