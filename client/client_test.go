package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/token"
)

const password = "correct horse battery staple"

// clock is the time the router reads, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// portcullis is the real router on a fresh database, counting the
// /auth/verify requests it answers.
type portcullis struct {
	t        *testing.T
	url      string
	clock    *clock
	svc      *auth.Service
	verifies atomic.Int64
}

func newPortcullis(t *testing.T) *portcullis {
	t.Helper()
	p := &portcullis{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	env := map[string]string{"AUTH_INTROSPECT_CLIENTS": "gateway:change-me-to-a-long-secret"}
	keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
	router := apitest.Router(t, env, func(d *api.Deps) {
		d.Now = p.clock.Now
		d.DataKeys = keys
		p.svc = api.NewService(*d)
		d.Auth = p.svc
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth/verify" {
			p.verifies.Add(1)
		}
		router.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// call makes a request to Portcullis and decodes its JSON answer into out.
func (p *portcullis) call(method, path, cookie, ctype, body string, out any) *http.Response {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.url+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		p.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			p.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp
}

// cookies returns the Cookie header a browser would send back.
func cookies(resp *http.Response) string {
	var parts []string
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// register signs up a user and returns its browser's cookies.
func (p *portcullis) register(email string) string {
	p.t.Helper()
	body := `{"email":"` + email + `","password":"` + password + `","name":"Ada"}`
	return cookies(p.call("POST", "/auth/register", "", "application/json", body, nil))
}

// login signs in with a password and returns the cookies.
func (p *portcullis) login(email string) string {
	p.t.Helper()
	body := `{"email":"` + email + `","password":"` + password + `"}`
	return cookies(p.call("POST", "/auth/login", "", "application/json", body, nil))
}

// bearer returns an access token from the password grant.
func (p *portcullis) bearer(email string) string {
	p.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}.Encode()
	p.call("POST", "/auth/token", "", "application/x-www-form-urlencoded", form, &tok)
	return tok.AccessToken
}

// admin creates a verified administrator and returns its cookies.
func (p *portcullis) admin(email string) string {
	p.t.Helper()
	if ok, err := p.svc.BootstrapAdmin(context.Background(), auth.NewUser{Email: email, Name: "Grace", Password: password, Verified: true}); !ok || err != nil {
		p.t.Fatalf("bootstrap admin: %v %v", ok, err)
	}
	return p.login(email)
}

// aal2 signs up a user with an authenticator app and returns the cookies of a
// session signed in with it.
func (p *portcullis) aal2(email string) string {
	p.t.Helper()
	first := p.register(email)
	var e struct {
		Factor struct{ ID string }
		Secret string
	}
	p.call("POST", "/auth/mfa/totp", first, "application/json", `{"name":"Phone"}`, &e)
	p.call("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", first, "application/json",
		`{"code":"`+apitest.TOTP(p.t, e.Secret, p.clock.Now())+`"}`, nil)
	// The next step's code, so it is not a replay of the enrolment's.
	p.clock.Add(30 * time.Second)
	var ch struct{ MFAToken string }
	p.call("POST", "/auth/login", "", "application/json", `{"email":"`+email+`","password":"`+password+`"}`, &ch)
	if ch.MFAToken == "" {
		p.t.Fatal("no second step after enrolment")
	}
	resp := p.call("POST", "/auth/mfa/verify", "", "application/json",
		`{"mfaToken":"`+ch.MFAToken+`","code":"`+apitest.TOTP(p.t, e.Secret, p.clock.Now())+`"}`, nil)
	return cookies(resp)
}

// guarded serves next behind c.Middleware(reqs…) and reports what it saw.
func guarded(t *testing.T, c *Client, reqs ...Requirement) (string, *atomic.Int64) {
	t.Helper()
	var served atomic.Int64
	srv := httptest.NewServer(c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		p := PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(p)
	}), reqs...))
	t.Cleanup(srv.Close)
	return srv.URL, &served
}

type answer struct {
	status    int
	principal Principal
	err       Error
	header    http.Header
}

func get(t *testing.T, url string, headers ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		_ = json.Unmarshal(data, &a.principal)
	} else {
		var env struct{ Error Error }
		if err := json.Unmarshal(data, &env); err != nil || env.Error.Code == "" {
			t.Fatalf("GET %s: %d is not the error envelope: %s", url, resp.StatusCode, data)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("refusal content type %q", ct)
		}
		a.err = env.Error
	}
	return a
}

func TestMiddleware(t *testing.T) {
	p := newPortcullis(t)
	c := New(p.url)
	adaCookie := p.register("ada@example.com")
	adaBearer := p.bearer("ada@example.com")
	graceCookie := p.admin("grace@example.com")
	mfa2 := p.aal2("mina@example.com")

	open, _ := guarded(t, c)
	admins, _ := guarded(t, c, RequireRole("admin"))
	users, _ := guarded(t, c, RequireRole("user"))
	strong, _ := guarded(t, c, RequireAAL(2))
	verified, _ := guarded(t, c, RequireVerifiedEmail())

	tests := []struct {
		name    string
		url     string
		headers []string
		status  int
		code    string
		check   func(Principal) bool
	}{
		{"cookie", open, []string{"Cookie", adaCookie}, 200, "",
			func(pr Principal) bool {
				return pr.Email == "ada@example.com" && pr.Role == "user" && pr.UserID != "" && pr.SessionID != "" && pr.AAL == 1 && !pr.EmailVerified
			}},
		{"bearer", open, []string{"Authorization", "Bearer " + adaBearer}, 200, "",
			func(pr Principal) bool { return pr.Email == "ada@example.com" && pr.SessionID != "" }},
		{"nothing", open, nil, 401, "unauthenticated", nil},
		{"garbage cookie", open, []string{"Cookie", "__Host-session=nonsense"}, 401, "unauthenticated", nil},
		{"garbage bearer", open, []string{"Authorization", "Bearer nonsense"}, 401, "unauthenticated", nil},
		{"user at an admin route", admins, []string{"Cookie", adaCookie}, 403, "forbidden", nil},
		{"bearer user at an admin route", admins, []string{"Authorization", "Bearer " + adaBearer}, 403, "forbidden", nil},
		{"admin at an admin route", admins, []string{"Cookie", graceCookie}, 200, "",
			func(pr Principal) bool { return pr.Role == "admin" && pr.Email == "grace@example.com" }},
		{"admin at a user route", users, []string{"Cookie", graceCookie}, 200, "", nil},
		{"aal1 at an aal2 route", strong, []string{"Cookie", adaCookie}, 403, "insufficient_aal", nil},
		{"aal2 at an aal2 route", strong, []string{"Cookie", mfa2}, 200, "",
			func(pr Principal) bool { return pr.AAL == 2 && pr.Email == "mina@example.com" }},
		{"unverified at a verified route", verified, []string{"Cookie", adaCookie}, 403, "email_not_verified", nil},
		{"verified at a verified route", verified, []string{"Cookie", graceCookie}, 200, "",
			func(pr Principal) bool { return pr.EmailVerified }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(t, tt.url, tt.headers...)
			if got.status != tt.status || got.err.Code != tt.code {
				t.Fatalf("got %d %q (%s), want %d %q", got.status, got.err.Code, got.err.Message, tt.status, tt.code)
			}
			if tt.check != nil && !tt.check(got.principal) {
				t.Errorf("principal %+v", got.principal)
			}
		})
	}

	t.Run("a bearer refusal says so the RFC 6750 way", func(t *testing.T) {
		got := get(t, open, "Authorization", "Bearer nonsense")
		if !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") || got.err.RequestID == "" {
			t.Errorf("WWW-Authenticate %q, request id %q", got.header.Get("WWW-Authenticate"), got.err.RequestID)
		}
	})

	t.Run("an expired access cookie is token_expired, so a browser client refreshes", func(t *testing.T) {
		old := p.clock.Now()
		p.clock.Add(time.Hour)
		defer func() { p.clock.Add(old.Sub(p.clock.Now())) }()
		got := get(t, open, "Cookie", adaCookie)
		if got.status != 401 || got.err.Code != "token_expired" {
			t.Errorf("got %d %q", got.status, got.err.Code)
		}
	})
}

// TestRevokedSessionIsRefusedAtOnce: with the default TTL of 0 a signed-out
// session is refused on the very next request; with a TTL it is honoured
// from the cache until the TTL passes, the documented trade.
func TestRevokedSessionIsRefusedAtOnce(t *testing.T) {
	p := newPortcullis(t)
	cookie := p.register("ada@example.com")
	now := &clock{t: time.Now()}
	fresh, _ := guarded(t, New(p.url))
	cachedURL, served := guarded(t, New(p.url, WithCacheTTL(time.Minute), withClock(now.Now)))

	for _, u := range []string{fresh, cachedURL, fresh, cachedURL} {
		if got := get(t, u, "Cookie", cookie); got.status != 200 {
			t.Fatalf("before sign-out: %d %s", got.status, got.err.Code)
		}
	}
	if n := p.verifies.Load(); n != 3 {
		t.Errorf("Portcullis answered %d verifications for 2 uncached and 2 cached requests, want 3", n)
	}

	p.call("POST", "/auth/logout", cookie, "", "", nil)
	before := p.verifies.Load()
	if got := get(t, fresh, "Cookie", cookie); got.status != 401 || got.err.Code != "unauthenticated" {
		t.Errorf("TTL 0, after sign-out: %d %q, want 401 unauthenticated", got.status, got.err.Code)
	}
	if p.verifies.Load() != before+1 {
		t.Error("TTL 0 did not ask Portcullis")
	}

	if got := get(t, cachedURL, "Cookie", cookie); got.status != 200 {
		t.Errorf("TTL 1m, after sign-out, within the TTL: %d, want the cached 200", got.status)
	}
	now.Add(time.Minute)
	if got := get(t, cachedURL, "Cookie", cookie); got.status != 401 {
		t.Errorf("TTL 1m, after the TTL: %d, want 401", got.status)
	}
	if n := served.Load(); n != 3 {
		t.Errorf("the cached service served %d requests, want 3", n)
	}
}

func TestIntrospect(t *testing.T) {
	p := newPortcullis(t)
	p.register("ada@example.com")
	tok := p.bearer("ada@example.com")
	ctx := context.Background()

	c := New(p.url, WithIntrospection("gateway", "change-me-to-a-long-secret"))
	got, err := c.Introspect(ctx, tok)
	if err != nil || !got.Active || got.Email != "ada@example.com" || got.Role != "user" || got.Sub == "" || got.Acr != "aal1" {
		t.Fatalf("live token: %+v, %v", got, err)
	}
	got, err = c.Introspect(ctx, "not-a-token")
	if err != nil || got.Active || got.Sub != "" {
		t.Errorf("garbage: %+v, %v", got, err)
	}
	_, err = New(p.url, WithIntrospection("gateway", "wrong")).Introspect(ctx, tok)
	if e, ok := err.(*Error); !ok || e.Status != 401 || e.Code != "invalid_client" {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := New(p.url).Introspect(ctx, tok); err == nil {
		t.Error("no credentials: no error")
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	u, served := guarded(t, New(srv.URL))
	got := get(t, u, "Cookie", "__Host-session=x")
	if got.status != http.StatusServiceUnavailable || got.err.Code != "unavailable" || strings.Contains(got.err.Message, "127.0.0.1") {
		t.Errorf("got %d %+v", got.status, got.err)
	}
	if served.Load() != 0 {
		t.Error("served without Portcullis")
	}
}

// TestNoFrameworkDependencies: a service importing the client pulls in no
// web framework and no database layer.
func TestNoFrameworkDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/portcullis-auth/portcullis/client" {
			t.Errorf("client depends on %s; it must use the standard library only", dep)
		}
	}
}
