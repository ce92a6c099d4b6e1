// Package api assembles the HTTP interface: the Gin engine, its middleware and
// every route (in routes.go).
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-auth/portcullis/abuse"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/oidc"
	"github.com/portcullis-auth/portcullis/token"
)

// Store is everything the routes need from the database.
type Store interface {
	auth.Store
	handlers.Pinger
}

// Limiter rate-limits events per key. Allow returns 0 when the event is
// allowed, else how long until it would be.
type Limiter interface {
	Allow(ctx context.Context, key string) (time.Duration, error)
}

// Deps are the router's dependencies.
type Deps struct {
	Config config.Config
	// WebhookKick wakes the webhook worker once an event is written.
	WebhookKick func()
	Store       Store
	Keys        *token.KeyRing
	Hasher      *auth.Hasher
	// IPLimiter limits credential attempts per client IP.
	IPLimiter Limiter
	// Lockout counts password attempts per (email, address) and per email.
	Lockout auth.Lockout
	Logger  *slog.Logger
	// AccessLog, when set, is where Logger writes (its JSON handler's
	// writer): the one line per request is then written there by hand, the
	// same bytes the handler would write, only faster. Nil sends it through
	// Logger.
	AccessLog io.Writer
	// Now is the clock; nil means the system clock.
	Now func() time.Time
	// Draining reports that shutdown has begun; nil means never.
	Draining func() bool
	// OpenAPI is the repository's openapi.yaml, served byte for byte.
	OpenAPI []byte
	// Version is the build's version, shown at GET /; empty means "dev".
	Version string
	// DataKeys seal TOTP secrets (AUTH_DATA_KEYS); nil: TOTP answers 501.
	DataKeys *token.KeyRing
	// EmailHooks, when set (tests only), force races of the email flows.
	EmailHooks *auth.EmailHooks
	// Auth is the domain service; nil means one built from the parts above
	// (NewService), as tests and tools do.
	Auth *auth.Service
	// Email is how users are mailed (templates, links, the outbox worker's
	// kick); the verification policy comes from Config. Its zero value sends
	// nothing, and the endpoints that need mail answer 503.
	Email auth.Email
	// Registry holds the metrics served at /metrics, and Metrics are
	// Portcullis's own, registered in it. Nil means new ones.
	Registry *prometheus.Registry
	Metrics  *Metrics
	// Hooks let tests see and order the steps of a proof; production sets none.
	Hooks auth.Hooks
	// OIDCProviders are the OpenID Connect providers; nil means those of
	// Config (OIDCProviders builds them).
	OIDCProviders []auth.OIDCProvider
}

// RequestTimeout bounds the work of one request, so a stalled database
// produces a 503 instead of a hang.
const RequestTimeout = 5 * time.Second

// New returns the HTTP handler for deps. It builds the domain service from
// them; the process-wide gin mode is main's to set.
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	if d.Draining == nil {
		d.Draining = func() bool { return false }
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(d.Registry, func() float64 { return 0 })
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.RemoteIPHeaders = []string{"X-Forwarded-For"}
	proxies := make([]string, len(d.Config.TrustedProxies))
	for i, p := range d.Config.TrustedProxies {
		proxies[i] = p.String()
	}
	if err := e.SetTrustedProxies(proxies); err != nil {
		// Config already validated the prefixes; this cannot happen.
		panic(err)
	}
	svc := d.Auth
	if svc == nil {
		svc = NewService(d)
	}
	routes(e, d, svc)
	return e
}

func sameSite(s string) http.SameSite {
	switch s {
	case "strict":
		return http.SameSiteStrictMode
	case "none":
		return http.SameSiteNoneMode
	}
	return http.SameSiteLaxMode
}

// NewService builds the domain service from the router's dependencies.
func NewService(d Deps) *auth.Service {
	cfg := d.Config
	return auth.New(auth.Deps{
		Store: d.Store, Keys: d.Keys, Hasher: d.Hasher, Now: d.Now, Metrics: d.Metrics, Logger: d.Logger,
		Lockout: d.Lockout, Clients: cfg.IntrospectClients, Email: emailSettings(d.Email, cfg),
		DataKeys: d.DataKeys, ReauthWindow: cfg.ReauthWindow, MaxSessions: cfg.MaxSessionsPerUser,
		Webhooks: auth.Webhooks{URLs: cfg.WebhookURLs, Kick: d.WebhookKick}, Hooks: d.Hooks, EmailHooks: d.EmailHooks,
		WebAuthn:      auth.RelyingParty{ID: cfg.WebAuthnRPID, Name: cfg.WebAuthnRPName, Origins: cfg.WebAuthnOrigins},
		OIDC:          oidcSettings(d, cfg),
		Abuse:         AbuseControls(cfg.Abuse, d.Logger),
		LockoutLimits: auth.LockoutLimits{Pair: cfg.LockoutThreshold, Global: cfg.LockoutGlobalThreshold, Client: cfg.RateLimitIP.Events},
		Lifetimes: auth.Lifetimes{
			Access: cfg.AccessTTL, Session: cfg.SessionTTL, Remember: cfg.RememberTTL,
			MaxAge: cfg.SessionMaxAge, ReuseInterval: cfg.RefreshReuseInterval,
		},
	})
}

// oidcSettings are the social sign-in settings: the providers of d or of
// the configuration, and where a flow may return to.
func oidcSettings(d Deps, cfg config.Config) auth.OIDC {
	ps := d.OIDCProviders
	if ps == nil {
		for _, p := range OIDCProviders(cfg, d.Now) {
			ps = append(ps, p)
		}
	}
	return auth.OIDC{Providers: ps, AutoLink: cfg.OIDCAutoLink, Origins: append([]string{cfg.AppURL}, cfg.AllowedOrigins...)}
}

// OIDCProviders builds the configured providers; none is contacted until
// Discover or a sign-in.
func OIDCProviders(cfg config.Config, now func() time.Time) []*oidc.Provider {
	out := make([]*oidc.Provider, 0, len(cfg.OIDCProviders))
	for _, p := range cfg.OIDCProviders {
		out = append(out, oidc.New(oidc.Config{
			Name: p.Name, DisplayName: p.DisplayName, Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			Scopes: p.Scopes, RedirectURL: cfg.PublicURL + "/auth/oidc/" + p.Name + "/callback", Now: now,
		}))
	}
	return out
}

// emailSettings completes the mail settings from the configuration.
func emailSettings(e auth.Email, cfg config.Config) auth.Email {
	e.Verification = auth.Verification(cfg.EmailVerification)
	if e.AppURL == "" {
		e.AppURL = cfg.AppURL
	}
	if e.TTL == nil {
		e.TTL = map[models.TokenPurpose]time.Duration{}
		for purpose, d := range cfg.TokenTTL {
			e.TTL[models.TokenPurpose(purpose)] = d
		}
	}
	return e
}

// AbuseControls builds the abuse controls of the configuration, each over
// its HTTP adapter (package abuse); all are off by default.
func AbuseControls(a config.Abuse, log *slog.Logger) auth.Abuse {
	out := auth.Abuse{
		CaptchaProvider: a.CaptchaProvider, CaptchaSiteKey: a.CaptchaSiteKey, CaptchaOn: a.CaptchaOn, CaptchaFailOpen: a.CaptchaFailOpen,
		DomainsAllow: a.DomainsAllow, DomainsDeny: a.DomainsDeny, HookFailOpen: a.HookFailOpen,
		CaptchaTimeout: a.CaptchaTimeout, BreachedTimeout: a.BreachedTimeout, HookTimeout: a.HookTimeout,
	}
	if a.CaptchaProvider != "" {
		out.Captcha = &abuse.Siteverify{URL: a.CaptchaVerifyURL, Secret: a.CaptchaSecret}
	}
	if a.BlockDisposable {
		out.Disposable = auth.DisposableDomains()
		if a.DisposableFile != "" {
			f, err := os.Open(a.DisposableFile)
			if err != nil {
				// config checked the file could be read at start.
				if log != nil {
					log.Warn("AUTH_DISPOSABLE_DOMAINS_FILE unreadable; using the shipped list", "error", err.Error())
				}
			} else {
				out.Disposable = auth.ParseDomainList(f)
				_ = f.Close()
			}
		}
	}
	if a.BreachedCheck {
		out.Breached = &abuse.Range{URL: a.BreachedURL}
	}
	if a.HookBeforeCreateURL != "" {
		out.Hook = &abuse.Hook{URL: a.HookBeforeCreateURL, Secret: a.HookSecret}
	}
	return out
}
