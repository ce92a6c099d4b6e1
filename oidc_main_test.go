package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
)

// TestProviderDownAtStartStopsNothing: with its OpenID provider down,
// Portcullis starts, warns once naming the provider (and no secret), serves
// everything else, and answers that provider's sign-in 503 (retried later:
// TestOIDCProviderDownAtStart in package api shows it working once back).
func TestProviderDownAtStartStopsNothing(t *testing.T) {
	p := apitest.NewOIDCProvider(t)
	p.Down.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vars := p.Env("mock", "Mock")
	base, stderr, _ := startRun(t, ctx, vars)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "oidc provider discovery failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no discovery warning:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(stderr.String(), p.ClientSecret) {
		t.Fatal("the client secret reached the log")
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/auth/oidc": 200, "/auth/oidc/mock": 503} {
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}
