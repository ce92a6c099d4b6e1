package api_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestHostile2OIDCSquatterIdentitySurvivesOwnersProof: under the default
// AUTH_EMAIL_VERIFICATION=optional, an attacker whose provider account
// claims the victim's address unverified (email_verified: false) creates
// the victim's account through the callback, with the attacker's identity
// linked. The owner's first proof of the address (the verification link
// mailed at creation) ends the attacker's sessions, but the identity stays:
// the attacker signs in again, now into the owner's proven account.
// DESIGN.md, First proof of an address: "linking an identity answer 403
// email_not_verified … so nothing else of a pre-registered account survives
// the owner's proof".
func TestHostile2OIDCSquatterIdentitySurvivesOwnersProof(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		p := apitest.NewOIDCProvider(t)
		m := newMailHarness(t, dbURL, p.Env("mock", "Mock"))
		o := &oidcHarness{harness: m.harness, p: p}
		victim := newEmail()

		p.SignInAs(apitest.OIDCUser{Subject: "sub-squatter", Email: victim, EmailVerified: false, Name: "Squatter"})
		attacker := o.browser()
		landed(t, o.signIn(attacker), "")
		id := o.me(attacker).User.ID
		if o.stored(id).EmailVerified {
			t.Fatal("setup: the squatted account is verified")
		}

		// The owner follows the verification link that reached their inbox.
		_, tok := m.mailFor(victim, "Confirm your email address", 0).Link()
		wantStatus(t, m.client().do("POST", "/auth/email/verify", map[string]any{"token": tok}), http.StatusOK, "owner verifies")
		wantStatus(t, attacker.do("GET", "/auth/me", nil), http.StatusUnauthorized, "squatter's session after the proof")
		if !o.stored(id).EmailVerified {
			t.Fatal("setup: not verified after the link")
		}

		if n := o.identityRows("sub-squatter"); n != "0" {
			t.Errorf("the squatter's identity survives the owner's first proof (%s rows)", n)
		}
		again := o.browser()
		r := o.signIn(again)
		if r.cookie("__Host-session") != nil {
			if me := o.me(again); me.User.ID == id {
				t.Fatalf("the squatter signs into the owner's proven account %s (%s) with the identity made before the proof", me.User.Email, me.User.ID)
			}
		}
	})
}

// TestHostile2LastLoginMethodRace: a user whose ways in are one identity
// and one passkey (no password) removes both at once. UnlinkIdentity reads
// the passkeys outside its transaction and RemovePasskey reads the
// identities and deletes in separate statements, so each sees the other
// still there and both succeed: the user is left with no way in, which
// DESIGN.md "Last login method" answers 409 last_login_method. (The store's
// UnlinkIdentity locks the user "so two parallel unlinks see each other";
// a passkey removal takes no part in that lock.)
func TestHostile2LastLoginMethodRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		o := newOIDCHarness(t, dbURL, nil)
		for try := range 200 {
			sub := "sub-race-" + strconv.Itoa(try)
			o.p.SignInAs(apitest.OIDCUser{Subject: sub, Email: sub + "@example.com", EmailVerified: true})
			c := o.browser()
			landed(t, o.signIn(c), "")
			var ids handlers.IdentitiesResponse
			c.do("GET", "/auth/identities", nil).json(t, &ids)
			if len(ids.Identities) != 1 {
				t.Fatalf("identities: %+v", ids)
			}
			pk := addPasskey(t, c, newDeviceFor(t, "app.example.com", "https://app.example.com", true))
			var wg sync.WaitGroup
			var rID, rPK response
			start := make(chan struct{})
			wg.Add(2)
			go func() { defer wg.Done(); <-start; rID = c.do("DELETE", "/auth/identities/"+ids.Identities[0].ID, nil) }()
			go func() { defer wg.Done(); <-start; rPK = c.do("DELETE", "/auth/passkeys/"+pk.Passkey.ID, nil) }()
			close(start)
			wg.Wait()
			if rID.status == http.StatusNoContent && rPK.status == http.StatusNoContent {
				uid := o.me(c).User.ID
				t.Fatalf("try %d: both the last identity and the last passkey were removed (%s identities, %s passkeys, password %v): no way in is left",
					try, o.sqlQuery("SELECT COUNT(*) FROM identities WHERE user_id = ?", uid),
					o.sqlQuery("SELECT COUNT(*) FROM passkeys WHERE user_id = ?", uid), o.stored(uid).PasswordHash != "")
			}
		}
	})
}

// TestHostile2OIDCUnicodeCaseFoldsAnotherAddress: the provider's email is
// lower-cased with Unicode rules before it is compared or stored, so an
// address the provider verified that is not the account's — "victim@gmaİl.com"
// (U+0130, an IDN domain the attacker can hold: IDNA maps İ to "i̇", not
// "i") or "\u212Aate@…" (KELVIN SIGN) — becomes "victim@gmail.com" /
// "kate@…". With AUTH_OIDC_AUTO_LINK=verified that links the attacker's
// identity to the victim's verified account and signs the attacker in;
// without it, it creates the victim's address as a verified account the
// attacker holds. oidc.md: link only when "the provider's email is
// verified" — it verified another mailbox; DESIGN.md First proof: "an OIDC
// sign-in whose email_verified: true is for exactly this address".
func TestHostile2OIDCUnicodeCaseFoldsAnotherAddress(t *testing.T) {
	t.Run("auto-link takes over a verified account", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, dbURL string) {
			o := newOIDCHarness(t, dbURL, map[string]string{"AUTH_OIDC_AUTO_LINK": "verified"})
			owner := o.register("victim@gmail.com")
			id := o.me(owner).User.ID
			o.exec("UPDATE users SET email_verified = ? WHERE id = ?", true, id)
			o.p.SignInAs(apitest.OIDCUser{Subject: "sub-homograph", Email: "victim@gma\u0130l.com", EmailVerified: true})
			attacker := o.browser()
			r := o.signIn(attacker)
			if r.cookie("__Host-session") != nil {
				if me := o.me(attacker); me.User.ID == id {
					t.Fatalf("an identity whose verified email is %q was linked to and signed into %s's account", "victim@gma\u0130l.com", me.User.Email)
				}
			}
			if n := o.identityRows("sub-homograph"); n != "0" {
				t.Fatalf("the homograph identity was linked (%s rows)", n)
			}
		})
	})
	t.Run("creates the victim's address verified", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, dbURL string) {
			o := newOIDCHarness(t, dbURL, nil)
			o.p.SignInAs(apitest.OIDCUser{Subject: "sub-kelvin", Email: "\u212Aate@example.com", EmailVerified: true})
			attacker := o.browser()
			o.signIn(attacker)
			if attacker.do("GET", "/auth/me", nil).status == http.StatusOK {
				if me := o.me(attacker); me.User.Email == "kate@example.com" && me.User.EmailVerified {
					t.Fatalf("the provider verified %q, yet the attacker holds a verified account for %q", "\u212Aate@example.com", me.User.Email)
				}
			}
		})
	})
}

// TestHostile2PasskeySecondStepKeepsTheFailures: a session issued by a
// password and then a passkey as the second step leaves the earlier
// password failures counted, where the same sign-in finished with a TOTP
// code forgets them (VerifyMFA calls succeeded; VerifyMFAWithPasskey does
// not). DESIGN.md, Proofs and the lockout: "The count resets only when a
// session or token is issued (a correct password … that leads to a second
// step resets nothing: its reservation is released, the earlier failures
// stay)" — the second step's session is that reset. The user who signed in
// cleanly is locked out by the next two typos.
func TestHostile2PasskeySecondStepKeepsTheFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "100000/m", "AUTH_LOCKOUT_THRESHOLD": "3"}))
		email := newEmail()
		owner := h.register(email)
		d := newDevice(t, true)
		addPasskey(t, owner, d)
		wrong := func(what string) {
			wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": "wrong password 123"}), http.StatusUnauthorized, what)
		}
		wrong("typo 1")
		wrong("typo 2")
		c, mfaToken := loginFirstStep(t, h, email)
		cer := ceremony(t, c, "/auth/mfa/webauthn/options", map[string]any{"mfaToken": mfaToken})
		d.cred.Counter = 1
		wantStatus(t, c.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "webauthn": map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)}}),
			http.StatusOK, "password, then the passkey: a session")
		wrong("typo 3, after a session was issued")
		r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		if r.status == http.StatusTooManyRequests {
			t.Fatalf("locked out by one typo after a clean sign-in: the failures from before the session still count (%s)", r.body)
		}
	})
}

// TestHostile2PasskeyEndpointsOutsideThePerIPLimit: mfa.md, Passkeys:
// "Every endpoint is in the cross-origin check and the per-IP limit".
// GET /auth/passkeys, PATCH and DELETE /auth/passkeys/{id} are routed
// without it (DELETE mails the owner each time a passkey goes), so a
// client past its per-IP budget keeps being served.
func TestHostile2PasskeyEndpointsOutsideThePerIPLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL, withEnv(map[string]string{"AUTH_RATE_LIMIT_IP": "4/m"}))
		owner := h.register(newEmail())
		pk := addPasskey(t, owner, newDevice(t, true))
		// The budget is spent: register, the options and the registration.
		if r := owner.do("POST", "/auth/passkeys/register/options", nil); r.status != http.StatusTooManyRequests {
			owner.do("POST", "/auth/passkeys/register/options", nil)
		}
		wantStatus(t, owner.do("POST", "/auth/passkeys/register/options", nil), http.StatusTooManyRequests, "the options past the budget")
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/auth/passkeys", nil},
			{"PATCH", "/auth/passkeys/" + pk.Passkey.ID, map[string]any{"name": "Renamed"}},
			{"DELETE", "/auth/passkeys/" + pk.Passkey.ID, nil},
		} {
			if r := owner.do(req.method, req.path, req.body); r.status != http.StatusTooManyRequests {
				t.Errorf("%s %s past the per-IP budget: %d, want 429", req.method, req.path, r.status)
			}
		}
	})
}
