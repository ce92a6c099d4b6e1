package js

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// chromium finds Debian's Chromium, or skips: `go test ./...` must pass on a
// machine without a browser. .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("PORTCULLIS_E2E") == "off" {
		t.Skip("browser tests switched off (PORTCULLIS_E2E=off)")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser tests skipped: Chromium not found (apt-get install chromium); .ci/run installs it")
	return ""
}

// tabsPage is one tab of the app: the client, and a loop that calls a
// protected endpoint through client.fetch every interval for a while.
const tabsPage = `<!doctype html><meta charset="utf-8"><title>tab</title>
<script type="module">
import { createClient } from "/client/index.js";
// ?nolocks: a browser without navigator.locks, so the client falls back to
// its BroadcastChannel election.
if (location.search.includes("nolocks")) Object.defineProperty(Navigator.prototype, "locks", { get: () => undefined });
// ?slowstorage: what another tab writes to localStorage reaches this one
// 150 ms late, the values read and the storage event alike. Chromium was seen
// to deliver such a write ~20 ms after the lock its writer had let go of, so
// a tab read the old refresh stamp and refreshed again; this makes that
// interleaving happen on every burst. With &late401 a 401 reaches the client
// 75 ms late, so this tab takes the lock after the tab that refreshed has let
// it go (no contention to tell it) and before that tab's stamp arrives.
if (location.search.includes("late401")) {
  const f = window.fetch;
  window.fetch = async (...args) => {
    const r = await f(...args);
    if (r.status === 401) await new Promise((ok) => setTimeout(ok, 75));
    return r;
  };
}
if (location.search.includes("slowstorage")) {
  const view = new Map();
  const get = Storage.prototype.getItem, set = Storage.prototype.setItem;
  Storage.prototype.getItem = function (k) { if (!view.has(k)) view.set(k, get.call(this, k)); return view.get(k); };
  Storage.prototype.setItem = function (k, v) { view.set(k, String(v)); return set.call(this, k, v); };
  addEventListener("storage", (e) => {
    if (e.late) return;
    e.stopImmediatePropagation();
    setTimeout(() => {
      view.set(e.key, e.newValue);
      const late = new StorageEvent("storage", { key: e.key, oldValue: e.oldValue, newValue: e.newValue, url: e.url, storageArea: e.storageArea });
      late.late = true;
      dispatchEvent(late);
    }, 150);
  }, true);
}
const client = createClient();
window.lockKind = navigator.locks ? "navigator.locks" : "election";
const stats = { ok: 0, statuses: {}, events: [], errors: [], done: false };
client.onAuthStateChange((e) => stats.events.push(e));
window.client = client;
window.stats = stats;
window.run = (every, forMs) => {
  const end = Date.now() + forMs;
  let busy = 0;
  const timer = setInterval(async () => {
    if (Date.now() >= end) {
      clearInterval(timer);
      const wait = setInterval(() => { if (busy === 0) { clearInterval(wait); stats.done = true; } }, 10);
      return;
    }
    busy++;
    try {
      const res = await client.fetch("/auth/me");
      stats.statuses[res.status] = (stats.statuses[res.status] || 0) + 1;
      if (res.ok) stats.ok++;
    } catch (err) {
      stats.errors.push(String(err));
    } finally {
      busy--;
    }
  }, every);
};
// burst: every tab calls at once (a BroadcastChannel message wakes them
// together), so their 401s race for the refresh.
const go = new BroadcastChannel("burst");
stats.burst = [];
const fire = async () => {
  const got = await Promise.all([1, 2, 3].map(() => client.fetch("/auth/me").then(
    async (r) => (r.ok ? r.status : r.status + " " + (await r.text())), (e) => String(e))));
  stats.burst.push(...got);
};
go.onmessage = fire;
window.burst = () => { go.postMessage("go"); return fire(); };
window.ready = true;
</script>`

type tabStats struct {
	OK         int            `json:"ok"`
	Statuses   map[string]int `json:"statuses"`
	Events     []string       `json:"events"`
	Errors     []string       `json:"errors"`
	Visibility string         `json:"visibility"`
}

// TestThreeTabsShareOneRefresh: three tabs of one origin share a session
// whose access token lives one second, with no reuse grace, so two tabs
// presenting one refresh token would end the session. Each tab calls a
// protected endpoint every 100 ms for 30 s. No tab may be signed out, no
// reuse may be detected, and the refreshes must be about one per expiry.
func TestThreeTabsShareOneRefresh(t *testing.T) {
	duration := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("PORTCULLIS_TABS_DURATION")); err == nil {
		duration = d // a shorter run while working on the client
	}
	threeTabs(t, "", duration)
}

// TestThreeTabsWithoutNavigatorLocks is the same with the BroadcastChannel
// election the client uses where navigator.locks is missing, for 10 s.
func TestThreeTabsWithoutNavigatorLocks(t *testing.T) {
	threeTabs(t, "?nolocks", 10*time.Second)
}

// TestThreeTabsWithLateStorage is the same where another tab's localStorage
// write arrives 150 ms after the lock (see ?slowstorage in tabsPage), and the
// second and third tabs see their 401s 75 ms late, after the first tab's
// refresh: a tab holding the lock must wait for the stamp it has not read
// yet, not refresh again.
func TestThreeTabsWithLateStorage(t *testing.T) {
	threeTabs(t, "?slowstorage", 5*time.Second)
}

func threeTabs(t *testing.T, query string, duration time.Duration) {
	nodeExe := node(t)
	exe := chromium(t)
	build(t, nodeExe)
	const ttl = time.Second

	var svc *auth.Service
	server := newTabsServer(t, map[string]string{"AUTH_ACCESS_TTL": ttl.String()}, func(d *api.Deps) {
		svc = api.NewService(*d)
		d.Auth = svc
	})
	origin := server.origin
	browser := tabsBrowser(t, exe)
	step := func(ctx context.Context, what string, actions ...chromedp.Action) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

	tabs := make([]context.Context, 3)
	for i := range tabs {
		ctx, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		// The first Run binds the tab's lifetime to its context: give it
		// the tab's own, not a step's deadline.
		if err := chromedp.Run(ctx); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		var kind string
		page := origin + "/" + query
		if query == "?slowstorage" && i > 0 {
			page += "&late401"
		}
		step(ctx, "open a tab", chromedp.Navigate(page), chromedp.Poll(`window.ready === true`, nil),
			chromedp.Evaluate(`window.lockKind`, &kind))
		if want := map[string]string{"": "navigator.locks", "?nolocks": "election", "?slowstorage": "navigator.locks"}[query]; kind != want {
			t.Fatalf("the page uses %s, want %s", kind, want)
		}
		tabs[i] = ctx
		if i == 0 {
			var email string
			step(ctx, "sign up in the first tab", chromedp.Evaluate(
				`client.signUp({email: "ada@example.com", password: "correct horse battery staple", name: "Ada"}).then(r => r.user.email, e => "error: " + e)`, &email, await))
			if email != "ada@example.com" {
				t.Fatalf("signed up as %q", email)
			}
		}
	}
	refreshed := func() int { return server.counts()[200] }

	// Bursts: all tabs meet one expired token at the same moment; one
	// refresh serves them all. (The token's lifetime is the server's to end:
	// the test waits it out.)
	burstRefreshes := 0
	for round := 1; round <= 3; round++ {
		// Past the token's expiry, and early in a second: exp is in whole
		// seconds, so a burst just before a boundary would meet a second
		// expiry of its own (which the client handles with one more refresh).
		time.Sleep(ttl)
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
		before := refreshed()
		step(tabs[0], "burst", chromedp.Evaluate(`burst()`, nil, await))
		var statuses [][]any
		for i, ctx := range tabs {
			var got []any
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := chromedp.Run(c, chromedp.Poll(fmt.Sprintf(`stats.burst.length >= %d`, 3*round), nil, chromedp.WithPollingInterval(20*time.Millisecond)))
			cancel()
			step(ctx, "burst results", chromedp.Evaluate(`stats.burst`, &got))
			if err != nil {
				t.Fatalf("burst %d: tab %d has %v: %v", round, i+1, got, err)
			}
			statuses = append(statuses, got[len(got)-3:])
		}
		// One refresh. Under -race two were seen, rarely: most likely
		// Chromium had not yet propagated the localStorage stamp to the tab
		// that took the lock next, which then refreshed once more — in turn,
		// under the lock, with the new cookie, so no token was presented
		// twice. Tabs refreshing without the re-check make 3 to 9.
		n := refreshed() - before
		burstRefreshes += n
		if query == "?slowstorage" && n != 1 {
			// The late write is forced here, and the lock says it exists:
			// no second refresh is excused.
			t.Errorf("burst %d: %d refreshes for one expiry with the stamp arriving late (statuses %v)", round, n, statuses)
		}
		if n < 1 || n > 2 {
			t.Errorf("burst %d: %d refreshes for one expiry across three tabs (statuses %v)", round, n, statuses)
		}
		for i, got := range statuses {
			for _, st := range got {
				if st != float64(200) {
					t.Errorf("burst %d: tab %d got %v", round, i+1, got)
					break
				}
			}
		}
	}

	if burstRefreshes > 4 {
		t.Errorf("%d refreshes in three bursts, want about three", burstRefreshes)
	}
	t.Logf("bursts: %d refreshes for 3 expiries", burstRefreshes)

	before := refreshed()

	start := time.Now()
	for _, ctx := range tabs {
		step(ctx, "start the loop", chromedp.Evaluate(fmt.Sprintf(`run(100, %d)`, duration.Milliseconds()), nil))
	}
	stats := make([]tabStats, len(tabs))
	for i, ctx := range tabs {
		c, cancel := context.WithTimeout(ctx, duration+60*time.Second)
		err := chromedp.Run(c, chromedp.Poll(`stats.done === true`, nil, chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(duration+60*time.Second)),
			chromedp.Evaluate(`({...stats, visibility: document.visibilityState})`, &stats[i]))
		cancel()
		if err != nil {
			t.Fatalf("tab %d did not finish: %v", i+1, err)
		}
	}
	elapsed := time.Since(start)

	refreshes := server.counts()
	ok, failed := refreshes[200]-before, 0
	for status, n := range refreshes {
		if status != 200 {
			failed += n
		}
	}
	expiries := float64(elapsed) / float64(ttl)
	t.Logf("%v, %.0f expiries: %d refreshes, %d refused", elapsed.Round(time.Millisecond), expiries, ok, failed)
	for i, s := range stats {
		t.Logf("tab %d (%s): %d ok, statuses %v, events %v", i+1, s.Visibility, s.OK, s.Statuses, compact(s.Events))
		if n := countOf(s.Events, "SIGNED_OUT"); n > 0 {
			t.Errorf("tab %d was signed out", i+1)
		}
		if len(s.Errors) > 0 {
			t.Errorf("tab %d: errors %v", i+1, s.Errors)
		}
		if s.Statuses["401"] > 0 {
			t.Errorf("tab %d saw %d answers of 401 through client.fetch", i+1, s.Statuses["401"])
		}
		// At 100 ms for the duration, less a margin for a loaded machine.
		if want := int(duration / (100 * time.Millisecond) / 2); s.OK < want {
			t.Errorf("tab %d made %d successful calls, want at least %d", i+1, s.OK, want)
		}
	}
	if failed > 0 {
		t.Errorf("%d refreshes were refused", failed)
	}
	if float64(ok) > 1.5*expiries || float64(ok) < 0.5*expiries {
		t.Errorf("%d refreshes for %.0f expiries: want about one per expiry, not one per tab", ok, expiries)
	}
	reuse, err := svc.Events(context.Background(), models.EventFilter{Type: models.EventRefreshReuseDetected, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(reuse) > 0 {
		t.Errorf("the audit log has %d refresh_reuse_detected events", len(reuse))
	}
}

// tabsServer serves the compiled client (dist) and tabsPage beside a
// Portcullis router, counting the answers of /auth/refresh by status.
type tabsServer struct {
	origin    string
	mu        sync.Mutex
	refreshes map[int]int
}

// newTabsServer starts one on loopback: refresh tokens are never reused
// (no grace), no rate limit gets in the way, cookies work over http; env
// adds to that (the access token's lifetime).
func newTabsServer(t *testing.T, env map[string]string, opts ...func(*api.Deps)) *tabsServer {
	vars := map[string]string{
		"AUTH_REFRESH_REUSE_INTERVAL": "0s",
		"AUTH_RATE_LIMIT_IP":          "100000/m",
		"AUTH_COOKIE_SECURE":          "false",
	}
	for k, v := range env {
		vars[k] = v
	}
	router := apitest.Router(t, vars, opts...)
	s := &tabsServer{refreshes: map[int]int{}}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/auth/refresh" {
			router.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		router.ServeHTTP(rec, r)
		s.mu.Lock()
		s.refreshes[rec.status]++
		s.mu.Unlock()
	}))
	mux.Handle("/client/", http.StripPrefix("/client/", http.FileServer(http.Dir("dist"))))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, tabsPage)
	})
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	s.origin = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	return s
}

// counts returns how many /auth/refresh answers there were by status.
func (s *tabsServer) counts() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.refreshes)
}

// tabsBrowser starts a headless Chromium whose tabs (chromedp.NewContext
// of it) keep their timers at full speed in the background, as tabs in
// several windows of a desktop browser do.
func tabsBrowser(t *testing.T, exe string) context.Context {
	// Chromium may still be writing to its profile as it exits, so the
	// profile is removed best-effort rather than by t.TempDir.
	profile, err := os.MkdirTemp("", "portcullis-tabs-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(profile),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browser
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// compact summarises a list of events as "A×3 B×1" in first-seen order.
func compact(xs []string) string {
	var order []string
	n := map[string]int{}
	for _, x := range xs {
		if n[x] == 0 {
			order = append(order, x)
		}
		n[x]++
	}
	parts := make([]string, len(order))
	for i, x := range order {
		parts[i] = fmt.Sprintf("%s×%d", x, n[x])
	}
	return strings.Join(parts, " ")
}
