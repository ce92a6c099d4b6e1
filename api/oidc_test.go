package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

const appURL = "https://app.example.com"

// oidcHarness is the real router with a real OpenID provider on loopback,
// configured as "mock".
type oidcHarness struct {
	*harness
	p *apitest.OIDCProvider
}

func newOIDCHarness(t *testing.T, dbURL string, env map[string]string, opts ...option) *oidcHarness {
	t.Helper()
	p := apitest.NewOIDCProvider(t)
	vars := p.Env("mock", "Mock")
	vars["AUTH_APP_URL"] = appURL
	vars["AUTH_RATE_LIMIT_IP"] = "100000/m"
	for k, v := range env {
		vars[k] = v
	}
	return &oidcHarness{harness: newHarness(t, dbURL, append([]option{withEnv(vars)}, opts...)...), p: p}
}

// browser is a client that does not follow redirects, as a test of them
// must see each one.
func (o *oidcHarness) browser() *client {
	c := o.client()
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// start begins a flow at Portcullis and returns the provider URL it sent
// the browser to.
func (o *oidcHarness) start(c *client) string {
	o.t.Helper()
	r := c.do("GET", "/auth/oidc/mock?redirectTo="+url.QueryEscape(appURL+"/done"), nil)
	wantStatus(o.t, r, http.StatusFound, "start")
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, o.p.Issuer+"/authorize?") {
		o.t.Fatalf("start went to %q", loc)
	}
	return loc
}

// consent has the user agree at the provider's page and returns the
// Portcullis callback (path and query) the provider sends the browser to.
func (o *oidcHarness) consent(authURL string) string {
	o.t.Helper()
	u, _ := url.Parse(authURL)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(o.p.Issuer+"/authorize", u.Query())
	if err != nil {
		o.t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || cb.Path != "/auth/oidc/mock/callback" {
		o.t.Fatalf("consent: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return cb.RequestURI()
}

// signIn runs a whole flow for c and returns the callback's answer.
func (o *oidcHarness) signIn(c *client) response {
	o.t.Helper()
	return c.do("GET", o.consent(o.start(c)), nil)
}

// landed checks the callback redirected to the app, with ?error=code when
// code is set, and returns the Location.
func landed(t *testing.T, r response, code string) *url.URL {
	t.Helper()
	wantStatus(t, r, http.StatusFound, "callback")
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host != appURL {
		t.Fatalf("callback went to %q", r.header.Get("Location"))
	}
	if got := loc.Query().Get("error"); got != code {
		t.Fatalf("callback error %q, want %q (Location %s)", got, code, loc)
	}
	return loc
}

// exec runs a statement written with ? placeholders on either database.
func (o *oidcHarness) exec(query string, args ...any) {
	o.t.Helper()
	if o.db.Dialect() == "postgres" {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	if _, err := o.db.SQL().Exec(query, args...); err != nil {
		o.t.Fatalf("%s: %v", query, err)
	}
	o.cache.Purge()
}

// identityRows counts the stored identities of (issuer, subject).
func (o *oidcHarness) identityRows(subject string) string {
	return o.sqlQuery("SELECT COUNT(*) FROM identities WHERE issuer = ? AND subject = ?", o.p.Issuer, subject)
}

func (o *oidcHarness) me(c *client) handlers.AuthResponse {
	o.t.Helper()
	r := c.do("GET", "/auth/me", nil)
	wantStatus(o.t, r, http.StatusOK, "me")
	var me handlers.AuthResponse
	r.json(o.t, &me)
	return me
}

// TestOIDCNewAndReturningUser: a new identity whose email has no account
// creates the user (verified, no password), signs them in with amr oidc and
// lands on redirectTo; the flow cookie is cleared; GET /auth/oidc lists
// the provider. Signing in again is the same user, one identity row.
func TestOIDCNewAndReturningUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		var ps handlers.ProvidersResponse
		o.client().do("GET", "/auth/oidc", nil).json(t, &ps)
		if len(ps.Providers) != 1 || ps.Providers[0].Name != "mock" || ps.Providers[0].DisplayName != "Mock" {
			t.Fatalf("providers: %+v", ps)
		}
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-ada", Email: "Ada@Example.com", EmailVerified: true, Name: "Ada Lovelace"})
		c := o.browser()
		// Providers add parameters of their own (iss, session_state): ignored.
		r := c.do("GET", o.consent(o.start(c))+"&session_state=abc&iss=x&scope=openid", nil)
		loc := landed(t, r, "")
		if loc.Path != "/done" {
			t.Fatalf("landed on %s", loc)
		}
		if fc := r.cookie("__Secure-oidc-flow"); fc == nil || fc.MaxAge >= 0 {
			t.Fatalf("the flow cookie is not cleared: %v", r.header.Values("Set-Cookie"))
		}
		me := o.me(c)
		if me.User.Email != "ada@example.com" || !me.User.EmailVerified || me.User.Name != "Ada Lovelace" ||
			strings.Join(me.Session.AMR, ",") != "oidc" || me.Session.AAL != 1 {
			t.Fatalf("signed in as %+v", me)
		}
		stored := o.stored(me.User.ID)
		if stored.PasswordHash != "" {
			t.Fatal("a user created by a provider has a password")
		}
		if n := o.identityRows("sub-ada"); n != "1" {
			t.Fatalf("%s identity rows", n)
		}
		if ev := events(t, o.harness, models.EventRegister); len(ev) != 1 || !strings.Contains(ev[0].Detail, "oidc") {
			t.Fatalf("register events: %+v", ev)
		}

		// Returning: the same user, no second row, a second session.
		c2 := o.browser()
		landed(t, o.signIn(c2), "")
		if again := o.me(c2); again.User.ID != me.User.ID {
			t.Fatalf("returning user is %s, want %s", again.User.ID, me.User.ID)
		}
		if n := o.identityRows("sub-ada"); n != "1" {
			t.Fatalf("%s identity rows after returning", n)
		}
		if n := o.sqlQuery("SELECT COUNT(*) FROM users"); n != "1" {
			t.Fatalf("%s users", n)
		}
		if n := o.sqlQuery("SELECT COUNT(*) FROM sessions WHERE user_id = ?", me.User.ID); n != "2" {
			t.Fatalf("%s sessions", n)
		}
	})
}

// TestOIDCAccountExists: by default a new identity whose email has an
// account links nothing and signs nobody in (account_exists), verified or
// not; with AUTH_OIDC_AUTO_LINK=verified it links only when both emails
// are verified, bumping the credential version.
func TestOIDCAccountExists(t *testing.T) {
	{
		for _, tc := range []struct {
			name                 string
			autoLink             bool
			localVerified, idpOK bool
			want                 string
		}{
			{"default, both verified", false, true, true, "account_exists"},
			{"auto-link, both verified", true, true, true, ""},
			{"auto-link, local unverified", true, false, true, "account_exists"},
			{"auto-link, provider unverified", true, true, false, "account_exists"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				storetest.Each(t, func(t *testing.T, dbURL string) {
					env := map[string]string{}
					if tc.autoLink {
						env["AUTH_OIDC_AUTO_LINK"] = "verified"
					}
					o := newOIDCHarness(t, dbURL, env)
					owner := o.register("grace@example.com")
					id := o.me(owner).User.ID
					if tc.localVerified {
						o.exec("UPDATE users SET email_verified = ? WHERE id = ?", true, id)
					}
					before := o.stored(id).CredentialVersion
					o.p.SignInAs(apitest.OIDCUser{Subject: "sub-grace", Email: "grace@example.com", EmailVerified: tc.idpOK})
					c := o.browser()
					r := o.signIn(c)
					landed(t, r, tc.want)
					after := o.stored(id)
					if tc.want != "" {
						if r.cookie("__Host-session") != nil || o.identityRows("sub-grace") != "0" || after.CredentialVersion != before {
							t.Fatalf("refused, yet cookie %v, identity rows %s, version %d→%d", r.cookie("__Host-session"), o.identityRows("sub-grace"), before, after.CredentialVersion)
						}
						if c.do("GET", "/auth/me", nil).status != http.StatusUnauthorized {
							t.Fatal("signed in after account_exists")
						}
						return
					}
					if me := o.me(c); me.User.ID != id || o.identityRows("sub-grace") != "1" || after.CredentialVersion != before+1 {
						t.Fatalf("auto-link: user %s (want %s), rows %s, version %d→%d", me.User.ID, id, o.identityRows("sub-grace"), before, after.CredentialVersion)
					}
					if after.PasswordHash == "" {
						t.Fatal("auto-link removed the password of a verified account")
					}
				})
			})
		}
	}
}

// TestOIDCLinkAndUnlink: a signed-in user links the provider from settings
// (the flow finishes only in that session), lists it, signs in with it,
// and unlinks it; the credential version moves at each. A user whose only
// way in is the identity cannot unlink it (409 last_login_method) until
// they have another.
func TestOIDCLinkAndUnlink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		c := o.register("linus@example.com")
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		id := o.me(c).User.ID
		v0 := o.stored(id).CredentialVersion
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-linus", Email: "linus@elsewhere.example", EmailVerified: true})

		r := c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL + "/settings"})
		wantStatus(t, r, http.StatusOK, "link")
		var lr handlers.ProviderRedirect
		r.json(t, &lr)
		cb := o.consent(lr.URL)

		// Another browser holding the flow cookie, without the session, links nothing.
		thief := o.browser()
		thief.setCookie("/auth/oidc", "__Secure-oidc-flow", c.cookieValue("/auth/oidc/mock/callback", "__Secure-oidc-flow"))
		landed(t, thief.do("GET", cb, nil), "invalid_state")
		if o.identityRows("sub-linus") != "0" {
			t.Fatal("a stolen flow cookie linked an identity")
		}

		// The session that started it: a new flow (the state above is spent).
		r = c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL + "/settings"})
		r.json(t, &lr)
		landed(t, c.do("GET", o.consent(lr.URL), nil), "")
		if o.identityRows("sub-linus") != "1" || o.stored(id).CredentialVersion != v0+1 {
			t.Fatalf("link: rows %s, version %d→%d", o.identityRows("sub-linus"), v0, o.stored(id).CredentialVersion)
		}
		var ids handlers.IdentitiesResponse
		c.do("GET", "/auth/identities", nil).json(t, &ids)
		if len(ids.Identities) != 1 || ids.Identities[0].Provider != "mock" || ids.Identities[0].Email != "linus@elsewhere.example" {
			t.Fatalf("identities: %+v", ids)
		}
		// Signing in with it is this user (its email differs from the account's).
		b := o.browser()
		landed(t, o.signIn(b), "")
		if o.me(b).User.ID != id {
			t.Fatal("the linked identity signs in someone else")
		}
		// Someone else linking the same identity: identity_taken, nothing moves.
		other := o.register("other@example.com")
		other.hc.CheckRedirect = c.hc.CheckRedirect
		r = other.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL})
		r.json(t, &lr)
		landed(t, other.do("GET", o.consent(lr.URL), nil), "identity_taken")
		if n := o.sqlQuery("SELECT COUNT(*) FROM identities WHERE user_id = ?", id); n != "1" {
			t.Fatalf("identity_taken moved it: %s", n)
		}

		wantStatus(t, c.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil), http.StatusNoContent, "unlink")
		if o.identityRows("sub-linus") != "0" || o.stored(id).CredentialVersion != v0+2 {
			t.Fatalf("unlink: rows %s, version %d", o.identityRows("sub-linus"), o.stored(id).CredentialVersion)
		}
		wantStatus(t, c.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil), http.StatusNotFound, "unlink again")
		if n := countEvents(t, o.harness, models.EventIdentityLinked); n != 1 {
			t.Fatalf("%d identity_linked events", n)
		}
	})
}

// TestOIDCLastLoginMethod: a user created by a provider has no password:
// unlinking their only identity is 409 last_login_method and keeps it; with
// a second identity the first can go.
func TestOIDCLastLoginMethod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-only", Email: "only@example.com", EmailVerified: true})
		c := o.browser()
		landed(t, o.signIn(c), "")
		var ids handlers.IdentitiesResponse
		c.do("GET", "/auth/identities", nil).json(t, &ids)
		uid := o.me(c).User.ID
		v := o.stored(uid).CredentialVersion
		r := c.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil)
		wantStatus(t, r, http.StatusConflict, "unlink the only way in")
		if r.errorCode(t) != "last_login_method" || o.identityRows("sub-only") != "1" || o.stored(uid).CredentialVersion != v {
			t.Fatalf("last_login_method: %s, rows %s", r.body, o.identityRows("sub-only"))
		}
		// A second identity (another subject at the provider) is another way in.
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-only-2", Email: "only@example.com", EmailVerified: true})
		r = c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL})
		var lr handlers.ProviderRedirect
		r.json(t, &lr)
		landed(t, c.do("GET", o.consent(lr.URL), nil), "")
		wantStatus(t, c.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil), http.StatusNoContent, "unlink with another left")
		if n := o.sqlQuery("SELECT COUNT(*) FROM identities WHERE user_id = ?", uid); n != "1" {
			t.Fatalf("%s identities left", n)
		}
	})
}

// TestOIDCRefusals: a tampered state, a replayed callback, a wrong nonce,
// an ID token from another issuer or for another audience, and an expired
// one are all refused: no session, no user, no identity.
func TestOIDCRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-eve", Email: "eve@example.com", EmailVerified: true})
		nobody := func(t *testing.T, c *client, r response) {
			t.Helper()
			if r.cookie("__Host-session") != nil || c.do("GET", "/auth/me", nil).status != http.StatusUnauthorized {
				t.Fatal("signed in")
			}
			if n := o.sqlQuery("SELECT COUNT(*) FROM users WHERE email = ?", "eve@example.com"); n != "0" {
				t.Fatalf("%s users", n)
			}
		}
		t.Run("tampered state", func(t *testing.T) {
			c := o.browser()
			cb := o.consent(o.start(c))
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", q.Get("state")[:len(q.Get("state"))-1]+"A")
			if q.Get("state") == u.Query().Get("state") {
				q.Set("state", q.Get("state")[:len(q.Get("state"))-1]+"B")
			}
			u.RawQuery = q.Encode()
			before := o.p.Exchanges.Load()
			r := c.do("GET", u.RequestURI(), nil)
			landed(t, r, "invalid_state")
			nobody(t, c, r)
			if o.p.Exchanges.Load() != before {
				t.Fatal("a tampered state still redeemed the code")
			}
		})
		t.Run("no flow cookie", func(t *testing.T) {
			c := o.browser()
			cb := o.consent(o.start(c))
			fresh := o.browser()
			r := fresh.do("GET", cb+"&utm_source=ignored", nil)
			landed(t, r, "invalid_state")
			nobody(t, fresh, r)
		})
		t.Run("declined at the provider", func(t *testing.T) {
			c := o.browser()
			cb, _ := url.Parse(o.consent(o.start(c)))
			q := url.Values{"state": {cb.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"<script>"}}
			r := c.do("GET", cb.Path+"?"+q.Encode(), nil)
			loc := landed(t, r, "access_denied")
			if strings.Contains(loc.String(), "script") {
				t.Fatalf("provider text reached the redirect: %s", loc)
			}
			nobody(t, c, r)
		})
		t.Run("no subject", func(t *testing.T) {
			o.p.TamperNext(func(c map[string]any) { delete(c, "sub") })
			c := o.browser()
			r := o.signIn(c)
			landed(t, r, "provider_error")
			nobody(t, c, r)
		})
		t.Run("replayed callback", func(t *testing.T) {
			o.p.SignInAs(apitest.OIDCUser{Subject: "sub-replay", Email: "replay@example.com", EmailVerified: true})
			c := o.browser()
			cb := o.consent(o.start(c))
			flow := c.cookieValue("/auth/oidc/mock/callback", "__Secure-oidc-flow")
			landed(t, c.do("GET", cb, nil), "")
			// An attacker replays the whole callback, flow cookie included.
			replayer := o.browser()
			replayer.setCookie("/auth/oidc", "__Secure-oidc-flow", flow)
			before := o.p.Exchanges.Load()
			r := replayer.do("GET", cb, nil)
			landed(t, r, "invalid_state")
			if r.cookie("__Host-session") != nil || o.p.Exchanges.Load() != before {
				t.Fatal("a replayed callback went on")
			}
			o.p.SignInAs(apitest.OIDCUser{Subject: "sub-eve", Email: "eve@example.com", EmailVerified: true})
		})
		for _, tc := range []struct {
			name   string
			tamper func(map[string]any)
		}{
			{"wrong nonce", func(c map[string]any) { c["nonce"] = "not-the-flows-nonce" }},
			{"another issuer", func(c map[string]any) { c["iss"] = "https://evil.example" }},
			{"another audience", func(c map[string]any) { c["aud"] = "someone-else" }},
			{"expired", func(c map[string]any) {
				c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
				c["exp"] = time.Now().Add(-time.Hour).Unix()
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				o.p.TamperNext(tc.tamper)
				c := o.browser()
				r := o.signIn(c)
				want := "provider_error"
				if tc.name == "wrong nonce" {
					want = "invalid_state"
				}
				landed(t, r, want)
				nobody(t, c, r)
				if n := o.identityRows("sub-eve"); n != "0" {
					t.Fatalf("%s identities", n)
				}
			})
		}
	})
}

// TestOIDCRedirectAllowList: redirectTo must be on the app's origin or an
// allowed origin, compared as origins: a prefix-alike host, another port,
// another scheme, a relative or userinfo URL are 400 invalid_redirect and
// set no flow cookie.
func TestOIDCRedirectAllowList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, map[string]string{"AUTH_ALLOWED_ORIGINS": "https://admin.example.com:8443"})
		c := o.browser()
		for _, bad := range []string{
			"https://evil.example/x", "https://app.example.com.evil.example/", "https://app.example.com:444/",
			"http://app.example.com/", "//evil.example/", "/relative", "https://user@app.example.com/",
			"https://admin.example.com/", "javascript:alert(1)",
		} {
			r := c.do("GET", "/auth/oidc/mock?redirectTo="+url.QueryEscape(bad), nil)
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_redirect" || r.cookie("__Secure-oidc-flow") != nil {
				t.Fatalf("redirectTo %q: %d %s", bad, r.status, r.body)
			}
		}
		for _, good := range []string{"https://APP.example.com:443/x?y=1", "https://admin.example.com:8443/back", ""} {
			r := c.do("GET", "/auth/oidc/mock?redirectTo="+url.QueryEscape(good), nil)
			wantStatus(t, r, http.StatusFound, "allowed "+good)
		}
		wantStatus(t, c.do("GET", "/auth/oidc/nope", nil), http.StatusNotFound, "unknown provider")
	})
}

// TestOIDCProviderDownAtStart: the router starts while the provider is
// down; its sign-in answers 503 (and nothing else breaks); once the
// provider is back, sign-in works without a restart.
func TestOIDCProviderDownAtStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		p := apitest.NewOIDCProvider(t)
		p.Down.Store(true)
		vars := p.Env("mock", "Mock")
		vars["AUTH_APP_URL"] = appURL
		cfg, err := config.Load(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		// As main does at start-up: discovery fails and is only logged.
		if err := api.OIDCProviders(cfg, nil)[0].Discover(context.Background()); err == nil {
			t.Fatal("discovery of a down provider succeeded")
		}
		o := &oidcHarness{harness: newHarness(t, dbURL, withEnv(vars)), p: p}
		c := o.browser()
		wantStatus(t, c.do("GET", "/healthz", nil), http.StatusOK, "healthz")
		r := c.do("GET", "/auth/oidc/mock?redirectTo="+url.QueryEscape(appURL), nil)
		if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "unavailable" {
			t.Fatalf("sign-in while down: %d %s", r.status, r.body)
		}
		o.register("pw@example.com") // password sign-up is unaffected
		p.Down.Store(false)
		o.clock.Advance(10 * time.Second)
		p.SignInAs(apitest.OIDCUser{Subject: "sub-back", Email: "back@example.com", EmailVerified: true})
		landed(t, o.signIn(c), "")
		if o.me(c).User.Email != "back@example.com" {
			t.Fatal("not signed in once the provider is back")
		}
	})
}

// TestOIDCSecondFactor: a user with an authenticator app who signs in
// through the provider gets no session but the second step in the
// fragment of the redirect; POST /auth/mfa/verify finishes it (amr oidc,
// otp; aal 2).
func TestOIDCSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		o := newOIDCHarness(t, dbURL, nil, withDataKeys(keys))
		c := o.register("mfa@example.com")
		secret, _ := enrol(t, o.harness, c)
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-mfa", Email: "mfa@example.com", EmailVerified: true})
		var lr handlers.ProviderRedirect
		r := c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL})
		wantStatus(t, r, http.StatusOK, "link at aal 2")
		r.json(t, &lr)
		landed(t, c.do("GET", o.consent(lr.URL), nil), "")

		b := o.browser()
		r = o.signIn(b)
		loc := landed(t, r, "")
		if r.cookie("__Host-session") != nil || r.cookie("__Secure-refresh") != nil {
			t.Fatal("a factor user got session cookies from the provider alone")
		}
		frag, err := url.ParseQuery(loc.Fragment)
		if err != nil || frag.Get("mfa_token") == "" || frag.Get("methods") != "totp,recovery_code" || loc.RawQuery != "" {
			t.Fatalf("second step: %s", loc)
		}
		o.clock.Advance(30 * time.Second) // the enrolment spent this step
		r = b.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": frag.Get("mfa_token"), "code": apitest.TOTP(t, secret, o.clock.Now())})
		wantStatus(t, r, http.StatusOK, "second step")
		me := o.me(b)
		if strings.Join(me.Session.AMR, ",") != "oidc,otp" || me.Session.AAL != 2 {
			t.Fatalf("session after the second step: %+v", me.Session)
		}
	})
}

// TestOIDCFirstProof: an account registered with a password whose address
// was never proven signs in through a linked provider that verified exactly
// this address: the address is verified, the password (set before the
// proof) is voided and audited, the credential version moves on and every
// earlier session ends.
func TestOIDCFirstProof(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		early := o.register("squat@example.com")
		early.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		id := o.me(early).User.ID
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-owner", Email: "squat@example.com", EmailVerified: true})
		var lr handlers.ProviderRedirect
		early.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL}).json(t, &lr)
		landed(t, early.do("GET", o.consent(lr.URL), nil), "")
		v := o.stored(id).CredentialVersion

		owner := o.browser()
		landed(t, o.signIn(owner), "")
		u := o.stored(id)
		if !u.EmailVerified || u.PasswordHash != "" || u.CredentialVersion != v+1 {
			t.Fatalf("after the first proof: verified %v, password kept %v, version %d→%d", u.EmailVerified, u.PasswordHash != "", v, u.CredentialVersion)
		}
		if early.do("GET", "/auth/me", nil).status != http.StatusUnauthorized {
			t.Fatal("the session from before the proof lives on")
		}
		if o.me(owner).User.ID != id || countEvents(t, o.harness, models.EventPasswordVoided) != 1 {
			t.Fatal("owner not signed in, or no password_voided event")
		}
		wantStatus(t, o.client().do("POST", "/auth/login", map[string]any{"email": "squat@example.com", "password": goodPassword}),
			http.StatusUnauthorized, "the voided password")
	})
}

// TestOIDCRequiredVerification: under AUTH_EMAIL_VERIFICATION=required a
// provider email that is not verified creates nobody and signs nobody in;
// a verified one does.
func TestOIDCRequiredVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "required"})
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-unv", Email: "unv@example.com", EmailVerified: false})
		c := o.browser()
		r := o.signIn(c)
		landed(t, r, "email_not_verified")
		if r.cookie("__Host-session") != nil || o.sqlQuery("SELECT COUNT(*) FROM users") != "0" {
			t.Fatal("an unverified provider email made a user or a session")
		}
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-v", Email: "v@example.com", EmailVerified: true})
		landed(t, o.signIn(c), "")
		if !o.me(c).User.EmailVerified {
			t.Fatal("not verified")
		}
	})
}

// TestOIDCLinkNeedsVerifiedAddress: while mail is sent, an unverified
// account cannot link a provider (403 email_not_verified); verified, it can.
func TestOIDCLinkNeedsVerifiedAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		p := apitest.NewOIDCProvider(t)
		env := p.Env("mock", "Mock")
		env["AUTH_EMAIL_VERIFICATION"] = "off" // no mail at registration: verifyAddress asks for one
		m := newMailHarness(t, dbURL, env)
		c := m.register("late@example.com")
		r := c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL})
		wantStatus(t, r, http.StatusForbidden, "link unverified")
		if r.errorCode(t) != "email_not_verified" || r.cookie("__Secure-oidc-flow") != nil {
			t.Fatalf("link unverified: %s", r.body)
		}
		m.verifyAddress(c, "late@example.com")
		wantStatus(t, c.do("POST", "/auth/identities/mock", map[string]any{"redirectTo": appURL}), http.StatusOK, "link verified")
	})
}

// TestOIDCParallelCallbacks: the same callback (state, code and flow
// cookie) sent eight times at once, all held until each has matched its
// state: exactly one redeems the code and signs in; the others are
// invalid_state and never reach the provider.
func TestOIDCParallelCallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		const n = 8
		var arrived sync.WaitGroup
		arrived.Add(n)
		o := newOIDCHarness(t, dbURL, nil, func(_ *config.Config, d *api.Deps) {
			d.Hooks.OIDCStateChecked = func() { arrived.Done(); arrived.Wait() }
		})
		o.p.SignInAs(apitest.OIDCUser{Subject: "sub-par", Email: "par@example.com", EmailVerified: true})
		first := o.browser()
		cb := o.consent(o.start(first))
		flow := first.cookieValue("/auth/oidc/mock/callback", "__Secure-oidc-flow")
		results := make(chan string, n)
		for range n {
			c := o.browser()
			c.setCookie("/auth/oidc", "__Secure-oidc-flow", flow)
			go func() {
				r := c.do("GET", cb, nil)
				loc, _ := url.Parse(r.header.Get("Location"))
				results <- loc.Query().Get("error")
			}()
		}
		ok, refused := 0, 0
		for range n {
			switch <-results {
			case "":
				ok++
			case "invalid_state":
				refused++
			}
		}
		if ok != 1 || refused != n-1 || o.p.Exchanges.Load() != 1 {
			t.Fatalf("%d signed in, %d invalid_state, %d exchanges; want 1, %d, 1", ok, refused, o.p.Exchanges.Load(), n-1)
		}
		if s := o.sqlQuery("SELECT COUNT(*) FROM sessions"); s != "1" {
			t.Fatalf("%s sessions", s)
		}
	})
}

// TestOIDCUserSetsAPassword: a user created by a provider has no password
// (a password login fails like any wrong one) and sets one with the reset
// flow; then they sign in either way, and may unlink the provider.
func TestOIDCUserSetsAPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		p := apitest.NewOIDCProvider(t)
		m := newMailHarness(t, dbURL, p.Env("mock", "Mock"))
		o := &oidcHarness{harness: m.harness, p: p}
		p.SignInAs(apitest.OIDCUser{Subject: "sub-pw", Email: "pw@example.com", EmailVerified: true})
		c := o.browser()
		landed(t, o.signIn(c), "")
		login := map[string]any{"email": "pw@example.com", "password": "a brand new passphrase"}
		wantStatus(t, o.client().do("POST", "/auth/login", login), http.StatusUnauthorized, "login without a password")
		wantStatus(t, o.client().do("POST", "/auth/password/forgot", map[string]any{"email": "pw@example.com"}), http.StatusAccepted, "forgot")
		_, tok := m.mailFor("pw@example.com", "Reset your password", 0).Link()
		wantStatus(t, o.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new passphrase"}), http.StatusNoContent, "reset")
		wantStatus(t, o.client().do("POST", "/auth/login", login), http.StatusOK, "login with the new password")
		b := o.browser()
		landed(t, o.signIn(b), "")
		var ids handlers.IdentitiesResponse
		b.do("GET", "/auth/identities", nil).json(t, &ids)
		wantStatus(t, b.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil), http.StatusNoContent, "unlink with a password set")
	})
}
