package tokengrant_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/examples/tokengrant"
	"github.com/portcullis-auth/portcullis/token"
)

// TestSignInWithTheSecondStep: a user with an authenticator app signs in
// through golang.org/x/oauth2 (password grant → mfa_required → Exchange with
// grant_type=mfa_otp) and the token works; a wrong code is refused.
func TestSignInWithTheSecondStep(t *testing.T) {
	keys, err := token.NewKeyRing(token.GenerateKey("data-1"))
	if err != nil {
		t.Fatal(err)
	}
	// This test is about the grant: it hashes cheaply (see CheapHashing).
	srv := httptest.NewServer(apitest.Router(t, map[string]string{"AUTH_COOKIE_SECURE": "false"}, apitest.CheapHashing, func(d *api.Deps) {
		d.DataKeys = keys
	}))
	defer srv.Close()
	ctx := context.Background()
	call := func(method, path, bearer string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	const email, password = "ada@example.com", "correct horse battery staple"
	call("POST", "/auth/register", "", map[string]any{"email": email, "password": password, "name": "Ada"})
	first, err := tokengrant.SignIn(ctx, srv.URL, email, password, nil)
	if err != nil {
		t.Fatalf("before a factor: %v", err)
	}
	enrol := call("POST", "/auth/mfa/totp", first.AccessToken, map[string]any{})
	secret := enrol["secret"].(string)
	factor := enrol["factor"].(map[string]any)["id"].(string)
	call("POST", "/auth/mfa/totp/"+url.PathEscape(factor)+"/verify", first.AccessToken, map[string]any{"code": apitest.TOTP(t, secret, time.Now())})

	if _, err := tokengrant.SignIn(ctx, srv.URL, email, password, func() (string, error) { return "000000", nil }); err == nil ||
		!strings.Contains(err.Error(), "invalid_code") {
		t.Errorf("a wrong code: %v, want invalid_code", err)
	}
	tok, err := tokengrant.SignIn(ctx, srv.URL, email, password, func() (string, error) {
		return apitest.TOTP(t, secret, time.Now().Add(30*time.Second)), nil // the next step: this one is spent
	})
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("the second step: %v, %+v", err, tok)
	}
	me := call("GET", "/auth/me", tok.AccessToken, nil)
	if me["user"].(map[string]any)["email"] != email {
		t.Errorf("/auth/me with the token: %v", me)
	}
}
