package api_test

import (
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/handlers"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestHostile3DeletedAccountKeepsOldEmailInAudit: lifecycle.md says a
// deleted account's audit events are kept "with the user id but every email
// in them replaced by an HMAC". After an email change, the email_changed
// event keeps the previous address in plain text in its detail
// ("from old@…"), and DELETE /auth/me leaves it there: the deleted user's
// former address survives in the audit trail (GET /admin/audit shows it).
func TestHostile3DeletedAccountKeepsOldEmailInAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		h := m.harness
		makeAdmin(t, h, "root-"+newEmail())
		old, next := newEmail(), newEmail()
		c := m.register(old)
		wantStatus(t, c.do("POST", "/auth/email/change", map[string]any{"newEmail": next, "currentPassword": goodPassword}), http.StatusAccepted, "change")
		_, tok := m.next(next, 1).Link()
		wantStatus(t, c.do("POST", "/auth/email/change/confirm", map[string]any{"token": tok}), http.StatusOK, "confirm")
		wantStatus(t, c.do("DELETE", "/auth/me", map[string]any{"currentPassword": goodPassword}), http.StatusNoContent, "delete me")

		for _, addr := range []string{old, next} {
			if n := count(t, h, "SELECT count(*) FROM audit_events WHERE email = $1 OR detail LIKE $2", addr, "%"+addr+"%"); n != 0 {
				t.Errorf("after deletion %d audit events still hold the address %s in plain text", n, addr)
			}
		}
	})
}

// TestHostile3OneWrongMFACodeIsNotLoginLocked: lifecycle.md lists
// login.locked as the webhook of a lockout. A single wrong second-factor
// code (lockout threshold 3, nothing locked) already sends login.locked,
// because mfa_failed maps to it (auth/webhooks.go): a receiver that freezes
// or alerts on login.locked is told of a lockout that never happened, by
// anyone holding the password.
func TestHostile3OneWrongMFACodeIsNotLoginLocked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hh := newHookHarness(t, dbURL)
		h := hh.harness
		email := newEmail()
		c, _, _ := enrolled(t, h, email)
		id := userID(t, c)
		hh.drain(100)
		before := len(hh.recv.seen())
		_, mfaToken := loginFirstStep(t, h, email)
		r := h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "code": "000000"})
		if r.status == http.StatusTooManyRequests {
			t.Fatalf("locked after one wrong code: %s", r.body)
		}
		hh.drain(100)
		for _, g := range hh.recv.seen()[before:] {
			if g.userID == id && g.typ == "login.locked" {
				t.Errorf("login.locked delivered after one wrong MFA code (no lockout): %+v", g)
			}
		}
	})
}

// TestHostile3DomainRulesBypassedByIDNForms: abuse.md — the domain rules
// apply "wherever an address is set", subdomains included. The rules
// compare the raw (lower-cased) strings, so the same DNS domain written in
// another IDNA form slips through: the A-label of a denied U-label domain
// (a@xn--bcher-kva.example is a@bücher.example), and the full-width
// spelling of a disposable domain (a@ｍａｉｌｉｎａｔｏｒ.com, which UTS 46
// maps to mailinator.com) both register.
func TestHostile3DomainRulesBypassedByIDNForms(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_SIGNUP_DOMAINS_DENY": "bücher.example",
			"AUTH_BLOCK_DISPOSABLE": "true", "AUTH_RATE_LIMIT_IP": "100000/m"}))
		// The rules work for the spelling they were given.
		r := h.client().do("POST", "/auth/register", registerBody("a@bücher.example"))
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("the denied domain itself: %d %s", r.status, r.body)
		}
		for _, email := range []string{"b@xn--bcher-kva.example", "c@sub.xn--bcher-kva.example", "d@ｍａｉｌｉｎａｔｏｒ.com"} {
			r := h.client().do("POST", "/auth/register", registerBody(email))
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("register %s (same domain as a denied one): %d %s", email, r.status, r.body)
			}
		}
	})
}

// TestHostile3CaptchaFailOpenPassesA4xxAnswer: abuse.md — only a provider
// "unreachable or answering 5xx" is let through under AUTH_CAPTCHA_FAIL=open.
// abuse.Siteverify treats every non-2xx answer as "could not answer", so a
// 4xx (an answer about the request, which the client shapes through the
// token it sends) passes the CAPTCHA when failing open.
func TestHostile3CaptchaFailOpenPassesA4xxAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
		}))
		t.Cleanup(fake.Close)
		h := newHarness(t, dbURL, withEnv(map[string]string{
			"AUTH_CAPTCHA_PROVIDER": "turnstile", "AUTH_CAPTCHA_SECRET": "captcha-secret", "AUTH_CAPTCHA_SITE_KEY": "site-key-1",
			"AUTH_CAPTCHA_VERIFY_URL": fake.URL, "AUTH_CAPTCHA_FAIL": "open"}))
		r := h.client().do("POST", "/auth/register", registerBody(newEmail()), "X-Captcha-Token", strings.Repeat("x", 4000))
		if r.status != http.StatusBadRequest {
			t.Errorf("a token the provider answered 400 to: %d %s (want 400 captcha_failed)", r.status, r.body)
		}
	})
}

// TestHostile3InvitationProofSendsNoEmailVerifiedWebhook: lifecycle.md —
// the invitation link "also marks the email verified", and user.email_verified
// is one of the webhook events. Accepting an invitation (like any reset that
// proves an unverified address) verifies the address without an
// email_verified audit event, so no user.email_verified webhook is sent: a
// receiver waiting for it never learns the invited address was proven.
func TestHostile3InvitationProofSendsNoEmailVerifiedWebhook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		hh := newHookHarness(t, dbURL)
		h := hh.harness
		root := makeAdmin(t, h, "root-"+newEmail())
		invited := newEmail()
		r := root.do("POST", "/admin/users", map[string]any{"email": invited, "name": "Invited"})
		wantStatus(t, r, http.StatusCreated, "invite")
		var au handlers.AdminUserResponse
		r.json(t, &au)
		_, tok := hh.mailFor(invited, "You are invited", 0).Link()
		wantStatus(t, h.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": "the invited passphrase"}),
			http.StatusNoContent, "accept the invitation")
		var me handlers.AuthResponse
		login2(t, h, invited, "the invited passphrase").do("GET", "/auth/me", nil).json(t, &me)
		if !me.User.EmailVerified {
			t.Fatal("the invitation did not verify the address")
		}
		hh.drain(100)
		got := false
		for _, g := range hh.recv.seen() {
			if g.userID == au.User.ID && g.typ == auth.HookUserEmailVerified {
				got = true
			}
		}
		if !got {
			t.Errorf("the invited address was verified but no %s webhook was delivered", auth.HookUserEmailVerified)
		}
	})
}

// TestHostile3AdminPatchHalfAppliedOn422: PATCH /admin/users/{id} with a
// role and an appMetadata patch whose merged result is over 4 KiB answers
// 422 validation_failed, yet the role change was already committed in its
// own transaction (auth.UpdateUser writes the role, then the metadata): the
// administrator is told the request was refused while the user was in fact
// promoted to admin (or disabled, demoted …).
func TestHostile3AdminPatchHalfAppliedOn422(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m"}))
		root := makeAdmin(t, h, "root-"+newEmail())
		bob := h.register(newEmail())
		bobID := userID(t, bob)
		wantStatus(t, root.do("PATCH", "/admin/users/"+bobID, map[string]any{"appMetadata": map[string]any{"a": strings.Repeat("x", 3000)}}),
			http.StatusOK, "app metadata near the bound")
		r := root.do("PATCH", "/admin/users/"+bobID, map[string]any{"role": "admin", "appMetadata": map[string]any{"b": strings.Repeat("y", 2000)}})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("over the bound: %d %s", r.status, r.body)
		}
		if n := count(t, h, "SELECT count(*) FROM users WHERE CAST(id AS TEXT) = $1 AND role = 'admin'", bobID); n != 0 {
			t.Errorf("the request answered 422 but the user was promoted to admin")
		}
	})
}

// TestHostile3HookAppMetadataIgnored: abuse.md — the before-create hook
// answers 200 {"allow": true} "(optionally "appMetadata": {…} once
// lifecycle exists)". Lifecycle exists, but the answer's appMetadata is
// dropped (auth.HookAnswer has no such field): an operator relying on the
// hook to tag new accounts (plan, tenant) gets untagged accounts.
func TestHostile3HookAppMetadataIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		f := newHookReceiver(t)
		f.set(`{"allow": true, "appMetadata": {"plan": "trial"}}`, nil)
		m := newMailHarness(t, dbURL, hookEnv(f, "AUTH_EMAIL_VERIFICATION", "off"))
		c := m.client()
		wantStatus(t, c.do("POST", "/auth/register", registerBody(newEmail())), http.StatusCreated, "register")
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		if !strings.Contains(string(me.User.AppMetadata), `"trial"`) {
			t.Errorf("the hook's appMetadata was not applied: %s", me.User.AppMetadata)
		}
	})
}
