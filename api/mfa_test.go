package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// withDataKeys gives the router keys to seal TOTP secrets with.
func withDataKeys(keys *token.KeyRing) option {
	return func(_ *config.Config, d *api.Deps) { d.DataKeys = keys }
}

// enrolled registers a user, enrols an authenticator app and returns the
// signed-in client, its secret and recovery codes.
func enrolled(t *testing.T, h *harness, email string) (*client, string, []string) {
	t.Helper()
	c := h.register(email)
	if h.verify != nil {
		h.verify(c, email)
	}
	secret, codes := enrol(t, h, c)
	return c, secret, codes
}

// enrol adds an authenticator app to a signed-in client's user and returns
// its secret and recovery codes.
func enrol(t *testing.T, h *harness, c *client) (string, []string) {
	t.Helper()
	r := c.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"})
	wantStatus(t, r, http.StatusCreated, "enrol")
	var e handlers.TOTPEnrollment
	r.json(t, &e)
	if e.Factor.Status != "pending" || !strings.HasPrefix(e.QRCode, "data:image/png;base64,") || !strings.HasPrefix(e.OTPAuthURI, "otpauth://totp/") {
		t.Fatalf("enrolment: %+v", e)
	}
	r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": "000000"})
	wantStatus(t, r, http.StatusUnprocessableEntity, "a wrong first code")
	r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())})
	wantStatus(t, r, http.StatusOK, "verify the app")
	var f handlers.FactorResponse
	r.json(t, &f)
	if f.Factor.Status != "active" || len(f.RecoveryCodes) != 10 {
		t.Fatalf("activated: %+v", f)
	}
	return e.Secret, f.RecoveryCodes
}

func newMFAHarness(t *testing.T, dbURL string, opts ...option) (*harness, *token.KeyRing) {
	keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
	h := newHarness(t, dbURL, append([]option{withDataKeys(keys), withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m"})}, opts...)...)
	return h, keys
}

// TestTOTPSignIn: enrol → 10 recovery codes; enrolling ends the other
// sessions and raises this one to aal 2; login then asks for the second step
// and sets no cookie; a code works once; a recovery code works once; five
// wrong codes end the mfaToken.
func TestTOTPSignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		c, secret, recovery := enrolled(t, h, email)
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		if me.Session.AAL != 2 || !slices.Contains(me.Session.AMR, "otp") {
			t.Errorf("the enrolling session: %+v", me.Session)
		}
		h.clock.Advance(time.Minute) // a fresh time step
		first := h.client()
		r := first.do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		wantStatus(t, r, http.StatusOK, "login")
		var in handlers.SignInResponse
		r.json(t, &in)
		if !in.MFARequired || in.MFAToken == "" || in.User != nil || r.cookie("__Host-session") != nil ||
			!slices.Equal(in.Methods, []string{"totp", "recovery_code"}) {
			t.Fatalf("first step: %s", r.body)
		}
		code := apitest.TOTP(t, secret, h.clock.Now())
		r = first.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": in.MFAToken, "code": code})
		wantStatus(t, r, http.StatusOK, "second step")
		r.json(t, &me)
		if me.Session.AAL != 2 || !slices.Equal(me.Session.AMR, []string{"pwd", "otp"}) {
			t.Errorf("the two-factor session: %+v", me.Session)
		}
		wantStatus(t, first.do("GET", "/auth/me", nil), http.StatusOK, "me after the second step")
		// The same code again (same time step) does not work, nor does the same mfaToken.
		_, second := loginFirstStep(t, h, email)
		r = h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": second, "code": code})
		if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_code" {
			t.Errorf("a replayed code: %d %s", r.status, r.body)
		}
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": in.MFAToken, "code": code}),
			http.StatusUnauthorized, "a used mfaToken")
		// A recovery code works once.
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": second, "recoveryCode": strings.ToUpper(recovery[0])}),
			http.StatusOK, "a recovery code")
		_, third := loginFirstStep(t, h, email)
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": third, "recoveryCode": recovery[0]}),
			http.StatusUnauthorized, "the recovery code again")
		// Five wrong codes end the mfaToken, even for the right one.
		_, fourth := loginFirstStep(t, h, email)
		for range 5 {
			h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": fourth, "code": "000000"})
		}
		h.clock.Advance(time.Minute)
		r = h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": fourth, "code": apitest.TOTP(t, secret, h.clock.Now())})
		if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_mfa_token" {
			t.Errorf("after five wrong codes: %d %s", r.status, r.body)
		}
		if n := countEvents(t, h, models.EventMFAFailed); n < 5 {
			t.Errorf("%d mfa_failed events, want at least 5", n)
		}
	})
}

// loginFirstStep signs in with the password and returns the mfaToken.
func loginFirstStep(t *testing.T, h *harness, email string) (*client, string) {
	t.Helper()
	c := h.client()
	r := c.do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
	var in handlers.SignInResponse
	r.json(t, &in)
	if !in.MFARequired {
		t.Fatalf("no second step: %s", r.body)
	}
	return c, in.MFAToken
}

// TestEnrollingEndsOtherSessions: sessions from before the enrolment are
// over, and a reset leaves the factor in place: the reset alone never grants
// access.
func TestEnrollingEndsOtherSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		h.register(email)
		old := login(t, h, email)
		c := login(t, h, email)
		r := c.do("POST", "/auth/mfa/totp", map[string]any{})
		var e handlers.TOTPEnrollment
		r.json(t, &e)
		wantStatus(t, c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())}), http.StatusOK, "verify")
		wantStatus(t, old.do("GET", "/auth/me", nil), http.StatusUnauthorized, "a session from before the enrolment")
		wantStatus(t, old.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "its refresh token")
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "the enrolling session")
	})
}

// TestSecondStepOnEveryRoute: with a second factor enrolled, every route
// that yields a session or a token from one factor (login, the password
// grant, a mailed code or link, a session from before) yields none at aal
// 2; the second step does, and services see it.
func TestSecondStepOnEveryRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off",
			"AUTH_INTROSPECT_CLIENTS": introspectClient + ":" + introspectSecret}, withDataKeys(keys))
		email := newEmail()
		before := m.register(email)
		m.verifyAddress(before, email)
		c := login(t, m.harness, email)
		secret, _ := enrol(t, m.harness, c)
		wantStatus(t, before.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "a session from before the enrolment")
		if r := c.do("GET", "/auth/verify?aal=2", nil); r.status != http.StatusOK || r.header.Get("X-Auth-AAL") != "2" {
			t.Errorf("forward-auth after enrolling: %d %v", r.status, r.header)
		}

		// The password grant: 403 mfa_required, then grant_type=mfa_otp.
		m.clock.Advance(time.Minute)
		r := m.client().do("POST", "/auth/token", form("grant_type", "password", "username", email, "password", goodPassword), "Content-Type", formType)
		var oauth handlers.OAuthError
		r.json(t, &oauth)
		if r.status != http.StatusForbidden || oauth.Error != "mfa_required" || oauth.MFAToken == "" || strings.Contains(string(r.body), "access_token") {
			t.Fatalf("password grant: %d %s", r.status, r.body)
		}
		r = m.client().do("POST", "/auth/token", form("grant_type", "mfa_otp", "mfa_token", oauth.MFAToken, "otp", apitest.TOTP(t, secret, m.clock.Now())), "Content-Type", formType)
		wantStatus(t, r, http.StatusOK, "mfa_otp grant")
		var tok handlers.TokenResponse
		r.json(t, &tok)
		if in := introspect(t, m.harness, tok.AccessToken); in.Acr != "aal2" || !slices.Equal(in.Amr, []string{"pwd", "otp"}) || in.AuthTime == 0 {
			t.Errorf("introspection after mfa_otp: %+v", in)
		}
		if claims, err := m.keys.Open(tok.AccessToken, token.TypeAccess, m.clock.Now()); err != nil || claims.AAL != 2 {
			t.Errorf("the access token's aal claim: %d (%v)", claims.AAL, err)
		}

		// A mailed code, then a mailed link: the second step again.
		for _, byLink := range []bool{false, true} {
			m.clock.Advance(2 * time.Minute)
			n := len(m.smtp.To(email))
			wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
			msg := m.mailFor(email, "Your sign-in code", n)
			_, linkToken := msg.Link()
			body := map[string]any{"email": email, "code": msg.Code()}
			if byLink {
				body = map[string]any{"token": linkToken}
			}
			b := m.client()
			r := b.do("POST", "/auth/sign-in/email/verify", body)
			var in handlers.SignInResponse
			r.json(t, &in)
			if r.status != http.StatusOK || !in.MFARequired || in.Session != nil || r.cookie("__Host-session") != nil {
				t.Fatalf("mailed sign-in (link %v): %d %s", byLink, r.status, r.body)
			}
			r = b.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": in.MFAToken, "code": apitest.TOTP(t, secret, m.clock.Now())})
			wantStatus(t, r, http.StatusOK, "second step after a mailed sign-in")
			var me handlers.AuthResponse
			r.json(t, &me)
			if me.Session.AAL != 2 || !slices.Equal(me.Session.AMR, []string{"email", "otp"}) {
				t.Errorf("mailed sign-in session: %+v", me.Session)
			}
		}

		// A one-factor session (from before, or password only) never says aal 2.
		one := m.register(newEmail())
		if r := one.do("GET", "/auth/verify?aal=2", nil); r.status != http.StatusForbidden {
			t.Errorf("a one-factor session passed ?aal=2: %d", r.status)
		}
	})
}

// TestNoRouteRaisesAnAAL1State tries every route that yields a session or a
// token from a one-factor state, and the second step's own token where a
// session or token belongs: nothing comes out at aal 2.
func TestNoRouteRaisesAnAAL1State(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off",
			"AUTH_INTROSPECT_CLIENTS": introspectClient + ":" + introspectSecret}, withDataKeys(keys))
		// What is stored, not only what the warm cache says: every session
		// row of the user has aal 1, and so does what the router reads once
		// the cache is purged (as after an eviction, or on another instance).
		stored1 := func(userID, what string) {
			t.Helper()
			var n int
			if err := m.db.SQL().QueryRow("SELECT count(*) FROM sessions WHERE user_id = $1 AND aal <> 1", userID).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s: %d stored sessions above aal 1 (%v)", what, n, err)
			}
			m.cache.Purge()
		}
		// A cookie session must answer aal 1 to forward auth and refuse ?aal=2.
		aal1 := func(c *client, what string) {
			t.Helper()
			var me handlers.AuthResponse
			c.do("GET", "/auth/me", nil).json(t, &me)
			stored1(me.User.ID, what)
			if r := c.do("GET", "/auth/verify", nil); r.status != http.StatusOK || r.header.Get("X-Auth-AAL") != "1" {
				t.Errorf("%s: /auth/verify %d, X-Auth-AAL %q", what, r.status, r.header.Get("X-Auth-AAL"))
			}
			if r := c.do("GET", "/auth/verify?aal=2", nil); r.status != http.StatusForbidden {
				t.Errorf("%s: ?aal=2 answered %d", what, r.status)
			}
		}
		// A bearer token must carry aal 1 and introspect as aal1.
		bearer1 := func(tok handlers.TokenResponse, what string) {
			t.Helper()
			stored1(tok.User.ID, what)
			if claims, err := m.keys.Open(tok.AccessToken, token.TypeAccess, m.clock.Now()); err != nil || claims.AAL != 1 {
				t.Errorf("%s: aal claim %d (%v)", what, claims.AAL, err)
			}
			if in := introspect(t, m.harness, tok.AccessToken); !in.Active || in.Acr != "aal1" {
				t.Errorf("%s: introspection %+v", what, in)
			}
		}
		grant := func(what string, kv ...string) handlers.TokenResponse {
			t.Helper()
			r := m.client().do("POST", "/auth/token", form(kv...), "Content-Type", formType)
			wantStatus(t, r, http.StatusOK, what)
			var tok handlers.TokenResponse
			r.json(t, &tok)
			return tok
		}

		email := newEmail()
		reg := m.register(email)
		aal1(reg, "register")
		c := login(t, m.harness, email)
		aal1(c, "login")
		wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusOK, "refresh")
		aal1(c, "refresh")
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword}), http.StatusOK, "reauthenticate with the password")
		aal1(c, "reauthenticate with the password")
		// A code or a recovery code of a user without a factor proves nothing.
		r := c.do("POST", "/auth/reauthenticate", map[string]any{"code": "123456"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "reauthenticate with a code and no factor")
		aal1(c, "reauthenticate with a code and no factor")

		tok := grant("password grant", "grant_type", "password", "username", email, "password", goodPassword)
		bearer1(tok, "password grant")
		bearer1(grant("refresh grant", "grant_type", "refresh_token", "refresh_token", tok.RefreshToken), "refresh grant")

		m.clock.Advance(2 * time.Minute)
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
		msg := m.mailFor(email, "Your sign-in code", 0)
		byCode := m.client()
		wantStatus(t, byCode.do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": msg.Code()}), http.StatusOK, "sign in with a code")
		aal1(byCode, "mailed code")

		// Now a user with a factor: its mfaToken is no session, no access
		// token, no refresh token and no grant but mfa_otp's.
		mfaEmail := newEmail()
		enrolled(t, m.harness, mfaEmail)
		m.clock.Advance(time.Minute)
		_, mfaToken := loginFirstStep(t, m.harness, mfaEmail)
		stranger := m.client()
		wantStatus(t, stranger.do("GET", "/auth/me", nil, "Authorization", "Bearer "+mfaToken), http.StatusUnauthorized, "the mfaToken as a bearer token")
		wantStatus(t, stranger.do("GET", "/auth/verify", nil, "Authorization", "Bearer "+mfaToken), http.StatusUnauthorized, "the mfaToken at forward auth")
		if in := introspect(t, m.harness, mfaToken); in.Active {
			t.Errorf("the mfaToken introspects as active: %+v", in)
		}
		r = stranger.do("POST", "/auth/token", form("grant_type", "refresh_token", "refresh_token", mfaToken), "Content-Type", formType)
		wantStatus(t, r, http.StatusBadRequest, "the mfaToken as a refresh token")
		r = stranger.do("POST", "/auth/token", form("grant_type", "mfa_otp", "mfa_token", mfaToken), "Content-Type", formType)
		if r.status == http.StatusOK {
			t.Errorf("mfa_otp without a code: %d %s", r.status, r.body)
		}
		r = stranger.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken})
		if r.status == http.StatusOK || r.cookie("__Host-session") != nil {
			t.Errorf("the second step without a code: %d %s", r.status, r.body)
		}
	})
}

// TestMFATokenDiesWithTheCredentials: a password change or a disable ends
// every second step begun before it, even with the right code.
func TestMFATokenDiesWithTheCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		root := makeAdmin(t, h, "root-"+newEmail())
		email := newEmail()
		c, secret, _ := enrolled(t, h, email)
		id := userID(t, c)
		secondStep := func(tok, what string) {
			t.Helper()
			r := h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": apitest.TOTP(t, secret, h.clock.Now())})
			if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_mfa_token" || r.cookie("__Host-session") != nil {
				t.Errorf("%s: %d %s", what, r.status, r.body)
			}
		}

		h.clock.Advance(time.Minute)
		_, tok := loginFirstStep(t, h, email)
		wantStatus(t, c.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}),
			http.StatusNoContent, "change the password")
		secondStep(tok, "a second step begun before a password change")

		h.clock.Advance(time.Minute)
		r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": "a brand new passphrase"})
		var in handlers.SignInResponse
		r.json(t, &in)
		if !in.MFARequired {
			t.Fatalf("login after the change: %s", r.body)
		}
		wantStatus(t, root.do("PATCH", "/admin/users/"+id, map[string]any{"disabled": true}), http.StatusOK, "disable")
		wantStatus(t, root.do("PATCH", "/admin/users/"+id, map[string]any{"disabled": false}), http.StatusOK, "enable again")
		secondStep(in.MFAToken, "a second step begun before a disable")
	})
}

// TestSecondStepRaces sends the same proof ten times at once: through one
// mfaToken, through ten (one code of one time step), and one recovery code
// through ten. Each time exactly one request signs in. Ten wrong codes at
// once through one mfaToken get exactly five checks (counted by a hook).
func TestSecondStepRaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var checks atomic.Int32
		h, _ := newMFAHarness(t, dbURL, withEnv(map[string]string{"AUTH_LOCKOUT_THRESHOLD": "1000", "AUTH_RATE_LIMIT_IP": "100000/m"}),
			withHooks(auth.Hooks{CodeChecked: func(bool) { checks.Add(1) }}))
		email := newEmail()
		_, secret, recovery := enrolled(t, h, email)
		const n = 10
		race := func(what string, body func(i int) map[string]any) {
			t.Helper()
			var wg sync.WaitGroup
			statuses := make([]int, n)
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := body(i)
					<-start
					statuses[i] = h.client().do("POST", "/auth/mfa/verify", b).status
				}()
			}
			close(start)
			wg.Wait()
			signedIn := 0
			for _, s := range statuses {
				if s == http.StatusOK {
					signedIn++
				}
			}
			if signedIn != 1 || slices.Contains(statuses, http.StatusInternalServerError) {
				t.Errorf("%s: statuses %v, want exactly one 200", what, statuses)
			}
		}
		tokens := func() []string {
			out := make([]string, n)
			for i := range out {
				_, out[i] = loginFirstStep(t, h, email)
			}
			return out
		}

		h.clock.Advance(time.Minute)
		one := tokens()[0]
		code := apitest.TOTP(t, secret, h.clock.Now())
		race("one mfaToken, one code", func(int) map[string]any { return map[string]any{"mfaToken": one, "code": code} })

		h.clock.Advance(time.Minute)
		many := tokens()
		code = apitest.TOTP(t, secret, h.clock.Now())
		race("ten mfaTokens, one code", func(i int) map[string]any { return map[string]any{"mfaToken": many[i], "code": code} })

		many = tokens()
		race("ten mfaTokens, one recovery code", func(i int) map[string]any {
			return map[string]any{"mfaToken": many[i], "recoveryCode": recovery[0]}
		})

		// Ten wrong codes at once through one mfaToken: five are checked,
		// the rest find it spent, and so does the right code afterwards.
		h.clock.Advance(time.Minute)
		guessed := tokens()[0]
		wrong := apitest.TOTP(t, secret, h.clock.Now().Add(time.Hour))
		checks.Store(0)
		var wg sync.WaitGroup
		codes := make([]string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i] = h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": guessed, "code": wrong}).errorCode(t)
			}()
		}
		close(start)
		wg.Wait()
		if checked := len(slices.DeleteFunc(slices.Clone(codes), func(c string) bool { return c != "invalid_code" })); checked != 5 {
			t.Errorf("parallel wrong codes: %v, want exactly 5 checked (invalid_code)", codes)
		}
		if n := checks.Load(); n != 5 {
			t.Errorf("ten wrong codes at once through one mfaToken: %d checks, want 5", n)
		}
		r := h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": guessed, "code": apitest.TOTP(t, secret, h.clock.Now())})
		if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_mfa_token" {
			t.Errorf("the right code after five wrong ones: %d %s", r.status, r.body)
		}
	})
}

// TestUnfinishedEnrolmentExpires: a pending factor lives 10 minutes; after
// that its first code does not turn it on, and it is no longer listed.
func TestUnfinishedEnrolmentExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		c := h.register(newEmail())
		var e handlers.TOTPEnrollment
		r := c.do("POST", "/auth/mfa/totp", map[string]any{"name": "Old phone"})
		wantStatus(t, r, http.StatusCreated, "start enrolling")
		r.json(t, &e)
		var list handlers.FactorsResponse
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if len(list.Factors) != 1 || list.Factors[0].Status != "pending" {
			t.Fatalf("while pending: %+v", list)
		}
		h.clock.Advance(11 * time.Minute)
		r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())})
		wantStatus(t, r, http.StatusNotFound, "the first code of an expired enrolment")
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if len(list.Factors) != 0 {
			t.Errorf("an expired enrolment is listed: %+v", list)
		}
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword}), http.StatusOK, "reauthenticate")
		wantStatus(t, c.do("POST", "/auth/mfa/totp", map[string]any{"name": "New phone"}), http.StatusCreated, "start again")
		var rows int64
		if err := h.db.SQL().QueryRow("SELECT count(*) FROM mfa_factors WHERE name = 'Old phone'").Scan(&rows); err != nil || rows != 0 {
			t.Errorf("the expired enrolment's row: %d (%v)", rows, err)
		}
	})
}

// TestNoMFASecretInTheLogs: at debug level, nothing of the key, the codes,
// the recovery codes or the mfaToken reaches the logs, whatever happens.
func TestNoMFASecretInTheLogs(t *testing.T) {
	keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
	m := newMailHarness(t, "sqlite::memory:", map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, withDataKeys(keys))
	email := newEmail()
	c := m.register(email)
	m.verifyAddress(c, email)
	var e handlers.TOTPEnrollment
	r := c.do("POST", "/auth/mfa/totp", map[string]any{})
	r.json(t, &e)
	first := apitest.TOTP(t, e.Secret, m.clock.Now())
	r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": first})
	var f handlers.FactorResponse
	r.json(t, &f)
	m.clock.Advance(time.Minute)
	_, tok := loginFirstStep(t, m.harness, email)
	wantStatus(t, m.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": "000000"}), http.StatusUnauthorized, "a wrong code")
	wantStatus(t, m.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": f.RecoveryCodes[0]}), http.StatusOK, "a recovery code")
	m.mailFor(email, "Two-step sign-in is on", 0)
	logs := m.logs.String()
	if len(f.RecoveryCodes) != 10 || !strings.Contains(logs, "/auth/mfa/verify") {
		t.Fatalf("the flow did not run: %d codes; logs %.200s", len(f.RecoveryCodes), logs)
	}
	// A six-digit code could occur by chance inside a timestamp, so it is
	// looked for as a value of its own.
	secrets := append([]string{e.Secret, `"` + first + `"`, "=" + first, tok, strings.Split(e.OTPAuthURI, "?")[1]}, f.RecoveryCodes...)
	for _, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret (%.4s…) is in the logs", secret)
		}
	}
}

// TestNewRecoveryCodes: a fresh aal 2 session gets a new set, which voids
// the old one; a stale session or a user without a factor gets 403.
func TestNewRecoveryCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		c, secret, old := enrolled(t, h, email)
		r := c.do("POST", "/auth/mfa/recovery-codes", nil)
		wantStatus(t, r, http.StatusOK, "new recovery codes")
		var fresh handlers.RecoveryCodesResponse
		r.json(t, &fresh)
		if len(fresh.RecoveryCodes) != 10 || slices.ContainsFunc(fresh.RecoveryCodes, func(code string) bool { return slices.Contains(old, code) }) {
			t.Fatalf("new codes %q, old %q", fresh.RecoveryCodes, old)
		}
		h.clock.Advance(time.Minute)
		_, tok := loginFirstStep(t, h, email)
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": old[1]}), http.StatusUnauthorized, "an old recovery code")
		wantStatus(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "recoveryCode": fresh.RecoveryCodes[1]}), http.StatusOK, "a new recovery code")
		var list handlers.FactorsResponse
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if list.RecoveryCodesRemaining != 9 {
			t.Errorf("%d recovery codes left, want 9", list.RecoveryCodesRemaining)
		}

		h.clock.Advance(11 * time.Minute)
		if r := c.do("POST", "/auth/mfa/recovery-codes", nil); r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("a stale session: %d %s", r.status, r.body)
		}
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"code": apitest.TOTP(t, secret, h.clock.Now())}), http.StatusOK, "reauthenticate")
		wantStatus(t, c.do("POST", "/auth/mfa/recovery-codes", nil), http.StatusOK, "after reauthenticating")

		plain := h.register(newEmail())
		if r := plain.do("POST", "/auth/mfa/recovery-codes", nil); r.status != http.StatusForbidden {
			t.Errorf("a user without a factor: %d %s", r.status, r.body)
		}
	})
}

// TestTOTPUnavailableWithoutDataKeys: without keys to seal secrets with,
// enrolment answers 501 naming the setting, and signing in is unchanged.
func TestTOTPUnavailableWithoutDataKeys(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	c := h.register(newEmail())
	r := c.do("POST", "/auth/mfa/totp", map[string]any{})
	var e handlers.ErrorResponse
	r.json(t, &e)
	if r.status != http.StatusNotImplemented || e.Error.Code != "totp_unavailable" || !strings.Contains(e.Error.Message, "AUTH_DATA_KEYS") {
		t.Errorf("enrolment without data keys: %d %s", r.status, r.body)
	}
	wantStatus(t, c.do("GET", "/auth/mfa", nil), http.StatusOK, "the factor list")
}

// TestSecondStepListsOnlyWhatIsLeft: once every recovery code is spent, the
// second step offers only the authenticator app.
func TestSecondStepListsOnlyWhatIsLeft(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		c, _, codes := enrolled(t, h, email)
		for _, code := range codes {
			wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"recoveryCode": code}), http.StatusOK, "spend a recovery code")
		}
		r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		var in handlers.SignInResponse
		r.json(t, &in)
		if !in.MFARequired || !slices.Equal(in.Methods, []string{"totp"}) {
			t.Errorf("with no recovery code left: %s", r.body)
		}
	})
}

// TestWrongSecondFactorsLockTheAccount: failed second factors count toward
// the lockout like wrong passwords (429), and are audited; the right
// password between them forgets none (only an issued session does), so
// "password, one wrong code" repeated locks at the threshold.
func TestWrongSecondFactorsLockTheAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off", "AUTH_LOCKOUT_THRESHOLD": "4"}, withDataKeys(keys))
		h := m.harness
		email := newEmail()
		enrolled(t, h, email) // one wrong code already, at enrolment
		h.clock.Advance(time.Minute)
		var statuses []int
		for range 3 {
			_, tok := loginFirstStep(t, h, email)
			statuses = append(statuses, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": tok, "code": "000000"}).status)
		}
		// The fourth wrong code locks the (email, address) pair: even the
		// password is refused.
		r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		if fmt.Sprint(statuses) != "[401 401 401]" || r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Errorf("password then a wrong code, three times: %v, then the password: %d", statuses, r.status)
		}
		if n := len(eventsOf(t, h, email, models.EventMFAFailed)); n != 4 {
			t.Errorf("%d mfa_failed events, want 4", n)
		}
		// The owner hears of it: their password is known to someone.
		notice := m.mailFor(email, "Wrong sign-in codes locked your account", 0)
		if strings.Contains(notice.Text, "000000") || !strings.Contains(notice.Text, email) {
			t.Errorf("mfa_failed notice: %q", notice.Text)
		}
	})
}

// TestTOTPSecretIsSealed: the secret in the database is not the secret.
func TestTOTPSecretIsSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, keys := newMFAHarness(t, dbURL)
		email := newEmail()
		_, secret, _ := enrolled(t, h, email)
		var stored []string
		rows, err := h.db.SQL().Query("SELECT secret FROM mfa_factors")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			stored = append(stored, s)
		}
		rows.Close()
		for _, s := range stored {
			plain, err := keys.OpenBytes(s)
			if strings.Contains(strings.ToUpper(s), secret) || err != nil || string(plain) != secret {
				t.Errorf("stored %.20q…: readable, or not sealed with AUTH_DATA_KEYS (%v)", s, err)
			}
		}
		if len(stored) != 1 {
			t.Errorf("%d factors stored", len(stored))
		}
	})
}

// TestStepUp: a password change 11 minutes after signing in, for a user with
// a second factor, needs a fresh proof; removing a factor needs aal 2.
func TestStepUp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, withDataKeys(keys))
		h := m.harness
		// A one-factor session, however fresh, cannot remove a factor (here
		// the pending one it just started).
		otherEmail := newEmail()
		other := h.register(otherEmail)
		m.verifyAddress(other, otherEmail)
		var started handlers.TOTPEnrollment
		r := other.do("POST", "/auth/mfa/totp", map[string]any{})
		wantStatus(t, r, http.StatusCreated, "start enrolling")
		r.json(t, &started)
		if r = other.do("DELETE", "/auth/mfa/"+started.Factor.ID, nil); r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("an aal 1 session removing a factor: %d %s", r.status, r.body)
		}

		email := newEmail()
		c, secret, _ := enrolled(t, h, email)
		h.clock.Advance(11 * time.Minute)
		change := map[string]any{"currentPassword": goodPassword, "newPassword": "a brand new passphrase"}
		r = c.do("POST", "/auth/password", change)
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Fatalf("a stale session changing the password: %d %s", r.status, r.body)
		}
		r = c.do("POST", "/auth/email/change", map[string]any{"newEmail": newEmail(), "currentPassword": goodPassword})
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("a stale session changing the email: %d %s", r.status, r.body)
		}
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"code": "000000"}), http.StatusUnprocessableEntity, "a wrong code")
		r = c.do("POST", "/auth/reauthenticate", map[string]any{"code": apitest.TOTP(t, secret, h.clock.Now())})
		wantStatus(t, r, http.StatusOK, "reauthenticate")
		wantStatus(t, c.do("POST", "/auth/password", change), http.StatusNoContent, "the password change after reauthenticating")
		var list handlers.FactorsResponse
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if len(list.Factors) != 1 || list.RecoveryCodesRemaining != 10 {
			t.Fatalf("factors: %+v", list)
		}
		wantStatus(t, c.do("DELETE", "/auth/mfa/"+list.Factors[0].ID, nil), http.StatusNoContent, "remove at aal 2")
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if len(list.Factors) != 0 || list.RecoveryCodesRemaining != 0 {
			t.Errorf("after removing the last factor: %+v", list)
		}
		m.mailFor(email, "Two-step sign-in was changed", 0)
		login2(t, h, email, "a brand new passphrase") // one factor again: no second step
	})
}

// TestResetAndAdminResetWithMFA: a password reset leaves the factor in place
// (the reset alone never grants access); an administrator's MFA reset
// removes it and ends the user's sessions.
func TestResetAndAdminResetWithMFA(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, withDataKeys(keys))
		root := makeAdmin(t, m.harness, "root-"+newEmail())
		email := newEmail()
		c, _, _ := enrolled(t, m.harness, email)
		id := userID(t, c)
		m.mailFor(email, "Two-step sign-in is on", 0)
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		_, tok := m.mailFor(email, "Reset your password", 0).Link()
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new passphrase"}),
			http.StatusNoContent, "reset")
		r := m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": "a brand new passphrase"})
		var in handlers.SignInResponse
		r.json(t, &in)
		if !in.MFARequired || in.Session != nil {
			t.Fatalf("after a reset the factor must still be asked for: %s", r.body)
		}
		wantStatus(t, root.do("DELETE", "/admin/users/"+id+"/mfa", nil), http.StatusNoContent, "admin MFA reset")
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusUnauthorized, "a session after the MFA reset")
		login2(t, m.harness, email, "a brand new passphrase")
		m.mailFor(email, "Two-step sign-in was changed", 0)
		if n := countEvents(t, m.harness, models.EventMFAReset); n != 1 {
			t.Errorf("%d mfa_reset events", n)
		}
	})
}
