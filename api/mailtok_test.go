package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
	"github.com/portcullis-auth/portcullis/token"
)

// sqlQuery runs a query written with ? placeholders on either database.
func (h *harness) sqlQuery(query string, args ...any) string {
	if h.db.Dialect() == "postgres" {
		n := 0
		var b strings.Builder
		for _, r := range query {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		query = b.String()
	}
	var out string
	if err := h.db.SQL().QueryRow(query, args...).Scan(&out); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return out
}

// stored reads a user as stored, past every cache.
func (h *harness) stored(id string) models.User {
	h.t.Helper()
	h.cache.Purge()
	u, err := h.db.UserByID(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// pendingChange has an intruder who knows the password ask to move the
// account to their own address, and returns the confirmation token mailed
// there.
func pendingChange(t *testing.T, m *mailHarness, owner string) (intruder *client, to, tok string) {
	t.Helper()
	intruder = login(t, m.harness, owner)
	to = newEmail()
	wantStatus(t, intruder.do("POST", "/auth/email/change", map[string]any{"newEmail": to, "currentPassword": goodPassword}),
		http.StatusAccepted, "the intruder asks for the change")
	_, tok = m.mailFor(to, "Confirm your new email address", 0).Link()
	return intruder, to, tok
}

// refusedConfirm asserts the intruder's confirmation is refused and changes
// nothing: the owner keeps the address, and the token is spent or dead.
func refusedConfirm(t *testing.T, m *mailHarness, intruder *client, id, owner, tok, what string) {
	t.Helper()
	r := intruder.do("POST", "/auth/email/change/confirm", map[string]any{"token": tok})
	if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_token" {
		t.Errorf("%s: the intruder's confirmation answered %d %s, want 400 invalid_token", what, r.status, r.body)
	}
	if u := m.stored(id); u.Email != owner {
		t.Errorf("%s: the account moved to %s", what, u.Email)
	}
}

// TestMailedTokensDieWithTheCredentials: an email change asked for by an
// intruder with the password cannot be confirmed once the owner resets or
// changes the password, an administrator disables the account or resets its
// factors; a reset link is refused while the account is disabled and after
// it is enabled again, and a verification link only while it is disabled.
func TestMailedTokensDieWithTheCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		root := makeAdmin(t, m.harness, "root-"+newEmail())

		t.Run("owner resets the password", func(t *testing.T) {
			owner := newEmail()
			id := userID(t, m.register(owner))
			intruder, _, tok := pendingChange(t, m, owner)
			wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": owner}), http.StatusAccepted, "forgot")
			_, reset := m.mailFor(owner, "Reset your password", 0).Link()
			wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "the owner's new passphrase"}),
				http.StatusNoContent, "the owner's reset")
			refusedConfirm(t, m, intruder, id, owner, tok, "after a reset")
		})

		t.Run("owner changes the password", func(t *testing.T) {
			owner := newEmail()
			c := m.register(owner)
			id := userID(t, c)
			intruder, _, tok := pendingChange(t, m, owner)
			wantStatus(t, c.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "the owner's new passphrase"}),
				http.StatusNoContent, "the owner's password change")
			refusedConfirm(t, m, intruder, id, owner, tok, "after a password change")
		})

		t.Run("admin resets the factors", func(t *testing.T) {
			owner := newEmail()
			id := userID(t, m.register(owner))
			intruder, _, tok := pendingChange(t, m, owner)
			wantStatus(t, root.do("DELETE", "/admin/users/"+id+"/mfa", nil), http.StatusNoContent, "admin MFA reset")
			refusedConfirm(t, m, intruder, id, owner, tok, "after an admin MFA reset")
		})

		t.Run("admin disables the account", func(t *testing.T) {
			owner := newEmail()
			id := userID(t, m.register(owner))
			intruder, _, tok := pendingChange(t, m, owner)
			wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": owner}), http.StatusAccepted, "forgot")
			_, reset := m.mailFor(owner, "Reset your password", 0).Link()
			// A verification link is asked for before the disable too.
			m.clock.Advance(2 * time.Minute)
			wantStatus(t, m.client().do("POST", "/auth/email/verify/resend", map[string]any{"email": owner}), http.StatusAccepted, "resend")
			_, verify := m.mailFor(owner, "Confirm your email address", 0).Link()

			wantStatus(t, root.do("PATCH", "/admin/users/"+id, map[string]any{"disabled": true}), http.StatusOK, "disable")
			refusedConfirm(t, m, intruder, id, owner, tok, "while disabled")
			for name, try := range map[string]func() response{
				"reset": func() response {
					return m.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "the intruder's passphrase"})
				},
				"verification": func() response {
					return m.client().do("POST", "/auth/email/verify", map[string]any{"token": verify})
				},
			} {
				if r := try(); r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_token" {
					t.Errorf("a %s link while disabled: %d %s", name, r.status, r.body)
				}
			}
			if u := m.stored(id); u.EmailVerified {
				t.Error("a verification link verified a disabled account")
			}

			wantStatus(t, root.do("PATCH", "/admin/users/"+id, map[string]any{"disabled": false}), http.StatusOK, "enable again")
			refusedConfirm(t, m, intruder, id, owner, tok, "after the account was enabled again")
			r := m.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "the intruder's passphrase"})
			if r.status != http.StatusBadRequest || r.errorCode(t) != "invalid_token" {
				t.Errorf("a reset link from before the disable, after the enable: %d %s", r.status, r.body)
			}
			login2(t, m.harness, owner, goodPassword) // the password is the owner's still
			// Verification is not bound to the credentials: the link works again.
			wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": verify}), http.StatusOK, "the verification link once enabled")
			if u := m.stored(id); !u.EmailVerified {
				t.Error("the verification link did not verify once enabled")
			}
		})
	})
}

// TestTwoEmailChangesRace: two change links of one account, both live (as
// two instances issuing at once can leave them), confirmed at the same time:
// both are consumed before either swaps the address (a hook holds each
// request there until the other arrives), and exactly one wins; the other is
// refused since the winner moved the credential version on.
func TestTwoEmailChangesRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		var (
			mu      sync.Mutex
			arrived int
			both    = make(chan struct{})
		)
		hooks := &auth.EmailHooks{BeforeEmailSwap: func() {
			mu.Lock()
			arrived++
			if arrived == 2 {
				close(both)
			}
			mu.Unlock()
			select {
			case <-both:
			case <-time.After(10 * time.Second): // a failing run must not hang
			}
		}}
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"},
			func(_ *config.Config, d *api.Deps) { d.EmailHooks = hooks })
		owner := newEmail()
		c := m.register(owner)
		id := userID(t, c)
		_, first, firstTok := pendingChange(t, m, owner)
		m.clock.Advance(2 * time.Minute)
		_, second, secondTok := pendingChange(t, m, owner)
		// Issuing the second consumed the first; two instances resolving both
		// requests at once would have left both live.
		m.sqlQuery("UPDATE one_time_tokens SET consumed_at = NULL WHERE email = ? RETURNING email", first)
		before := m.stored(id).CredentialVersion

		toks := []string{firstTok, secondTok}
		rs := all(2, func(i int) response {
			return m.client().do("POST", "/auth/email/change/confirm", map[string]any{"token": toks[i]})
		})
		won := -1
		for i, r := range rs {
			switch {
			case r.status == http.StatusOK && won < 0:
				won = i
			case r.status == http.StatusBadRequest && r.errorCode(t) == "invalid_token":
			default:
				t.Errorf("confirmation %d: %d %s", i, r.status, r.body)
			}
		}
		if won < 0 || (rs[0].status == http.StatusOK) == (rs[1].status == http.StatusOK) {
			t.Fatalf("racing confirmations answered %d and %d, want one 200 and one 400", rs[0].status, rs[1].status)
		}
		u := m.stored(id)
		if want := []string{first, second}[won]; u.Email != want || u.CredentialVersion != before+1 {
			t.Errorf("after the race: %s at version %d, want %s at %d", u.Email, u.CredentialVersion, want, before+1)
		}
		if n := countEvents(t, m.harness, models.EventEmailChanged); n != 1 {
			t.Errorf("%d email_changed events, want 1", n)
		}
	})
}

// TestFirstProofUnderRequired: someone registers the owner's address with
// their own password; the owner's first sign-in by mailed code voids that
// password (audited, and the owner is mailed password_removed).
func TestFirstProofUnderRequired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "required"})
		owner := newEmail()
		wantStatus(t, m.client().do("POST", "/auth/register", registerBody(owner)), http.StatusAccepted, "the registrant")
		m.mailFor(owner, "Confirm your email address", 0)
		m.clock.Advance(2 * time.Minute)
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": owner}), http.StatusAccepted, "the owner asks for a code")
		code := m.mailFor(owner, "Your sign-in code", 0).Code()
		browser := m.client()
		r := browser.do("POST", "/auth/sign-in/email/verify", map[string]any{"email": owner, "code": code})
		wantStatus(t, r, http.StatusOK, "the owner signs in with the code")
		var in handlers.AuthResponse
		r.json(t, &in)
		if !in.User.EmailVerified {
			t.Error("the code did not verify the address")
		}
		wantStatus(t, browser.do("GET", "/auth/me", nil), http.StatusOK, "the owner's session")
		r = m.client().do("POST", "/auth/login", map[string]any{"email": owner, "password": goodPassword})
		if r.status != http.StatusUnauthorized || r.errorCode(t) != "invalid_credentials" {
			t.Errorf("the registrant's password after the owner's proof: %d %s", r.status, r.body)
		}
		if u := m.stored(in.User.ID); u.PasswordHash != "" {
			t.Error("the registrant's password hash is still stored")
		}
		if n := countEvents(t, m.harness, models.EventPasswordVoided); n != 1 {
			t.Errorf("%d password_voided events, want 1", n)
		}
		removed := m.mailFor(owner, "The password of your account was removed", 0)
		if !strings.Contains(removed.Text, "forgot password") {
			t.Errorf("password_removed mail: %q", removed.Text)
		}
		// A second sign-in by mail voids nothing more (the address is proven).
		m.clock.Advance(2 * time.Minute)
		n := len(m.smtp.To(owner))
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": owner}), http.StatusAccepted, "another code")
		code = m.mailFor(owner, "Your sign-in code", n).Code()
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": owner, "code": code}), http.StatusOK, "the second code")
		wantStatus(t, browser.do("GET", "/auth/me", nil), http.StatusOK, "the first session after a later proof")
		if n := countEvents(t, m.harness, models.EventPasswordVoided); n != 1 {
			t.Errorf("%d password_voided events after a later sign-in, want 1", n)
		}
	})
}

// forgetAccessCookie drops a browser's access cookie, as the browser does
// once its Max-Age has passed: only the refresh cookie is left.
func (c *client) forgetAccessCookie() {
	u, _ := url.Parse(c.h.srv.URL + "/")
	c.jar.SetCookies(u, []*http.Cookie{{Name: "__Host-session", Value: "", Path: "/", MaxAge: -1, Secure: true}})
}

// TestFirstProofUnderOptional: a verification link followed on another
// device ends every earlier session (the registrant's too) and moves the
// credential version on; one followed in the registering browser keeps that
// browser signed in and the password, also once its access token expired
// (the refresh cookie names the session); nobody can enrol a factor before
// verifying.
func TestFirstProofUnderOptional(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		keys, _ := token.NewKeyRing(token.GenerateKey("data-1"))
		m := newMailHarness(t, dbURL, nil, withDataKeys(keys))

		t.Run("on another device", func(t *testing.T) {
			owner := newEmail()
			registrant := m.register(owner)
			id := userID(t, registrant)
			other := login(t, m.harness, owner)
			r := registrant.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"})
			if r.status != http.StatusForbidden || r.errorCode(t) != "email_not_verified" {
				t.Errorf("enrolling before verifying: %d %s", r.status, r.body)
			}
			if n := m.sqlQuery("SELECT CAST(count(*) AS TEXT) FROM mfa_factors WHERE user_id = ?", id); n != "0" {
				t.Errorf("%s factors stored", n)
			}
			before := m.stored(id).CredentialVersion
			_, tok := m.mailFor(owner, "Confirm your email address", 0).Link()
			wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify elsewhere")
			for name, c := range map[string]*client{"the registering browser": registrant, "another session": other} {
				wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusUnauthorized, name+" after the proof")
				wantStatus(t, c.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, name+" refreshing after the proof")
			}
			if u := m.stored(id); !u.EmailVerified || u.CredentialVersion != before+1 {
				t.Errorf("after the proof: verified %v, version %d (was %d)", u.EmailVerified, u.CredentialVersion, before)
			}
		})

		for _, expired := range []bool{false, true} {
			t.Run(fmt.Sprintf("in the registering browser, access token expired %v", expired), func(t *testing.T) {
				owner := newEmail()
				browser := m.register(owner)
				id := userID(t, browser)
				other := login(t, m.harness, owner)
				_, tok := m.mailFor(owner, "Confirm your email address", 0).Link()
				if expired {
					m.clock.Advance(16 * time.Minute)
					browser.forgetAccessCookie()
				}
				wantStatus(t, browser.do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "verify in the same browser")
				if expired {
					wantStatus(t, browser.do("POST", "/auth/refresh", nil), http.StatusOK, "refresh after verifying")
				}
				wantStatus(t, browser.do("GET", "/auth/me", nil), http.StatusOK, "the registering browser after verifying")
				wantStatus(t, other.do("POST", "/auth/refresh", nil), http.StatusUnauthorized, "an earlier session elsewhere")
				if u := m.stored(id); !u.EmailVerified || u.PasswordHash == "" {
					t.Errorf("after verifying: verified %v, password kept %v", u.EmailVerified, u.PasswordHash != "")
				}
				fresh := login2(t, m.harness, owner, goodPassword)
				wantStatus(t, fresh.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"}), http.StatusCreated, "enrol once verified")
			})
		}
	})
}

// TestMailedSecretsAreKeyed reads the token and code columns: no stored
// value is the SHA-256 of the mailed token, of the address and code, or of
// the code; a row stored the old way (plain SHA-256) keeps working.
func TestMailedSecretsAreKeyed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "optional"})
		email := newEmail()
		m.register(email)
		_, verify := m.mailFor(email, "Confirm your email address", 0).Link()
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "sign-in code")
		signIn := m.mailFor(email, "Your sign-in code", 0)
		_, link := signIn.Link()
		wantStatus(t, m.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		_, reset := m.mailFor(email, "Reset your password", 0).Link()

		sha := func(s string) string {
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:])
		}
		guessable := map[string]string{}
		for what, g := range map[string]string{"the verification token": verify, "the sign-in token": link, "the reset token": reset,
			"the code": signIn.Code(), "the address and code": email + ":" + signIn.Code()} {
			guessable[sha(g)] = what
		}
		rows, err := m.db.SQL().Query("SELECT token_hash, code_hash FROM one_time_tokens")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var tok, code string
			if err := rows.Scan(&tok, &code); err != nil {
				t.Fatal(err)
			}
			n++
			for _, v := range []string{tok, code} {
				if g, ok := guessable[v]; ok {
					t.Errorf("a stored hash is the SHA-256 of %s", g)
				}
			}
		}
		rows.Close()
		if n != 3 {
			t.Fatalf("%d token rows, want 3", n)
		}
		// A row written before keyed hashes, by an older version.
		m.sqlQuery("UPDATE one_time_tokens SET token_hash = ? WHERE purpose = 'reset_password' RETURNING purpose", sha(reset))
		wantStatus(t, m.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "a brand new passphrase"}),
			http.StatusNoContent, "a legacy reset row")
	})
}

// TestMailedTokensSurviveAKeyRotation: a token and a code mailed under one
// session key work on an instance whose ring has a newer key first (every
// key of the ring is tried), and stop working once the old key is removed.
func TestMailedTokensSurviveAKeyRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		if strings.HasPrefix(dbURL, "sqlite:") {
			dbURL = "sqlite:" + t.TempDir() + "/auth.db" // shared by the instances
		}
		before := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"})
		email := newEmail()
		before.register(email)
		wantStatus(t, before.client().do("POST", "/auth/password/forgot", map[string]any{"email": email}), http.StatusAccepted, "forgot")
		_, reset := before.mailFor(email, "Reset your password", 0).Link()
		other := newEmail()
		before.register(other)
		wantStatus(t, before.client().do("POST", "/auth/sign-in/email", map[string]any{"email": other}), http.StatusAccepted, "sign-in code")
		code := before.mailFor(other, "Your sign-in code", 0).Code()

		instance := func(keys ...token.Key) *harness {
			ring, err := token.NewKeyRing(keys...)
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, dbURL, func(_ *config.Config, d *api.Deps) { d.Keys = ring.WithCache(100) })
			h.clock.t = before.clock.Now()
			return h
		}
		removed := instance(token.GenerateKey("new"))
		wantStatus(t, removed.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "a brand new passphrase"}),
			http.StatusBadRequest, "the reset token once its key is removed")
		wantStatus(t, removed.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": other, "code": code}),
			http.StatusBadRequest, "the code once its key is removed")

		rotated := instance(token.GenerateKey("new"), before.key)
		wantStatus(t, rotated.client().do("POST", "/auth/password/reset", map[string]any{"token": reset, "password": "a brand new passphrase"}),
			http.StatusNoContent, "the reset token after a rotation")
		wantStatus(t, rotated.client().do("POST", "/auth/sign-in/email/verify", map[string]any{"email": other, "code": code}),
			http.StatusOK, "the code after a rotation")
	})
}

// TestAPendingChangeDiesWithTheCredentials: an intruder asks to move the
// account to their address; the worker starts on the request (a hook holds
// it there) and the owner changes the password before it issues the token:
// the request is dropped, no link goes out and no token is stored.
func TestAPendingChangeDiesWithTheCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		reached, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		hooks := &auth.EmailHooks{BeforeResolve: func(kind models.MailKind) {
			if kind != models.MailChangeEmail {
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
		m := newMailHarness(t, dbURL, map[string]string{"AUTH_EMAIL_VERIFICATION": "off"},
			func(_ *config.Config, d *api.Deps) { d.EmailHooks = hooks })
		owner, to := newEmail(), newEmail()
		c := m.register(owner)
		id := userID(t, c)
		intruder := login(t, m.harness, owner)
		wantStatus(t, intruder.do("POST", "/auth/email/change", map[string]any{"newEmail": to, "currentPassword": goodPassword}),
			http.StatusAccepted, "the intruder asks for the change")
		select {
		case <-reached:
		case <-time.After(10 * time.Second):
			t.Fatal("the worker never started on the change request")
		}
		wantStatus(t, c.do("POST", "/auth/password", map[string]any{"currentPassword": goodPassword, "newPassword": "the owner's new passphrase"}),
			http.StatusNoContent, "the owner's password change")
		close(release)
		state := "pending"
		for deadline := time.Now().Add(10 * time.Second); state == "pending" && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond) // waits for the outcome; the order was forced above
			state = m.sqlQuery("SELECT state FROM email_outbox WHERE kind = 'change_email'")
		}
		if state != "dropped" {
			t.Errorf("the change request ended %s, want dropped", state)
		}
		if n := m.sqlQuery("SELECT CAST(count(*) AS TEXT) FROM one_time_tokens WHERE purpose = 'change_email'"); n != "0" {
			t.Errorf("%s change tokens stored", n)
		}
		m.settle(to, 0)
		if u := m.stored(id); u.Email != owner {
			t.Errorf("the account moved to %s", u.Email)
		}
	})
}
