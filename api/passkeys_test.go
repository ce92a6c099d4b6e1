package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/portcullis-auth/portcullis/api/apitest"
	"github.com/portcullis-auth/portcullis/handlers"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// device is a software authenticator (virtualwebauthn) holding one passkey,
// used from the origin rp names.
type device struct {
	t    *testing.T
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newDevice is an authenticator for the default relying party (the host of
// the default AUTH_APP_URL, http://localhost:5173); uv says whether it
// verifies its user (PIN, biometrics).
func newDevice(t *testing.T, uv bool) *device {
	return newDeviceFor(t, "localhost", "http://localhost:5173", uv)
}

func newDeviceFor(t *testing.T, rpID, origin string, uv bool) *device {
	return &device{t: t, rp: virtualwebauthn.RelyingParty{ID: rpID, Name: "Portcullis", Origin: origin},
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserNotVerified: !uv}),
		cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, p256Key(t))}
}

// p256Key is a P-256 key in PKCS #8 whose coordinates both take 32 bytes:
// virtualwebauthn writes them without their leading zero bytes (1 key in
// 64 otherwise), which COSE, and so go-webauthn, rightly refuses.
func p256Key(t *testing.T) []byte {
	t.Helper()
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		// The uncompressed point: 0x04, then X and Y, 32 bytes each.
		if pub, err := k.PublicKey.Bytes(); err == nil && pub[1] != 0 && pub[33] != 0 {
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			return der
		}
	}
}

// create answers registration options as navigator.credentials.create would.
func (d *device) create(options json.RawMessage) json.RawMessage {
	d.t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		d.t.Fatalf("registration options: %v: %s", err, options)
	}
	d.auth.Options.UserHandle = []byte(opts.UserID)
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(d.rp, d.auth, d.cred, *opts))
}

// get answers assertion options as navigator.credentials.get would.
func (d *device) get(options json.RawMessage) json.RawMessage {
	d.t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		d.t.Fatalf("assertion options: %v: %s", err, options)
	}
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(d.rp, d.auth, d.cred, *opts))
}

// ceremony begins a ceremony at path.
func ceremony(t *testing.T, c *client, path string, body any) handlers.CeremonyResponse {
	t.Helper()
	r := c.do("POST", path, body)
	wantStatus(t, r, http.StatusOK, path)
	var cer handlers.CeremonyResponse
	r.json(t, &cer)
	if cer.FlowID == "" || !strings.Contains(string(cer.Options), `"publicKey"`) {
		t.Fatalf("%s: %s", path, r.body)
	}
	return cer
}

// addPasskey registers d's passkey for the signed-in client.
func addPasskey(t *testing.T, c *client, d *device) handlers.PasskeyRegistration {
	t.Helper()
	cer := ceremony(t, c, "/auth/passkeys/register/options", nil)
	r := c.do("POST", "/auth/passkeys/register", map[string]any{"flowId": cer.FlowID, "credential": d.create(cer.Options), "name": "Laptop"})
	wantStatus(t, r, http.StatusCreated, "register a passkey")
	var reg handlers.PasskeyRegistration
	r.json(t, &reg)
	return reg
}

// passkeyLogin signs a new browser in with d alone.
func passkeyLogin(t *testing.T, h *harness, d *device) (*client, response) {
	t.Helper()
	c := h.client()
	cer := ceremony(t, c, "/auth/passkeys/login/options", nil)
	return c, c.do("POST", "/auth/passkeys/login", map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)})
}

func wantCode(t *testing.T, r response, status int, code, what string) {
	t.Helper()
	if r.status != status || r.errorCode(t) != code {
		t.Fatalf("%s: %d %s, want %d %s", what, r.status, r.body, status, code)
	}
}

func userIDOf(t *testing.T, c *client) string {
	t.Helper()
	var me handlers.AuthResponse
	c.do("GET", "/auth/me", nil).json(t, &me)
	return me.User.ID
}

// TestPasskeySignIn: a registered passkey signs its user in alone (amr
// webauthn, aal 2 with user verification); a replayed assertion, a reused
// flowId, an assertion made for another origin or relying party id, and a
// signature counter that goes backwards are refused (the last audited).
func TestPasskeySignIn(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		ctx := context.Background()
		email := newEmail()
		owner := h.register(email)
		uid := userIDOf(t, owner)
		d := newDevice(t, true)
		reg := addPasskey(t, owner, d)
		if len(reg.RecoveryCodes) != 10 || reg.Passkey.Name != "Laptop" {
			t.Fatalf("the first passkey: %+v", reg)
		}
		var me handlers.AuthResponse
		owner.do("GET", "/auth/me", nil).json(t, &me)
		if me.Session.AAL != 2 || !slices.Contains(me.Session.AMR, "webauthn") {
			t.Errorf("the registering session: %+v", me.Session)
		}
		pks, err := h.db.Passkeys(ctx, uid)
		if err != nil || len(pks) != 1 || pks[0].CredentialID != base64.RawURLEncoding.EncodeToString(d.cred.ID) || pks[0].ID != reg.Passkey.ID {
			t.Fatalf("stored passkeys: %+v %v", pks, err)
		}
		if n := len(eventsOf(t, h, email, models.EventPasskeyRegistered)); n != 1 {
			t.Errorf("%d passkey_registered events", n)
		}

		d.cred.Counter = 1
		c, r := passkeyLogin(t, h, d)
		wantStatus(t, r, http.StatusOK, "passkey sign-in")
		var in handlers.SignInResponse
		r.json(t, &in)
		if in.MFARequired || in.Session == nil || in.Session.AAL != 2 || !slices.Equal(in.Session.AMR, []string{"webauthn"}) || in.User.Email != email {
			t.Fatalf("passkey session: %s", r.body)
		}
		if r.cookie("__Host-session") == nil {
			t.Error("no session cookie")
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "me after the passkey")

		// The same answer again: its flowId is spent.
		cer := ceremony(t, h.client(), "/auth/passkeys/login/options", nil)
		d.cred.Counter = 2
		answer := d.get(cer.Options)
		wantStatus(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": cer.FlowID, "credential": answer}), http.StatusOK, "a fresh flow")
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": cer.FlowID, "credential": answer}),
			http.StatusUnauthorized, "invalid_passkey", "a replayed assertion (reused flowId)")
		// A new signature for that flow's challenge, its counter moved on: only
		// the spent flowId stands in the way.
		d.cred.Counter = 3
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)}),
			http.StatusUnauthorized, "invalid_passkey", "a reused flowId")
		// The old answer under a new flowId: its challenge is another's.
		next := ceremony(t, h.client(), "/auth/passkeys/login/options", nil)
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": next.FlowID, "credential": answer}),
			http.StatusUnauthorized, "invalid_passkey", "a replayed assertion under a new flowId")
		// Another origin, another relying party id (same key).
		d.cred.Counter = 10
		for _, rp := range []virtualwebauthn.RelyingParty{
			{ID: "localhost", Origin: "https://evil.example"},
			{ID: "evil.example", Origin: "http://localhost:5173"},
		} {
			other := *d
			other.rp = rp
			_, r := passkeyLogin(t, h, &other)
			wantCode(t, r, http.StatusUnauthorized, "invalid_passkey", "an assertion for "+rp.ID+" at "+rp.Origin)
		}
		// The counter stood still through those refusals.
		if pks, _ := h.db.Passkeys(ctx, uid); pks[0].SignCount != 2 {
			t.Errorf("sign count %d after refusals, want 2", pks[0].SignCount)
		}
		// A counter going backwards: a copy of the key.
		d.cred.Counter = 1
		_, r = passkeyLogin(t, h, d)
		wantCode(t, r, http.StatusUnauthorized, "invalid_passkey", "a counter going backwards")
		if evs := eventsOf(t, h, email, models.EventPasskeyCloneDetected); len(evs) != 1 || !strings.Contains(evs[0].Detail, "counter 1") {
			t.Errorf("clone events: %+v", evs)
		}
		if pks, _ := h.db.Passkeys(ctx, uid); pks[0].SignCount != 2 || pks[0].LastUsedAt == nil {
			t.Errorf("after the clone: %+v", pks[0])
		}
		d.cred.Counter = 4
		_, r = passkeyLogin(t, h, d)
		wantStatus(t, r, http.StatusOK, "the counter moving on")
		// An unknown or malformed flowId, and no credential at all.
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": "nope", "credential": answer}),
			http.StatusUnauthorized, "invalid_passkey", "a malformed flowId")
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": next.FlowID, "credential": map[string]any{"id": 1}}),
			http.StatusUnprocessableEntity, "validation_failed", "not a credential")
		wantCode(t, h.client().do("POST", "/auth/passkeys/login", map[string]any{"flowId": next.FlowID}),
			http.StatusUnprocessableEntity, "validation_failed", "no credential")
		// Passkey failures lock nothing: the password still works.
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}), http.StatusOK, "password after refusals")
	})
}

// TestPasskeyAsSecondFactor: a user with a passkey is asked for the second
// step after the password, with webauthn among the methods, and the passkey
// completes it; a user with an authenticator app who signs in with a
// passkey that does not verify its user gets the second step too.
func TestPasskeyAsSecondFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		email := newEmail()
		owner := h.register(email)
		d := newDevice(t, true)
		addPasskey(t, owner, d)

		c, mfaToken := loginFirstStep(t, h, email)
		r := h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		var in handlers.SignInResponse
		r.json(t, &in)
		if !slices.Equal(in.Methods, []string{"webauthn", "recovery_code"}) || r.cookie("__Host-session") != nil {
			t.Fatalf("first step: %s", r.body)
		}
		cer := ceremony(t, c, "/auth/mfa/webauthn/options", map[string]any{"mfaToken": mfaToken})
		if !strings.Contains(string(cer.Options), base64.RawURLEncoding.EncodeToString(d.cred.ID)) {
			t.Errorf("the options do not list the user's passkey: %s", cer.Options)
		}
		d.cred.Counter = 1
		proof := map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)}
		wantCode(t, c.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "code": "123456", "webauthn": proof}),
			http.StatusUnprocessableEntity, "validation_failed", "a code and a passkey")
		wantCode(t, c.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "webauthn": map[string]any{"flowId": cer.FlowID, "credential": proof["credential"], "extra": 1}}),
			http.StatusUnprocessableEntity, "validation_failed", "an unknown member of webauthn")
		r = c.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "webauthn": proof})
		wantStatus(t, r, http.StatusOK, "the passkey as second factor")
		var me handlers.AuthResponse
		r.json(t, &me)
		if me.Session.AAL != 2 || !slices.Equal(me.Session.AMR, []string{"pwd", "webauthn"}) {
			t.Errorf("second-step session: %+v", me.Session)
		}
		wantStatus(t, c.do("GET", "/auth/me", nil), http.StatusOK, "signed in")
		wantCode(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "webauthn": proof}),
			http.StatusUnauthorized, "invalid_mfa_token", "the mfaToken again")

		// An authenticator app, then a passkey that does not verify its user.
		email2 := newEmail()
		c2, secret, _ := enrolled(t, h, email2)
		weak := newDevice(t, false)
		if reg := addPasskey(t, c2, weak); len(reg.RecoveryCodes) != 0 {
			t.Errorf("a second factor returned recovery codes: %+v", reg)
		}
		b, r := passkeyLogin(t, h, weak)
		wantStatus(t, r, http.StatusOK, "a passkey without user verification")
		r.json(t, &in)
		if !in.MFARequired || in.Session != nil || r.cookie("__Host-session") != nil || !slices.Equal(in.Methods, []string{"totp", "recovery_code"}) {
			t.Fatalf("a passkey without user verification: %s", r.body)
		}
		wantStatus(t, b.do("POST", "/auth/mfa/webauthn/options", map[string]any{"mfaToken": in.MFAToken}), http.StatusNotFound, "a passkey as both steps")
		h.clock.Advance(time.Minute)
		r = b.do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": in.MFAToken, "code": apitest.TOTP(t, secret, h.clock.Now())})
		wantStatus(t, r, http.StatusOK, "the app's code after the passkey")
		r.json(t, &me)
		if me.Session.AAL != 2 || !slices.Equal(me.Session.AMR, []string{"webauthn", "otp"}) {
			t.Errorf("passkey + code session: %+v", me.Session)
		}
	})
}

// TestPasskeyManagement: list, rename (audited), another user's id is 404;
// deleting needs a fresh session, which a passkey reauthentication gives;
// removing the last factor takes the recovery codes with it and moves the
// credential version on; new recovery codes are audited.
func TestPasskeyManagement(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		ctx := context.Background()
		email := newEmail()
		c := h.register(email)
		uid := userIDOf(t, c)
		d := newDevice(t, true)
		reg := addPasskey(t, c, d)
		path := "/auth/passkeys/" + reg.Passkey.ID

		var list handlers.PasskeysResponse
		c.do("GET", "/auth/passkeys", nil).json(t, &list)
		if len(list.Passkeys) != 1 || list.Passkeys[0].ID != reg.Passkey.ID {
			t.Fatalf("list: %+v", list)
		}
		r := c.do("PATCH", path, map[string]any{"name": "  Work laptop "})
		wantStatus(t, r, http.StatusOK, "rename")
		var one handlers.PasskeyResponse
		r.json(t, &one)
		if one.Passkey.Name != "Work laptop" || len(eventsOf(t, h, email, models.EventPasskeyRenamed)) != 1 {
			t.Errorf("renamed: %+v", one)
		}
		stranger := h.register(newEmail())
		wantStatus(t, stranger.do("PATCH", path, map[string]any{"name": "Mine"}), http.StatusNotFound, "another user's passkey (rename)")
		wantStatus(t, stranger.do("DELETE", path, nil), http.StatusNotFound, "another user's passkey (delete)")

		// New recovery codes are audited.
		wantStatus(t, c.do("POST", "/auth/mfa/recovery-codes", nil), http.StatusOK, "new recovery codes")
		if n := len(eventsOf(t, h, email, models.EventRecoveryCodesRegenerated)); n != 1 {
			t.Errorf("%d recovery_codes_regenerated events", n)
		}

		h.clock.Advance(11 * time.Minute)
		wantCode(t, c.do("DELETE", path, nil), http.StatusForbidden, "reauthentication_required", "a stale session deletes")
		wantCode(t, c.do("POST", "/auth/passkeys/register/options", nil), http.StatusForbidden, "reauthentication_required", "a stale session adds")
		// The password is refused for a user with a factor; the passkey does it.
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"password": goodPassword}), http.StatusUnprocessableEntity, "password reauthentication")
		cer := ceremony(t, c, "/auth/reauthenticate/webauthn/options", nil)
		d.cred.Counter = 7
		proof := map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)}
		r = c.do("POST", "/auth/reauthenticate", map[string]any{"webauthn": proof})
		wantStatus(t, r, http.StatusOK, "passkey reauthentication")
		var s handlers.SessionResponse
		r.json(t, &s)
		if s.Session.AAL != 2 || !s.Session.AuthTime.Equal(h.clock.Now()) || !slices.Contains(s.Session.AMR, "webauthn") {
			t.Errorf("reauthenticated: %+v", s.Session)
		}
		wantStatus(t, c.do("POST", "/auth/reauthenticate", map[string]any{"webauthn": proof}), http.StatusUnprocessableEntity, "the same proof again")
		before, _ := h.db.UserByID(ctx, uid)
		wantStatus(t, c.do("DELETE", path, nil), http.StatusNoContent, "delete from a fresh session")
		after, _ := h.db.UserByID(ctx, uid)
		if pks, _ := h.db.Passkeys(ctx, uid); len(pks) != 0 {
			t.Errorf("passkeys left: %+v", pks)
		}
		if left, _ := h.db.RecoveryCodesLeft(ctx, uid); left != 0 {
			t.Errorf("%d recovery codes left after the last factor", left)
		}
		if after.CredentialVersion <= before.CredentialVersion {
			t.Errorf("credential version %d → %d", before.CredentialVersion, after.CredentialVersion)
		}
		if n := len(eventsOf(t, h, email, models.EventPasskeyRemoved)); n != 1 {
			t.Errorf("%d passkey_removed events", n)
		}
		wantStatus(t, c.do("DELETE", path, nil), http.StatusNotFound, "deleted twice")
		// Without a factor, the password signs in directly again.
		wantStatus(t, h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword}), http.StatusOK, "password login")
	})
}

// TestPasskeyOnlyUser: registering a passkey needs a proven address where
// mail is sent; a user whose only way in is a passkey cannot delete it
// (409 last_login_method), and changes their email from a fresh session
// without a password.
func TestPasskeyOnlyUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		m := newMailHarness(t, dbURL, nil)
		ctx := context.Background()
		email, next := newEmail(), newEmail()
		reg := m.register(email)
		wantCode(t, reg.do("POST", "/auth/passkeys/register/options", nil), http.StatusForbidden, "email_not_verified", "an unproven address")
		// A mailed code proves the address and voids the password set before.
		n := len(m.smtp.To(email))
		wantStatus(t, m.client().do("POST", "/auth/sign-in/email", map[string]any{"email": email}), http.StatusAccepted, "ask for a code")
		code := m.mailFor(email, "Your sign-in code", n).Code()
		c := m.client()
		wantStatus(t, c.do("POST", "/auth/sign-in/email/verify", map[string]any{"email": email, "code": code}), http.StatusOK, "sign in by code")
		uid := userIDOf(t, c)
		if u, _ := m.db.UserByID(ctx, uid); u.PasswordHash != "" || !u.EmailVerified {
			t.Fatalf("not a passwordless user: verified %v", u.EmailVerified)
		}
		d := newDeviceFor(t, "app.example.com", "https://app.example.com", true)
		pk := addPasskey(t, c, d)
		wantCode(t, c.do("DELETE", "/auth/passkeys/"+pk.Passkey.ID, nil), http.StatusConflict, "last_login_method", "the only way in")

		d.cred.Counter = 1
		b, r := passkeyLogin(t, m.harness, d)
		wantStatus(t, r, http.StatusOK, "passkey sign-in")
		m.clock.Advance(11 * time.Minute)
		wantCode(t, b.do("POST", "/auth/email/change", map[string]any{"newEmail": next}), http.StatusForbidden, "reauthentication_required", "a stale session")
		cer := ceremony(t, b, "/auth/reauthenticate/webauthn/options", nil)
		d.cred.Counter = 2
		wantStatus(t, b.do("POST", "/auth/reauthenticate", map[string]any{"webauthn": map[string]any{"flowId": cer.FlowID, "credential": d.get(cer.Options)}}),
			http.StatusOK, "reauthenticate with the passkey")
		wantStatus(t, b.do("POST", "/auth/email/change", map[string]any{"newEmail": next}), http.StatusAccepted, "change from a fresh session")
		_, tok := m.mailFor(next, "Confirm your new email address", 0).Link()
		wantStatus(t, b.do("POST", "/auth/email/change/confirm", map[string]any{"token": tok}), http.StatusOK, "confirm")
		if u, _ := m.db.UserByID(ctx, uid); u.Email != next {
			t.Errorf("email %s, want %s", u.Email, next)
		}
		// Still the passkey's user under the new address.
		d.cred.Counter = 3
		_, r = passkeyLogin(t, m.harness, d)
		wantStatus(t, r, http.StatusOK, "passkey sign-in after the change")
	})
}

// TestPasskeyFactorRules: a passkey is a factor like an app. Adding one
// moves the credential version on (a second step in flight starts
// nothing); an app added after a passkey is no first factor (no recovery
// codes); an administrator's MFA reset removes the
// passkeys too, and the password then signs in directly.
func TestPasskeyFactorRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		h, _ := newMFAHarness(t, dbURL)
		ctx := context.Background()
		email := newEmail()
		c := h.register(email)
		uid := userIDOf(t, c)
		addPasskey(t, c, newDevice(t, true))
		_, mfaToken := loginFirstStep(t, h, email)
		d := newDevice(t, true)
		addPasskey(t, c, d)
		wantCode(t, h.client().do("POST", "/auth/mfa/webauthn/options", map[string]any{"mfaToken": mfaToken}),
			http.StatusUnauthorized, "invalid_mfa_token", "a second step begun before a passkey was added")
		wantCode(t, h.client().do("POST", "/auth/mfa/verify", map[string]any{"mfaToken": mfaToken, "recoveryCode": "aaaaa-aaaaa"}),
			http.StatusUnauthorized, "invalid_mfa_token", "a second step begun before a passkey was added (recovery code)")

		left, _ := h.db.RecoveryCodesLeft(ctx, uid)
		r := c.do("POST", "/auth/mfa/totp", map[string]any{"name": "Phone"})
		wantStatus(t, r, http.StatusCreated, "enrol an app")
		var e handlers.TOTPEnrollment
		r.json(t, &e)
		r = c.do("POST", "/auth/mfa/totp/"+e.Factor.ID+"/verify", map[string]any{"code": apitest.TOTP(t, e.Secret, h.clock.Now())})
		wantStatus(t, r, http.StatusOK, "verify the app")
		var f handlers.FactorResponse
		r.json(t, &f)
		if len(f.RecoveryCodes) != 0 {
			t.Errorf("an app after a passkey returned %d recovery codes", len(f.RecoveryCodes))
		}
		if now, _ := h.db.RecoveryCodesLeft(ctx, uid); now != left {
			t.Errorf("recovery codes %d → %d", left, now)
		}

		root := makeAdmin(t, h, "root-"+newEmail())
		wantStatus(t, root.do("DELETE", "/admin/users/"+uid+"/mfa", nil), http.StatusNoContent, "MFA reset")
		if pks, _ := h.db.Passkeys(ctx, uid); len(pks) != 0 {
			t.Errorf("passkeys after an MFA reset: %d", len(pks))
		}
		_, r = passkeyLogin(t, h, d)
		wantCode(t, r, http.StatusUnauthorized, "invalid_passkey", "a removed passkey")
		r = h.client().do("POST", "/auth/login", map[string]any{"email": email, "password": goodPassword})
		var in handlers.SignInResponse
		r.json(t, &in)
		if r.status != http.StatusOK || in.MFARequired {
			t.Errorf("password after the reset: %s", r.body)
		}
	})
}
