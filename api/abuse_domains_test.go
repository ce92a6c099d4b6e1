package api_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestEmailDomainRules: deny lists (subdomains included), the shipped
// disposable list and its override, and allow lists apply on register,
// email change and the command line's CreateUser; a refusal is the same for
// an address with an account and one without, does no hashing, and
// leaves existing users alone.
func TestEmailDomainRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_SIGNUP_DOMAINS_DENY": "blocked.example", "AUTH_BLOCK_DISPOSABLE": "true",
			"AUTH_EMAIL_VERIFICATION": "required"})
		ctx := context.Background()
		// An account from before the rule, at a denied domain.
		old := models.User{Email: "old@sub.blocked.example", Name: "Old", PasswordHash: "x", Role: models.RoleUser}
		if err := m.db.CreateUser(ctx, &old); err != nil {
			t.Fatal(err)
		}
		hashes, mails := m.hasher.Count(), m.outboxRows()
		var first response
		for i, email := range []string{"old@sub.blocked.example", "new@sub.blocked.example", "x@blocked.example", "someone@mailinator.com", "a@b.yopmail.com"} {
			r := m.client().do("POST", "/auth/register", registerBody(email))
			var e handlers.ErrorResponse
			r.json(t, &e)
			if r.status != http.StatusUnprocessableEntity || e.Error.Code != "email_domain_not_allowed" || len(e.Error.Fields["email"]) != 1 {
				t.Fatalf("register %s: %d %s", email, r.status, r.body)
			}
			if i == 0 {
				first = r
			} else if i == 1 && (r.status != first.status || !sameError(t, r, first)) {
				t.Errorf("an address with an account answers differently: %s vs %s", r.body, first.body)
			}
		}
		if m.hasher.Count() != hashes || m.outboxRows() != mails {
			t.Errorf("a refused domain did work: hashes %d→%d, outbox %d→%d", hashes, m.hasher.Count(), mails, m.outboxRows())
		}
		if ev, _ := m.db.Events(ctx, models.EventFilter{Type: models.EventSignupDenied}); len(ev) != 5 || ev[0].Detail != "reason: domain" {
			t.Errorf("signup_denied audit: %d", len(ev))
		}
		// Existing users are not touched: the old account still exists.
		if _, err := m.db.UserByEmail(ctx, old.Email); err != nil {
			t.Errorf("the existing user: %v", err)
		}
		// A near miss is not a subdomain.
		wantStatus(t, m.client().do("POST", "/auth/register", registerBody("a@notblocked.example")), http.StatusAccepted, "notblocked.example")

		// Email change: 422 on newEmail, the same whoever holds the address.
		email := newEmail()
		c := m.client()
		wantStatus(t, c.do("POST", "/auth/register", registerBody(email)), http.StatusAccepted, "register")
		m.settled(models.MailVerifyEmail, email)
		signedIn := m.signInVerified(c, email)
		for _, to := range []string{old.Email, "fresh@blocked.example"} {
			r := signedIn.do("POST", "/auth/email/change", map[string]any{"newEmail": to, "currentPassword": goodPassword})
			if r.status != http.StatusUnprocessableEntity || r.errorCode(t) != "email_domain_not_allowed" || !strings.Contains(string(r.body), `"newEmail"`) {
				t.Errorf("change to %s: %d %s", to, r.status, r.body)
			}
		}

		// The command line and admin paths go through CreateUser.
		_, err := m.svc.CreateUser(ctx, auth.NewUser{Email: "op@blocked.example", Name: "Op", Password: goodPassword, Role: models.RoleUser, Verified: true})
		if models.CodeOf(err) != models.CodeEmailDomainNotAllowed {
			t.Errorf("CreateUser at a denied domain: %v", err)
		}

		// The shipped list is replaced by AUTH_DISPOSABLE_DOMAINS_FILE, and an
		// allow list admits only its domains and their subdomains.
		file := filepath.Join(t.TempDir(), "disposable.txt")
		if err := os.WriteFile(file, []byte("# ours\nthrowaway.test\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		o := newHarness(t, dbURL, withEnv(map[string]string{"AUTH_BLOCK_DISPOSABLE": "true", "AUTH_DISPOSABLE_DOMAINS_FILE": file,
			"AUTH_SIGNUP_DOMAINS_ALLOW": "mailinator.com,throwaway.test,corp.example", "AUTH_EMAIL_VERIFICATION": "off", "AUTH_RATE_LIMIT_IP": "1000/m"}))
		wantStatus(t, o.client().do("POST", "/auth/register", registerBody("a@mailinator.com")), http.StatusCreated, "mailinator.com once the list is replaced")
		wantStatus(t, o.client().do("POST", "/auth/register", registerBody("a@eu.corp.example")), http.StatusCreated, "a subdomain of an allowed domain")
		for _, email := range []string{"a@throwaway.test", "a@example.org", "a@corp.example.org"} {
			r := o.client().do("POST", "/auth/register", registerBody(email))
			if r.status != http.StatusUnprocessableEntity || r.errorCode(t) != "email_domain_not_allowed" {
				t.Errorf("register %s: %d %s", email, r.status, r.body)
			}
		}
	})
}

// sameError reports whether two error answers carry the same code, message
// and fields.
func sameError(t *testing.T, a, b response) bool {
	var ea, eb handlers.ErrorResponse
	a.json(t, &ea)
	b.json(t, &eb)
	return ea.Error.Code == eb.Error.Code && ea.Error.Message == eb.Error.Message &&
		strings.Join(ea.Error.Fields["email"], "|") == strings.Join(eb.Error.Fields["email"], "|")
}

// signInVerified follows the verification link mailed to email and signs in.
func (m *mailHarness) signInVerified(c *client, email string) *client {
	m.t.Helper()
	msg := m.mailFor(email, "Confirm your email address", 0)
	_, tok := msg.Link()
	wantStatus(m.t, c.do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify")
	return login(m.t, m.harness, email)
}
