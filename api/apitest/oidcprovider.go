package apitest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// OIDCUser is who signs in at the test provider.
type OIDCUser struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
}

// OIDCProvider is a small but real OpenID Connect provider on loopback:
// discovery, JWKS, an authorization endpoint with a consent page, and a
// token endpoint that checks the client, the redirect URI and PKCE S256,
// redeems each code once and signs RS256 ID tokens.
type OIDCProvider struct {
	// Issuer is the provider's URL (plain http on 127.0.0.1).
	Issuer       string
	ClientID     string
	ClientSecret string

	srv    *httptest.Server
	signer jose.Signer
	jwk    jose.JSONWebKey

	// Down makes every endpoint answer 503 (the provider is down).
	Down atomic.Bool
	// Exchanges counts the token requests that redeemed a code.
	Exchanges atomic.Int64

	mu    sync.Mutex
	user  OIDCUser
	codes map[string]pendingCode
	// tamper, when set, changes the claims of the next ID token.
	tamper func(claims map[string]any)
}

type pendingCode struct {
	user        OIDCUser
	nonce       string
	challenge   string
	redirectURI string
	tamper      func(map[string]any)
}

// NewOIDCProvider starts a provider for one client; it stops with the test.
func NewOIDCProvider(t testing.TB) *OIDCProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &OIDCProvider{ClientID: "portcullis-test", ClientSecret: "test-secret", codes: map[string]pendingCode{},
		user: OIDCUser{Subject: "mock-user-1", Email: "mock@example.com", EmailVerified: true, Name: "Mock User"}}
	p.jwk = jose.JSONWebKey{Key: key, KeyID: "mock-1", Algorithm: string(jose.RS256), Use: "sig"}
	p.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	// The issuer is known before the server serves: a request that arrives
	// at once (a client retrying discovery) must not race its assignment.
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	p.Issuer = "http://" + p.srv.Listener.Addr().String()
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// Env returns the AUTH_OIDC_* variables that configure this provider as name.
func (p *OIDCProvider) Env(name, display string) map[string]string {
	v := "AUTH_OIDC_" + upper(name) + "_"
	return map[string]string{
		"AUTH_OIDC_PROVIDERS": name, v + "ISSUER": p.Issuer, v + "CLIENT_ID": p.ClientID,
		v + "CLIENT_SECRET": p.ClientSecret, v + "DISPLAY_NAME": display,
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// SignInAs sets who the next authorizations sign in.
func (p *OIDCProvider) SignInAs(u OIDCUser) {
	p.mu.Lock()
	p.user = u
	p.mu.Unlock()
}

// TamperNext changes the claims of the ID token of the next authorization
// (another issuer, audience, nonce, an expiry in the past…).
func (p *OIDCProvider) TamperNext(f func(claims map[string]any)) {
	p.mu.Lock()
	p.tamper = f
	p.mu.Unlock()
}

func (p *OIDCProvider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer": p.Issuer, "authorization_endpoint": p.Issuer + "/authorize", "token_endpoint": p.Issuer + "/token",
		"jwks_uri": p.Issuer + "/jwks", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"scopes_supported": []string{"openid", "email", "profile"}, "token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *OIDCProvider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{p.jwk.Public()}})
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><title>Mock provider</title></head><body>
<h1>Mock provider</h1>
<p>Sign in to the app as <b id="who">{{.Email}}</b>?</p>
<form method="post" action="/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">
{{end}}<button id="consent" type="submit">Continue as {{.Email}}</button>
</form></body></html>`))

// authorizePage shows the consent page a browser submits.
func (p *OIDCProvider) authorizePage(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	u := p.user
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]any{"Email": u.Email, "Query": r.URL.Query()})
}

// authorize issues a code for the current user and redirects back.
func (p *OIDCProvider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := r.Form
	redirect, err := url.Parse(f.Get("redirect_uri"))
	switch {
	case f.Get("client_id") != p.ClientID, err != nil, redirect.Host == "":
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	q := redirect.Query()
	q.Set("state", f.Get("state"))
	if f.Get("response_type") != "code" || f.Get("code_challenge_method") != "S256" || f.Get("code_challenge") == "" || f.Get("nonce") == "" {
		q.Set("error", "invalid_request")
	} else {
		code := randomID()
		p.mu.Lock()
		p.codes[code] = pendingCode{user: p.user, nonce: f.Get("nonce"), challenge: f.Get("code_challenge"), redirectURI: f.Get("redirect_uri"), tamper: p.tamper}
		p.tamper = nil
		p.mu.Unlock()
		q.Set("code", code)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token redeems a code once.
func (p *OIDCProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	p.mu.Lock()
	pc, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code", !found, pc.redirectURI != r.PostForm.Get("redirect_uri"):
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge:
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	p.Exchanges.Add(1)
	now := time.Now()
	claims := map[string]any{
		"iss": p.Issuer, "sub": pc.user.Subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": pc.nonce, "email": pc.user.Email, "email_verified": pc.user.EmailVerified, "name": pc.user.Name,
	}
	if pc.tamper != nil {
		pc.tamper(claims)
	}
	payload, _ := json.Marshal(claims)
	sig, err := p.signer.Sign(payload)
	if err != nil {
		http.Error(w, "sign", http.StatusInternalServerError)
		return
	}
	idToken, _ := sig.CompactSerialize()
	writeJSON(w, map[string]any{"access_token": randomID(), "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
