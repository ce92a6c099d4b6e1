// Package apitest builds the real router on a fresh in-memory database, with
// the production caches and in-memory limits, for tests, benchmarks and the
// examples' tests.
package apitest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gin-gonic/gin"
	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
	"github.com/prometheus/client_golang/prometheus"
)

// Router returns the router configured by env (AUTH_* variables), on
// sqlite::memory:. opts may adjust the dependencies (a logger, the hasher,
// the OpenAPI document) before the router is built.
func Router(t testing.TB, env map[string]string, opts ...func(*api.Deps)) http.Handler {
	t.Helper()
	// The mode is process-wide; main sets it in the binary, this in tests.
	gin.SetMode(gin.ReleaseMode)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("apitest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db := storetest.Open(t, "sqlite::memory:")
	keys, _ := token.NewKeyRing(token.GenerateKey("test"))
	d := api.Deps{
		Config:    cfg,
		Store:     store.NewCached(ctx, db, store.LocalBus{}, 1000, cfg.AccessTTL, slog.New(slog.DiscardHandler)),
		Keys:      keys.WithCache(1000),
		Hasher:    auth.NewHasher(2, 64, nil),
		IPLimiter: store.NewMemoryLimiter(cfg.RateLimitIP.Events, cfg.RateLimitIP.Per, time.Now),
		Lockout:   store.NewMemoryLockout(cfg.LockoutDuration, time.Now),
	}
	for _, o := range opts {
		o(&d)
	}
	return api.New(d)
}

// CheapHashing gives the router an argon2id of trivial cost. Enrolling a
// first factor keys ten recovery codes with argon2id one after another: with
// the production cost under the race detector on a loaded machine that passed
// the request's 5 s limit in .ci/run (the token grant example's TOTP
// enrolment, then the Next.js example's first passkey: 503 after 6.0 s; ten
// such hashes take 0.4 s without the race detector and 2.5 s with it on an
// idle core). Tests of a flow, not of what hashing costs, use it.
func CheapHashing(d *api.Deps) {
	cheap := argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	d.Hasher = auth.NewHasher(2, 64, &cheap)
}

// LogBuffer collects what a server's goroutines log at once (a router's
// Logger, a process's standard error); String reads it so far.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WithMail delivers the router's mail to an SMTP server (a mailtest one):
// the real templates and outbox worker, running until the test ends.
func WithMail(t testing.TB, smtpURL string) func(*api.Deps) {
	return func(d *api.Deps) {
		sender, err := mail.NewSMTP(smtpURL, "Portcullis <no-reply@example.com>")
		if err != nil {
			t.Fatalf("apitest: %v", err)
		}
		tpl, err := mail.LoadTemplates("")
		if err != nil {
			t.Fatalf("apitest: %v", err)
		}
		db, ok := d.Store.(*store.Cached)
		if !ok {
			t.Fatal("apitest: WithMail needs the cached store")
		}
		w := &mail.Worker{Outbox: db.DB(), Sender: sender, Sealer: d.Keys, Poll: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
		d.Email = auth.Email{Templates: tpl, Kick: w.Kick}
		d.Registry = prometheus.NewRegistry()
		d.Metrics = api.NewMetrics(d.Registry, func() float64 { return 0 })
		d.Auth = api.NewService(*d)
		w.Resolver = d.Auth
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		go w.Run(ctx)
	}
}
