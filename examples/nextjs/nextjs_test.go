package nextjs

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
)

// tools finds node, the example's and the client's installed packages, and
// Chromium, or skips: `go test ./...` must pass without them. .ci/run
// installs them (npm ci in clients/js and examples/nextjs).
func tools(t *testing.T) (nodeExe, chromium string) {
	t.Helper()
	if os.Getenv("PORTCULLIS_E2E") == "off" {
		t.Skip("browser tests switched off (PORTCULLIS_E2E=off)")
	}
	nodeExe, err := exec.LookPath("node")
	if err != nil {
		t.Skip("Next.js example skipped: node not found (Node 20 or later)")
	}
	for _, p := range []string{"node_modules/next/dist/bin/next", "../../clients/js/node_modules/typescript/bin/tsc"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("Next.js example skipped: %s is missing; run `npm ci` in clients/js and examples/nextjs (.ci/run does)", p)
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return nodeExe, p
		}
	}
	t.Skip("Next.js example skipped: Chromium not found (apt-get install chromium); .ci/run installs it")
	return "", ""
}

func freePort(t *testing.T) (net.Listener, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, ln.Addr().(*net.TCPAddr).Port
}

func command(t *testing.T, env []string, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"NEXT_TELEMETRY_DISABLED=1"}, env...)...)
	return cmd
}

// TestNextJSExample builds the example with `next build`, runs it with
// `next start` in front of the real router, and drives it in Chromium:
// register, the server-rendered dashboard, a passkey added from it (Chromium's
// virtual authenticator), a reload, sign out through the server action, the
// proxy's redirect to /login afterwards, the login page's passkey button
// back to the server-rendered dashboard, and the configured provider listed
// on the login page, through a real OpenID provider on loopback.
func TestNextJSExample(t *testing.T) {
	nodeExe, chromium := tools(t)

	// Portcullis first: the rewrites are fixed at build time.
	apiLn, apiPort := freePort(t)
	nextLn, nextPort := freePort(t)
	nextLn.Close() // next start binds it
	origin := fmt.Sprintf("http://localhost:%d", nextPort)
	provider := apitest.NewOIDCProvider(t)
	provider.SignInAs(apitest.OIDCUser{Subject: "next-user", Email: "mock@example.com", EmailVerified: true, Name: "Mock User"})
	routerEnv := map[string]string{
		"AUTH_TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
		"AUTH_APP_URL":         origin,
		// The provider comes back through the Next server's rewrite, so the
		// flow cookie is first-party like the session's.
		"AUTH_PUBLIC_URL": origin,
	}
	for k, v := range provider.Env("mock", "Mock") {
		routerEnv[k] = v
	}
	// Portcullis' log: on failure, its warnings and every answer of 500 or
	// more are printed (a step once failed on a 503 under CI's load).
	serverLog := &apitest.LogBuffer{}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, line := range strings.Split(serverLog.String(), "\n") {
			if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"status":5`) {
				t.Logf("portcullis: %s", line)
			}
		}
	})
	// The flow is under test, not what hashing costs (see CheapHashing).
	router := apitest.Router(t, routerEnv, apitest.CheapHashing, func(d *api.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(serverLog, nil))
	})
	go func() { _ = http.Serve(apiLn, router) }()
	t.Cleanup(func() { apiLn.Close() })
	apiURL := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	env := []string{"PORTCULLIS_URL=" + apiURL}

	if out, err := command(t, nil, "../../clients/js", nodeExe, "node_modules/typescript/bin/tsc", "-p", "tsconfig.json").CombinedOutput(); err != nil {
		t.Fatalf("build @portcullis/client: %v\n%s", err, out)
	}
	if out, err := command(t, env, ".", nodeExe, "node_modules/next/dist/bin/next", "build").CombinedOutput(); err != nil {
		t.Fatalf("next build: %v\n%s", err, out)
	}
	server := command(t, env, ".", nodeExe, "node_modules/next/dist/bin/next", "start", "-p", fmt.Sprint(nextPort), "-H", "localhost")
	var log strings.Builder
	server.Stdout, server.Stderr = &log, &log
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-server.Process.Pid, syscall.SIGTERM)
		_ = server.Wait()
		if t.Failed() {
			t.Logf("next start:\n%s", log.String())
		}
	})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := 0; ; i++ {
		resp, err := noRedirect.Get(origin + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if i > 300 {
			t.Fatalf("next start did not answer: %v\n%s", err, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	profile, err := os.MkdirTemp("", "portcullis-nextjs-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(900, 600),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Run(tab); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	step := func(what string, actions ...chromedp.Action) {
		t.Helper()
		// Generous: under .ci/run this Chromium shares two cores with two
		// others and the race detector (a sign-out once took over 30 s).
		ctx, cancel := context.WithTimeout(tab, 90*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, actions...); err != nil {
			// What the user would see: the page's address and text.
			var at, text string
			look, cancel := context.WithTimeout(tab, 5*time.Second)
			defer cancel()
			_ = chromedp.Run(look, chromedp.Location(&at), chromedp.Evaluate(`document.body ? document.body.innerText : ""`, &text))
			t.Fatalf("%s: %v\nthe page at %s shows:\n%s", what, err, at, text)
		}
	}
	cookieHeader := func() string {
		var got []*network.Cookie
		step("read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			got, err = network.GetCookies().WithURLs([]string{origin + "/", origin + "/auth/refresh"}).Do(ctx)
			return err
		}))
		parts := make([]string, len(got))
		for i, c := range got {
			parts[i] = c.Name + "=" + c.Value
		}
		return strings.Join(parts, "; ")
	}
	get := func(path, cookie string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, origin+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}

	var authenticator webauthn.AuthenticatorID
	step("add a virtual authenticator", webauthn.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		authenticator, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))

	var greeting, where string
	step("register",
		chromedp.Navigate(origin+"/register"),
		chromedp.WaitVisible("#register-submit", chromedp.ByID),
		chromedp.SendKeys("#name", "Ada Lovelace", chromedp.ByID),
		chromedp.SendKeys("#email", "ada@example.com", chromedp.ByID),
		chromedp.SendKeys("#password", "correct horse battery staple", chromedp.ByID),
		// A slow network for the dashboard's first load: its HTML shows
		// long before its scripts arrive and React hydrates it (undone
		// after the passkey click).
		network.Enable(), network.EmulateNetworkConditions(false, 1500, -1, -1),
		chromedp.Click("#register-submit", chromedp.ByID),
		chromedp.WaitVisible("#greeting", chromedp.ByID),
		chromedp.Text("#greeting", &greeting, chromedp.ByID),
		chromedp.Location(&where),
	)
	if greeting != "Hello, Ada Lovelace" || !strings.HasSuffix(where, "/dashboard") {
		t.Fatalf("after registering: %q at %s", greeting, where)
	}
	cookie := cookieHeader()
	if !strings.Contains(cookie, "__Host-session=") || !strings.Contains(cookie, "__Secure-refresh=") {
		t.Fatalf("cookies after registering: %q", cookie)
	}
	// The name is in the HTML the server sends, not fetched by the browser.
	if status, _, body := get("/dashboard", cookie); status != http.StatusOK || !strings.Contains(body, "Ada Lovelace") || !strings.Contains(body, "ada@example.com") {
		t.Fatalf("server-rendered dashboard: %d, name in HTML %t", status, strings.Contains(body, "Ada Lovelace"))
	} else if !strings.Contains(body, `id="passkey-add" disabled=""`) {
		t.Errorf("the server's HTML draws the passkey button enabled: a click before hydration would be lost")
	}
	if path := os.Getenv("UPDATE_NEXTJS_SCREENSHOT"); path != "" {
		var png []byte
		step("screenshot", chromedp.CaptureScreenshot(&png))
		if err := os.WriteFile(filepath.Clean(path), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The button is drawn disabled until React has hydrated it: a click on
	// the server's HTML before then does nothing (CI once waited 90 s here;
	// the slow network makes that moment long enough to hit every time).
	step("add a passkey from the dashboard", chromedp.WaitEnabled("#passkey-add", chromedp.ByID), chromedp.Click("#passkey-add", chromedp.ByID),
		network.EmulateNetworkConditions(false, 0, -1, -1),
		chromedp.WaitVisible("#passkeys li", chromedp.ByQuery), chromedp.WaitVisible("#recovery-codes li", chromedp.ByQuery))
	var creds []*webauthn.Credential
	step("read the authenticator", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(authenticator).Do(ctx)
		return err
	}))
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential", creds)
	}
	cookie = cookieHeader() // registering a first factor renews the session

	greeting = ""
	step("reload", chromedp.Reload(), chromedp.WaitVisible("#greeting", chromedp.ByID), chromedp.Text("#greeting", &greeting, chromedp.ByID))
	if greeting != "Hello, Ada Lovelace" {
		t.Fatalf("after a reload: %q", greeting)
	}

	step("sign out through the server action",
		chromedp.Click("#sign-out", chromedp.ByID),
		chromedp.WaitVisible("#login-submit", chromedp.ByID),
		chromedp.Location(&where),
	)
	if !strings.Contains(where, "/login") {
		t.Fatalf("after signing out: at %s", where)
	}
	if c := cookieHeader(); c != "" {
		t.Errorf("cookies left after signing out: %q", c)
	}
	// The session is over at Portcullis: the old cookie passes the proxy's
	// optimistic check, and the dashboard's own check sends it to /login.
	if status, loc, body := get("/dashboard", cookie); status == http.StatusOK || !strings.Contains(loc+body, "/login") {
		t.Errorf("dashboard with the old cookie: %d %q", status, loc)
	}

	step("open the dashboard again",
		chromedp.Navigate(origin+"/dashboard"),
		chromedp.WaitVisible("#login-submit", chromedp.ByID),
		chromedp.Location(&where),
	)
	if !strings.Contains(where, "/login?next=%2Fdashboard") {
		t.Errorf("the dashboard without a session went to %s", where)
	}
	// That redirect is the proxy's: no cookie, no render.
	if status, loc, _ := get("/dashboard", ""); status != http.StatusTemporaryRedirect || loc != "/login?next=%2Fdashboard" {
		t.Errorf("proxy: GET /dashboard without a cookie = %d %q, want 307 to /login?next=%%2Fdashboard", status, loc)
	}
	// The login page: a passkey button, and the configured providers.
	var label string
	step("the login page lists the providers", chromedp.WaitVisible("#provider-mock", chromedp.ByID),
		chromedp.Text("#provider-mock", &label, chromedp.ByID), chromedp.WaitVisible("#passkey-signin", chromedp.ByID))
	if label != "Sign in with Mock" {
		t.Errorf("provider button %q", label)
	}

	greeting = ""
	step("sign in with the passkey", chromedp.Click("#passkey-signin", chromedp.ByID),
		chromedp.WaitVisible("#greeting", chromedp.ByID), chromedp.Text("#greeting", &greeting, chromedp.ByID), chromedp.Location(&where))
	if greeting != "Hello, Ada Lovelace" || !strings.HasSuffix(where, "/dashboard") {
		t.Fatalf("after the passkey: %q at %s", greeting, where)
	}
	cookie = cookieHeader()
	if status, _, body := get("/dashboard", cookie); status != http.StatusOK || !strings.Contains(body, "Ada Lovelace") {
		t.Fatalf("server-rendered dashboard after the passkey: %d, name in HTML %t", status, strings.Contains(body, "Ada Lovelace"))
	}
	if amr := sessionAMR(t, apiURL, cookie); amr != "webauthn aal 2" {
		t.Errorf("the passkey session at Portcullis: %s", amr)
	}

	// With a passkey, a password sign-in asks for the second step, which the
	// passkey completes (verifyMfa({webauthn: true})).
	step("sign out, then in with the password", chromedp.Click("#sign-out", chromedp.ByID), chromedp.WaitVisible("#login-submit", chromedp.ByID),
		chromedp.SendKeys(`input[name="email"]`, "ada@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="password"]`, "correct horse battery staple", chromedp.ByQuery),
		chromedp.Click("#login-submit", chromedp.ByID), chromedp.WaitVisible("#mfa-passkey", chromedp.ByID))
	if c := cookieHeader(); strings.Contains(c, "__Host-session=") {
		t.Fatalf("signed in before the second step: %q", c)
	}
	greeting = ""
	step("the second step with the passkey", chromedp.Click("#mfa-passkey", chromedp.ByID),
		chromedp.WaitVisible("#greeting", chromedp.ByID), chromedp.Text("#greeting", &greeting, chromedp.ByID))
	if amr := sessionAMR(t, apiURL, cookieHeader()); greeting != "Hello, Ada Lovelace" || amr != "pwd,webauthn aal 2" {
		t.Fatalf("after the second step: %q, session %s", greeting, amr)
	}

	step("sign out again", chromedp.Click("#sign-out", chromedp.ByID), chromedp.WaitVisible("#provider-mock", chromedp.ByID))
	var who string
	step("Sign in with Mock goes to the provider's page", chromedp.Click("#provider-mock", chromedp.ByID),
		chromedp.WaitVisible("#consent", chromedp.ByID), chromedp.Location(&where), chromedp.Text("#who", &who, chromedp.ByID))
	if !strings.HasPrefix(where, provider.Issuer+"/authorize?") || who != "mock@example.com" {
		t.Fatalf("at %q showing %q, want the provider's consent page", where, who)
	}
	greeting = ""
	step("consent at the provider", chromedp.Click("#consent", chromedp.ByID),
		chromedp.WaitVisible("#greeting", chromedp.ByID), chromedp.Text("#greeting", &greeting, chromedp.ByID), chromedp.Location(&where))
	if greeting != "Hello, Mock User" || !strings.HasSuffix(where, "/dashboard") {
		t.Fatalf("after the provider: %q at %s", greeting, where)
	}
	if amr := sessionAMR(t, apiURL, cookieHeader()); amr != "oidc aal 1" {
		t.Errorf("the provider's session at Portcullis: %s", amr)
	}

	// "Delete my account" with step-up, as a password user without a factor:
	// a wrong password is refused and deletes nothing; the right one
	// deletes the account and lands on /login.
	const gracePassword = "a long enough password for grace"
	greeting = ""
	step("sign out, register Grace", chromedp.Click("#sign-out", chromedp.ByID), chromedp.WaitVisible("#login-submit", chromedp.ByID),
		chromedp.Navigate(origin+"/register"), chromedp.WaitVisible("#register-submit", chromedp.ByID),
		chromedp.SendKeys("#name", "Grace Hopper", chromedp.ByID),
		chromedp.SendKeys("#email", "grace@example.com", chromedp.ByID),
		chromedp.SendKeys("#password", gracePassword, chromedp.ByID),
		chromedp.Click("#register-submit", chromedp.ByID),
		chromedp.WaitVisible("#greeting", chromedp.ByID), chromedp.Text("#greeting", &greeting, chromedp.ByID))
	if greeting != "Hello, Grace Hopper" {
		t.Fatalf("after registering Grace: %q", greeting)
	}
	step("delete with a wrong password", chromedp.WaitEnabled("#delete-password", chromedp.ByID), chromedp.SendKeys("#delete-password", "not grace's password at all", chromedp.ByID),
		chromedp.Click("#delete-account", chromedp.ByID), chromedp.WaitVisible("#delete-error", chromedp.ByID))
	cookie = cookieHeader()
	if status, _, body := get("/dashboard", cookie); status != http.StatusOK || !strings.Contains(body, "Grace Hopper") {
		t.Fatalf("after a refused deletion the dashboard answers %d, name in HTML %t", status, strings.Contains(body, "Grace Hopper"))
	}
	step("delete my account", chromedp.Reload(), chromedp.WaitEnabled("#delete-password", chromedp.ByID),
		chromedp.SendKeys("#delete-password", gracePassword, chromedp.ByID),
		chromedp.Click("#delete-account", chromedp.ByID), chromedp.WaitVisible("#login-submit", chromedp.ByID), chromedp.Location(&where))
	if !strings.Contains(where, "/login") {
		t.Fatalf("after deleting the account: at %s", where)
	}
	if c := cookieHeader(); c != "" {
		t.Errorf("cookies left after deleting the account: %q", c)
	}
	if status, loc, body := get("/dashboard", cookie); status == http.StatusOK || !strings.Contains(loc+body, "/login") {
		t.Errorf("dashboard with the deleted account's cookie: %d %q", status, loc)
	}
	step("the dashboard sends the browser to /login", chromedp.Navigate(origin+"/dashboard"),
		chromedp.WaitVisible("#login-submit", chromedp.ByID), chromedp.Location(&where))
	if !strings.Contains(where, "/login") {
		t.Errorf("the dashboard after deletion went to %s", where)
	}
	var refused string
	step("signing in with the old password fails",
		chromedp.SendKeys(`input[name="email"]`, "grace@example.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="password"]`, gracePassword, chromedp.ByQuery),
		chromedp.Click("#login-submit", chromedp.ByID), chromedp.WaitVisible("p.error", chromedp.ByQuery),
		chromedp.Text("p.error", &refused, chromedp.ByQuery), chromedp.Location(&where))
	if strings.Contains(where, "/dashboard") || refused == "" {
		t.Errorf("signing in as the deleted Grace: at %s, message %q", where, refused)
	}
	// At Portcullis itself: the address has no account any more.
	resp, err := http.Post(apiURL+"/auth/login", "application/json",
		strings.NewReader(`{"email":"grace@example.com","password":"`+gracePassword+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /auth/login as the deleted Grace: %d, want 401", resp.StatusCode)
	}
}

// sessionAMR asks Portcullis directly how the session with these cookies signed in.
func sessionAMR(t *testing.T, apiURL, cookie string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, apiURL+"/auth/me", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct {
		Session struct {
			AMR []string `json:"amr"`
			AAL int      `json:"aal"`
		} `json:"session"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/me: %d %v", resp.StatusCode, err)
	}
	return fmt.Sprintf("%s aal %d", strings.Join(me.Session.AMR, ","), me.Session.AAL)
}
