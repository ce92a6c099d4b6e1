package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// siteverify is a CAPTCHA provider's siteverify endpoint running in the
// test: it answers in the provider's own shape, accepts the token "good"
// and records every form it is sent.
type siteverify struct {
	srv      *httptest.Server
	provider string
	mu       sync.Mutex
	forms    []url.Values
	down     bool          // answer 500
	hang     chan struct{} // non-nil: wait for it (or the caller giving up)
}

func newSiteverify(t *testing.T, provider string) *siteverify {
	f := &siteverify{provider: provider}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f.mu.Lock()
		f.forms = append(f.forms, r.PostForm)
		down, hang := f.down, f.hang
		f.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "want a POSTed form", http.StatusBadRequest)
			return
		}
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		if down {
			http.Error(w, "upstream error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		ok := r.PostForm.Get("secret") == "captcha-secret" && r.PostForm.Get("response") == "good"
		switch {
		case f.provider == "turnstile" && ok:
			_, _ = w.Write([]byte(`{"success":true,"error-codes":[],"challenge_ts":"2026-12-04T10:00:00.000Z","hostname":"app.example.com","action":"","cdata":""}`))
		case f.provider == "turnstile":
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"],"messages":[]}`))
		case ok:
			_, _ = w.Write([]byte(`{"success":true,"challenge_ts":"2026-12-04T10:00:00Z","hostname":"app.example.com","credit":false}`))
		default:
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *siteverify) calls() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.forms...)
}

func (f *siteverify) set(down bool, hang chan struct{}) {
	f.mu.Lock()
	f.down, f.hang = down, hang
	f.mu.Unlock()
}

// withRegistry hands the router a registry the test can read.
func withRegistry(reg *prometheus.Registry) option {
	return func(_ *config.Config, d *api.Deps) {
		d.Registry = reg
		d.Metrics = api.NewMetrics(reg, func() float64 { return 0 })
	}
}

// counter reads one series of a counter vector.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelIs(m, label, value) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func captchaEnv(f *siteverify, extra ...string) map[string]string {
	env := map[string]string{
		"AUTH_CAPTCHA_PROVIDER": f.provider, "AUTH_CAPTCHA_SECRET": "captcha-secret", "AUTH_CAPTCHA_SITE_KEY": "site-key-1",
		"AUTH_CAPTCHA_VERIFY_URL": f.srv.URL,
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// TestSettingsArePublicAndHoldNoSecret: what a sign-in page needs, off by
// default, and with every control on, never a secret.
func TestSettingsArePublicAndHoldNoSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL)
		r := h.client().do("GET", "/auth/settings", nil)
		wantStatus(t, r, http.StatusOK, "settings")
		if cc := r.header.Get("Cache-Control"); cc != "public, max-age=60" {
			t.Errorf("Cache-Control %q", cc)
		}
		var off handlers.SettingsResponse
		r.json(t, &off)
		if off.SignUp.Captcha != nil || off.SignUp.DomainsAllowed != nil || off.PasswordPolicy.BreachedCheck || off.PasswordPolicy.MinLength != 8 ||
			off.EmailVerification != "optional" || !off.SignUp.Enabled || off.Methods[0] != "password" {
			t.Errorf("defaults: %s", r.body)
		}
		f := newSiteverify(t, "turnstile")
		env := captchaEnv(f, "AUTH_SIGNUP_DOMAINS_ALLOW", "example.com", "AUTH_BREACHED_PASSWORDS", "check",
			"AUTH_BREACHED_PASSWORDS_URL", "http://127.0.0.1:1/range/", "AUTH_EMAIL_VERIFICATION", "required",
			"AUTH_HOOK_BEFORE_CREATE_URL", "http://127.0.0.1:1/hook", "AUTH_HOOK_SECRET", "whsec_c2VjcmV0LWhvb2sta2V5LTEyMzQ1Njc4")
		on := newHarness(t, dbURL, withEnv(env))
		r = on.client().do("GET", "/auth/settings", nil)
		wantStatus(t, r, http.StatusOK, "settings with every control")
		var st handlers.SettingsResponse
		r.json(t, &st)
		if c := st.SignUp.Captcha; c == nil || c.Provider != "turnstile" || c.SiteKey != "site-key-1" || strings.Join(c.On, ",") != "register,forgot,sign-in-code" {
			t.Errorf("captcha settings: %s", r.body)
		}
		if strings.Join(st.SignUp.DomainsAllowed, ",") != "example.com" || !st.PasswordPolicy.BreachedCheck || st.EmailVerification != "required" {
			t.Errorf("settings: %s", r.body)
		}
		for _, secret := range []string{"captcha-secret", "whsec_", "c2VjcmV0", "127.0.0.1:1"} {
			if strings.Contains(string(r.body), secret) {
				t.Errorf("settings leak %q: %s", secret, r.body)
			}
		}
	})
}

// TestCaptcha: the token is checked first, in each provider's answer shape:
// missing and rejected tokens get the same 400 whatever the body names,
// with no lookup, hash or mail; the server sends secret, response and
// remoteip as a form; a provider that is down refuses (closed) or lets the
// request through (open), and one that hangs costs no more than the timeout.
func TestCaptcha(t *testing.T) {
	for _, provider := range []string{"turnstile", "hcaptcha"} {
		t.Run(provider, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, dbURL string) {
				f := newSiteverify(t, provider)
				reg := prometheus.NewRegistry()
				m := newMailHarness(t, dbURL, captchaEnv(f, "AUTH_EMAIL_VERIFICATION", "required"), withRegistry(reg),
					func(c *config.Config, _ *api.Deps) { c.Abuse.CaptchaTimeout = 300 * time.Millisecond })
				existing := newEmail()
				wantStatus(t, m.client().do("POST", "/auth/register", registerBody(existing), "X-Captcha-Token", "good"), http.StatusAccepted, "register with a good token")
				m.settled(models.MailVerifyEmail, existing)
				form := f.calls()[0]
				if form.Get("secret") != "captcha-secret" || form.Get("response") != "good" || form.Get("remoteip") != "127.0.0.1" || len(form) != 3 {
					t.Errorf("the form sent: %v", form)
				}
				hashes, mails, calls := m.hasher.Count(), m.outboxRows(), len(f.calls())
				var answers []string
				for _, email := range []string{existing, newEmail()} {
					for _, token := range []string{"", "bad"} {
						for _, path := range []string{"/auth/register", "/auth/password/forgot", "/auth/sign-in/email"} {
							body := map[string]any{"email": email}
							if path == "/auth/register" {
								body = registerBody(email)
							}
							var r response
							if token == "" {
								r = m.client().do("POST", path, body)
							} else {
								r = m.client().do("POST", path, body, "X-Captcha-Token", token)
							}
							if r.status != http.StatusBadRequest || r.errorCode(t) != "captcha_failed" {
								t.Fatalf("%s with token %q: %d %s", path, token, r.status, r.body)
							}
							var e handlers.ErrorResponse
							r.json(t, &e)
							answers = append(answers, e.Error.Message)
						}
					}
				}
				for _, a := range answers[1:] {
					if a != answers[0] {
						t.Errorf("refusals differ: %q vs %q", a, answers[0])
					}
				}
				if m.hasher.Count() != hashes || m.outboxRows() != mails {
					t.Errorf("a refused CAPTCHA did work: hashes %d→%d, outbox %d→%d", hashes, m.hasher.Count(), mails, m.outboxRows())
				}
				// Only the six "bad" tokens went out; missing ones never leave.
				if got := len(f.calls()) - calls; got != 6 {
					t.Errorf("%d siteverify calls for 6 rejected tokens", got)
				}
				// Login is not on the default list.
				wantStatus(t, m.client().do("POST", "/auth/login", map[string]any{"email": existing, "password": "wrong password"}),
					http.StatusUnauthorized, "login without a token")

				// Down and closed: 503 captcha_unavailable, Retry-After 5, nothing done.
				f.set(true, nil)
				hashes = m.hasher.Count()
				r := m.client().do("POST", "/auth/register", registerBody(newEmail()), "X-Captcha-Token", "good")
				if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "captcha_unavailable" || r.header.Get("Retry-After") != "5" {
					t.Fatalf("provider down (closed): %d %v %s", r.status, r.header.Get("Retry-After"), r.body)
				}
				// Hanging: answered within the timeout, not the request's 5 s.
				release := make(chan struct{})
				f.set(false, release)
				start := time.Now()
				r = m.client().do("POST", "/auth/password/forgot", map[string]any{"email": existing}, "X-Captcha-Token", "good")
				close(release)
				if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "captcha_unavailable" || time.Since(start) > 2*time.Second {
					t.Fatalf("provider hanging: %d after %v: %s", r.status, time.Since(start), r.body)
				}
				if m.hasher.Count() != hashes {
					t.Error("an unavailable CAPTCHA hashed")
				}
				if p, fl, u := counter(t, reg, "portcullis_captcha_total", "outcome", "passed"), counter(t, reg, "portcullis_captcha_total", "outcome", "failed"),
					counter(t, reg, "portcullis_captcha_total", "outcome", "unavailable"); p != 1 || fl != 12 || u != 2 {
					t.Errorf("portcullis_captcha_total passed %v failed %v unavailable %v, want 1 12 2", p, fl, u)
				}
				audit, err := m.db.Events(context.Background(), models.EventFilter{Type: models.EventSignupDenied})
				if err != nil || len(audit) != 4 || audit[0].Detail != "reason: captcha" {
					t.Errorf("signup_denied audit: %d events %v", len(audit), err)
				}

				// Down and open: the request proceeds, with a warning.
				f.set(true, nil)
				open := newMailHarness(t, dbURL, captchaEnv(f, "AUTH_CAPTCHA_FAIL", "open", "AUTH_EMAIL_VERIFICATION", "off"))
				wantStatus(t, open.client().do("POST", "/auth/register", registerBody(newEmail()), "X-Captcha-Token", "good"), http.StatusCreated, "provider down (open)")
				if !strings.Contains(open.logs.String(), "AUTH_CAPTCHA_FAIL=open") {
					t.Error("no warning logged when failing open")
				}
				// Open still refuses a missing or rejected token.
				f.set(false, nil)
				wantStatus(t, open.client().do("POST", "/auth/register", registerBody(newEmail()), "X-Captcha-Token", "bad"), http.StatusBadRequest, "rejected (open)")
			})
		})
	}
}
