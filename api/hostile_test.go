package api_test

// Findings of the hostile review: each test fails on the code it was
// written against and passes once the hole is closed.

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// TestHostileAdminResetMailedToTheOldAddress: an administrator mails a
// user a reset link; before the outbox worker resolves the request (a hook
// holds it there) the user moves the account from old@ to new@. The worker
// still mails a reset link to the OLD address (the request kept the
// recipient it was queued with, and resolves the user by id), and the
// token is issued under the credential version after the change, so
// nothing kills it. Whoever holds the old mailbox resets the password of
// the account now at new@ and signs in: account takeover. A reset link
// must go only to the account's current address, and a reset token whose
// address is no longer the user's must be refused (as verification and
// sign-in tokens already are).
func TestHostileAdminResetMailedToTheOldAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hooks := &auth.EmailHooks{BeforeResolve: func(kind models.MailKind) {
			if kind != models.MailResetPassword {
				return
			}
			once.Do(func() {
				close(reached)
				select {
				case <-release:
				case <-time.After(10 * time.Second):
				}
			})
		}}
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "optional"},
			func(_ *config.Config, d *api.Deps) { d.EmailHooks = hooks })
		root := makeAdmin(t, m.harness, "root-"+uuid.NewString()[:8]+"@example.com")
		old, moved := newEmail(), newEmail()
		owner := m.register(old)
		m.verifyAddress(owner, old)
		id := userID(t, owner)

		// The owner asks to move to a new address (the old mailbox is the
		// one they are leaving: shared, recycled or compromised).
		wantStatus(t, owner.do("POST", "/auth/email/change", map[string]any{"newEmail": moved, "currentPassword": goodPassword}),
			http.StatusAccepted, "email change request")
		_, change := m.mailFor(moved, "", 0).Link()

		// Meanwhile an administrator mails the user a reset link.
		wantStatus(t, root.do("POST", "/admin/users/"+id+"/password-reset", nil), http.StatusAccepted, "admin reset")
		select {
		case <-reached:
		case <-time.After(10 * time.Second):
			t.Fatal("the worker never started on the reset request")
		}
		wantStatus(t, owner.do("POST", "/auth/email/change/confirm", map[string]any{"token": change}), http.StatusOK, "confirm the change")
		close(release)

		// The reset mail: if it reaches the old address at all, its link
		// must not work.
		state := "pending"
		for deadline := time.Now().Add(10 * time.Second); (state == "pending" || state == "queued") && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // waits for the outcome; the order was forced above
			state = m.sqlQuery("SELECT state FROM email_outbox WHERE kind = 'reset_password'")
		}
		var tok string
		for _, msg := range m.smtp.To(old) {
			if len(msg.Subject) >= 5 && msg.Subject[:5] == "Reset" {
				_, tok = msg.Link()
			}
		}
		if tok == "" {
			return // nothing went to the old address: held
		}
		t.Errorf("a reset link for the account now at %s was mailed to its old address %s", moved, old)
		r := m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "the old mailbox holder's pick"})
		if r.status == http.StatusNoContent {
			t.Errorf("the old mailbox's reset link set the password of the account at %s", moved)
			attacker := m.client()
			if rr := attacker.do("POST", "/auth/login", map[string]any{"email": moved, "password": "the old mailbox holder's pick"}); rr.status == http.StatusOK {
				t.Errorf("account takeover: the old mailbox's holder signed in as %s", moved)
			}
		}
	})
}

// TestHostileMalformedCodesCountNothing: "A malformed or missing code is 422
// and counts nothing" (DESIGN.md, "Proofs and the lockout"). Two routes
// still count one: the enrolment check of an authenticator app (POST
// /auth/mfa/totp/{id}/verify answers 422 but counts a failure and audits
// mfa_failed for "abcdef"), and the mailed sign-in code (an 8-character
// non-digit code is 400 invalid_token, counted toward the lockout and
// spending one of the token's five attempts).
func TestHostileMalformedCodesCountNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		t.Run("enrolment", func(t *testing.T) {
			keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
			h := newHarness(t, dbURL, withDataKeys(keys),
				withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_LOCKOUT_THRESHOLD": "3"}))
			email := newEmail()
			c := h.register(email)
			r := c.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"})
			wantStatus(t, r, http.StatusCreated, "enrol")
			var e handlers.TOTPEnrollment
			r.json(t, &e)
			for _, bad := range []string{"abcdef", "12345", "1234567"} {
				wantStatus(t, c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": bad}),
					http.StatusUnprocessableEntity, "malformed enrolment code "+bad)
			}
			r = h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
			if r.status != http.StatusOK {
				t.Errorf("after three malformed enrolment codes the right password gets %d %s (they were counted as wrong codes)", r.status, r.body)
			}
		})
		t.Run("sign-in code", func(t *testing.T) {
			m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off", "AUTH_LOCKOUT_THRESHOLD": "3"})
			email := newEmail()
			m.register(email)
			wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
			code := m.mailFor(email, "Your sign-in code", 0).Code()
			for _, bad := range []string{"abcdefgh", "ABCDEFGH", "12-45-78"} {
				r := m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": bad})
				if r.status != http.StatusUnprocessableEntity {
					t.Errorf("malformed sign-in code %q: %d %s, want 422 naming code", bad, r.status, r.body)
				}
			}
			r := m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code})
			if r.status != http.StatusOK {
				t.Errorf("the right code after three malformed ones: %d %s (they were counted)", r.status, r.body)
			}
		})
	})
}

// TestHostileTokenEndpointSkipsTheCrossOriginCheck: DESIGN.md, "Browser
// safety": every unsafe request without a well-formed Bearer token is
// refused 403 csrf_failed when it is cross-origin from an unlisted origin;
// /auth/token is not exempted (only its body format and its error shape
// differ). The router bypasses the check for POST /auth/token, and a form
// body is a "simple" request a foreign page can send from every visitor's
// browser without a preflight. So a malicious page makes its visitors guess
// passwords for it (each visitor's address is a fresh (email, address)
// pair), and locks a victim out from their own address: ten wrong
// passwords sent by the page the victim opened, and the victim's right
// password at POST /auth/login gets 429. Service clients send no Origin or
// Sec-Fetch-Site and pass the check anyway, so the bypass buys nothing.
func TestHostileTokenEndpointSkipsTheCrossOriginCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_LOCKOUT_THRESHOLD": "3"}))
		email := newEmail()
		h.register(email)
		victim := h.client() // the victim's browser, on a page of evil.example
		cross := []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
		for i := range 3 {
			r := victim.do("POST", "/auth/token", "grant_type=password&username="+email+"&password=a+wrong+guess+"+string(rune('a'+i)), cross...)
			if r.status != http.StatusForbidden {
				t.Errorf("cross-site form POST to /auth/token %d: %d %s, want 403 csrf_failed", i+1, r.status, r.body)
			}
		}
		r := victim.do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		if r.status != http.StatusOK {
			t.Errorf("the victim's own login after a foreign page's guesses: %d %s", r.status, r.body)
		}
	})
}
