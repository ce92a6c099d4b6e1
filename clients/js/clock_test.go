package js

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// TestAClockSetBackDoesNotHoldUpRefreshes: tab A signs in with its clock an
// hour ahead (as if the machine's clock was then set back) and stays idle,
// holding its stamp's mark (see Lock.mark). Tab B then refreshes after each
// expiry. B's stamps must be ordered above A's mark, or every refresh of B
// would find a "newer" mark and wait 500 ms for a write that never comes
// (found by the hostile review: 520 ms per refresh where it had been 18).
// The test reads what decides that wait — the marks the lock manager holds
// and B's stamp — rather than timing it.
func TestAClockSetBackDoesNotHoldUpRefreshes(t *testing.T) {
	nodeExe := node(t)
	exe := chromium(t)
	build(t, nodeExe)
	const ttl = 2 * time.Second
	server := newTabsServer(t, map[string]string{"AUTH_ACCESS_TTL": ttl.String()})
	origin := server.origin
	browser := tabsBrowser(t, exe)
	run := func(ctx context.Context, what string, actions ...chromedp.Action) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(c, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	tab := func() context.Context {
		ctx, cancel := chromedp.NewContext(browser)
		t.Cleanup(cancel)
		if err := chromedp.Run(ctx); err != nil {
			t.Fatalf("open a tab: %v", err)
		}
		run(ctx, "open a tab", chromedp.Navigate(origin+"/"), chromedp.Poll(`window.ready === true`, nil))
		return ctx
	}
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	a, b := tab(), tab()

	var email string
	run(a, "sign up in tab A, its clock an hour ahead", chromedp.Evaluate(`(async () => {
		const real = Date.now;
		Date.now = () => real() + 3600000;
		try { return (await client.signUp({email: "clock@example.com", password: "correct horse battery staple", name: "Clock"})).user.email; }
		catch (e) { return "error: " + e; }
		finally { Date.now = real; }
	})()`, &email, await))
	if email != "clock@example.com" {
		t.Fatalf("signed up as %q", email)
	}
	// The highest mark the lock manager holds, and the order of the stamp a
	// tab reads. A mark is recorded just after the sign-in answers (it is
	// the refresh that waits for its own), so the first read waits for one.
	const state = `(async () => {
		for (let i = 0; ; i++) {
			const marks = (await navigator.locks.query()).held.map((l) => l.name).filter((n) => n.includes(":stamp:"));
			const newest = Math.max(0, ...marks.map((n) => Number(n.slice(n.lastIndexOf(":") + 1))));
			const stamp = JSON.parse(localStorage.getItem("portcullis:same-origin:refresh") || "{}");
			if (marks.length > 0 || i >= 250) return [newest, stamp.at || 0, marks.length];
			await new Promise((r) => setTimeout(r, 20));
		}
	})()`
	var before []float64
	run(b, "read the marks", chromedp.Evaluate(state, &before, await))
	if before[0] < float64(time.Now().Add(50*time.Minute).UnixMilli()) {
		t.Fatalf("tab A's mark %v is not an hour ahead: the test does not set the clock", before[0])
	}

	for i := 1; i <= 2; i++ {
		time.Sleep(ttl + 100*time.Millisecond)
		var status int
		run(b, "a call after the expiry in tab B", chromedp.Evaluate(`client.fetch("/auth/me").then((r) => r.status)`, &status, await))
		if status != 200 {
			t.Fatalf("refresh %d: tab B got %d", i, status)
		}
		var got []float64
		run(b, "read the marks", chromedp.Evaluate(state, &got, await))
		// B's stamp is the newest mark: B's next refresh finds no newer one
		// and does not wait.
		if got[1] != got[0] || got[1] <= before[0] {
			t.Errorf("refresh %d: tab B's stamp is ordered %v, the newest mark %v (tab A's %v): B's next refresh would wait for a stamp that never comes", i, got[1], got[0], before[0])
		}
	}
	if refreshes := server.counts(); refreshes[200] != 2 || len(refreshes) != 1 {
		t.Errorf("refreshes by status: %v, want two of 200", refreshes)
	}
}
