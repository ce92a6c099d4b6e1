package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// clock is a settable clock shared by the router and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testParams keep argon2id cheap in tests; production parameters are checked
// in package auth.
var testParams = &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

type harness struct {
	t     *testing.T
	srv   *httptest.Server
	db    *store.DB
	cache *store.Cached
	keys  *token.KeyRing
	key   token.Key
	clock *clock
	svc   *auth.Service
	// hasher is the router's: its Count is the work requests did.
	hasher *auth.Hasher
	// verify proves a signed-in client's address, where mail is sent (an
	// unverified address cannot enrol a factor then).
	verify func(c *client, email string)
}

type option func(*config.Config, *api.Deps)

func withEnv(vars map[string]string) option {
	return func(c *config.Config, _ *api.Deps) {
		cfg, err := config.Load(func(k string) string { return vars[k] })
		if err != nil {
			panic(err)
		}
		*c = cfg
	}
}

// newHarness serves the real router over TLS (so Secure cookies behave as in
// a browser) on a fresh database at dbURL.
func newHarness(t *testing.T, dbURL string, opts ...option) *harness {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}}
	h.db = storetest.Open(t, dbURL)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The cached store and token cache run in every HTTP test, as in production.
	h.cache = store.NewCached(ctx, h.db, store.LocalBus{}, 1000, 50*time.Millisecond, slog.New(slog.DiscardHandler))
	h.key = token.GenerateKey("test")
	h.keys, _ = token.NewKeyRing(h.key)
	d := api.Deps{Store: h.cache, Keys: h.keys.WithCache(1000), Hasher: auth.NewHasher(4, 256, testParams), Now: h.clock.Now}
	for _, o := range opts {
		o(&cfg, &d)
	}
	h.hasher = d.Hasher
	if d.IPLimiter == nil {
		d.IPLimiter = store.NewMemoryLimiter(cfg.RateLimitIP.Events, cfg.RateLimitIP.Per, h.clock.Now)
	}
	if d.Lockout == nil {
		d.Lockout = store.NewMemoryLockout(cfg.LockoutDuration, h.clock.Now)
	}
	d.Config = cfg
	// The service and the router count into one registry (an option may
	// bring its own, to hand the metrics to an outbox worker too).
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
		d.Metrics = api.NewMetrics(d.Registry, func() float64 { return 0 })
	}
	h.svc = api.NewService(d)
	d.Auth = h.svc
	h.srv = httptest.NewTLSServer(api.New(d))
	t.Cleanup(h.srv.Close)
	return h
}

// client is one browser: its own cookie jar.
type client struct {
	h   *harness
	jar http.CookieJar
	hc  *http.Client
}

func (h *harness) client() *client {
	jar, _ := cookiejar.New(nil)
	hc := h.srv.Client()
	c := *hc
	c.Jar = jar
	return &client{h: h, jar: jar, hc: &c}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", r.status, err, r.body)
	}
}

func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var e handlers.ErrorResponse
	r.json(t, &e)
	return e.Error.Code
}

func (r response) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends a request; body may be nil, a string (sent as is) or a value
// (sent as JSON). headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.h.t.Helper()
	var r io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
		ctype = ""
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.h.srv.URL+path, r)
	if err != nil {
		c.h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	var reqBody []byte
	if req.GetBody != nil {
		rc, _ := req.GetBody()
		reqBody, _ = io.ReadAll(rc)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	res := response{status: resp.StatusCode, header: resp.Header, body: data}
	// Every exchange of the HTTP suite is checked against openapi.yaml.
	checkContract(c.h.t, method, path, req.Header, reqBody, res)
	return res
}

// cookieValue returns the value the jar would send to path.
func (c *client) cookieValue(path, name string) string {
	u, _ := url.Parse(c.h.srv.URL + path)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookie puts a cookie into the jar, as a replaying attacker would.
func (c *client) setCookie(path, name, value string) {
	u, _ := url.Parse(c.h.srv.URL + path)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: path, Secure: true}})
}

const goodPassword = "correct horse battery staple"

func registerBody(email string) map[string]any {
	return map[string]any{"email": email, "password": goodPassword, "name": "Ada Lovelace"}
}

// register creates an account with a fresh client and returns it signed in.
func (h *harness) register(email string) *client {
	h.t.Helper()
	c := h.client()
	if r := c.do("POST", "/auth/register", registerBody(email)); r.status != http.StatusCreated {
		h.t.Fatalf("register %s: %d %s", email, r.status, r.body)
	}
	return c
}

func wantStatus(t *testing.T, r response, want int, what string) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, want, r.body)
	}
}
