package api_test

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// mailMetrics reads the portcullis_emails_total series from /metrics.
func mailMetrics(t *testing.T, m *mailHarness) map[string]float64 {
	t.Helper()
	r := m.client().do("GET", "/metrics", nil)
	wantStatus(t, r, http.StatusOK, "metrics")
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(r.body)))
	for sc.Scan() {
		if series, value, ok := strings.Cut(sc.Text(), " "); ok && strings.HasPrefix(series, "portcullis_emails_total{") {
			out[series], _ = strconv.ParseFloat(value, 64)
		}
	}
	return out
}

// settled waits until the worker has finished every queued entry and
// counted it: no entry is due, and the finished rows equal the handled and
// failed counts. It returns the series then.
func settled(t *testing.T, m *mailHarness) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.worker.Kick()
		// In this order: a row no longer due (depth) is already among the
		// finished, so the counters must have caught up with it too. (Read
		// the other way round, a row finishing between the two reads was in
		// neither, and the counters could be read before they moved.)
		depth, _ := m.db.MailDepth(context.Background())
		var finished int
		_ = m.db.SQL().QueryRow("SELECT COUNT(*) FROM email_outbox WHERE state IN ('sent', 'dropped', 'failed')").Scan(&finished)
		series := mailMetrics(t, m)
		var counted float64
		for s, v := range series {
			if !strings.Contains(s, `outcome="retried"`) {
				counted += v
			}
		}
		if depth == 0 && counted == float64(finished) {
			return series
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not settled: %d due, %d finished, %v counted", depth, finished, counted)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func delta(before, after map[string]float64) map[string]float64 {
	d := map[string]float64{}
	for s, v := range after {
		if v != before[s] {
			d[s] = v - before[s]
		}
	}
	return d
}

// TestMailMetricsRevealNoAccount: whatever an outsider asks for (a reset, a
// sign-in code, a verification mail, a registration, the same twice within
// the sending limit; a registration under required) moves
// portcullis_emails_total the same way for an address with an account as for
// one without; the series exist from the start.
func TestMailMetricsRevealNoAccount(t *testing.T) {
	for _, policy := range []string{"optional", "required"} {
		t.Run(policy, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				reg := prometheus.NewRegistry()
				metrics := api.NewMetrics(reg, func() float64 { return 0 })
				m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": policy}, func(_ *config.Config, d *api.Deps) {
					d.Registry, d.Metrics = reg, metrics
				})
				m.worker.Metrics = metrics
				start := mailMetrics(t, m)
				if len(start) == 0 || start[`portcullis_emails_total{outcome="handled",type="reset_password"}`] != 0 {
					t.Fatalf("mail series at start: %v", start)
				}
				if _, ok := start[`portcullis_emails_total{outcome="handled",type="account_exists"}`]; ok {
					t.Error("account_exists has its own series")
				}
				member := newEmail()
				m.client().do("POST", "/auth/register", registerBody(member))
				probes := []struct {
					name string
					do   func(email string)
				}{
					{"forgot", func(e string) { m.client().do("POST", "/auth/password/forgot", map[string]any{"email": e}) }},
					{"forgot again within the limit", func(e string) {
						m.client().do("POST", "/auth/password/forgot", map[string]any{"email": e})
					}},
					{"sign-in code", func(e string) { m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": e}) }},
					{"resend verification", func(e string) {
						m.client().do("POST", "/auth/email/verify/resend", map[string]any{"email": e})
					}},
					{"register", func(e string) { m.client().do("POST", "/auth/register", registerBody(e)) }},
				}
				stranger := newEmail()
				for _, p := range probes {
					if p.name == "register" && policy != "required" {
						continue // optional answers 409 email_taken: registration is no secret there
					}
					before := settled(t, m)
					p.do(member)
					mid := settled(t, m)
					p.do(stranger)
					after := settled(t, m)
					if known, unknown := delta(before, mid), delta(mid, after); !maps.Equal(known, unknown) {
						t.Errorf("%s: an address with an account moved %v, one without %v", p.name, known, unknown)
					}
					if p.name == "register" {
						stranger = newEmail() // registered now
					}
				}
			})
		})
	}
}

// TestMetricsTokenOnTheMainPort: with AUTH_METRICS_TOKEN set (here in
// development) /metrics answers only the bearer token; a signed-in user's
// session does not open it, and a wrong token is the JSON 401.
func TestMetricsTokenOnTheMainPort(t *testing.T) {
	const tok = "metrics-token-0123456789abcdef"
	h := newHarness(t, "sqlite::memory:", withEnv(map[string]string{"AUTH_METRICS_TOKEN": tok}))
	c := h.register("ada@example.com")
	for _, auth := range []string{"", "Bearer nope-nope-nope-nope-nope", "Bearer " + tok[:len(tok)-1]} {
		r := c.do("GET", "/metrics", nil, "Authorization", auth)
		if r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"unauthenticated"`) ||
			r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q with a session cookie: %d %s", auth, r.status, r.body)
		}
	}
	r := h.client().do("GET", "/metrics", nil, "Authorization", "Bearer "+tok)
	wantStatus(t, r, http.StatusOK, "metrics with the token")
	if !strings.Contains(string(r.body), `portcullis_http_requests_total{method="GET",route="/metrics",status="401"} `) {
		t.Errorf("the refused scrapes are not counted:\n%.600s", r.body)
	}
}

// TestDroppedMailIsLogged: a reset asked twice within a minute sends one
// mail; the second is dropped by the sending limit, and the log says so
// (with its kind, without the address), so whoever waits for it can see why.
func TestDroppedMailIsLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, nil)
		email := newEmail()
		m.register(email)
		for range 2 {
			wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		}
		m.settle(email, 2) // the verification mail and one reset
		var line string
		for _, l := range strings.Split(m.logs.String(), "\n") {
			if strings.Contains(l, "sending limit") {
				line = l
			}
		}
		if !strings.Contains(line, `"kind":"reset_password"`) || strings.Contains(line, email) {
			t.Errorf("the dropped reset is logged as %q; want a line with its kind and without the address:\n%s", line, m.logs.String())
		}
	})
}
