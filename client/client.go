// Package client lets a Go service trust Portcullis's sessions: Verify asks
// Portcullis about the cookie or bearer token a request carries, Introspect
// asks about a token (RFC 7662), and Middleware guards an http.Handler with
// either. It uses the standard library only, so importing it pulls in no web
// framework and no database driver.
//
// By default every call asks Portcullis, so a revoked session or a signed-out
// user is refused at once. WithCacheTTL trades that for speed: an answer is
// reused for up to the TTL, so a revocation can take that long to be noticed.
package client

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client talks to one Portcullis deployment. It is safe for concurrent use.
type Client struct {
	base         string
	hc           *http.Client
	clientID     string
	clientSecret string
	ttl          time.Duration
	now          func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cached
}

type cached struct {
	p       *Principal
	in      *Introspection
	expires time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used to reach Portcullis (default: one
// with a 10-second timeout).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithIntrospection sets the credentials Introspect authenticates with: one of
// the pairs in Portcullis's AUTH_INTROSPECT_CLIENTS.
func WithIntrospection(clientID, secret string) Option {
	return func(c *Client) { c.clientID, c.clientSecret = clientID, secret }
}

// WithCacheTTL reuses a positive answer for up to ttl (default 0: no cache,
// every request asks Portcullis). A session revoked or signed out is still
// accepted until its cached answer expires; choose the TTL as the longest
// delay your service may honour a revoked session. Refusals are never cached.
func WithCacheTTL(ttl time.Duration) Option { return func(c *Client) { c.ttl = ttl } }

// withClock replaces the clock the cache reads (tests).
func withClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// New returns a client for the Portcullis at baseURL (for example
// "http://portcullis:8080").
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:  strings.TrimRight(baseURL, "/"),
		hc:    &http.Client{Timeout: 10 * time.Second},
		now:   time.Now,
		cache: map[[sha256.Size]byte]cached{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Principal is the signed-in user a request carries, as Portcullis reports it.
type Principal struct {
	UserID        string
	Email         string
	Role          string // "user" or "admin"
	EmailVerified bool
	SessionID     string
	AAL           int // 1, or 2 after a second factor
}

// Introspection is an RFC 7662 answer; for an inactive token only Active is set.
type Introspection struct {
	Active        bool     `json:"active"`
	Sub           string   `json:"sub,omitempty"`
	Sid           string   `json:"sid,omitempty"`
	Role          string   `json:"role,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
	Exp           int64    `json:"exp,omitempty"`
	Iat           int64    `json:"iat,omitempty"`
	Acr           string   `json:"acr,omitempty"`
	Amr           []string `json:"amr,omitempty"`
	AuthTime      int64    `json:"auth_time,omitempty"`
}

// Error is a refusal from Portcullis (or from Middleware), in the fields of
// Portcullis's error envelope. Code is one of Portcullis's error codes, such
// as "unauthenticated", "token_expired", "forbidden", "insufficient_aal",
// "email_not_verified", or "unavailable" when Portcullis cannot be reached.
type Error struct {
	Status    int                 `json:"-"`
	Code      string              `json:"code"`
	Message   string              `json:"message"`
	Fields    map[string][]string `json:"fields,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
	// header holds headers worth relaying (WWW-Authenticate, Retry-After).
	header http.Header
	// cause is why Portcullis could not be reached: for the service's logs,
	// never for the response.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("portcullis: %d %s: %s: %v", e.Status, e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("portcullis: %d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the transport error behind an "unavailable" Error.
func (e *Error) Unwrap() error { return e.cause }

// IsUnauthenticated reports whether err says the request carries no live session.
func IsUnauthenticated(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// Verify asks Portcullis (GET /auth/verify) who sent r, forwarding its
// cookies and Authorization header and nothing else. A request without a live
// session returns an *Error with Status 401.
func (c *Client) Verify(ctx context.Context, r *http.Request) (*Principal, error) {
	cookie, authz := r.Header.Values("Cookie"), r.Header.Get("Authorization")
	if len(cookie) == 0 && authz == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthenticated", Message: "sign in to continue"}
	}
	key := c.key("verify", authz, strings.Join(cookie, "; "))
	if e, ok := c.lookup(key); ok && e.p != nil {
		p := *e.p
		return &p, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/auth/verify", nil)
	if err != nil {
		return nil, err
	}
	for _, v := range cookie {
		req.Header.Add("Cookie", v)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, envelope(resp)
	}
	h := resp.Header
	aal, _ := strconv.Atoi(h.Get("X-Auth-AAL"))
	p := &Principal{
		UserID:        h.Get("X-Auth-User-Id"),
		Email:         h.Get("X-Auth-User-Email"),
		Role:          h.Get("X-Auth-User-Role"),
		EmailVerified: h.Get("X-Auth-User-Email-Verified") == "true",
		SessionID:     h.Get("X-Auth-Session-Id"),
		AAL:           aal,
	}
	if p.UserID == "" {
		return nil, &Error{Status: http.StatusBadGateway, Code: "unavailable", Message: "Portcullis answered /auth/verify without a user"}
	}
	c.store(key, cached{p: p})
	out := *p
	return &out, nil
}

// Introspect asks Portcullis (POST /auth/introspect, RFC 7662) whether token
// is a live access token, authenticating with the WithIntrospection
// credentials. A dead token is not an error: it returns Active false.
func (c *Client) Introspect(ctx context.Context, token string) (*Introspection, error) {
	if c.clientID == "" {
		return nil, errors.New("portcullis: Introspect needs WithIntrospection credentials")
	}
	key := c.key("introspect", token)
	if e, ok := c.lookup(key); ok && e.in != nil {
		in := *e.in
		return &in, nil
	}
	body := url.Values{"token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/auth/introspect", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.clientID, c.clientSecret)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer drain(resp.Body)
	if resp.StatusCode != http.StatusOK {
		// The OAuth endpoints answer {error, error_description}.
		var o struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&o)
		return nil, &Error{Status: resp.StatusCode, Code: o.Error, Message: o.Description}
	}
	var in Introspection
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&in); err != nil {
		return nil, fmt.Errorf("portcullis: introspect: %w", err)
	}
	if in.Active {
		c.store(key, cached{in: &in})
	}
	return &in, nil
}

// key hashes what identifies a caller, so the cache holds no token.
func (c *Client) key(parts ...string) [sha256.Size]byte {
	return sha256.Sum256([]byte(strings.Join(parts, "\x00")))
}

func (c *Client) lookup(key [sha256.Size]byte) (cached, bool) {
	if c.ttl <= 0 {
		return cached{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[key]
	if !ok {
		return cached{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.cache, key)
		return cached{}, false
	}
	return e, true
}

func (c *Client) store(key [sha256.Size]byte, e cached) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	e.expires = now.Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Expired entries are swept as the cache grows, so it stays bounded by
	// the callers seen within one TTL.
	if len(c.cache) >= 1024 {
		for k, v := range c.cache {
			if !now.Before(v.expires) {
				delete(c.cache, k)
			}
		}
	}
	c.cache[key] = e
}

// envelope reads Portcullis's error envelope from a refusal.
func envelope(resp *http.Response) *Error {
	var body struct {
		Error Error `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	e := body.Error
	e.Status = resp.StatusCode
	if e.Code == "" {
		e.Code, e.Message = "unavailable", fmt.Sprintf("Portcullis answered %d", resp.StatusCode)
		if resp.StatusCode < 500 {
			e.Code = "unauthenticated"
		}
	}
	e.header = http.Header{}
	for _, h := range []string{"WWW-Authenticate", "Retry-After"} {
		if v := resp.Header.Get(h); v != "" {
			e.header.Set(h, v)
		}
	}
	return &e
}

func unreachable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the authentication service cannot be reached", cause: err}
}

func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	_ = r.Close()
}
