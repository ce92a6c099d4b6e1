package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/mail/mailtest"
	"github.com/portcullis-auth/portcullis/token"
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
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("browser tests skipped: Chromium not found (apt-get install chromium); .ci/run installs it")
	return ""
}

// stack is Portcullis, the SPA and a foreign page, each on its own
// localhost port (so its own origin), and a headless Chromium.
type stack struct {
	t                    *testing.T
	exe                  string
	apiURL, spaURL, evil string
	browser              context.Context
	openapi              []byte
}

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

func newStack(t *testing.T, env map[string]string, opts ...func(*api.Deps)) *stack {
	t.Helper()
	exe := chromium(t)
	apiLn, apiURL := listen(t)
	spaLn, spaURL := listen(t)
	evilLn, evilURL := listen(t)

	// AUTH_PUBLIC_URL: providers send the browser back to this Portcullis.
	vars := map[string]string{"AUTH_ALLOWED_ORIGINS": spaURL, "AUTH_PUBLIC_URL": apiURL}
	if o := os.Getenv("E2E_ALLOWED_ORIGINS"); o != "" {
		vars["AUTH_ALLOWED_ORIGINS"] = o // for checking that a wrong value makes these tests fail
	}
	for k, v := range env {
		vars[k] = v
	}
	spec, err := os.ReadFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The flows are under test, not what hashing costs (see CheapHashing).
	router := apitest.Router(t, vars, append([]func(*api.Deps){apitest.CheapHashing, func(d *api.Deps) { d.OpenAPI = spec }}, opts...)...)
	go func() { _ = http.Serve(apiLn, router) }()
	go func() { _ = http.Serve(spaLn, newHandler(apiURL)) }()
	go func() { _ = http.Serve(evilLn, foreignPage(apiURL)) }()

	st := &stack{t: t, exe: exe, apiURL: apiURL, spaURL: spaURL, evil: evilURL, openapi: spec}
	st.browser = st.newBrowser(ctx)
	return st
}

// newBrowser starts a headless Chromium with a fresh profile, as the machine
// notes advise: no sandbox (root), no GPU, no background networking.
func (s *stack) newBrowser(ctx context.Context) context.Context {
	t := s.t
	t.Helper()
	// Chromium may still be writing to its profile as it exits, so the
	// profile is removed best-effort rather than by t.TempDir.
	profile, err := os.MkdirTemp("", "portcullis-e2e-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(s.exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1100, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Run(browser); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return browser
}

// foreignPage is a page on an unlisted origin that tries to log its visitor
// out of Portcullis with the visitor's cookies.
func foreignPage(apiURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>foreign</title><p id="result">pending</p><script>
fetch(%q + "/auth/logout?scope=global", {method: "POST", credentials: "include"})
  .then(r => document.getElementById("result").textContent = "status " + r.status)
  .catch(e => document.getElementById("result").textContent = "blocked: " + e.name);
</script>`, apiURL)
	})
}

// tab opens a tab in the stack's browser, or with isolated in a browser of
// its own (another device, with its own cookies).
func (s *stack) tab(isolated bool) context.Context {
	s.t.Helper()
	parent := s.browser
	if isolated {
		parent = s.newBrowser(context.Background())
	}
	ctx, cancel := chromedp.NewContext(parent)
	s.t.Cleanup(cancel)
	// Open the tab now, with the tab's own context: the first Run binds the
	// tab's lifetime to the context it is given.
	if err := chromedp.Run(ctx); err != nil {
		s.t.Fatalf("open a tab: %v", err)
	}
	s.t.Cleanup(func() { s.screenshotOnFailure(ctx) })
	return ctx
}

// screenshotOnFailure saves what the tab showed when the test failed.
func (s *stack) screenshotOnFailure(ctx context.Context) {
	if !s.t.Failed() || ctx.Err() != nil {
		return
	}
	var png []byte
	shotCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(shotCtx, chromedp.FullScreenshot(&png, 100)); err != nil {
		s.t.Logf("no screenshot: %v", err)
		return
	}
	dir, err := os.MkdirTemp("", "portcullis-e2e-")
	if err != nil {
		return
	}
	path := filepath.Join(dir, strings.ReplaceAll(s.t.Name(), "/", "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err == nil {
		s.t.Logf("screenshot of the failure: %s", path)
	}
}

func (s *stack) run(ctx context.Context, what string, actions ...chromedp.Action) {
	s.t.Helper()
	// Each step gets its own deadline, so a failure leaves the tab usable
	// for the screenshot.
	stepCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(stepCtx, actions...); err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

func (s *stack) register(ctx context.Context, name, email string) {
	s.t.Helper()
	s.signIn(ctx, "register", email, "#register-name", name, "#register-email", email, "#register-password", password)
}

func (s *stack) login(ctx context.Context, email string) {
	s.t.Helper()
	s.signIn(ctx, "login", email, "#login-email", email, "#login-password", password)
}

const password = "correct horse battery staple"

// signIn fills the SPA's form (register or login) with field, value pairs,
// submits it, and expects the panel to show email.
func (s *stack) signIn(ctx context.Context, form, email string, fields ...string) {
	s.t.Helper()
	actions := []chromedp.Action{chromedp.Navigate(s.spaURL), chromedp.WaitVisible("#signed-out", chromedp.ByID)}
	for i := 0; i+1 < len(fields); i += 2 {
		actions = append(actions, chromedp.SendKeys(fields[i], fields[i+1], chromedp.ByID))
	}
	actions = append(actions, chromedp.Click("#"+form+"-submit", chromedp.ByID), chromedp.WaitVisible("#signed-in", chromedp.ByID))
	s.run(ctx, form+" through the SPA", actions...)
	s.expectSignedIn(ctx, email)
}

func (s *stack) expectSignedIn(ctx context.Context, email string) {
	s.t.Helper()
	var shown string
	s.run(ctx, "read the who-am-I panel", chromedp.WaitVisible("#signed-in", chromedp.ByID), chromedp.Text("#me-email", &shown, chromedp.ByID))
	if shown != email {
		s.t.Fatalf("panel shows %q, want %q", shown, email)
	}
}

// cookies returns the browser's cookies for Portcullis by name.
func (s *stack) cookies(ctx context.Context) map[string]*network.Cookie {
	s.t.Helper()
	var got []*network.Cookie
	s.run(ctx, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		got, err = network.GetCookies().WithURLs([]string{s.apiURL + "/auth/refresh"}).Do(ctx)
		return err
	}))
	out := map[string]*network.Cookie{}
	for _, c := range got {
		out[c.Name] = c
	}
	return out
}

func TestSPARegisterLoginReloadLogout(t *testing.T) {
	s := newStack(t, nil)
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	ck := s.cookies(ctx)
	for _, name := range []string{"__Host-session", "__Secure-refresh"} {
		if c := ck[name]; c == nil || !c.HTTPOnly || !c.Secure {
			t.Errorf("cookie %s = %+v, want HttpOnly and Secure", name, c)
		}
	}
	s.run(ctx, "reload", chromedp.Reload())
	s.expectSignedIn(ctx, "ada@example.com")

	s.run(ctx, "sign out", chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	if ck := s.cookies(ctx); len(ck) != 0 {
		t.Errorf("cookies left after logout: %v", ck)
	}
	var sessions string
	s.run(ctx, "read the cleared panel", chromedp.Text("#sessions", &sessions, chromedp.ByID, chromedp.NodeReady))
	if sessions != "" {
		t.Errorf("sessions list still shows %q", sessions)
	}
	s.run(ctx, "reload signed out", chromedp.Reload(), chromedp.WaitVisible("#signed-out", chromedp.ByID))

	s.login(ctx, "ada@example.com")
	if path := os.Getenv("UPDATE_SPA_SCREENSHOT"); path != "" {
		var png []byte
		s.run(ctx, "screenshot", chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSPARefreshesTransparently(t *testing.T) {
	s := newStack(t, map[string]string{"AUTH_ACCESS_TTL": "1s"})
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	before := s.cookies(ctx)["__Secure-refresh"]
	time.Sleep(2500 * time.Millisecond) // the access cookie and token are now gone
	// The panel is cleared first, so what it shows afterwards is fresh.
	s.run(ctx, "check again after expiry",
		chromedp.Evaluate(`document.getElementById("me-email").textContent = ""`, nil),
		chromedp.Click("#check", chromedp.ByID),
		chromedp.Poll(`document.getElementById("me-email").textContent !== "" || !document.getElementById("signed-out").hidden`, nil),
	)
	s.expectSignedIn(ctx, "ada@example.com")
	after := s.cookies(ctx)["__Secure-refresh"]
	if before == nil || after == nil || before.Value == after.Value {
		t.Error("the SPA did not refresh the session")
	}
	s.run(ctx, "reload after expiry", chromedp.Sleep(1500*time.Millisecond), chromedp.Reload())
	s.expectSignedIn(ctx, "ada@example.com")
}

func TestSPASignOutAnotherDevice(t *testing.T) {
	s := newStack(t, nil)
	laptop := s.tab(false)
	phone := s.tab(true)
	s.register(laptop, "Ada Lovelace", "ada@example.com")
	s.login(phone, "ada@example.com")
	s.run(laptop, "sign out the phone from the laptop",
		chromedp.Click("#check", chromedp.ByID),
		chromedp.WaitVisible("#sessions button.revoke", chromedp.ByQuery),
		chromedp.Click("#sessions button.revoke", chromedp.ByQuery),
		chromedp.WaitNotPresent("#sessions button.revoke", chromedp.ByQuery),
	)
	s.run(phone, "the phone is signed out", chromedp.Click("#check", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	s.run(laptop, "the laptop is not", chromedp.Reload())
	s.expectSignedIn(laptop, "ada@example.com")
}

func TestForeignOriginCannotLogOut(t *testing.T) {
	s := newStack(t, nil)
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	var result string
	s.run(ctx, "visit the foreign page",
		chromedp.Navigate(s.evil),
		chromedp.Poll(`document.getElementById("result").textContent !== "pending"`, nil),
		chromedp.Text("#result", &result, chromedp.ByID),
	)
	if result == "status 204" {
		t.Fatalf("the foreign page logged the user out: %s", result)
	}
	t.Logf("foreign page saw: %s", result)
	s.run(ctx, "back to the SPA", chromedp.Navigate(s.spaURL))
	s.expectSignedIn(ctx, "ada@example.com")
}

func TestSwaggerUI(t *testing.T) {
	s := newStack(t, nil)
	doc, err := openapi3.NewLoader().LoadFromData(s.openapi)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, item := range doc.Paths.Map() {
		want += len(item.Operations())
	}
	resp, err := http.Post(s.apiURL+"/auth/register", "application/json",
		strings.NewReader(`{"email":"ada@example.com","password":"correct horse battery staple","name":"Ada"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("register: %v %v", resp, err)
	}
	resp.Body.Close()

	ctx := s.tab(false)
	var ops int
	s.run(ctx, "open Swagger UI",
		chromedp.Navigate(s.apiURL+"/swagger/index.html"),
		chromedp.WaitVisible(".opblock", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll(".opblock").length`, &ops),
	)
	if ops != want {
		t.Errorf("Swagger UI shows %d operations, openapi.yaml has %d", ops, want)
	}
	var title, description string
	s.run(ctx, "read the page's title and the API's description",
		chromedp.Title(&title),
		chromedp.Text(".info .description", &description, chromedp.ByQuery),
	)
	if title != "Portcullis API" || !strings.Contains(description, "Portcullis signs users in") || !strings.Contains(description, "token_expired") {
		t.Errorf("Swagger UI: title %q, description %.200q; want the API's own", title, description)
	}
	if path := os.Getenv("UPDATE_SWAGGER_SCREENSHOT"); path != "" {
		var png []byte
		s.run(ctx, "screenshot Swagger UI",
			chromedp.EmulateViewport(1280, 1000),
			chromedp.ScrollIntoView(".information-container", chromedp.ByQuery),
			chromedp.CaptureScreenshot(&png))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Swagger UI names each operation's block after its operationId.
	login := `[id$="-login"]`
	me := `[id$="-getMe"]`
	var loginStatus, meStatus string
	s.run(ctx, "try out POST /auth/login",
		chromedp.Click(login+" .opblock-summary", chromedp.ByQuery),
		chromedp.Click(login+" .try-out__btn", chromedp.ByQuery),
		chromedp.WaitVisible(login+" textarea.body-param__text", chromedp.ByQuery),
		chromedp.Evaluate(`(() => {
			const ta = document.querySelector('`+login+` textarea.body-param__text');
			const set = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
			set.call(ta, JSON.stringify({email: "ada@example.com", password: "correct horse battery staple"}));
			ta.dispatchEvent(new Event("input", {bubbles: true}));
		})()`, nil),
		chromedp.Click(login+" .execute", chromedp.ByQuery),
		chromedp.WaitVisible(login+" .live-responses-table tbody .response-col_status", chromedp.ByQuery),
		chromedp.Text(login+" .live-responses-table tbody .response-col_status", &loginStatus, chromedp.ByQuery),
	)
	s.run(ctx, "then GET /auth/me",
		chromedp.Click(me+" .opblock-summary", chromedp.ByQuery),
		chromedp.Click(me+" .try-out__btn", chromedp.ByQuery),
		chromedp.Click(me+" .execute", chromedp.ByQuery),
		chromedp.WaitVisible(me+" .live-responses-table tbody .response-col_status", chromedp.ByQuery),
		chromedp.Text(me+" .live-responses-table tbody .response-col_status", &meStatus, chromedp.ByQuery),
	)
	if !strings.HasPrefix(strings.TrimSpace(loginStatus), "200") || !strings.HasPrefix(strings.TrimSpace(meStatus), "200") {
		t.Errorf("in Swagger UI: login answered %q, me answered %q; want 200 both", loginStatus, meStatus)
	}
}

// TestSPAForgotPassword drives the whole recovery in Chromium: the forgot
// page, the mail (a real SMTP server), its link to the SPA's reset page
// (opening it spends nothing), a new password, and signing in with it.
func TestSPAForgotPassword(t *testing.T) {
	smtp := mailtest.Start(t)
	s := newStack(t, nil, apitest.WithMail(t, smtp.URL()))
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	s.run(ctx, "sign out", chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	var said string
	s.run(ctx, "ask for a reset link",
		chromedp.Click("#forgot-link", chromedp.ByID),
		chromedp.WaitVisible("#page-forgot-password", chromedp.ByID),
		chromedp.SendKeys("#forgot-email", "ada@example.com", chromedp.ByID),
		chromedp.Click("#forgot-submit", chromedp.ByID),
		chromedp.WaitVisible("#status", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#status").textContent.length > 0`, nil),
		chromedp.Text("#status", &said, chromedp.ByID),
	)
	if !strings.Contains(said, "reset link is on its way") {
		t.Fatalf("after asking: %q", said)
	}
	var reset mailtest.Message
	for n := 1; ; n++ {
		if reset = smtp.Wait("ada@example.com", n); reset.Subject == "Reset your password" {
			break
		}
	}
	link, _ := reset.Link()
	if !strings.HasPrefix(link, s.spaURL+"/reset-password?token=") {
		t.Fatalf("the link %q does not open the SPA", link)
	}
	s.run(ctx, "open the link and set a new password",
		chromedp.Navigate(link),
		chromedp.Reload(), // a second GET of the page still spends nothing
		chromedp.WaitVisible("#page-reset-password", chromedp.ByID),
		chromedp.SendKeys("#reset-password", "a brand new passphrase", chromedp.ByID),
		chromedp.Click("#reset-submit", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#status").textContent.includes("password is changed")`, nil),
	)
	s.signIn(ctx, "login", "ada@example.com", "#login-email", "ada@example.com", "#login-password", "a brand new passphrase")
}

// TestSPATwoStepSignIn turns on an authenticator app in Chromium (key, first
// code, ten recovery codes shown once), signs out, and signs in again: the
// password alone leads to the second step, and a code from the app finishes it.
func TestSPATwoStepSignIn(t *testing.T) {
	keys, err := token.NewKeyRing(token.GenerateKey("data-1"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, nil, func(d *api.Deps) { d.DataKeys = keys })
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")

	var secret, qr string
	var ok bool
	s.run(ctx, "start adding an authenticator app",
		chromedp.Click("#totp-start", chromedp.ByID),
		chromedp.WaitVisible("#totp-form", chromedp.ByID),
		chromedp.Text("#totp-secret", &secret, chromedp.ByID),
		chromedp.AttributeValue("#totp-qr", "src", &qr, &ok, chromedp.ByID),
	)
	if len(secret) < 16 || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Fatalf("enrolment shows secret %q and QR %.40q", secret, qr)
	}
	if path := os.Getenv("UPDATE_MFA_SCREENSHOT"); path != "" {
		var png []byte
		s.run(ctx, "screenshot", chromedp.FullScreenshot(&png, 100))
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	first := apitest.TOTP(t, secret, now)
	var codes []string
	s.run(ctx, "confirm the app with its first code",
		chromedp.SendKeys("#totp-code", first, chromedp.ByID),
		chromedp.Click("#totp-verify", chromedp.ByID),
		chromedp.WaitVisible("#recovery", chromedp.ByID),
		chromedp.Evaluate(`[...document.querySelectorAll("#recovery-codes li")].map(li => li.textContent)`, &codes),
	)
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q, want 10", codes)
	}

	s.run(ctx, "sign out", chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	s.run(ctx, "the password leads to the second step",
		chromedp.Navigate(s.spaURL), chromedp.WaitVisible("#signed-out", chromedp.ByID),
		chromedp.SendKeys("#login-email", "ada@example.com", chromedp.ByID),
		chromedp.SendKeys("#login-password", password, chromedp.ByID),
		chromedp.Click("#login-submit", chromedp.ByID),
		chromedp.WaitVisible("#mfa-form", chromedp.ByID),
	)
	if ck := s.cookies(ctx); ck["__Host-session"] != nil {
		t.Fatal("the password alone set a session cookie")
	}
	// The code of the next time step: the first one is spent.
	next := apitest.TOTP(t, secret, now.Add(30*time.Second))
	s.run(ctx, "enter the app's code",
		chromedp.SendKeys("#mfa-code", next, chromedp.ByID),
		chromedp.Click("#mfa-submit", chromedp.ByID),
		chromedp.WaitVisible("#signed-in", chromedp.ByID),
	)
	s.expectSignedIn(ctx, "ada@example.com")
	// Signed in again: the state is shown, the codes shown once are not.
	var state string
	var shown int
	s.run(ctx, "read the two-step panel",
		chromedp.Poll(`document.querySelector("#mfa-state").textContent.includes("is on")`, nil),
		chromedp.Text("#mfa-state", &state, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#recovery-codes li").length + (document.querySelector("#recovery").hidden ? 0 : 100)`, &shown),
	)
	if !strings.Contains(state, "10 recovery codes left") || shown != 0 {
		t.Errorf("after signing in again: state %q, recovery codes still shown (%d)", state, shown)
	}
}

// TestSPAConfirmsTheAddress opens the verification link of the registration
// mail in Chromium and confirms: the success is not shown in the error
// colour, and the confirm button is gone (the token is spent).
func TestSPAConfirmsTheAddress(t *testing.T) {
	smtp := mailtest.Start(t)
	s := newStack(t, nil, apitest.WithMail(t, smtp.URL()))
	ctx := s.tab(false)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	var verify mailtest.Message
	for n := 1; ; n++ {
		if verify = smtp.Wait("ada@example.com", n); strings.Contains(verify.Text, "/verify-email?token=") {
			break
		}
	}
	link, _ := verify.Link()
	var said, colour string
	var buttonShown bool
	s.run(ctx, "open the link and confirm",
		chromedp.Navigate(link),
		chromedp.WaitVisible("#verify-submit", chromedp.ByID),
		chromedp.Click("#verify-submit", chromedp.ByID),
		chromedp.Poll(`document.querySelector("#status").textContent.includes("confirmed")`, nil),
		chromedp.Text("#status", &said, chromedp.ByID),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("#status")).color`, &colour),
		chromedp.Evaluate(`document.querySelector("#verify-submit").offsetParent !== null`, &buttonShown),
	)
	if colour == "rgb(180, 35, 24)" || buttonShown {
		t.Errorf("after confirming (%q): colour %s (the error red is rgb(180, 35, 24)), button still shown %v", said, colour, buttonShown)
	}
}
