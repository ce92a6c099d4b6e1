package main

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-auth/portcullis/api"
)

// testClock is Portcullis's clock in a test: it stands still until moved.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

// virtualAuthenticator gives the tab Chromium's virtual authenticator (a
// platform authenticator holding discoverable credentials, verifying its
// user), so navigator.credentials works headless.
func (s *stack) virtualAuthenticator(ctx context.Context) webauthn.AuthenticatorID {
	s.t.Helper()
	var id webauthn.AuthenticatorID
	s.run(ctx, "add a virtual authenticator", webauthn.Enable(), chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		id, err = webauthn.AddVirtualAuthenticator(&webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		}).Do(ctx)
		return err
	}))
	return id
}

// TestSPAPasskey: register through the SPA, add a passkey, sign out, sign in
// with the passkey alone (a session with amr webauthn at aal 2), and
// screenshot the signed-in page.
func TestSPAPasskey(t *testing.T) {
	clock := &testClock{at: time.Now().UTC().Truncate(time.Millisecond)}
	s := newStack(t, nil, func(d *api.Deps) { d.Now = clock.Now })
	ctx := s.tab(false)
	authenticator := s.virtualAuthenticator(ctx)
	s.register(ctx, "Ada Lovelace", "ada@example.com")
	s.run(ctx, "add a passkey", chromedp.Click("#passkey-add", chromedp.ByID),
		chromedp.WaitVisible("#passkeys li", chromedp.ByQuery), chromedp.WaitVisible("#recovery", chromedp.ByID))
	var creds []*webauthn.Credential
	s.run(ctx, "read the authenticator", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		creds, err = webauthn.GetCredentials(authenticator).Do(ctx)
		return err
	}))
	if len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential", creds)
	}

	s.run(ctx, "sign out", chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	if ck := s.cookies(ctx); len(ck) != 0 {
		t.Fatalf("cookies left after logout: %v", ck)
	}
	s.run(ctx, "reload signed out", chromedp.Reload(), chromedp.WaitVisible("#signed-out", chromedp.ByID))
	s.run(ctx, "sign in with the passkey", chromedp.Click("#passkey-signin", chromedp.ByID), chromedp.WaitVisible("#signed-in", chromedp.ByID))
	s.expectSignedIn(ctx, "ada@example.com")
	var how string
	s.run(ctx, "read the session", chromedp.Evaluate(
		`fetch(window.PORTCULLIS_API + "/auth/me", {credentials: "include"}).then((r) => r.json()).then((b) => b.session.amr.join(",") + " aal " + b.session.aal)`,
		&how, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if how != "webauthn aal 2" {
		t.Errorf("the passkey session: %s", how)
	}
	s.run(ctx, "the passkey listed", chromedp.WaitVisible("#passkeys li", chromedp.ByQuery))
	var png []byte
	s.run(ctx, "screenshot", chromedp.FullScreenshot(&png, 100))
	if path := os.Getenv("UPDATE_PASSKEY_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The rest of the client's passkey methods, in the page: rename; once
	// the session is past the reauthentication window, removing is refused
	// until the user steps up with the passkey.
	page := func(what, script string) string {
		var got string
		s.run(ctx, what, chromedp.Evaluate(`(async () => {
			const { createClient } = await import("/client/index.js");
			const c = createClient({ baseUrl: window.PORTCULLIS_API });
			const [p] = await c.listPasskeys();
			`+script+`
		})()`, &got, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
		return got
	}
	if got := page("rename the passkey", `return (await c.renamePasskey(p.id, "Work laptop")).name + " " + (await c.listPasskeys())[0].name;`); got != "Work laptop Work laptop" {
		t.Errorf("rename: %q", got)
	}
	clock.Add(11 * time.Minute) // past AUTH_REAUTH_WINDOW, within AUTH_ACCESS_TTL
	got := page("remove it, stepping up with the passkey", `
			const refused = await c.removePasskey(p.id).then(() => "removed", (e) => e.code);
			const session = await c.reauthenticateWithPasskey();
			await c.removePasskey(p.id);
			return [refused, session.authTime, (await c.listPasskeys()).length].join(" ");`)
	if want := "reauthentication_required " + clock.Now().Format("2006-01-02T15:04:05.000Z") + " 0"; got != want {
		t.Errorf("remove, reauthenticate, remove: %q, want %q", got, want)
	}
}
