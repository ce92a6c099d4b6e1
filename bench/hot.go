package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis-auth/portcullis/token"
)

// figure is one scenario measured once in every round.
type figure struct {
	name     string
	baseline string  // the figure this one is compared with, "" for baselines
	target   float64 // minimum ratio to the baseline
	rounds   []wrkResult
	ratios   []float64 // this round's rate over its baseline's, per round
	note     string
	failures []string // what each run with failed requests met
}

// record adds r, a run against s whose log was at offset when it began.
func (f *figure) record(r wrkResult, s *server, offset int64) {
	f.rounds = append(f.rounds, r)
	if r.errors() > 0 {
		f.failures = append(f.failures, r.kinds()+"; "+s.answersSince(offset))
	}
}

func (f *figure) rates() []float64 {
	r := make([]float64, len(f.rounds))
	for i, x := range f.rounds {
		r[i] = x.rate()
	}
	return r
}

func (f *figure) errors() int64 {
	var n int64
	for _, r := range f.rounds {
		n += r.errors()
	}
	return n
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func durations(rs []wrkResult, f func(wrkResult) time.Duration) time.Duration {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = float64(f(r))
	}
	return time.Duration(median(xs)).Round(10 * time.Microsecond)
}

// hot measures the hot paths against their baselines in interleaved rounds.
func hotPaths(o options, dir, bin string, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// Production settings with an allowed origin: the full production
	// middleware (JSON access log at info, metrics, CORS, the cross-origin
	// check, security headers with HSTS, request ids, the timeout) runs on
	// every request.
	env := map[string]string{
		"AUTH_ENV": "production", "AUTH_ALLOWED_ORIGINS": "https://app.example.com", "AUTH_METRICS_TOKEN": "bench-metrics-token-0123456789",
		"AUTH_RATE_LIMIT_IP": "100000000/m", "AUTH_LOCKOUT_THRESHOLD": "100000000",
		"AUTH_SESSION_KEYS": token.GenerateKey("bench").String(), "AUTH_DATABASE_URL": "sqlite:" + dir + "/auth.db",
		"AUTH_LOG_LEVEL": o.logLevel,
	}
	pgDB, drop, err := freshDatabase(o, env)
	if err != nil {
		return err
	}
	defer drop()
	o.pgDB = pgDB
	srv, err := startProcess(bin, nil, env, true)
	if err != nil {
		return err
	}
	defer srv.stop()
	gin0, err := startProcess(self, []string{"-child=gin"}, nil, true)
	if err != nil {
		return err
	}
	defer gin0.stop()
	canned0, err := startProcess(self, []string{"-child=canned"}, nil, true)
	if err != nil {
		return err
	}
	defer canned0.stop()
	var pgx0 *server
	if o.db == "postgres" {
		if pgx0, err = startProcess(self, []string{"-child=pgx"}, map[string]string{"BENCH_PG": withDatabase(o.pgURL, o.pgDB)}, true); err != nil {
			return err
		}
		defer pgx0.stop()
	}

	// Three groups of users: sessions for /auth/me and /auth/verify, refresh
	// tokens, and accounts to sign in to (so the session cap of one group
	// never ends another's sessions).
	host := hostOf(srv.base)
	var me, verify, logins, refreshTokens []string
	var refreshName string
	for i := range o.conns {
		ses, err := signUp(srv.base, fmt.Sprintf("me%d@example.com", i))
		if err != nil {
			return err
		}
		me = append(me, rawRequest("GET", host, "/auth/me", map[string]string{"Cookie": ses.accessName + "=" + ses.access}, ""))
		verify = append(verify, rawRequest("GET", host, "/auth/verify", map[string]string{"Authorization": "Bearer " + ses.access}, ""))
		body := fmt.Sprintf(`{"email":"in%d@example.com","password":%q}`, i, password)
		if _, err := signUp(srv.base, fmt.Sprintf("in%d@example.com", i)); err != nil {
			return err
		}
		logins = append(logins, rawRequest("POST", host, "/auth/login", map[string]string{"Content-Type": "application/json"}, body))
		ses, err = signUp(srv.base, fmt.Sprintf("rf%d@example.com", i))
		if err != nil {
			return err
		}
		refreshTokens, refreshName = append(refreshTokens, ses.refresh), ses.refreshName
	}
	if err := refreshCookieComesLast(srv.base, fmt.Sprintf("rf%d@example.com", 0)); err != nil {
		return err
	}
	poolSize := 2 * o.conns
	topUp := func(tokens []string) ([]string, error) {
		for i := 0; len(tokens) < poolSize; i++ {
			ses, err := signIn(srv.base, fmt.Sprintf("rf%d@example.com", i%o.conns))
			if err != nil {
				return nil, err
			}
			tokens = append(tokens, ses.refresh)
		}
		return tokens, nil
	}
	if refreshTokens, err = topUp(refreshTokens); err != nil {
		return err
	}

	ginReqs := make([]string, o.conns)
	cannedReqs := make([]string, o.conns)
	for i := range o.conns {
		// The same headers as /auth/me, so every scenario sends alike.
		ginReqs[i] = strings.Replace(me[i], "/auth/me", "/me", 1)
		ginReqs[i] = strings.Replace(ginReqs[i], host, hostOf(gin0.base), 1)
		cannedReqs[i] = strings.Replace(ginReqs[i], hostOf(gin0.base), hostOf(canned0.base), 1)
	}
	var updates []string
	if pgx0 != nil {
		for i := range o.conns {
			updates = append(updates, rawRequest("POST", hostOf(pgx0.base), fmt.Sprintf("/update?id=%d", i+1), nil, ""))
		}
	}
	mk := func(name, base string, reqs []string) load {
		if err != nil {
			return load{}
		}
		var l load
		l, err = rotating(dir, name, base, reqs)
		return l
	}
	lCanned := mk("canned", canned0.base, cannedReqs)
	lGin := mk("gin", gin0.base, ginReqs)
	lMe := mk("me", srv.base, me)
	lVerify := mk("verify", srv.base, verify)
	lLogin := mk("login", srv.base, logins)
	lUpdate := mk("update", pgx0baseOr(pgx0), updates)
	if err != nil {
		return err
	}

	fCanned := &figure{name: "client ceiling: canned responder"}
	fGin := &figure{name: "bare Gin JSON (baseline)"}
	fMe := &figure{name: "GET /auth/me (cookie)", baseline: "bare Gin", target: 0.75}
	fVerify := &figure{name: "GET /auth/verify (bearer)", baseline: "bare Gin", target: 0.75}
	fUpdate := &figure{name: "bare Gin + pgx UPDATE (baseline)"}
	fRefresh := &figure{name: "POST /auth/refresh", baseline: "Gin + pgx UPDATE", target: 0.60}
	fLogin := &figure{name: "POST /auth/login", baseline: "raw argon2id", target: 0.90}
	var hashRates []float64
	var meRSS int64

	measure := func(f *figure, l load, s *server, rss bool) (wrkResult, error) {
		if _, err := l.run(o.conns, time.Second); err != nil { // warm-up
			return wrkResult{}, err
		}
		if f == fLogin {
			// The warm-up's last sign-ins are still queued for the hasher
			// when wrk hangs up; the measured run starts once they are gone,
			// or its first requests find the queue full (503).
			if err := hashQueueDrained(srv.base, env["AUTH_METRICS_TOKEN"]); err != nil {
				return wrkResult{}, err
			}
		}
		var stop func() int64
		if rss {
			stop = srv.sampleRSS()
		}
		d := o.duration
		if f == fLogin {
			d = o.loginDuration
		}
		offset := s.logSize()
		r, err := l.run(o.conns, d)
		if stop != nil {
			meRSS = max(meRSS, stop())
		}
		f.record(r, s, offset)
		return r, err
	}
	for round := range o.runs {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", round+1, o.runs)
		if _, err := measure(fCanned, lCanned, canned0, false); err != nil {
			return err
		}
		var g wrkResult
		if o.wants("me") || o.wants("verify") {
			if g, err = measure(fGin, lGin, gin0, false); err != nil {
				return err
			}
		}
		// Registration and sign-ins hash with 19 MiB each; the server hands
		// that memory back once hashing has been idle for half a second,
		// which the warm-up covers. RSS is sampled while /auth/me runs.
		if o.wants("me") {
			r, err := measure(fMe, lMe, srv, true)
			if err != nil {
				return err
			}
			fMe.ratios = append(fMe.ratios, r.rate()/g.rate())
		}
		if o.wants("verify") {
			r, err := measure(fVerify, lVerify, srv, false)
			if err != nil {
				return err
			}
			fVerify.ratios = append(fVerify.ratios, r.rate()/g.rate())
		}
		if pgx0 != nil && o.wants("refresh") {
			u, err := measure(fUpdate, lUpdate, pgx0, false)
			if err != nil {
				return err
			}
			lRefresh, err := refreshing(dir, srv.base, host, refreshName, refreshTokens)
			if err != nil {
				return err
			}
			if _, err := lRefresh.run(o.conns, time.Second); err != nil {
				return err
			}
			if refreshTokens, err = leftTokens(dir); err != nil {
				return err
			}
			if refreshTokens, err = topUp(refreshTokens); err != nil {
				return err
			}
			if lRefresh, err = refreshing(dir, srv.base, host, refreshName, refreshTokens); err != nil {
				return err
			}
			offset := srv.logSize()
			r, err := lRefresh.run(o.conns, o.duration)
			if err != nil {
				return err
			}
			fRefresh.record(r, srv, offset)
			fRefresh.ratios = append(fRefresh.ratios, r.rate()/u.rate())
			if refreshTokens, err = leftTokens(dir); err != nil {
				return err
			}
			if refreshTokens, err = topUp(refreshTokens); err != nil {
				return err
			}
		}
		if o.wants("login") {
			rate, err := rawHashRate(self, o.loginDuration)
			if err != nil {
				return err
			}
			hashRates = append(hashRates, rate)
			r, err := measure(fLogin, lLogin, srv, false)
			if err != nil {
				return err
			}
			fLogin.ratios = append(fLogin.ratios, r.rate()/rate)
		}
	}
	rss, _ := srv.peakRSS()

	var figures []*figure
	for _, f := range []*figure{fCanned, fGin, fMe, fVerify, fUpdate, fRefresh, fLogin} {
		if len(f.rounds) > 0 {
			figures = append(figures, f)
		}
	}
	fMe.note = fmt.Sprintf("peak RSS %.0f MiB (target < 64)", float64(meRSS)/(1<<20))

	fmt.Fprintf(out, "database %s, %d connections from one wrk thread, %d interleaved rounds of %s per scenario (login and the raw hash rate %s), each after a 1 s warm-up;\n", o.db, o.conns, o.runs, o.duration, o.loginDuration)
	fmt.Fprintf(out, "server and each baseline on core %d (GOMAXPROCS=1), wrk on core %d, logging at %s; medians over the rounds, spread = min–max\n\n", serverCore, clientCore, o.logLevel)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\treq/s\tp50\tp99\tvs baseline\tratio\tspread\ttarget\terrors\tnote")
	var missed []string
	for _, f := range figures {
		rate := median(f.rates())
		ratio, spread, verdict := "", "", ""
		if f.baseline != "" {
			m := median(f.ratios)
			ratio = fmt.Sprintf("%.2f", m)
			spread = fmt.Sprintf("%.2f–%.2f", slices.Min(f.ratios), slices.Max(f.ratios))
			verdict = fmt.Sprintf(">= %.2f met", f.target)
			if m < f.target {
				verdict = fmt.Sprintf(">= %.2f MISSED", f.target)
				missed = append(missed, f.name)
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", f.name, rate,
			durations(f.rounds, wrkResult.p50), durations(f.rounds, wrkResult.p99), f.baseline, ratio, spread, verdict, f.errors(), f.note)
	}
	if len(hashRates) > 0 {
		fmt.Fprintf(tw, "raw argon2id (m=19MiB,t=2,p=1), 1 core\t%.1f\t\t\t\t\t%.1f–%.1f\t\t\t\n", median(hashRates), slices.Min(hashRates), slices.Max(hashRates))
	}
	_ = tw.Flush()

	// The client must not be what limits a figure: against a responder far
	// cheaper than anything measured, wrk must reach well past the fastest
	// Portcullis figure, and past bare Gin.
	fastest := max(median(fMe.rates()), median(fVerify.rates()), median(fRefresh.rates()), median(fLogin.rates()))
	ceiling, bare := median(fCanned.rates()), median(fGin.rates())
	fmt.Fprintf(out, "\nclient capacity: wrk reached %.0f req/s against the canned responder = %.2f× the fastest Portcullis figure (%.0f req/s; need >= 1.5) and %.2f× bare Gin\n",
		ceiling, ceiling/fastest, fastest, ceiling/bare)
	fmt.Fprintf(out, "bare Gin ran at %.2f× the fastest Portcullis figure\n", bare/fastest)
	if len(fMe.rounds) == 0 {
		meRSS = 0
	}
	fmt.Fprintf(out, "Portcullis peak RSS: %.0f MiB during the /auth/me runs (target < 64), %.0f MiB over the whole run (sign-ins hash with 19 MiB each)\n",
		float64(meRSS)/(1<<20), float64(rss)/(1<<20))
	var problems []string
	if o.smoke {
		// A smoke run checks that every scenario ran without errors, not
		// what it measured.
		fastest = 0
	}
	if ceiling < 1.5*fastest {
		problems = append(problems, fmt.Sprintf("CLIENT-BOUND: wrk's ceiling is only %.2f× the fastest figure; the ratios above are not the server's", ceiling/fastest))
	}
	for _, f := range figures {
		if n := f.errors(); n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d failed requests (%s)", f.name, n, strings.Join(f.failures, "; ")))
		}
	}
	if len(fMe.rounds) > 0 && meRSS >= 64<<20 {
		missed = append(missed, "peak RSS during /auth/me")
	}
	if len(missed) > 0 {
		fmt.Fprintf(out, "targets missed: %s\n", strings.Join(missed, "; "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func pgx0baseOr(s *server) string {
	if s == nil {
		return ""
	}
	return s.base
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	return u.Host
}

type session struct{ access, refresh, accessName, refreshName string }

func signUp(base, email string) (session, error) {
	body := fmt.Sprintf(`{"email":%q,"password":%q,"name":"Bench"}`, email, password)
	return authPost(base+"/auth/register", body, http.StatusCreated)
}

func signIn(base, email string) (session, error) {
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
	return authPost(base+"/auth/login", body, http.StatusOK)
}

func authPost(u, body string, want int) (session, error) {
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		return session{}, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	var s session
	for _, c := range resp.Cookies() {
		// __Host-session and __Secure-refresh in production.
		switch {
		case strings.HasSuffix(c.Name, "session"):
			s.access, s.accessName = c.Value, c.Name
		case strings.HasSuffix(c.Name, "refresh"):
			s.refresh, s.refreshName = c.Value, c.Name
		}
	}
	if resp.StatusCode != want || s.access == "" || s.refresh == "" {
		return s, fmt.Errorf("%s: %d, want %d with both cookies", u, resp.StatusCode, want)
	}
	return s, nil
}

// refreshCookieComesLast checks what the refresh script relies on: wrk
// hands a script only the last of repeated headers.
func refreshCookieComesLast(base, email string) error {
	ses, err := signIn(base, email)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/refresh", nil)
	req.Header.Set("Cookie", ses.refreshName+"="+ses.refresh)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	set := resp.Header.Values("Set-Cookie")
	if resp.StatusCode != 200 || len(set) == 0 || !strings.HasPrefix(set[len(set)-1], ses.refreshName+"=") {
		return fmt.Errorf("refresh: %d with Set-Cookie %d headers, the last not the refresh cookie; the wrk script needs it last", resp.StatusCode, len(set))
	}
	return nil
}

// hashQueueDrained waits until no password hash is waiting for a worker,
// as the server's metrics tell (at most 10 s).
func hashQueueDrained(base, metricsToken string) error {
	const gauge = "portcullis_password_hash_queue_depth "
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequest("GET", base+"/metrics", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		depth := ""
		for line := range strings.Lines(string(body)) {
			if v, ok := strings.CutPrefix(line, gauge); ok {
				depth = strings.TrimSpace(v)
			}
		}
		switch {
		case resp.StatusCode != http.StatusOK || depth == "":
			return fmt.Errorf("GET /metrics: %s, no %s gauge", resp.Status, strings.TrimSpace(gauge))
		case depth == "0":
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("the hashing queue still holds %s sign-ins 10 s after the warm-up", depth)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
