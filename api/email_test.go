package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/mail/mailtest"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// mailHarness is the real router with a real outbox worker delivering to a
// real SMTP server; the worker runs on the harness clock.
type mailHarness struct {
	*harness
	smtp   *mailtest.Server
	worker *mail.Worker
	logs   *apitest.LogBuffer
}

func newMailHarness(t *testing.T, dbURL string, env map[string]string, opts ...option) *mailHarness {
	t.Helper()
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.URL(), "Portcullis <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	logs := &apitest.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := &mail.Worker{Sender: sender, Log: log, Poll: 20 * time.Millisecond,
		Schedule: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}}
	vars := map[string]string{"AUTH_APP_URL": "https://app.example.com", "AUTH_RATE_LIMIT_IP": "100000/m"}
	for k, v := range env {
		vars[k] = v
	}
	h := newHarness(t, dbURL, append([]option{withEnv(vars), func(_ *config.Config, d *api.Deps) {
		d.Email = auth.Email{Templates: tpl, Kick: w.Kick}
		d.Logger = log
	}}, opts...)...)
	w.Outbox, w.Sealer, w.Resolver, w.Now = h.db, h.keys, h.svc, h.clock.Now
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go w.Run(ctx)
	m := &mailHarness{harness: h, smtp: srv, worker: w, logs: logs}
	h.verify = m.verifyAddress
	return m
}

// verifyAddress proves email with a verification link followed in c, the
// browser signed in as its owner (which stays signed in).
func (m *mailHarness) verifyAddress(c *client, email string) {
	m.t.Helper()
	wantStatus(m.t, m.client().do("POST", "/auth/email/verify/resend", map[string]any{"email": email}), http.StatusAccepted, "resend")
	// The resend is dropped by the sending limit when the registration's
	// link went out within the minute: wait until every request is settled,
	// then follow the newest link (issuing one voids the older ones).
	m.settled(models.MailVerifyEmail, email)
	msgs := m.smtp.To(email)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.HasPrefix(msgs[i].Subject, "Confirm your email address") {
			_, tok := msgs[i].Link()
			wantStatus(m.t, c.do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify "+email)
			return
		}
	}
	m.t.Fatalf("no verification mail reached %s", email)
}

// settled waits until the worker has resolved every request of kind to
// recipient (each sent, dropped or failed), so what was mailed has arrived.
func (m *mailHarness) settled(kind models.MailKind, recipient string) {
	m.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var n int
		if err := m.db.SQL().QueryRow("SELECT count(*) FROM email_outbox WHERE state IN ('pending', 'queued') AND kind = $1 AND recipient = $2",
			string(kind), recipient).Scan(&n); err != nil {
			m.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		m.worker.Kick()
		time.Sleep(5 * time.Millisecond) // waiting for an outcome, not ordering a race
	}
	m.t.Fatalf("the %s mail to %s was not settled within 10 s", kind, recipient)
}

// next waits for the n-th message to addr.
func (m *mailHarness) next(addr string, n int) mailtest.Message {
	m.t.Helper()
	return m.smtp.Wait(addr, n)
}

// mailFor waits for the first message to addr after the first skip ones
// whose subject starts with prefix.
func (m *mailHarness) mailFor(addr, prefix string, skip int) mailtest.Message {
	m.t.Helper()
	for n := skip + 1; ; n++ {
		if msg := m.next(addr, n); strings.HasPrefix(msg.Subject, prefix) {
			return msg
		}
	}
}

// settle lets the worker finish what is due and asserts no more mail to addr
// than want arrives.
func (m *mailHarness) settle(addr string, want int) {
	m.t.Helper()
	for range 5 {
		m.worker.Kick()
		time.Sleep(30 * time.Millisecond)
	}
	if got := len(m.smtp.To(addr)); got != want {
		m.t.Fatalf("%d messages to %s, want %d", got, addr, want)
	}
}

func newEmail() string {
	return "u" + strings.ReplaceAll(uuid.NewString()[:13], "-", "") + "@example.com"
}

// TestPasswordResetByMail: forgot → mail → link → new password. The reset
// ends every session, the old password stops working, the address counts as
// verified, a notice is mailed, and the link works once.
func TestPasswordResetByMail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, nil)
		email := newEmail()
		laptop := m.register(email)
		phone := login(t, m.harness, email)
		m.next(email, 1) // the verification mail of registration
		r := m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email})
		wantStatus(t, r, http.StatusAccepted, "forgot")
		reset := m.next(email, 2)
		link, tok := reset.Link()
		if reset.Subject != "Reset your password" || !strings.HasPrefix(link, "https://app.example.com/reset-password?token=") ||
			len(tok) != 43 || !strings.Contains(reset.HTML, "reset-password?token=") || !strings.HasPrefix(reset.ContentType, "multipart/alternative") {
			t.Fatalf("reset mail: %q %q %q", reset.Subject, link, reset.ContentType)
		}
		// The policy applies, and a refused password does not spend the link.
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "password"}),
			http.StatusUnprocessableEntity, "weak new password")
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new passphrase"}),
			http.StatusNoContent, "reset")
		wantStatus(t, laptop.do("GET", "/auth/me", nil), http.StatusUnauthorized, "the laptop after the reset")
		wantStatus(t, phone.do("GET", "/auth/me", nil), http.StatusUnauthorized, "the phone after the reset")
		wantStatus(t, m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}),
			http.StatusUnauthorized, "the old password")
		after := login2(t, m.harness, email, "a brand new passphrase")
		var me handlers.AuthResponse
		after.do("GET", "/auth/me", nil).json(t, &me)
		if !me.User.EmailVerified {
			t.Error("a reset did not verify the address")
		}
		if notice := m.next(email, 3); notice.Subject != "Your password was changed" {
			t.Errorf("notice: %q", notice.Subject)
		}
		r = m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "yet another passphrase"})
		wantStatus(t, r, http.StatusBadRequest, "the link again")
		if code := r.errorCode(t); code != "invalid_token" {
			t.Errorf("used link: %s", code)
		}
	})
}

func login2(t *testing.T, h *harness, email, password string) *client {
	t.Helper()
	c := h.client()
	wantStatus(t, c.do("POST", "/auth/login", map[string]any{"email": email, "password": password}), http.StatusOK, "login "+email)
	return c
}

// TestMailedTokensWorkOnce: a reset or sign-in token raced by ten requests
// works once; an expired and a used token get the same answer; issuing a
// token kills the older one of its purpose.
func TestMailedTokensWorkOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		email := newEmail()
		m.register(email)
		var used response
		for _, flow := range []struct{ ask, use, field string }{
			{"/auth/password/forgot", "/auth/password/reset", "password"},
			{"/auth/sign-in/email", "/auth/sign-in/email/verify", ""},
		} {
			m.clock.Advance(2 * time.Minute) // past the one-a-minute spacing
			n := len(m.smtp.To(email))
			wantStatus(t, m.client().do("POST", flow.ask, map[string]any{"email": email}), http.StatusAccepted, flow.ask)
			_, tok := m.mailFor(email, map[bool]string{true: "Reset", false: "Your sign-in code"}[flow.field != ""], n).Link()
			body := map[string]any{"token": tok}
			if flow.field != "" {
				body[flow.field] = "a brand new passphrase " + flow.field
			}
			rs := all(10, func(int) response { return m.client().do("POST", flow.use, body) })
			won := 0
			for _, r := range rs {
				switch {
				case r.status < 300:
					won++
				case used.status == 0:
					used = r // a token another request has just spent
				case r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_token" || won < 0:
					t.Errorf("%s raced: %d %s", flow.use, r.status, r.body)
				}
			}
			if won != 1 {
				t.Errorf("%s: %d of 10 racing requests succeeded, want 1; first answer %d %s", flow.use, won, rs[0].status, rs[0].body)
			}
		}
		// A newer token kills the older one; an expired token answers like a used one.
		m.clock.Advance(2 * time.Minute)
		n := len(m.smtp.To(email))
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot 1")
		_, first := m.mailFor(email, "Reset", n).Link()
		m.clock.Advance(2 * time.Minute)
		n = len(m.smtp.To(email))
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot 2")
		_, second := m.mailFor(email, "Reset", n).Link()
		older := m.client().do("POST", "/auth/password/reset", map[string]any{"token": first, "password": "an older link's passphrase"})
		m.clock.Advance(31 * time.Minute)
		expired := m.client().do("POST", "/auth/password/reset", map[string]any{"token": second, "password": "an expired link's passphrase"})
		unknown := m.client().do("POST", "/auth/password/reset", map[string]any{"token": strings.Repeat("x", 43), "password": "an unknown link's passphrase"})
		for name, r := range map[string]response{"older": older, "expired": expired, "unknown": unknown, "used": used} {
			if r.status != http.StatusBadRequest || withoutRequestID(r.body) != withoutRequestID(unknown.body) {
				t.Errorf("%s token: %d %s, want the same 400 invalid_token as the others", name, r.status, r.body)
			}
		}
	})
}

// withoutRequestID drops the per-request id from an error body.
func withoutRequestID(body []byte) string {
	var e handlers.ErrorResponse
	if err := jsonUnmarshal(body, &e); err != nil {
		return string(body)
	}
	e.Error.RequestID = ""
	return fmt.Sprintf("%+v", e)
}

// TestVerifyEmailAndTheFieldsThatShowIt: registration mails a link; the link,
// followed in the registering browser (which stays signed in), verifies the
// address, which /auth/me, introspection and forward-auth show.
func TestVerifyEmailAndTheFieldsThatShowIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_INTROSPECT_CLIENTS": introspectClient + ":" + introspectSecret})
		email := newEmail()
		c := m.register(email)
		wantStatus(t, c.do("GET", "/auth/verify?verified=true", nil), http.StatusForbidden, "verify ?verified=true before")
		if r := c.do("GET", "/auth/verify", nil); r.header.Get("X-Auth-User-Email-Verified") != "false" {
			t.Errorf("X-Auth-User-Email-Verified before: %q", r.header.Get("X-Auth-User-Email-Verified"))
		}
		msg := m.next(email, 1)
		link, tok := msg.Link()
		if msg.Subject != "Confirm your email address" || !strings.HasPrefix(link, "https://app.example.com/verify-email?token=") {
			t.Fatalf("verification mail: %q %q", msg.Subject, link)
		}
		r := c.do("POST", "/auth/email/verify", map[string]any{"token": tok})
		wantStatus(t, r, http.StatusOK, "verify")
		var u handlers.UserResponse
		r.json(t, &u)
		if !u.User.EmailVerified || u.User.Email != email {
			t.Errorf("verified user: %+v", u.User)
		}
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		if !me.User.EmailVerified {
			t.Error("/auth/me does not show the verified address")
		}
		if r := c.do("GET", "/auth/verify?verified=true", nil); r.status != http.StatusOK || r.header.Get("X-Auth-User-Email-Verified") != "true" {
			t.Errorf("forward-auth after: %d %v", r.status, r.header)
		}
		if in := introspect(t, m.harness, c.cookieValue("/", "__Host-session")); in.EmailVerified == nil || !*in.EmailVerified {
			t.Errorf("introspection: %+v", in)
		}
		wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusBadRequest, "the link again")
	})
}

// TestSignInByEmailCode: the code signs in once; wrong codes count, and the
// fifth ends the code even for the right one.
func TestSignInByEmailCode(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		email := newEmail()
		m.register(email)
		ask := func() mailtest.Message {
			m.clock.Advance(2 * time.Minute)
			n := len(m.smtp.To(email))
			wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
			return m.mailFor(email, "Your sign-in code", n)
		}
		code := ask().Code()
		if len(code) != 8 {
			t.Fatalf("code %q", code)
		}
		wrong := fmt.Sprintf("%08d", (atoi(code)+1)%100_000_000)
		for i := range 5 {
			r := m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": wrong})
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_token" {
				t.Fatalf("wrong code %d: %d %s", i+1, r.status, r.body)
			}
		}
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code}),
			http.StatusBadRequest, "the right code after five wrong ones")
		code = ask().Code()
		c := m.client()
		r := c.do("POST", "/auth/sign-in/email/verify", map[string]any{"email": strings.ToUpper(email), "code": code})
		wantStatus(t, r, http.StatusOK, "the right code")
		var me handlers.AuthResponse
		r.json(t, &me)
		if !me.User.EmailVerified || r.cookie("__Host-session") == nil {
			t.Errorf("signed in by code: verified %v, cookie %v", me.User.EmailVerified, r.cookie("__Host-session"))
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me after signing in by code")
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code}),
			http.StatusBadRequest, "the code again")
		_, tok := ask().Link()
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"token": tok}), http.StatusOK, "the link")
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestRequiredVerification: registration answers a new and an existing
// address identically (status, body, headers, cookies) and signs nobody in;
// the existing owner is mailed instead of a second account being made; login
// and the password grant refuse an unverified address only after a right
// password; the link then lets the user in.
func TestRequiredVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "required"})
		taken, fresh := newEmail(), newEmail()
		first := m.client().do("POST", "/auth/register", registerBody(taken))
		wantStatus(t, first, http.StatusAccepted, "register")
		m.next(taken, 1)
		m.clock.Advance(2 * time.Minute)
		again := m.client().do("POST", "/auth/register", registerBody(taken))
		brandNew := m.client().do("POST", "/auth/register", registerBody(fresh))
		for _, r := range []response{again, brandNew} {
			if r.status != first.status || string(r.body) != string(first.body) || len(r.header.Values("Set-Cookie")) != 0 ||
				!sameHeaders(r.header, first.header) {
				t.Errorf("register answered %d %s %v, want exactly %d %s %v", r.status, r.body, r.header, first.status, first.body, first.header)
			}
		}
		if exists := m.mailFor(taken, "You already have an account", 1); exists.To != taken {
			t.Errorf("account_exists mail: %+v", exists)
		}
		verify := m.mailFor(fresh, "Confirm your email address", 0)
		wrong := m.client().do("POST", "/auth/login", map[string]any{"email": fresh, "password": "not the password"})
		wantStatus(t, wrong, http.StatusUnauthorized, "a wrong password")
		right := m.client().do("POST", "/auth/login", map[string]any{"email": fresh, "password": goodPassword})
		if right.status != http.StatusForbidden || right.errorCode(t) != "email_not_verified" || right.cookie("__Host-session") != nil {
			t.Errorf("login unverified: %d %s", right.status, right.body)
		}
		grant := m.client().do("POST", "/auth/token", form("grant_type", "password", "username", fresh, "password", goodPassword), "Content-Type", formType)
		var oauth handlers.OAuthError
		grant.json(t, &oauth)
		if grant.status != http.StatusForbidden || oauth.Error != "email_not_verified" {
			t.Errorf("password grant unverified: %d %s", grant.status, grant.body)
		}
		_, tok := verify.Link()
		wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify")
		login2(t, m.harness, fresh, goodPassword)
	})
}

// sameHeaders compares two responses' headers but for the per-request ones.
func sameHeaders(a, b http.Header) bool {
	clean := func(h http.Header) string {
		h = h.Clone()
		h.Del("X-Request-Id")
		h.Del("Date")
		return fmt.Sprint(h)
	}
	return clean(a) == clean(b)
}

// TestEmailChange: the new address gets a link, the change needs the
// password, confirming swaps the address (verified), ends the other
// sessions, and tells the old address.
func TestEmailChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		old, next := newEmail(), newEmail()
		c := m.register(old)
		other := login(t, m.harness, old)
		r := c.do("POST", "/auth/email/change", map[string]any{"newEmail": next, "currentPassword": "not the password"})
		wantStatus(t, r, http.StatusUnprocessableEntity, "a wrong password")
		wantStatus(t, c.do("POST", "/auth/email/change", map[string]any{"newEmail": next, "currentPassword": goodPassword}), http.StatusAccepted, "change")
		msg := m.next(next, 1)
		link, tok := msg.Link()
		if !strings.HasPrefix(link, "https://app.example.com/confirm-email-change?token=") {
			t.Fatalf("change mail: %q %q", msg.Subject, link)
		}
		r = c.do("POST", "/auth/email/change/confirm", map[string]any{"token": tok})
		wantStatus(t, r, http.StatusOK, "confirm")
		var u handlers.UserResponse
		r.json(t, &u)
		if u.User.Email != next || !u.User.EmailVerified {
			t.Errorf("after the change: %+v", u.User)
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "the confirming session")
		wantStatus(t, other.do("GET", "/auth/me", nil), http.StatusUnauthorized, "another session")
		if notice := m.mailFor(old, "Your email address was changed", 0); !strings.Contains(notice.Text, next) {
			t.Errorf("notice to the old address: %q", notice.Text)
		}
		login2(t, m.harness, next, goodPassword)
		wantStatus(t, m.client().do("POST", "/auth/login", map[string]any{"email": old, "password": goodPassword}), http.StatusUnauthorized, "the old address")
	})
}

// TestMailEndpointsRevealNothing: forgot, resend and sign-in answer
// byte-identically for an existing, an unknown and a disabled address and for
// a sixth request within the hour, in about the same time, after the same
// work: each request queues exactly one outbox row, whatever the address (no
// mail is sent inside the request: a worker decides later).
func TestMailEndpointsRevealNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, nil)
		root := makeAdmin(t, m.harness, "root-"+uuid.NewString()[:8]+"@example.com")
		existing, disabled, busy := newEmail(), newEmail(), newEmail()
		m.register(existing)
		m.register(busy)
		m.register(disabled)
		var u handlers.AuthResponse
		login(t, m.harness, disabled).do("GET", "/auth/me", nil).json(t, &u)
		wantStatus(t, root.do("PATCH", "/admin/users/"+u.User.ID, map[string]any{"disabled": true}), http.StatusOK, "disable")
		for _, path := range []string{"/auth/password/forgot", "/auth/email/verify/resend", "/auth/sign-in/email"} {
			for range 5 { // use up the hour for busy
				m.client().do("POST", path, map[string]any{"email": busy})
			}
			addresses := map[string]string{"existing": existing, "unknown": newEmail(), "disabled": disabled, "sixth within the hour": busy}
			times := map[string][]time.Duration{}
			var first response
			for round := range 15 {
				for name, addr := range addresses {
					rows := m.outboxRows()
					start := time.Now()
					r := m.client().do("POST", path, map[string]any{"email": addr})
					times[name] = append(times[name], time.Since(start))
					if n := m.outboxRows() - rows; n != 1 {
						t.Fatalf("%s for %s queued %d outbox rows, want 1 as for every address", path, name, n)
					}
					if round == 0 && first.status == 0 {
						first = r
					}
					if r.status != first.status || !bytes.Equal(r.body, first.body) || !sameHeaders(r.header, first.header) {
						t.Fatalf("%s for %s: %d %s %v, want %d %s %v", path, name, r.status, r.body, r.header, first.status, first.body, first.header)
					}
				}
			}
			lo, hi := time.Hour, time.Duration(0)
			for _, ts := range times {
				med := median(ts)
				lo, hi = min(lo, med), max(hi, med)
			}
			if !raceEnabled && hi > 2*lo+2*time.Millisecond {
				t.Errorf("%s: median times from %v to %v, want within a factor of 2", path, lo, hi)
			}
		}
	})
}

// outboxRows counts the rows of the mail outbox.
func (m *mailHarness) outboxRows() int {
	m.t.Helper()
	var n int
	if err := m.db.SQL().QueryRow("SELECT count(*) FROM email_outbox").Scan(&n); err != nil {
		m.t.Fatal(err)
	}
	return n
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestOutboxSurvivesAnSMTPOutage: with the SMTP server down, requests still
// answer 202 at once; when it is back, every mail is delivered exactly once:
// past the worker's lease but within the token's lifetime no entry is sent
// again, and each row is stored as sent after its one failed attempt.
func TestOutboxSurvivesAnSMTPOutage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		var users []string
		for range 3 {
			e := newEmail()
			m.register(e)
			users = append(users, e)
		}
		m.smtp.Stop()
		for _, e := range users {
			start := time.Now()
			wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": e}), http.StatusAccepted, "forgot while SMTP is down")
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("forgot took %v while SMTP was down", d)
			}
		}
		m.settle(users[0], 0) // attempts fail and are rescheduled
		m.smtp.Restart()
		m.clock.Advance(10 * time.Second) // past the first retries
		for _, e := range users {
			if msg := m.next(e, 1); msg.Subject != "Reset your password" {
				t.Errorf("%s got %q", e, msg.Subject)
			}
		}
		m.clock.Advance(2 * time.Minute) // past the lease, well within the reset link's 30 minutes
		for _, e := range users {
			m.settle(e, 1)
		}
		rows, err := m.db.SQL().Query("SELECT state, attempts, sent_at IS NOT NULL FROM email_outbox WHERE kind = 'reset_password'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var (
				state    string
				attempts int
				sent     bool
			)
			if err := rows.Scan(&state, &attempts, &sent); err != nil {
				t.Fatal(err)
			}
			n++
			if state != "sent" || attempts != 1 || !sent {
				t.Errorf("outbox row: state %s, %d attempts, sent_at set %v; want sent after 1 failed attempt", state, attempts, sent)
			}
		}
		if n != len(users) {
			t.Errorf("%d reset rows in the outbox, want %d", n, len(users))
		}
	})
}

// TestTwoWorkersDeliverEachMailOnce runs two outbox workers, as two
// instances would, on one PostgreSQL outbox.
func TestTwoWorkersDeliverEachMailOnce(t *testing.T) {
	url := storetest.PostgresURL(t)
	m := newMailHarness(t, url, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
	first := m.worker
	second := &mail.Worker{Outbox: storetest.Open(t, url), // its own connections
		Resolver: first.Resolver, Sender: first.Sender, Sealer: first.Sealer, Schedule: first.Schedule, Poll: first.Poll, Now: first.Now, Log: first.Log}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go second.Run(ctx)
	var users []string
	for range 12 {
		e := newEmail()
		m.register(e)
		users = append(users, e)
	}
	var wg sync.WaitGroup
	for _, e := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": e})
			second.Kick()
		}()
	}
	wg.Wait()
	for _, e := range users {
		m.next(e, 1)
	}
	for _, e := range users {
		m.settle(e, 1)
	}
}

// TestNoSecretInTheLogs: no token, code or link appears in any log line of
// the mail flows, at debug level.
func TestNoSecretInTheLogs(t *testing.T) {
	m := newMailHarness(t, "sqlite::memory:", map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
	email := newEmail()
	m.register(email)
	m.smtp.Stop() // a failed delivery logs too
	m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email})
	m.settle(email, 0)
	m.smtp.Restart()
	m.clock.Advance(10 * time.Second)
	msg := m.next(email, 1)
	link, tok := msg.Link()
	m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"token": tok})
	logs := m.logs.String()
	for _, secret := range []string{tok, msg.Code(), link} {
		if secret == "" || strings.Contains(logs, secret) {
			t.Errorf("a secret (%.8s…) is in the logs, or was not found in the mail", secret)
		}
	}
	if !strings.Contains(logs, "mail delivery will be retried") {
		t.Error("the failed delivery was not logged")
	}
}

// TestMailWithoutSMTP: with no way to send mail (production without
// AUTH_SMTP_URL) the endpoints that need it say so with 503.
func TestMailWithoutSMTP(t *testing.T) {
	h := newHarness(t, "sqlite::memory:")
	r := h.client().do("POST", "/auth/password/forgot", map[string]any{"email": "ada@example.com"})
	if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "email_unavailable" {
		t.Errorf("forgot without SMTP: %d %s", r.status, r.body)
	}
	wantStatus(t, h.client().do("POST", "/auth/register", registerBody("ada@example.com")), http.StatusCreated, "register still works")
}

// TestAdminResetAndLockoutLift: an administrator can mail a user a reset
// link, and a reset lifts the lockouts of the address.
func TestAdminResetAndLockoutLift(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off", "AUTH_LOCKOUT_THRESHOLD": "3"})
		root := makeAdmin(t, m.harness, "root-"+uuid.NewString()[:8]+"@example.com")
		email := newEmail()
		c := m.register(email)
		id := userID(t, c)
		for range 3 {
			m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": "a wrong guess here"})
		}
		wantStatus(t, m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}),
			http.StatusTooManyRequests, "locked")
		wantStatus(t, root.do("POST", "/admin/users/"+id+"/password-reset", nil), http.StatusAccepted, "admin reset")
		_, tok := m.mailFor(email, "Reset your password", 0).Link()
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "a brand new passphrase"}),
			http.StatusNoContent, "reset")
		login2(t, m.harness, email, "a brand new passphrase")
		wantStatus(t, m.register(newEmail()).do("POST", "/admin/users/"+id+"/password-reset", nil), http.StatusForbidden, "by a non-admin")
	})
}
