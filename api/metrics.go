package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/models"
)

// Metrics are Portcullis's own Prometheus metrics. A nil *Metrics records
// nothing, so tests and tools can leave it out.
type Metrics struct {
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	logins    *prometheus.CounterVec
	refreshes *prometheus.CounterVec
	revoked   *prometheus.CounterVec
	hashWait  prometheus.Histogram
	emails    *prometheus.CounterVec
	captcha   *prometheus.CounterVec
	breached  *prometheus.CounterVec

	// series caches the request metrics' children by label values (a
	// bounded set: route templates, standard methods, statuses), so a
	// request does not hash its labels twice in the vectors.
	seriesMu sync.RWMutex
	series   map[requestLabels]requestSeries
}

type requestLabels struct {
	method, route string
	status        int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers Portcullis's metrics with reg. queueDepth reports how
// many password hashes are waiting for a worker.
func NewMetrics(reg prometheus.Registerer, queueDepth func() float64) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_http_requests_total", Help: "HTTP requests by method, route template and status.",
		}, []string{"method", "route", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portcullis_http_request_duration_seconds", Help: "HTTP request latency by method and route template.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_logins_total", Help: "Password logins (login and the password grant) by outcome.",
		}, []string{"outcome"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_refreshes_total", Help: "Refresh attempts by outcome; reuse_detected revoked a session.",
		}, []string{"outcome"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_sessions_revoked_total", Help: "Sessions revoked, by reason.",
		}, []string{"reason"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_emails_total", Help: "Queued mail by type and outcome: handled (sent, or not needed: the two are not told apart, since that would tell which addresses have accounts), retried, failed. account_exists counts as verify_email.",
		}, []string{"type", "outcome"}),
		captcha: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_captcha_total", Help: "CAPTCHA checks by outcome: passed, failed (missing or rejected), unavailable (the provider could not answer).",
		}, []string{"outcome"}),
		breached: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_breached_check_total", Help: "Breached-password range checks by outcome: passed, breached, unavailable (failed open).",
		}, []string{"outcome"}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "portcullis_password_hash_wait_seconds", Help: "Time password hashes waited for a worker.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
	reg.MustRegister(m.requests, m.durations, m.logins, m.refreshes, m.revoked, m.hashWait, m.emails, m.captcha, m.breached,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portcullis_password_hash_queue_depth", Help: "Password hashes waiting for a worker.",
		}, queueDepth))
	for _, o := range auth.LoginOutcomes {
		m.logins.WithLabelValues(string(o))
	}
	for _, o := range []string{auth.OutcomePassed, auth.OutcomeFailed, auth.OutcomeUnavailable} {
		m.captcha.WithLabelValues(o)
	}
	for _, o := range []string{auth.OutcomePassed, auth.OutcomeBreached, auth.OutcomeUnavailable} {
		m.breached.WithLabelValues(o)
	}
	for _, o := range auth.RefreshOutcomes {
		m.refreshes.WithLabelValues(string(o))
	}
	// Every mail series exists from the start, so none appearing tells
	// anything either.
	for _, k := range mail.MetricKinds() {
		for _, o := range mail.Outcomes {
			m.emails.WithLabelValues(k, o)
		}
	}
	return m
}

// Observe records one finished request. Labels never grow with what
// clients send: a method outside HTTP's standard ones is OTHER, and route is
// a route template (or "unmatched").
func (m *Metrics) Observe(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	if !standardMethods[method] {
		method = "OTHER"
	}
	k := requestLabels{method, route, status}
	m.seriesMu.RLock()
	s, ok := m.series[k]
	m.seriesMu.RUnlock()
	if !ok {
		s = requestSeries{m.requests.WithLabelValues(method, route, strconv.Itoa(status)), m.durations.WithLabelValues(method, route)}
		m.seriesMu.Lock()
		if m.series == nil {
			m.series = map[requestLabels]requestSeries{}
		}
		m.series[k] = s
		m.seriesMu.Unlock()
	}
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

var standardMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true, http.MethodTrace: true,
}

// Login counts a login outcome.
func (m *Metrics) Login(outcome auth.LoginOutcome) {
	if m != nil {
		m.logins.WithLabelValues(string(outcome)).Inc()
	}
}

// Refresh counts a refresh outcome.
func (m *Metrics) Refresh(outcome auth.RefreshOutcome) {
	if m != nil {
		m.refreshes.WithLabelValues(string(outcome)).Inc()
	}
}

// Revoked counts n sessions revoked for reason.
func (m *Metrics) Revoked(reason auth.Reason, n int64) {
	if m != nil && n > 0 {
		m.revoked.WithLabelValues(string(reason)).Add(float64(n))
	}
}

// HashWaited records how long a password hash waited for a worker.
func (m *Metrics) HashWaited(d time.Duration) {
	if m != nil {
		m.hashWait.Observe(d.Seconds())
	}
}

// Email counts one outcome of a queued mail.
func (m *Metrics) Email(kind, outcome string) {
	if m != nil {
		m.emails.WithLabelValues(kind, outcome).Inc()
	}
}

// MetricsOnMainPort says whether the main port serves /metrics: not when
// AUTH_METRICS_ADDR moves it (main serves it there, NewMetricsServer), and in
// production only behind AUTH_METRICS_TOKEN. Mail outcomes and login counts
// are the operator's, not the public's.
func MetricsOnMainPort(cfg config.Config) bool {
	return cfg.MetricsAddr == "" && (!cfg.Production || cfg.MetricsToken != "")
}

// NewMetricsServer is the handler of AUTH_METRICS_ADDR: /metrics only,
// behind the token when one is set, and the JSON 404 elsewhere.
func NewMetricsServer(reg prometheus.Gatherer, token string, log *slog.Logger) http.Handler {
	e := gin.New()
	e.Use(recovery, requestContext(log, nil, nil))
	e.NoRoute(notFound)
	e.GET("/metrics", requireMetricsToken(token), handlers.MetricsHandler(reg))
	return e
}

// requireMetricsToken lets a request through only with "Authorization:
// Bearer <token>" when token is set. The header is compared in constant time
// (as digests, so its length tells nothing) and never read as a session.
func requireMetricsToken(token string) gin.HandlerFunc {
	if token == "" {
		return func(c *gin.Context) { c.Next() }
	}
	want := sha256.Sum256([]byte(token))
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		got := ""
		if len(h) > len("Bearer ") && strings.EqualFold(h[:len("Bearer ")], "Bearer ") {
			got = h[len("Bearer "):]
		}
		sum := sha256.Sum256([]byte(got))
		if got == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			c.Header("WWW-Authenticate", `Bearer realm="metrics"`)
			handlers.WriteError(c, errMetricsToken)
			return
		}
		c.Next()
	}
}

var errMetricsToken = &models.Error{Kind: models.Unauthenticated,
	Message: "/metrics needs the operator's token: Authorization: Bearer <AUTH_METRICS_TOKEN>"}

// Captcha counts a CAPTCHA check (auth.AbuseMetrics).
func (m *Metrics) Captcha(outcome string) { m.captcha.WithLabelValues(outcome).Inc() }

// BreachedCheck counts a breached-password check (auth.AbuseMetrics).
func (m *Metrics) BreachedCheck(outcome string) { m.breached.WithLabelValues(outcome).Inc() }
