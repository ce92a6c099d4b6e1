package api_test

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// secrets collects every secret a test handled, to look for in the logs.
type secrets struct {
	t    *testing.T
	list []string
}

// add records values; an empty one means the flow did not give what it
// should have, which would make the search vacuous.
func (s *secrets) add(what string, values ...string) {
	s.t.Helper()
	for _, v := range values {
		if v == "" {
			s.t.Fatalf("%s: the flow gave no secret to look for", what)
		}
		s.list = append(s.list, v)
	}
}

// code records a six-digit TOTP code as a value of its own: the digits alone
// could occur by chance inside a timestamp.
func (s *secrets) code(code string) { s.add("a TOTP code", `"`+code+`"`, "="+code) }

// cookies records a browser's session and refresh tokens.
func (s *secrets) cookies(c *client) {
	s.t.Helper()
	s.add("the access cookie", c.cookieValue("/auth/me", "__Host-session"))
	s.add("the refresh cookie", c.cookieValue("/auth/refresh", "__Secure-refresh"))
}

// stored records every hash and sealed secret in the database: any column
// of the tables that hold credentials whose name says hash or secret.
func (s *secrets) stored(db *sql.DB) {
	s.t.Helper()
	n := 0
	for _, table := range []string{"users", "one_time_tokens", "mfa_factors", "recovery_codes"} {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			s.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				s.t.Fatal(err)
			}
			for i, col := range cols {
				if (strings.Contains(col, "hash") || strings.Contains(col, "secret")) && len(vals[i].String) >= 16 {
					s.list = append(s.list, vals[i].String)
					n++
				}
			}
		}
		if err := rows.Close(); err != nil {
			s.t.Fatal(err)
		}
	}
	if n < 10 {
		s.t.Fatalf("only %d stored hashes and sealed secrets found", n)
	}
}

// TestNoSecretInAnyFlowsLogs drives, under one log capture at debug level,
// every flow that handles a secret, each with a wrong attempt beside the
// right one: verification, reset, sign-in by mail (link and code), email
// change, password change, the token grant, TOTP enrolment, the second
// step, reauthentication (password, code, recovery code), new recovery
// codes and factor removal. No token, code, recovery code, TOTP secret,
// mfaToken, password, hash or sealed secret may appear in the logs. (Key
// re-encryption is a command: TestNoSecretInTheReencryptLogs.)
func TestNoSecretInAnyFlowsLogs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, nil, withDataKeys(keys))
		s := &secrets{t: t}
		const wrongPassword, resetPassword, changedPassword = "a wrong password guess", "a reset passphrase here", "a changed passphrase here"
		s.add("passwords", goodPassword, wrongPassword, resetPassword, changedPassword)
		email := newEmail()
		next := func() { m.clock.Advance(2 * time.Minute) } // past the per-address mail limit and a TOTP step
		bad := map[string]any{"token": "not-a-real-token-but-long-enough-to-look-like-one"}

		// Verification.
		c := m.register(email)
		s.cookies(c)
		link, tok := m.mailFor(email, "Confirm your email address", 0).Link()
		s.add("the verification link", link, tok)
		m.client().do("POST", "/auth/email/verify", bad)
		wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify")

		// Sign-in by mail: the link, then the code.
		next()
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "sign-in mail")
		msg := m.mailFor(email, "Your sign-in code", 0)
		link, tok = msg.Link()
		s.add("the sign-in link and code", link, tok, msg.Code())
		m.client().do("POST", "/auth/sign-in/email/verify", bad)
		byLink := m.client()
		wantStatus(t, byLink.do("POST", "/auth/sign-in/email/verify", map[string]any{"token": tok}), http.StatusOK, "sign in by link")
		s.cookies(byLink)
		next()
		seen := len(m.smtp.To(email))
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "sign-in mail again")
		code := m.mailFor(email, "Your sign-in code", seen).Code()
		s.add("the second sign-in code", code)
		m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": "00000000"})
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code}), http.StatusOK, "sign in by code")

		// Reset.
		next()
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		link, tok = m.mailFor(email, "Reset your password", 0).Link()
		s.add("the reset link", link, tok)
		m.client().do("POST", "/auth/password/reset", map[string]any{"token": bad["token"], "password": resetPassword})
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": tok, "password": resetPassword}), http.StatusNoContent, "reset")

		// Email change, then a password change, then the token grant.
		m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": wrongPassword})
		c = login2(t, m.harness, email, resetPassword)
		s.cookies(c)
		next()
		newAddress := newEmail()
		c.do("POST", "/auth/email/change", map[string]any{"newEmail": newAddress, "currentPassword": wrongPassword})
		wantStatus(t, c.do("POST", "/auth/email/change", map[string]any{"newEmail": newAddress, "currentPassword": resetPassword}),
			http.StatusAccepted, "email change")
		link, tok = m.mailFor(newAddress, "Confirm your new email address", 0).Link()
		s.add("the email change link", link, tok)
		m.client().do("POST", "/auth/email/change/confirm", bad)
		wantStatus(t, m.client().do("POST", "/auth/email/change/confirm", map[string]any{"token": tok}), http.StatusOK, "confirm the new address")
		email = newAddress
		c = login2(t, m.harness, email, resetPassword)
		c.do("POST", "/auth/password", map[string]any{"currentPassword": wrongPassword, "newPassword": changedPassword})
		wantStatus(t, c.do("POST", "/auth/password", map[string]any{"currentPassword": resetPassword, "newPassword": changedPassword}),
			http.StatusNoContent, "password change")
		var grant handlers.TokenResponse
		r := m.client().do("POST", "/auth/token", map[string]any{"grant_type": "password", "username": email, "password": changedPassword})
		wantStatus(t, r, http.StatusOK, "the password grant")
		r.json(t, &grant)
		s.add("the grant's tokens", grant.AccessToken, grant.RefreshToken)
		r = m.client().do("POST", "/auth/token", map[string]any{"grant_type": "refresh_token", "refresh_token": grant.RefreshToken})
		wantStatus(t, r, http.StatusOK, "the refresh grant")
		r.json(t, &grant)
		s.add("the refreshed tokens", grant.AccessToken, grant.RefreshToken)

		// TOTP enrolment: a wrong first code, then the right one.
		r = c.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"})
		wantStatus(t, r, http.StatusCreated, "enrol")
		var e handlers.TOTPEnrollment
		r.json(t, &e)
		s.add("the TOTP secret", e.Secret, strings.Split(e.OTPAuthURI, "?")[1], e.QRCode)
		c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": "000000"})
		first := apitest.TOTP(t, e.Secret, m.clock.Now())
		s.code(first)
		r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": first})
		wantStatus(t, r, http.StatusOK, "activate")
		var f handlers.FactorResponse
		r.json(t, &f)
		s.add("the recovery codes", f.RecoveryCodes...)
		s.cookies(c)

		// The second step: a wrong code, then the right one; a recovery code.
		next()
		firstStep := func() string {
			t.Helper()
			r := m.client().do("POST", "/auth/login", map[string]any{"email": email, "password": changedPassword})
			var in handlers.SignInResponse
			r.json(t, &in)
			if !in.MFARequired {
				t.Fatalf("no second step: %s", r.body)
			}
			return in.MFAToken
		}
		mfaToken := firstStep()
		s.add("the mfaToken", mfaToken)
		m.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "code": "000000"})
		second := apitest.TOTP(t, e.Secret, m.clock.Now())
		s.code(second)
		c = m.client()
		wantStatus(t, c.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "code": second}), http.StatusOK, "second step")
		s.cookies(c)
		mfaToken = firstStep()
		s.add("the second mfaToken", mfaToken)
		wantStatus(t, m.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "recoveryCode": f.RecoveryCodes[0]}),
			http.StatusOK, "a recovery code")

		// Reauthentication with each proof, each after a wrong one.
		next()
		c.do("POST", "/auth/reauthenticate", map[string]any{"password": wrongPassword})
		// A user with a factor reauthenticates with a factor: the password is
		// refused (422 on code), and must not be logged either.
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"password": changedPassword}), http.StatusUnprocessableEntity,
			"reauthenticate: password of a user with a factor")
		c.do("POST", "/auth/reauthenticate", map[string]any{"code": "000000"})
		third := apitest.TOTP(t, e.Secret, m.clock.Now())
		s.code(third)
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"code": third}), http.StatusOK, "reauthenticate: code")
		c.do("POST", "/auth/reauthenticate", map[string]any{"recoveryCode": "zzzzz-zzzzz"})
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"recoveryCode": f.RecoveryCodes[1]}), http.StatusOK,
			"reauthenticate: recovery code")

		// New recovery codes, then the factor's removal.
		r = c.do("POST", "/auth/mfa/recovery-codes", nil)
		wantStatus(t, r, http.StatusOK, "new recovery codes")
		var rc handlers.RecoveryCodesResponse
		r.json(t, &rc)
		s.add("the new recovery codes", rc.RecoveryCodes...)
		s.stored(m.db.SQL()) // before the removal deletes the factor and codes
		seen = len(m.smtp.To(email))
		wantStatus(t, c.do("DELETE", "/auth/mfa/"+e.Factor.ID, nil), http.StatusNoContent, "remove the factor")
		m.mailFor(email, "Two-step sign-in was changed", seen) // the worker has logged its delivery

		logs := m.logs.String()
		for _, want := range []string{"/auth/password/reset", "/auth/mfa/verify", "/auth/reauthenticate", "/auth/mfa/recovery-codes", "/auth/email/change/confirm"} {
			if !strings.Contains(logs, want) {
				t.Fatalf("the capture holds no line for %s: not every flow was logged", want)
			}
		}
		for _, secret := range s.list {
			if strings.Contains(logs, secret) {
				i := strings.Index(logs, secret)
				line := logs[strings.LastIndex(logs[:i], "\n")+1:]
				line, _, _ = strings.Cut(line, "\n")
				t.Errorf("a secret (%.6s…) is in the logs: %.300s", secret, strings.ReplaceAll(line, secret, "<SECRET>"))
			}
		}
	})
}
