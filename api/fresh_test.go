package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// count runs a count(*) query.
func count(t *testing.T, h *harness, query string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdminChangesNeedAFreshSession: an administrator whose session is
// older than AUTH_REAUTH_WINDOW cannot reset a user's MFA, change a role,
// re-enable a user, mail a password reset or lift a lockout (403
// reauthentication_required, nothing changes); disabling and reading still
// work. After reauthenticating, every one of them does.
func TestAdminChangesNeedAFreshSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off", "AUTH_LOCKOUT_THRESHOLD": "3"}, withDataKeys(mustDataKeys(t)))
		h := m.harness
		root := makeAdmin(t, h, "root-"+newEmail())
		ada := newEmail()
		adaC, _, _ := enrolled(t, h, ada)
		adaID := userID(t, adaC)
		bobC := h.register(newEmail())
		bobID := userID(t, bobC)
		locked := newEmail()
		for i := range 3 {
			h.client().do("POST", "/auth/login", map[string]any{"email": locked, "password": fmt.Sprintf("wrong %d", i)})
		}
		isLocked := func() bool {
			return h.client().do("POST", "/auth/login", map[string]any{"email": locked, "password": "whatever it is"}).status == http.StatusTooManyRequests
		}
		if !isLocked() {
			t.Fatal("the lockout did not lock")
		}
		wantStatus(t, root.do("PATCH", "/admin/users/"+bobID, map[string]any{"disabled": true}), http.StatusOK, "disable Bob (fresh)")

		h.clock.Advance(11 * time.Minute)
		type call struct {
			what, method, path string
			body               any
		}
		calls := []call{
			{"MFA reset", "DELETE", "/admin/users/" + adaID + "/mfa", nil},
			{"promote", "PATCH", "/admin/users/" + adaID, map[string]any{"role": "admin"}},
			{"a role in a PATCH, unchanged", "PATCH", "/admin/users/" + adaID, map[string]any{"role": "user", "disabled": true}},
			{"re-enable", "PATCH", "/admin/users/" + bobID, map[string]any{"disabled": false}},
			{"password reset mail", "POST", "/admin/users/" + adaID + "/password-reset", nil},
			{"lift a lockout", "DELETE", "/admin/lockouts?email=" + locked, nil},
		}
		outbox := count(t, h, "SELECT count(*) FROM email_outbox WHERE kind = $1", string(models.MailResetPassword))
		for _, c := range calls {
			r := root.do(c.method, c.path, c.body)
			if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
				t.Errorf("%s from a stale admin session: %d %s", c.what, r.status, r.body)
			}
		}
		// Nothing changed.
		if n := count(t, h, "SELECT count(*) FROM mfa_factors WHERE user_id = $1 AND status = 'active'", adaID); n != 1 {
			t.Errorf("Ada's factors after a refused MFA reset: %d", n)
		}
		if n := count(t, h, "SELECT count(*) FROM users WHERE id = $1 AND role = 'user' AND disabled_at IS NULL", adaID); n != 1 {
			t.Errorf("Ada after a refused promotion: changed")
		}
		if n := count(t, h, "SELECT count(*) FROM users WHERE id = $1 AND disabled_at IS NOT NULL", bobID); n != 1 {
			t.Errorf("Bob after a refused re-enable: enabled")
		}
		if n := count(t, h, "SELECT count(*) FROM email_outbox WHERE kind = $1", string(models.MailResetPassword)); n != outbox {
			t.Errorf("a refused reset mail was queued: %d rows, had %d", n, outbox)
		}
		if !isLocked() {
			t.Error("a refused lockout lift lifted it")
		}
		// Taking power away and reading need no fresh session.
		wantStatus(t, root.do("GET", "/admin/users/"+adaID, nil), http.StatusOK, "read a user")
		wantStatus(t, root.do("PATCH", "/admin/users/"+bobID, map[string]any{"disabled": true}), http.StatusOK, "disable again")
		wantStatus(t, root.do("DELETE", "/admin/users/"+bobID+"/sessions", nil), http.StatusNoContent, "sign Bob out")

		wantStatus(t, root.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword}), http.StatusOK, "the admin reauthenticates")
		want := []int{http.StatusNoContent, http.StatusOK, http.StatusOK, http.StatusOK, http.StatusAccepted, http.StatusNoContent}
		for i, c := range calls {
			wantStatus(t, root.do(c.method, c.path, c.body), want[i], c.what+" from a fresh session")
		}
		if isLocked() {
			t.Error("the lockout is still there")
		}
		if n := count(t, h, "SELECT count(*) FROM mfa_factors WHERE user_id = $1", adaID); n != 0 {
			t.Errorf("Ada's factors after the MFA reset: %d", n)
		}
	})
}

// TestFactorUsersReauthenticateWithAFactor: for a user with an active
// factor, POST /auth/reauthenticate {password} is 422 on code before any
// hashing and renews nothing; a currentPassword sent with an operation is
// checked and counted, and excuses a stale session only for a user without
// a factor.
func TestFactorUsersReauthenticateWithAFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, withDataKeys(mustDataKeys(t)))
		h := m.harness
		email := newEmail()
		c, secret, _ := enrolled(t, h, email)
		var me handlers.AuthResponse
		c.do("GET", "/auth/me", nil).json(t, &me)
		authTime := func() time.Time {
			t.Helper()
			var at time.Time
			if err := h.db.SQL().QueryRow("SELECT auth_time FROM sessions WHERE id = $1", me.Session.ID).Scan(&at); err != nil {
				t.Fatal(err)
			}
			return at.UTC()
		}
		h.clock.Advance(11 * time.Minute)
		before, hashes := authTime(), h.hasher.Count()
		r := c.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword})
		var e handlers.ErrorResponse
		r.json(t, &e)
		if r.status != http.StatusUnprocessableEntity || len(e.Error.Fields["code"]) == 0 {
			t.Errorf("the password alone from a user with a factor: %d %s", r.status, r.body)
		}
		if n := h.hasher.Count() - hashes; n != 0 {
			t.Errorf("%d hashes for a refused password reauthentication, want 0", n)
		}
		if after := authTime(); !after.Equal(before) {
			t.Errorf("the stored auth_time moved from %v to %v", before, after)
		}
		var list handlers.FactorsResponse
		c.do("GET", "/auth/mfa", nil).json(t, &list)
		if r := c.do("DELETE", "/auth/mfa/"+list.Factors[0].ID, nil); r.status != http.StatusForbidden {
			t.Errorf("removing the factor after a refused reauthentication: %d", r.status)
		}

		// A currentPassword is checked and counted even from a stale
		// session, but the right one does not excuse it for this user.
		change := func(c *client, current string) response {
			return c.do("POST", "/auth/password", map[string]any{"currentPassword": current, "newPassword": "a brand new passphrase"})
		}
		failedBefore := len(eventsOf(t, h, email, models.EventPasswordChangeFailed))
		hashes = h.hasher.Count()
		r = change(c, "not the password")
		r.json(t, &e)
		if r.status != http.StatusUnprocessableEntity || len(e.Error.Fields["currentPassword"]) == 0 || h.hasher.Count() == hashes {
			t.Errorf("a wrong current password from a stale session: %d %s (hashed: %v)", r.status, r.body, h.hasher.Count() != hashes)
		}
		if n := len(eventsOf(t, h, email, models.EventPasswordChangeFailed)); n != failedBefore+1 {
			t.Errorf("the wrong current password was not counted: %d events", n)
		}
		if r = change(c, goodPassword); r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("the right current password from a stale aal 2 session of a factor user: %d %s", r.status, r.body)
		}
		r = c.do("POST", "/auth/email/change", map[string]any{"newEmail": newEmail(), "currentPassword": goodPassword})
		if r.status != http.StatusForbidden || r.errorCode(t) != "reauthentication_required" {
			t.Errorf("an email change with the right password from a stale session: %d %s", r.status, r.body)
		}
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"code": apitest.TOTP(t, secret, h.clock.Now())}), http.StatusOK, "reauthenticate with the code")
		if !authTime().After(before) {
			t.Error("a code did not renew the session")
		}
		wantStatus(t, change(c, goodPassword), http.StatusNoContent, "the password change from a fresh session")

		// Without a factor the right current password is the proof.
		plain := h.register(newEmail())
		h.clock.Advance(11 * time.Minute)
		wantStatus(t, change(plain, goodPassword), http.StatusNoContent, "a stale session of a user without a factor, with the password")
	})
}

// mustDataKeys returns keys to seal TOTP secrets with.
func mustDataKeys(t *testing.T) *token.KeyRing {
	t.Helper()
	keys, err := token.NewKeyRing(token.GenerateKey("data-1"))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestIDsInAnySpellingOnEveryRoute: every route that takes an id reads it
// in any spelling of the UUID (upper case, no dashes, braces): activating
// and removing a factor, and each administrator's route on a user. New
// recovery codes are audited.
func TestIDsInAnySpellingOnEveryRoute(t *testing.T) {
	spellings := map[string]func(string) string{
		"upper":     strings.ToUpper,
		"no dashes": func(id string) string { return strings.ReplaceAll(id, "-", "") },
		"braces":    func(id string) string { return "{" + strings.ToUpper(id) + "}" },
	}
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"}, withDataKeys(mustDataKeys(t)))
		h := m.harness
		root := makeAdmin(t, h, "root-"+newEmail())
		start := func(c *client) handlers.TOTPEnrollment {
			t.Helper()
			var e handlers.TOTPEnrollment
			r := c.do("POST", "/auth/mfa/totp", map[string]any{})
			wantStatus(t, r, http.StatusCreated, "start enrolling")
			r.json(t, &e)
			return e
		}
		for name, spell := range spellings {
			email := newEmail()
			c := h.register(email)
			m.verifyAddress(c, email)
			id := userID(t, c)
			e := start(c)
			r := c.do("POST", "/auth/mfa/totp/"+spell(e.Factor.ID)+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())})
			wantStatus(t, r, http.StatusOK, name+": activate the factor")
			wantStatus(t, c.do("POST", "/auth/mfa/recovery-codes", nil), http.StatusOK, name+": new recovery codes")
			wantStatus(t, c.do("DELETE", "/auth/mfa/"+spell(e.Factor.ID), nil), http.StatusNoContent, name+": remove the factor")
			h.clock.Advance(time.Minute)
			e = start(c)
			wantStatus(t, c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())}),
				http.StatusOK, name+": activate again")

			uid := spell(id)
			wantStatus(t, root.do("GET", "/admin/users/"+uid, nil), http.StatusOK, name+": get the user")
			wantStatus(t, root.do("PATCH", "/admin/users/"+uid, map[string]any{"role": "user"}), http.StatusOK, name+": patch the user")
			wantStatus(t, root.do("POST", "/admin/users/"+uid+"/password-reset", nil), http.StatusAccepted, name+": mail a reset")
			wantStatus(t, root.do("DELETE", "/admin/users/"+uid+"/mfa", nil), http.StatusNoContent, name+": reset the MFA")
			wantStatus(t, root.do("DELETE", "/admin/users/"+uid+"/sessions", nil), http.StatusNoContent, name+": sign the user out")
			if n := count(t, h, "SELECT count(*) FROM mfa_factors WHERE user_id = $1", id); n != 0 {
				t.Errorf("%s: %d factors after the reset", name, n)
			}
			var audit handlers.AuditResponse
			r = root.do("GET", "/admin/audit?type=recovery_codes_regenerated&userId="+uid, nil)
			wantStatus(t, r, http.StatusOK, name+": the audit of the user")
			r.json(t, &audit)
			if len(audit.Events) != 1 || audit.Events[0].UserID != id || audit.Events[0].SessionID == "" {
				t.Errorf("%s: recovery_codes_regenerated events %+v", name, audit.Events)
			}
		}
	})
}
