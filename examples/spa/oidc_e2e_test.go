package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/token"
)

// TestSPASignInWithProvider: the SPA lists the configured providers;
// "Sign in with Mock" goes to the test provider's own page (a real OpenID
// provider on loopback), and consenting there lands back on the SPA signed
// in, with the session cookies set and the flow cookie gone.
func TestSPASignInWithProvider(t *testing.T) {
	p := apitest.NewOIDCProvider(t)
	p.SignInAs(apitest.OIDCUser{Subject: "spa-user", Email: "mock@example.com", EmailVerified: true, Name: "Mock User"})
	s := newStack(t, p.Env("mock", "Mock"))
	ctx := s.tab(false)

	var label, href string
	var ok bool
	s.run(ctx, "the SPA lists the providers", chromedp.Navigate(s.spaURL), chromedp.WaitVisible("#provider-mock", chromedp.ByID),
		chromedp.Text("#provider-mock", &label, chromedp.ByID), chromedp.AttributeValue("#provider-mock", "href", &href, &ok, chromedp.ByID))
	if label != "Sign in with Mock" || !strings.HasPrefix(href, s.apiURL+"/auth/oidc/mock?redirectTo=") {
		t.Fatalf("provider link %q → %q", label, href)
	}

	var at, who string
	s.run(ctx, "Sign in with Mock goes to the provider's page", chromedp.Click("#provider-mock", chromedp.ByID),
		chromedp.WaitVisible("#consent", chromedp.ByID), chromedp.Location(&at), chromedp.Text("#who", &who, chromedp.ByID))
	if !strings.HasPrefix(at, p.Issuer+"/authorize?") || who != "mock@example.com" {
		t.Fatalf("at %q showing %q, want the provider's consent page", at, who)
	}
	if ck := s.cookies(ctx); ck["__Host-session"] != nil {
		t.Fatal("signed in before consenting at the provider")
	}

	s.run(ctx, "consent at the provider", chromedp.Click("#consent", chromedp.ByID), chromedp.WaitVisible("#signed-in", chromedp.ByID), chromedp.Location(&at))
	if at != s.spaURL+"/" {
		t.Fatalf("landed on %q, want the SPA", at)
	}
	s.expectSignedIn(ctx, "mock@example.com")
	ck := s.cookies(ctx)
	if c := ck["__Host-session"]; c == nil || !c.HTTPOnly {
		t.Fatalf("session cookie %+v", c)
	}
	var flow []*network.Cookie
	s.run(ctx, "read the flow cookie", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		flow, err = network.GetCookies().WithURLs([]string{s.apiURL + "/auth/oidc/mock/callback"}).Do(ctx)
		return err
	}))
	for _, c := range flow {
		if c.Name == "__Secure-oidc-flow" {
			t.Fatal("the flow cookie outlived the callback")
		}
	}
	s.run(ctx, "reload signed in", chromedp.Reload())
	s.expectSignedIn(ctx, "mock@example.com")
}

// TestSPAProviderSecondStep: a user with an authenticator app who signs in
// with a provider comes back without a session, the second step in the
// fragment; the SPA asks for the code (client.providerReturn makes it the
// pending step) and the code signs in.
func TestSPAProviderSecondStep(t *testing.T) {
	keys, err := token.NewKeyRing(token.GenerateKey("data-1"))
	if err != nil {
		t.Fatal(err)
	}
	p := apitest.NewOIDCProvider(t)
	p.SignInAs(apitest.OIDCUser{Subject: "spa-mfa", Email: "mock@example.com", EmailVerified: true, Name: "Mock User"})
	s := newStack(t, p.Env("mock", "Mock"), func(d *api.Deps) { d.DataKeys = keys })
	ctx := s.tab(false)
	signInWithMock := func(then string) {
		s.run(ctx, "sign in with Mock", chromedp.Navigate(s.spaURL), chromedp.WaitVisible("#provider-mock", chromedp.ByID),
			chromedp.Click("#provider-mock", chromedp.ByID), chromedp.WaitVisible("#consent", chromedp.ByID),
			chromedp.Click("#consent", chromedp.ByID), chromedp.WaitVisible(then, chromedp.ByID))
	}
	signInWithMock("#signed-in")
	var secret string
	s.run(ctx, "add an authenticator app", chromedp.Click("#totp-start", chromedp.ByID),
		chromedp.WaitVisible("#totp-form", chromedp.ByID), chromedp.Text("#totp-secret", &secret, chromedp.ByID))
	now := time.Now()
	s.run(ctx, "confirm it", chromedp.SendKeys("#totp-code", apitest.TOTP(t, secret, now), chromedp.ByID),
		chromedp.Click("#totp-verify", chromedp.ByID), chromedp.WaitVisible("#recovery", chromedp.ByID))
	s.run(ctx, "sign out", chromedp.Click("#logout", chromedp.ByID), chromedp.WaitVisible("#signed-out", chromedp.ByID))

	signInWithMock("#mfa-form")
	var at string
	s.run(ctx, "the address bar", chromedp.Location(&at))
	if at != s.spaURL+"/" {
		t.Errorf("the second step's token is still in the address bar: %s", at)
	}
	if ck := s.cookies(ctx); ck["__Host-session"] != nil {
		t.Fatal("the provider alone set a session cookie")
	}
	s.run(ctx, "enter the app's code", chromedp.SendKeys("#mfa-code", apitest.TOTP(t, secret, now.Add(30*time.Second)), chromedp.ByID),
		chromedp.Click("#mfa-submit", chromedp.ByID), chromedp.WaitVisible("#signed-in", chromedp.ByID))
	s.expectSignedIn(ctx, "mock@example.com")
}
