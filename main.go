// Portcullis is an authentication service: it signs users in and issues
// JWE-encrypted session cookies backed by database session records, so every
// session can be listed and revoked at once.
//
//go:generate go tool swag init --quiet --generalInfo main.go --dir ./,./handlers --output ./docs --outputTypes go,json,yaml
//go:generate go run ./docs/openapi3 -in docs/swagger.json -out openapi.yaml
package main

//	@title			Portcullis API
//	@version		1.0
//	@description	Portcullis signs users in and keeps their sessions: JWE-encrypted session cookies for single-page apps, bearer tokens for services, and a database session behind every token, so any session can be listed and revoked at once.
//	@description
//	@description	Browsers: POST /auth/register or /auth/login with `fetch(url, {credentials: "include"})`. The answer sets two HttpOnly cookies: `__Host-session` (the 15-minute access token, sent with every request) and `__Secure-refresh` (path /auth). When a request answers 401 with code `token_expired`, call POST /auth/refresh once and retry it; `invalid_refresh` means signing in again. Unsafe requests from another origin are refused (403 `csrf_failed`) unless that origin is in AUTH_ALLOWED_ORIGINS.
//	@description
//	@description	Services: POST /auth/token (OAuth 2 password and refresh_token grants) for bearer tokens, POST /auth/introspect (RFC 7662) to check one, and GET /auth/verify for nginx auth_request or Traefik ForwardAuth.
//	@description
//	@description	Errors have one shape, `{"error": {"code", "message", "fields"?, "requestId"}}`, with `fields` on 422 only; clients branch on `code`, never on `message`. /auth/token and /auth/introspect answer the OAuth way instead, `{"error", "error_description"}`. 429 and 503 carry Retry-After; every response carries X-Request-ID.
//	@BasePath		/
//	@accept			json
//	@produce		json

//	@tag.name			auth
//	@tag.description	Accounts and sessions in the browser: register, sign in and out, refresh, profile, password.
//	@tag.name			sessions
//	@tag.description	The signed-in user's sessions and activity.
//	@tag.name			email
//	@tag.description	Mailed links and codes: verification, password reset, email change, sign-in by email.
//	@tag.name			mfa
//	@tag.description	Second factors: authenticator apps, recovery codes, the second step of sign-in, and proving who you are again.
//	@tag.name			passkeys
//	@tag.description	Passkeys (WebAuthn): adding and managing them, and signing in with one alone.
//	@tag.name			services
//	@tag.description	For other services: bearer tokens, introspection and forward-auth.
//	@tag.name			admin
//	@tag.description	Administrators only: users, roles, sessions, lockouts and the audit log.
//	@tag.name			operations
//	@tag.description	Health, readiness, metrics and this service's description.

//	@securityDefinitions.apikey	BearerAuth
//	@in							header
//	@name						Authorization
//	@description				An access token from POST /auth/token, sent as "Bearer <token>".

//	@securityDefinitions.apikey	CookieAuth
//	@in							header
//	@name						Cookie
//	@description				The __Host-session cookie set by register, login and refresh (sent by the browser automatically).

//	@securityDefinitions.basic	IntrospectBasic

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	_ "github.com/portcullis-auth/portcullis/docs" // registers the generated Swagger 2 document
	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/token"
	"github.com/portcullis-auth/portcullis/webhook"
)

// openAPISpec is openapi.yaml, served at /openapi.yaml byte for byte.
//
//go:embed openapi.yaml
var openAPISpec []byte

// Compile-time checks of what serve and the commands wire together: the
// cached store behind the router, the bare store behind the commands, and
// each limiter and lockout store.
var (
	_ api.Store    = (*store.Cached)(nil)
	_ auth.Store   = (*store.DB)(nil)
	_ api.Limiter  = (*store.MemoryLimiter)(nil)
	_ api.Limiter  = (*store.DBLimiter)(nil)
	_ api.Limiter  = (*store.RedisLimiter)(nil)
	_ auth.Lockout = (*store.MemoryLockout)(nil)
	_ auth.Lockout = (*store.DBLockout)(nil)
	_ auth.Lockout = (*store.RedisLockout)(nil)
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "portcullis:", err)
		var usage *usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks a configuration or command-line mistake (exit status 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// run is the whole program, testable: it runs the command in args (serve by
// default) and returns when it is done; serve returns once ctx is cancelled
// and the server has drained.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	gin.SetMode(gin.ReleaseMode)
	// go-redis logs dial failures itself; the error it returns says the same
	// in the one line the operator reads.
	redis.SetLogger(quietRedis{})
	return dispatch(ctx, args[1:], getenv, stdin, stdout, stderr)
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// keyRing returns the configured keys or, in development, a development key:
// kept in auth.keys beside an SQLite database file (so `go run .` keeps users
// signed in across restarts), random otherwise. Production refuses to start
// without keys (config checks that).
func keyRing(cfg config.Config, log *slog.Logger) (*token.KeyRing, error) {
	if cfg.SessionKeys == "" {
		path, ok := devKeyPath(cfg.DatabaseURL)
		if !ok {
			log.Warn("AUTH_SESSION_KEYS is not set: using a random development key; sessions will not survive a restart")
			return token.NewKeyRing(token.GenerateKey("dev"))
		}
		keys, err := devKeys(path)
		if err != nil {
			return nil, fmt.Errorf("development key: cannot use %s: %s; check AUTH_DATABASE_URL (the key is kept beside the SQLite database) and that its directory exists and is writable, or set AUTH_SESSION_KEYS", path, rootCause(err))
		}
		log.Warn("AUTH_SESSION_KEYS is not set: using the development key in " + path + "; set AUTH_SESSION_KEYS in production")
		return keys, nil
	}
	keys, err := token.ParseKeyRing(cfg.SessionKeys)
	if err != nil {
		return nil, &usageError{&config.Error{Var: "AUTH_SESSION_KEYS", Msg: err.Error()}}
	}
	return keys, nil
}

// devKeyPath is auth.keys beside the SQLite database file, if there is one.
func devKeyPath(databaseURL string) (string, bool) {
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok || path == ":memory:" {
		return "", false
	}
	return filepath.Join(filepath.Dir(path), "auth.keys"), true
}

// devKeys reads the development key at path, creating it (mode 0600) the
// first time.
func devKeys(path string) (*token.KeyRing, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k := token.GenerateKey("dev")
		data = []byte(k.String() + "\n")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return token.ParseKeyRing(strings.TrimSpace(string(data)))
}

func serve(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger, logs io.Writer, stdout io.Writer) error {
	keys, err := keyRing(cfg, log)
	if err != nil {
		return err
	}
	// Listen first, so a taken port fails before the database is touched.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return &usageError{&config.Error{Var: "AUTH_ADDR", Msg: err.Error()}}
	}
	defer ln.Close()
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return &usageError{&config.Error{Var: "AUTH_METRICS_ADDR", Msg: err.Error()}}
		}
		defer metricsLn.Close()
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	db, err := store.Open(openCtx, cfg.DatabaseURL)
	if err == nil {
		err = db.Migrate(openCtx)
	}
	cancel()
	if err != nil {
		if db != nil {
			_ = db.Close()
		}
		return startupDBError(err, cfg.DatabaseURL)
	}
	defer db.Close()

	workers := runtime.GOMAXPROCS(0)
	hasher := auth.NewHasher(workers, 64, nil)
	tuning := hashBurstTuning(getenv, workers)
	hasher.OnBusy = tuning.OnBusy
	defer tuning.Stop() // after the server has drained (Shutdown returns first)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.SQL(), db.Dialect()))
	metrics := api.NewMetrics(reg, func() float64 { return float64(hasher.Waiting()) })
	hasher.OnWait = metrics.HashWaited
	if created, err := bootstrapAdmin(ctx, db, hasher, cfg); err != nil {
		return err
	} else if created {
		log.Info("bootstrap administrator created", "email", models.NormalizeEmail(cfg.BootstrapAdminEmail))
	}

	bgCtx, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	bus, err := cacheBus(ctx, db, cfg, log)
	if err != nil {
		return err
	}
	cached := store.NewCached(bgCtx, db, bus, 100_000, 5*time.Second, log)
	defer cached.FlushTouches(context.Background())
	limiter, lockout, err := limiters(ctx, cfg, db)
	if err != nil {
		return err
	}
	go pruneLoop(bgCtx, db, cfg, pruneEvery, log)

	var draining atomic.Bool
	worker, email, err := mailer(cfg, db, keys, log, stdout)
	if err != nil {
		return err
	}
	worker.Metrics = metrics
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "portcullis_email_outbox_depth", Help: "Mail queued and not yet sent.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, _ := db.MailDepth(ctx)
		return float64(n)
	}))
	dataKeys, err := dataKeyRing(ctx, cfg, db, log)
	if err != nil {
		return err
	}
	deps := api.Deps{
		DataKeys:  dataKeys,
		Config:    cfg,
		Store:     cached,
		Keys:      keys.WithCache(100_000),
		Hasher:    hasher,
		IPLimiter: limiter,
		Lockout:   lockout,
		Logger:    log,
		AccessLog: logs,
		Draining:  draining.Load,
		OpenAPI:   openAPISpec,
		Version:   version(),
		Registry:  reg,
		Metrics:   metrics,
		Email:     email,
	}
	// Discovery is tried at start-up but a provider that is down stops
	// nothing: its sign-in answers 503 and retries until it is back.
	for _, p := range api.OIDCProviders(cfg, nil) {
		deps.OIDCProviders = append(deps.OIDCProviders, p)
		go func() {
			if err := p.Discover(bgCtx); err != nil {
				log.Warn("oidc provider discovery failed; sign-in with it retries until it succeeds", "provider", p.Name(), "err", err)
			}
		}()
	}
	if len(cfg.WebhookURLs) > 0 {
		key, err := webhook.ParseSecret(cfg.WebhookSecret)
		if err != nil {
			return err
		}
		hw := &webhook.Worker{Store: db, Key: key, Log: log}
		deps.WebhookKick = hw.Kick
		go hw.Run(bgCtx)
	}
	deps.Auth = api.NewService(deps)
	worker.Resolver = deps.Auth
	if worker.Sender != nil {
		go worker.Run(bgCtx)
	}
	handler := api.New(deps)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.MetricsAddr == "" && !api.MetricsOnMainPort(cfg) {
		log.Warn("/metrics is not served (404): in production set AUTH_METRICS_TOKEN (a bearer token for /metrics on the main port) or AUTH_METRICS_ADDR (a separate address)")
	}
	log.Info("listening", "addr", ln.Addr().String(), "database", db.Dialect(), "swaggerUI", swaggerURL(ln.Addr()))
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if metricsLn != nil {
		msrv := &http.Server{Handler: api.NewMetricsServer(reg, cfg.MetricsToken, log), ReadHeaderTimeout: 5 * time.Second}
		defer msrv.Close()
		log.Info("metrics listening", "addr", metricsLn.Addr().String())
		go func() {
			if err := msrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Load balancers need a moment to see /readyz fail before the listener
	// closes; requests are served normally meanwhile.
	draining.Store(true)
	log.Info("shutting down", "drain", cfg.ShutdownDrain.String())
	time.Sleep(cfg.ShutdownDrain)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// cacheBus picks how cache invalidations reach other instances: none on
// SQLite (single node), LISTEN/NOTIFY on PostgreSQL, and polling where the
// engine has no LISTEN (CockroachDB).
func cacheBus(ctx context.Context, db *store.DB, cfg config.Config, log *slog.Logger) (store.Bus, error) {
	if db.Dialect() != "postgres" {
		return store.LocalBus{}, nil
	}
	conn, err := pgx.Connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, startupDBError(err, cfg.DatabaseURL)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN portcullis_probe"); err != nil {
		log.Warn("LISTEN/NOTIFY unavailable; polling for cache invalidations", "error", err.Error())
		return store.NewPollBus(db, 250*time.Millisecond, log), nil
	}
	return store.NewNotifyBus(db, cfg.DatabaseURL, log), nil
}

// pruneEvery is how often the pruner takes a turn.
const pruneEvery = 10 * time.Minute

// pruneLoop is the one pruner: at start and then every `every` it deletes
// the rows that ended more than auth.PruneAfter ago, from every table
// db.PruneSteps covers (on PostgreSQL one instance at a time; the others
// skip their turn). A table that starts to need pruning becomes one more
// step there.
func pruneLoop(ctx context.Context, db *store.DB, cfg config.Config, every time.Duration, log *slog.Logger) {
	steps := db.PruneSteps()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r := store.Retention{Now: time.Now(), Keep: auth.PruneAfter, PendingFactorTTL: auth.PendingFactorTTL,
			RateWindow: cfg.RateLimitIP.Per, LockoutDuration: cfg.LockoutDuration,
			SessionKeep: store.SessionKeep, AuditKeep: cfg.AuditRetention}
		deleted, ran, err := db.Prune(ctx, r, steps)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning failed", "error", err.Error())
		case ran:
			var n int64
			attrs := []any{}
			for name, d := range deleted {
				n += d
				if d > 0 {
					attrs = append(attrs, name, d)
				}
			}
			if n > 0 {
				log.Info("pruned rows past their retention", attrs...)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// limiters returns the per-IP limiter and the lockout counters in the
// configured store.
func limiters(ctx context.Context, cfg config.Config, db *store.DB) (api.Limiter, auth.Lockout, error) {
	ip, lock := cfg.RateLimitIP, cfg.LockoutDuration
	switch cfg.RateLimitStore {
	case "database":
		return store.NewDBLimiter(db, ip.Events, ip.Per, time.Now), store.NewDBLockout(db, lock, time.Now), nil
	case "redis":
		rdb, err := store.OpenRedis(ctx, cfg.RedisURL)
		if err != nil {
			host := cfg.RedisURL
			if u, perr := url.Parse(cfg.RedisURL); perr == nil {
				host = u.Host
			}
			return nil, nil, fmt.Errorf("AUTH_REDIS_URL: cannot reach Redis at %s: %s; is it running?", host, rootCause(err))
		}
		const prefix = "portcullis:"
		return store.NewRedisLimiter(rdb, ip.Events, ip.Per, prefix+"ip:"), store.NewRedisLockout(rdb, lock, prefix+"lockout:"), nil
	}
	return store.NewMemoryLimiter(ip.Events, ip.Per, time.Now), store.NewMemoryLockout(lock, time.Now), nil
}

// Garbage collector settings while passwords are being hashed. Each argon2id
// hash allocates 19 MiB, which on a small heap starts a collection nearly
// every time; a higher GOGC during bursts saves that work, and a soft memory
// limit sized for the workers keeps the heap from growing past what they need.
const (
	burstGCPercent = 200
	burstHeadroom  = 96 << 20 // the rest of the process, above the hashes
)

// burstTuning is one server's OnBusy hook. While hashes run the GC runs at
// burstGCPercent under a soft limit of workers × 19 MiB plus headroom; once
// hashing is idle the previous settings return and the hash memory goes back
// to the OS. An operator's GOGC or GOMEMLIMIT wins: the setting they name is
// never touched. The settings are the process's, so every server in it (tests
// run many) shares one owner, gcBurst: the first busy server saves and sets
// them, the last one back to idle restores them; and Stop, when serve
// returns, gives back this server's share and ignores its hasher from then on
// (its idle timer may still fire).
type burstTuning struct {
	setGC, setLimit bool
	limit           int64

	mu            sync.Mutex
	busy, stopped bool
}

// gcBurst counts the busy servers of the process and keeps what the first
// one found.
var gcBurst struct {
	sync.Mutex
	busy            int
	setGC, setLimit bool
	prevGC          int
	prevLimit       int64
}

func hashBurstTuning(getenv func(string) string, workers int) *burstTuning {
	return &burstTuning{setGC: getenv("GOGC") == "", setLimit: getenv("GOMEMLIMIT") == "",
		limit: int64(workers)*auth.HashMemory + burstHeadroom}
}

// OnBusy is the hasher's hook.
func (b *burstTuning) OnBusy(busy bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped || busy == b.busy {
		return
	}
	b.busy = busy
	gcBurst.Lock()
	defer gcBurst.Unlock()
	if busy {
		if gcBurst.busy++; gcBurst.busy == 1 {
			gcBurst.setGC, gcBurst.setLimit = b.setGC, b.setLimit
			if b.setGC {
				gcBurst.prevGC = debug.SetGCPercent(burstGCPercent)
			}
			if b.setLimit {
				gcBurst.prevLimit = debug.SetMemoryLimit(b.limit)
			}
		}
		return
	}
	if gcBurst.busy--; gcBurst.busy > 0 {
		return
	}
	if gcBurst.setGC {
		debug.SetGCPercent(gcBurst.prevGC)
	}
	if gcBurst.setLimit {
		debug.SetMemoryLimit(gcBurst.prevLimit)
	}
	debug.FreeOSMemory()
}

// Stop ends the burst if one is on and ignores the hasher from now on.
func (b *burstTuning) Stop() {
	b.OnBusy(false)
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
}

// version is the module version the binary was built from: a tag for
// `go install …@v1.2.0`, "dev" for a build from a work tree.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// swaggerURL is where a person on this machine opens Swagger UI.
func swaggerURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "/swagger/index.html"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/swagger/index.html"
}

// quietRedis discards go-redis's own log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// mailer returns the outbox worker (its resolver still to set) and the
// service's mail settings: SMTP when AUTH_SMTP_URL is set, the console
// (standard output) in development, and none in production without SMTP:
// one warning, and the endpoints that need mail answer 503.
func mailer(cfg config.Config, db *store.DB, keys *token.KeyRing, log *slog.Logger, stdout io.Writer) (*mail.Worker, auth.Email, error) {
	templates, err := mail.LoadTemplates(cfg.MailTemplates)
	if err != nil {
		return nil, auth.Email{}, &usageError{&config.Error{Var: "AUTH_MAIL_TEMPLATES", Msg: err.Error()}}
	}
	var sender mail.Sender
	switch {
	case cfg.SMTPURL != "":
		if sender, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			return nil, auth.Email{}, &usageError{&config.Error{Var: "AUTH_SMTP_URL", Msg: err.Error()}}
		}
	case !cfg.Production:
		sender = &mail.Console{W: stdout}
		log.Warn("AUTH_SMTP_URL is not set: mail is printed to standard output (development)")
	default:
		log.Warn("AUTH_SMTP_URL is not set: no mail is sent, and the endpoints that need it answer 503 email_unavailable")
		templates = nil
	}
	w := &mail.Worker{Outbox: db, Sender: sender, Sealer: keys, Log: log}
	return w, auth.Email{Templates: templates, Kick: w.Kick}, nil
}

// dataKeyRing returns the keys that seal TOTP secrets: AUTH_DATA_KEYS, or in
// development a key kept in auth.data-keys beside the SQLite database (or a
// random one, with a warning). In production without them TOTP enrolment
// answers 501; the start is refused only when TOTP factors already exist,
// since nobody with one could sign in.
func dataKeyRing(ctx context.Context, cfg config.Config, db *store.DB, log *slog.Logger) (*token.KeyRing, error) {
	if cfg.DataKeys != "" {
		keys, err := token.ParseKeyRing(cfg.DataKeys)
		if err != nil {
			return nil, &usageError{&config.Error{Var: "AUTH_DATA_KEYS", Msg: err.Error()}}
		}
		return keys, nil
	}
	if cfg.Production {
		fs, err := db.AllFactors(ctx)
		if err != nil {
			return nil, startupDBError(err, cfg.DatabaseURL)
		}
		if len(fs) > 0 {
			return nil, &usageError{&config.Error{Var: "AUTH_DATA_KEYS", Msg: "is required: authenticator-app secrets are stored sealed with it"}}
		}
		log.Warn("AUTH_DATA_KEYS is not set: adding authenticator apps answers 501 totp_unavailable")
		return nil, nil
	}
	path, ok := devKeyPath(cfg.DatabaseURL)
	if !ok {
		return token.NewKeyRing(token.GenerateKey("dev-data"))
	}
	keys, err := devKeys(filepath.Join(filepath.Dir(path), "auth.data-keys"))
	if err != nil {
		return nil, fmt.Errorf("development data key: %s; set AUTH_DATA_KEYS", rootCause(err))
	}
	return keys, nil
}
