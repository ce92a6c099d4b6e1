package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/token"
)

// result is one measured scenario.
type result struct {
	name     string
	n        int
	errs     map[int]int
	elapsed  time.Duration
	p50, p99 time.Duration
	baseline string
	baseRate float64
	target   float64 // minimum ratio to the baseline
	extra    string
}

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) ratio() float64 {
	if r.baseRate == 0 {
		return 0
	}
	return r.rate() / r.baseRate
}

// load warms up for a second, then runs conns closed-loop workers for d;
// each calls do with its index and returns the status it got.
func load(conns int, d time.Duration, do func(worker int) (int, error)) result {
	measure(conns, time.Second, do)
	return measure(conns, d, do)
}

func measure(conns int, d time.Duration, do func(worker int) (int, error)) result {
	var mu sync.Mutex
	var lat []time.Duration
	errs := map[int]int{}
	n := 0
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localErrs := map[int]int{}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				st, err := do(w)
				if err != nil {
					st = -1
				}
				if st >= 200 && st < 300 {
					local = append(local, time.Since(t0))
				} else {
					localErrs[st]++
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			for k, v := range localErrs {
				errs[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	n = len(lat)
	slices.Sort(lat)
	return result{n: n, errs: errs, elapsed: elapsed, p50: pct(lat, 50), p99: pct(lat, 99)}
}

func discard(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// pinClient keeps the load generator on core 0, away from the server's core 1.
func pinClient() {
	var set unix.CPUSet
	set.Set(0)
	_ = unix.SchedSetaffinity(0, &set)
	runtime.GOMAXPROCS(1)
}

func hotPaths(o options, dir, bin string, out io.Writer) error {
	pinClient()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env := map[string]string{
		"AUTH_COOKIE_SECURE": "false", "AUTH_RATE_LIMIT_IP": "100000000/m", "AUTH_LOCKOUT_THRESHOLD": "100000000",
		"AUTH_SESSION_KEYS": token.GenerateKey("bench").String(), "AUTH_DATABASE_URL": "sqlite:" + dir + "/auth.db",
		// Logging stays on at info by default: the full production middleware is measured.
		"AUTH_LOG_LEVEL": o.logLevel,
	}
	var pgDB string
	if o.db == "postgres" {
		pgDB, err = createDatabase(o.pgURL)
		if err != nil {
			return err
		}
		defer dropDatabase(o.pgURL, pgDB)
		env["AUTH_DATABASE_URL"] = withDatabase(o.pgURL, pgDB)
	}
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
	var pgx0 *server
	if o.db == "postgres" {
		if pgx0, err = startProcess(self, []string{"-child=pgx"}, map[string]string{"BENCH_PG": withDatabase(o.pgURL, pgDB)}, true); err != nil {
			return err
		}
		defer pgx0.stop()
	}
	hc := newClient(o.conns)

	// One session per connection.
	cookies := make([]string, o.conns)
	tokens := make([]string, o.conns)
	refresh := make([]string, o.conns)
	for i := range o.conns {
		body := fmt.Sprintf(`{"email":"bench%d@example.com","password":"%s","name":"Bench %d"}`, i, password, i)
		resp, err := hc.Post(srv.base+"/auth/register", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			switch c.Name {
			case "session":
				cookies[i], tokens[i] = "session="+c.Value, c.Value
			case "refresh":
				refresh[i] = c.Value
			}
		}
		if resp.StatusCode != 201 || cookies[i] == "" {
			return fmt.Errorf("register: %d", resp.StatusCode)
		}
	}

	doBare := func(int) (int, error) { return discard(hc.Get(gin0.base + "/me")) }
	doMe := func(w int) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.base+"/auth/me", nil)
		req.Header.Set("Cookie", cookies[w])
		return discard(hc.Do(req))
	}
	doVerify := func(w int) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.base+"/auth/verify", nil)
		req.Header.Set("Authorization", "Bearer "+tokens[w])
		return discard(hc.Do(req))
	}
	doUpdate := func(w int) (int, error) {
		return discard(hc.Post(fmt.Sprintf("%s/update?id=%d", pgx0.base, w+1), "application/json", nil))
	}
	doRefresh := func(w int) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/auth/refresh", nil)
		req.Header.Set("Cookie", "refresh="+refresh[w])
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		for _, c := range resp.Cookies() {
			if c.Name == "refresh" && c.Value != "" {
				refresh[w] = c.Value
			}
		}
		return discard(resp, nil)
	}
	doLogin := func(w int) (int, error) {
		body := fmt.Sprintf(`{"email":"bench%d@example.com","password":"%s"}`, w, password)
		return discard(hc.Post(srv.base+"/auth/login", "application/json", strings.NewReader(body)))
	}

	// Rounds interleave each figure with its baseline, so drift on this
	// shared machine hits both; the table reports the median round.
	var bare, me, verify, update, refreshRes, login []result
	var hashRates []float64
	var meRSS int64
	for round := range o.runs {
		fmt.Fprintf(os.Stderr, "round %d of %d\n", round+1, o.runs)
		bare = append(bare, load(o.conns, o.duration, doBare))
		// Registration and logins hash with 19 MiB each; the server hands
		// that memory back once hashing has been idle for half a second,
		// which the warm-up covers. RSS is sampled while /auth/me is measured.
		measure(o.conns, time.Second, doMe)
		stop := srv.sampleRSS()
		me = append(me, measure(o.conns, o.duration, doMe))
		meRSS = max(meRSS, stop())
		verify = append(verify, load(o.conns, o.duration, doVerify))
		if pgx0 != nil {
			update = append(update, load(o.conns, o.duration, doUpdate))
		}
		refreshRes = append(refreshRes, load(o.conns, o.duration, doRefresh))
		rate, err := rawHashRate(self, o.duration)
		if err != nil {
			return err
		}
		hashRates = append(hashRates, rate)
		login = append(login, load(o.conns, o.duration, doLogin))
	}
	rss, _ := srv.peakRSS()

	med := func(rs []result, name string) result {
		slices.SortFunc(rs, func(a, b result) int { return cmpFloat(a.rate(), b.rate()) })
		r := rs[len(rs)/2]
		r.name = name
		return r
	}
	slices.Sort(hashRates)
	hashRate := hashRates[len(hashRates)/2]
	rBare := med(bare, "bare Gin JSON (baseline)")
	rMe := med(me, "GET /auth/me (cookie)")
	rMe.baseline, rMe.baseRate, rMe.target = "bare Gin", rBare.rate(), 0.70
	rMe.extra = fmt.Sprintf("peak RSS %.0f MiB", float64(meRSS)/(1<<20))
	rVerify := med(verify, "GET /auth/verify (bearer)")
	rVerify.baseline, rVerify.baseRate, rVerify.target = "bare Gin", rBare.rate(), 0.70
	results := []result{rBare, rMe, rVerify}
	rRefresh := med(refreshRes, "POST /auth/refresh")
	if pgx0 != nil {
		rUpdate := med(update, "bare Gin + pgx UPDATE (baseline)")
		rRefresh.baseline, rRefresh.baseRate, rRefresh.target = "Gin + pgx UPDATE", rUpdate.rate(), 0.50
		results = append(results, rUpdate)
	}
	rLogin := med(login, "POST /auth/login")
	rLogin.baseline, rLogin.baseRate, rLogin.target = "raw argon2id", hashRate, 0.90
	results = append(results, rRefresh, rLogin)

	fmt.Fprintf(out, "database %s, %d connections, median of %d rounds of %s per scenario (after 1 s warm-up);\n", o.db, o.conns, o.runs, o.duration)
	fmt.Fprintf(out, "server and each baseline pinned to core 1 (GOMAXPROCS=1), client on core 0, logging at %s\n\n", o.logLevel)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\treq/s\tp50\tp99\tvs baseline\tratio\ttarget\tnon-2xx\tnote")
	for _, r := range results {
		ratio, target := "", ""
		if r.baseRate > 0 {
			ratio = fmt.Sprintf("%.1f%%", 100*r.ratio())
			mark := "met"
			if r.ratio() < r.target {
				mark = "MISSED"
			}
			target = fmt.Sprintf(">= %.0f%% %s", 100*r.target, mark)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%v\t%s\n", r.name, r.rate(), r.p50, r.p99, r.baseline, ratio, target, r.errs, r.extra)
	}
	fmt.Fprintf(tw, "raw argon2id (m=19MiB,t=2,p=1), 1 core\t%.1f\t\t\t\t\t\t\t\n", hashRate)
	tw.Flush()
	fmt.Fprintf(out, "\nPortcullis peak RSS: %.0f MiB during the /auth/me runs (target < 100), %.0f MiB over the whole run (logins hash with 19 MiB each)\n", float64(meRSS)/(1<<20), float64(rss)/(1<<20))
	return nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rawHashRate runs argon2id in a child on the server's core.
func rawHashRate(self string, d time.Duration) (float64, error) {
	argv := pinned([]string{self, "-child=hashrate", d.String()})
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("hash rate: %w", err)
	}
	var rate float64
	_, err = fmt.Sscanf(string(out), "%f", &rate)
	return rate, err
}

// child runs one of the helper processes.
func child(mode string, args []string) error {
	addr := os.Getenv("BENCH_ADDR")
	gin.SetMode(gin.ReleaseMode)
	switch mode {
	case "gin":
		e := gin.New()
		e.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
		e.GET("/me", func(c *gin.Context) {
			c.JSON(200, gin.H{"id": "01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5b", "email": "ada@example.com", "role": "user"})
		})
		return http.ListenAndServe(addr, e)
	case "pgx":
		ctx := context.Background()
		cfg, err := pgxpool.ParseConfig(os.Getenv("BENCH_PG"))
		if err != nil {
			return err
		}
		cfg.MaxConns = 20
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_rows (id int PRIMARY KEY, n bigint NOT NULL);
			INSERT INTO bench_rows SELECT g, 0 FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING`); err != nil {
			return err
		}
		e := gin.New()
		e.GET("/healthz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
		e.POST("/update", func(c *gin.Context) {
			if _, err := pool.Exec(c.Request.Context(), "UPDATE bench_rows SET n = n + 1 WHERE id = $1", c.Query("id")); err != nil {
				c.JSON(500, gin.H{"error": "update failed"})
				return
			}
			c.JSON(200, gin.H{"ok": true})
		})
		return http.ListenAndServe(addr, e)
	case "hashrate":
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return err
		}
		n, start, params := 0, time.Now(), auth.DefaultArgon2Params()
		for time.Since(start) < d {
			if _, err := argon2id.CreateHash(password, &params); err != nil {
				return err
			}
			n++
		}
		fmt.Printf("%f\n", float64(n)/time.Since(start).Seconds())
		return nil
	}
	return fmt.Errorf("unknown child %q", mode)
}

func createDatabase(base string) (string, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", fmt.Errorf("PostgreSQL at -pg: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("portcullis_bench_%d", time.Now().UnixNano())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	return name, err
}

func dropDatabase(base, name string) {
	ctx := context.Background()
	if conn, err := pgx.Connect(ctx, base); err == nil {
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}
}

func withDatabase(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[(len(d)-1)*p/100].Round(10 * time.Microsecond)
}
