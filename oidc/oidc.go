// Package oidc adapts an OpenID Connect provider (github.com/coreos/go-oidc
// and golang.org/x/oauth2) to auth.OIDCProvider: discovery, retried lazily
// while the provider is down, the authorization URL with nonce and PKCE S256,
// the code exchange and the ID token's verification (signature, issuer,
// audience, expiry).
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-auth/portcullis/auth"
)

// Config is one provider's configuration.
type Config struct {
	Name         string
	DisplayName  string
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// RedirectURL is Portcullis's callback for this provider.
	RedirectURL string
	// HTTPClient talks to the provider; nil means one with a 10s timeout.
	HTTPClient *http.Client
	// Now is the clock ID tokens' expiry is checked against; nil: the system's.
	Now func() time.Time
	// RetryEvery spaces discovery attempts while the provider is down
	// (zero: 5 seconds), so a flood of sign-ins does not become one.
	RetryEvery time.Duration
}

// ErrNotDiscovered is returned while discovery has not succeeded.
var ErrNotDiscovered = errors.New("oidc: provider discovery has not succeeded yet")

// Provider is a configured provider. It is safe for concurrent use.
type Provider struct {
	cfg Config

	mu        sync.Mutex
	lastTry   time.Time
	lastErr   error
	oauth     *oauth2.Config
	verifier  *gooidc.IDTokenVerifier
	discovery *gooidc.Provider
}

var _ auth.OIDCProvider = (*Provider)(nil)

// New returns a provider; it does not contact it (see Discover).
func New(cfg Config) *Provider {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = 5 * time.Second
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{gooidc.ScopeOpenID, "email", "profile"}
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.Name
	}
	return &Provider{cfg: cfg}
}

// Name is the configured name.
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName is what a login page shows.
func (p *Provider) DisplayName() string { return p.cfg.DisplayName }

func (p *Provider) ctx(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, p.cfg.HTTPClient)
}

// Discover fetches the provider's discovery document now (main calls it at
// start-up and only logs a failure: sign-in retries it).
func (p *Provider) Discover(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.discoverLocked(ctx, true)
}

// ready returns the discovered configuration, discovering it if need be
// (at most once per RetryEvery while the provider is down).
func (p *Provider) ready(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovery == nil {
		if err := p.discoverLocked(ctx, false); err != nil {
			return nil, nil, err
		}
	}
	return p.oauth, p.verifier, nil
}

func (p *Provider) discoverLocked(ctx context.Context, force bool) error {
	if p.discovery != nil {
		return nil
	}
	now := p.cfg.Now()
	if !force && !p.lastTry.IsZero() && now.Sub(p.lastTry) < p.cfg.RetryEvery {
		return fmt.Errorf("%w: %v", ErrNotDiscovered, p.lastErr)
	}
	p.lastTry = now
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d, err := gooidc.NewProvider(p.ctx(ctx), p.cfg.Issuer)
	if err != nil {
		p.lastErr = err
		return fmt.Errorf("%w: %v", ErrNotDiscovered, err)
	}
	p.discovery, p.lastErr = d, nil
	p.oauth = &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: d.Endpoint(),
		RedirectURL: p.cfg.RedirectURL, Scopes: p.cfg.Scopes}
	p.verifier = d.VerifierContext(p.ctx(context.Background()), &gooidc.Config{ClientID: p.cfg.ClientID, Now: p.cfg.Now})
	return nil
}

// AuthCodeURL is the authorization endpoint's URL for one flow.
func (p *Provider) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	oc, _, err := p.ready(ctx)
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems a code with the PKCE verifier and verifies the ID token.
func (p *Provider) Exchange(ctx context.Context, code, verifier string) (auth.OIDCClaims, error) {
	oc, v, err := p.ready(ctx)
	if err != nil {
		return auth.OIDCClaims{}, err
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTPClient), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return auth.OIDCClaims{}, fmt.Errorf("oidc: code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return auth.OIDCClaims{}, errors.New("oidc: the token response has no id_token")
	}
	idt, err := v.Verify(p.ctx(ctx), raw)
	if err != nil {
		return auth.OIDCClaims{}, fmt.Errorf("oidc: ID token: %w", err)
	}
	var c struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
		Name          string          `json:"name"`
	}
	if err := idt.Claims(&c); err != nil {
		return auth.OIDCClaims{}, fmt.Errorf("oidc: ID token claims: %w", err)
	}
	return auth.OIDCClaims{Issuer: idt.Issuer, Subject: idt.Subject, Email: c.Email, EmailVerified: truthy(c.EmailVerified),
		Name: c.Name, Nonce: idt.Nonce}, nil
}

// truthy reads email_verified, a boolean some providers send as a string.
func truthy(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, _ = strconv.ParseBool(s)
	}
	return b
}
